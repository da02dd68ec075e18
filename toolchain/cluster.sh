#!/usr/bin/env bash
# Local Kubernetes cluster for end-to-end runs: a real control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler built by toolchain/build.sh) run by kwokctl's `binary`
# runtime, with kwok simulating the nodes and pod status (no container runtime). Loopback only;
# nothing is downloaded.
#
#   bash toolchain/cluster.sh up       start (or repair) the cluster; idempotent
#   bash toolchain/cluster.sh down     delete it and stop everything this harness started
#   bash toolchain/cluster.sh status   show the cluster, its nodes and the provisioner
#   bash toolchain/cluster.sh env      print `export KUBECONFIG=... PATH=...`: eval "$(bash toolchain/cluster.sh env)"
#
# What `up` provides: N Ready fake nodes (PLATFORM_CLUSTER_NODES, default 3, one per zone label
# zone-a/b/c), Pod Security Admission and the other default admission plugins, RBAC, and a default
# StorageClass `standard` served by a small provisioner loop that creates a PersistentVolume for each
# Pending PVC of a class with provisioner local.platform/fake and deletes the PVs their claims
# release. The same loop publishes an address for each Ingress whose IngressClass exists, as an
# ingress controller would. Kubeconfig: .local/kubeconfig; state and logs: .local/kwok/ (both git-ignored).
# Env: PLATFORM_CLUSTER_NAME (default platform), PLATFORM_CLUSTER_NODES (default 3).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=/dev/null
source "$here/versions.env"
eval "$(bash "$here/build.sh" env)"

name=${PLATFORM_CLUSTER_NAME:-platform}
nodes=${PLATFORM_CLUSTER_NODES:-3}
local_dir="$repo/.local"
export KWOK_WORKDIR="$local_dir/kwok"
export KUBECONFIG="$local_dir/kubeconfig"
cluster_dir="$KWOK_WORKDIR/clusters/$name"
config="$local_dir/kwokctl.yaml"
prov_pid="$local_dir/provisioner.pid"
prov_log="$local_dir/provisioner.log"
PROVISIONER=local.platform/fake

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

need_bins() {
    local b
    for b in kwokctl kwok kubectl etcd kube-apiserver kube-controller-manager kube-scheduler; do
        [ -x "$PLATFORM_TOOLCHAIN_BIN/$b" ] || die "$b is not built in $PLATFORM_TOOLCHAIN_BIN: run 'npm run toolchain' first"
    done
}

write_config() {
    local b=$PLATFORM_TOOLCHAIN_BIN no="$local_dir/downloads-disabled"
    mkdir -p "$KWOK_WORKDIR"
    # Every binary is a local file and every download prefix points at a folder that does not exist,
    # so a binary kwokctl would otherwise fetch fails at once instead of reaching for the network.
    # No pod runs, yet Services and pods get addresses (pod IPs 10.0.0.x, ClusterIPs 10.0.0.0/24):
    # kube-apiserver would dial them for admission webhooks, aggregated APIs (APIService) and
    # Service proxying. A proxy on a closed loopback port (NO_PROXY covers the loopback control
    # plane itself) makes every such call fail at once on 127.0.0.1, never leaving the machine.
    cat > "$config" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: v$KUBERNETES_VERSION
  etcdVersion: v$ETCD_VERSION
  kwokVersion: v$KWOK_VERSION
  bindAddress: 127.0.0.1
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
  cacheDir: $KWOK_WORKDIR/cache
  kubeApiserverBinary: $b/kube-apiserver
  kubeControllerManagerBinary: $b/kube-controller-manager
  kubeSchedulerBinary: $b/kube-scheduler
  kubectlBinary: $b/kubectl
  etcdBinary: $b/etcd
  kwokControllerBinary: $b/kwok
  kubeBinaryPrefix: $no
  etcdBinaryPrefix: $no
  kwokBinaryPrefix: $no
  prometheusBinaryPrefix: $no
  jaegerBinaryPrefix: $no
  metricsServerBinaryPrefix: $no
  kectlBinary: $no/kectl
  etcdctlBinary: $no/etcdctl
componentsPatches:
$(for c in kube-apiserver kube-controller-manager kube-scheduler kwok-controller; do
    printf '%s\n' "- name: $c" "  extraEnvs:" \
        "  - {name: HTTPS_PROXY, value: 'http://127.0.0.1:9'}" "  - {name: HTTP_PROXY, value: 'http://127.0.0.1:9'}" \
        "  - {name: NO_PROXY, value: '127.0.0.1,localhost'}"
done)
EOF
}

cluster_exists() { [ -d "$cluster_dir" ]; }
api_ready() { kubectl get --raw /readyz >/dev/null 2>&1; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local t=$1 what=$2 i
    shift 2
    for ((i = 0; i < t * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "timed out after ${t}s waiting for $what"
}

apply_nodes() {
    local i zones=(zone-a zone-b zone-c) manifest=""
    for ((i = 0; i < nodes; i++)); do
        manifest+="
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: \"0\"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/worker: \"\"
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: ${zones[$((i % 3))]}
status:
  allocatable: {cpu: \"16\", memory: 64Gi, pods: \"110\", ephemeral-storage: 200Gi}
  capacity: {cpu: \"16\", memory: 64Gi, pods: \"110\", ephemeral-storage: 200Gi}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake"
    done
    printf '%s\n' "$manifest" | kubectl apply -f - >/dev/null
}

apply_storage() {
    kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: $PROVISIONER
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
EOF
}

provisioner_running() {
    local pid
    [ -f "$prov_pid" ] || return 1
    pid=$(cat "$prov_pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "cluster.sh" "/proc/$pid/cmdline" 2>/dev/null
}

start_provisioner() {
    provisioner_running && return 0
    # setsid: the loop outlives this shell (and the npm script that ran it); `down` stops it by pid.
    setsid nohup bash "$here/cluster.sh" _provisioner >>"$prov_log" 2>&1 < /dev/null &
    echo $! > "$prov_pid"
}

stop_provisioner() {
    if provisioner_running; then
        # setsid made the loop a process-group leader: stop it with its in-flight kubectl calls.
        kill -- "-$(cat "$prov_pid")" 2>/dev/null || kill "$(cat "$prov_pid")" 2>/dev/null || true
        say "provisioner stopped"
    fi
    rm -f "$prov_pid"
}

# Stands in for an ingress controller's status updates: an Ingress whose IngressClass exists in the
# cluster (i.e. some controller was installed for it) gets 127.0.0.1 as its load-balancer address,
# as a controller publishes one; an Ingress of a class nobody installed keeps an empty status, as in
# a real cluster.
publish_ingress_addresses() {
    local ingressclasses ns ing cls
    ingressclasses=$(kubectl get ingressclass -o go-template='{{range .items}}{{.metadata.name}} {{end}}' 2>/dev/null) || return 0
    [ -n "$ingressclasses" ] || return 0
    kubectl get ingress -A -o go-template='{{range .items}}{{if not .status.loadBalancer.ingress}}{{.metadata.namespace}} {{.metadata.name}} {{or .spec.ingressClassName "-"}}{{"\n"}}{{end}}{{end}}' 2>/dev/null |
    while read -r ns ing cls; do
        case " $ingressclasses " in *" $cls "*) ;; *) continue ;; esac
        kubectl patch ingress "$ing" -n "$ns" --subresource=status --type=merge \
            -p '{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"}]}}}' >/dev/null 2>&1 &&
            say "published 127.0.0.1 as the address of ingress $ns/$ing (class $cls)"
    done
}

# The provisioner loop: a PersistentVolume (pre-bound through claimRef) for every Pending claim of a
# class served by $PROVISIONER, and deletion of those PVs once released or failed, so a destroyed
# claim never leaves a PV behind that blocks a later run. Exits when the cluster is gone.
provisioner_loop() {
    set +e +o pipefail
    local misses=0 classes line ns pvc uid sc size modes mode pv phase
    say "provisioner started (pid $$)"
    while [ -f "$KUBECONFIG" ]; do
        if ! classes=$(kubectl get storageclass -o go-template="{{range .items}}{{if eq .provisioner \"$PROVISIONER\"}}{{.metadata.name}} {{end}}{{end}}" 2>/dev/null); then
            misses=$((misses + 1))
            [ $misses -lt 60 ] || { say "API unreachable for 60s: exiting"; exit 0; }
            sleep 1
            continue
        fi
        misses=0
        kubectl get pvc -A -o go-template='{{range .items}}{{if eq .status.phase "Pending"}}{{if not .spec.volumeName}}{{.metadata.namespace}} {{.metadata.name}} {{.metadata.uid}} {{or .spec.storageClassName "-"}} {{.spec.resources.requests.storage}} {{range .spec.accessModes}}{{.}},{{end}} {{or .spec.volumeMode "Filesystem"}}{{"\n"}}{{end}}{{end}}{{end}}' 2>/dev/null |
        while read -r ns pvc uid sc size modes mode; do
            [ -n "$uid" ] || continue
            case " $classes " in *" $sc "*) ;; *) continue ;; esac
            pv="pvc-$uid"
            kubectl get pv "$pv" >/dev/null 2>&1 && continue
            modes=${modes%,}
            kubectl apply -f - >/dev/null <<EOF && say "created $pv for $ns/$pvc ($size, $modes)"
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  labels: {local.platform/provisioner: fake}
  annotations: {pv.kubernetes.io/provisioned-by: $PROVISIONER}
spec:
  capacity: {storage: $size}
  accessModes: [${modes//,/, }]
  volumeMode: $mode
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $sc
  claimRef: {namespace: $ns, name: $pvc, uid: $uid, apiVersion: v1, kind: PersistentVolumeClaim}
  hostPath: {path: /var/lib/kwok-fake-volumes/$pv}
EOF
        done
        publish_ingress_addresses
        kubectl get pv -l local.platform/provisioner=fake -o go-template='{{range .items}}{{.metadata.name}} {{.status.phase}}{{"\n"}}{{end}}' 2>/dev/null |
        while read -r pv phase; do
            case $phase in
                Released|Failed) kubectl delete pv "$pv" --wait=false >/dev/null 2>&1 && say "deleted $pv ($phase)" ;;
            esac
        done
        sleep 1
    done
    say "kubeconfig gone: exiting"
}

cmd_up() {
    need_bins
    mkdir -p "$local_dir"
    write_config
    local start
    start=$(date +%s)
    if cluster_exists && ! api_ready; then
        say "cluster $name exists but its API does not answer: restarting it"
        kwokctl --name "$name" start cluster --config "$config" >&2 || true
        if ! wait_for 30 "kube-apiserver" api_ready 2>/dev/null; then
            say "restart failed: recreating the cluster"
            cmd_down
            mkdir -p "$local_dir"
            write_config
        fi
    fi
    if ! cluster_exists; then
        say "creating cluster $name (kwokctl binary runtime, Kubernetes v$KUBERNETES_VERSION, loopback only)"
        kwokctl --name "$name" create cluster --config "$config" --kubeconfig "$KUBECONFIG" \
            --wait 60s >&2 || { say "kwokctl create cluster failed; logs in $cluster_dir/logs"; cmd_down; exit 1; }
    else
        say "cluster $name already exists"
    fi
    # kwokctl names the context kwok-<name>; make it the current one of .local/kubeconfig.
    kubectl config use-context "kwok-$name" >/dev/null
    wait_for 30 "kube-apiserver /readyz" api_ready
    wait_for 30 "the default service account" kubectl get serviceaccount default -n default
    apply_nodes
    apply_storage
    start_provisioner
    wait_for 60 "$nodes Ready nodes" all_nodes_ready
    say "up in $(( $(date +%s) - start ))s: $(kubectl get nodes --no-headers | awk '{print $1 "=" $2}' | tr '\n' ' ')"
    say "use it with: eval \"\$(bash toolchain/cluster.sh env)\""
}

all_nodes_ready() {
    local ready
    ready=$(kubectl get nodes -o go-template='{{range .items}}{{range .status.conditions}}{{if and (eq .type "Ready") (eq .status "True")}}x{{end}}{{end}}{{end}}')
    [ "${#ready}" -ge "$nodes" ]
}

cmd_down() {
    stop_provisioner
    if cluster_exists; then
        say "deleting cluster $name"
        kwokctl --name "$name" delete cluster --kubeconfig "$KUBECONFIG" >&2 || say "kwokctl delete cluster failed; cleaning up by hand"
    fi
    # Whatever kwokctl left (a half-created cluster): stop processes from its pid files, then remove state.
    if [ -d "$cluster_dir" ]; then
        local f pid
        for f in "$cluster_dir"/pids/*.pid; do
            [ -f "$f" ] || continue
            pid=$(cat "$f")
            if [ -n "$pid" ] && grep -q "$cluster_dir" "/proc/$pid/cmdline" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
            fi
        done
        rm -rf "$cluster_dir"
    fi
    rm -f "$KUBECONFIG" "$config"
    say "down"
}

cmd_status() {
    if ! cluster_exists; then
        say "cluster $name: not created"
        return 1
    fi
    if api_ready; then
        say "cluster $name: running (kubeconfig $KUBECONFIG)"
        kubectl get nodes -o wide 2>&1 | sed 's/^/    /' >&2
    else
        say "cluster $name: created but the API does not answer (run: bash toolchain/cluster.sh up)"
    fi
    if provisioner_running; then say "provisioner: running (pid $(cat "$prov_pid"), log $prov_log)"; else say "provisioner: not running"; fi
    api_ready
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env)
        bash "$here/build.sh" env
        echo "export KUBECONFIG=\"$KUBECONFIG\""
        ;;
    _provisioner) provisioner_loop ;;
    *) echo "usage: bash toolchain/cluster.sh up|down|status|env" >&2; exit 2 ;;
esac
