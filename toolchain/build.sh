#!/usr/bin/env bash
# Builds the local toolchain from the Go module proxy into a cache outside the repo, keyed by
# toolchain/versions.env: Pulumi CLI, a local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl), kwok/kwokctl, and actionlint.
#
#   bash toolchain/build.sh          build what is missing, then check every binary
#   bash toolchain/build.sh env      print `export PATH=...` for the built binaries
#   bash toolchain/build.sh check    only check what is built
#
# Idempotent: each piece has a stamp; a warm run only checks. Pieces that cannot be built here are
# reported with the module and the proxy's answer (see toolchain/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "$here/versions.env"
key=$(sha256sum "$here/versions.env" | cut -c1-12)
root="${PLATFORM_TOOLCHAIN_DIR:-$HOME/.cache/platform-toolchain}/$key"
bin="$root/bin"
logs="$root/logs"
mkdir -p "$bin" "$logs" "$root/src"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export PATH="$bin:$PATH"

say() { printf '[toolchain] %s\n' "$*" >&2; }

# run_step NAME: builds piece NAME with build_NAME unless its stamp exists; on failure prints the
# module, the log tail and returns 1 (the other pieces still build).
run_step() {
    local name=$1 start
    if [ -f "$root/.done-$name" ]; then
        say "$name: built"
        return 0
    fi
    say "$name: building (log: $logs/$name.log)"
    start=$(date +%s)
    if "build_$name" >"$logs/$name.log" 2>&1; then
        touch "$root/.done-$name"
        say "$name: done in $(( $(date +%s) - start ))s"
    else
        say "$name: FAILED after $(( $(date +%s) - start ))s; last lines of $logs/$name.log:"
        tail -n 15 "$logs/$name.log" | sed 's/^/    /' >&2
        return 1
    fi
}

build_kube() {
    local dir="$root/src/kube" v="$KUBERNETES_VERSION" staging
    mkdir -p "$dir" && cd "$dir"
    # k8s.io/kubernetes replaces its staging modules with local folders; a wrapper repeats those
    # replaces with the published v0.x modules of the same release.
    staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller"
    {
        echo "module local/kube"
        echo "go 1.24"
        echo "require k8s.io/kubernetes v$v"
        for m in $staging; do echo "replace k8s.io/$m => k8s.io/$m v0.${v#1.}"; done
    } > go.mod
    local ver="v$v" pkg=k8s.io/component-base/version cg=k8s.io/client-go/pkg/version
    local major=${v%%.*} minor=${v#*.}; minor=${minor%%.*}
    local flags="-X $pkg.gitVersion=$ver -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $cg.gitVersion=$ver -X $cg.gitMajor=$major -X $cg.gitMinor=$minor"
    go build -trimpath -ldflags "-s -w $flags" -o "$bin/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
    local dir="$root/src/etcd"
    mkdir -p "$dir" && cd "$dir"
    printf 'module local/etcd\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > go.mod
    go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
    GOBIN="$bin" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v$KUBERNETES_VERSION" \
        "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION"
}

build_pulumi() {
    local dir="$root/src/pulumi" v="$PULUMI_VERSION"
    mkdir -p "$dir" && cd "$dir"
    # pkg/v3 replaces sdk/v3 with a local folder and atotto/clipboard with a fork; the wrapper
    # requires the same sdk release and repeats the fork replace.
    cat > go.mod <<MOD
module local/pulumi
go 1.25
require (
    github.com/pulumi/pulumi/pkg/v3 v$v
    github.com/pulumi/pulumi/sdk/v3 v$v
)
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    go build -trimpath -tags osusergo,grpcnotrace \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
        -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_actionlint() {
    GOBIN="$bin" go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
        "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
}

# The Pulumi provider plugins and the Node.js language host: their modules are refused by the Go
# module proxy these machines reach (403 "This module version is not available"). Probe, so the
# day the proxy serves them the report says so.
probe_unavailable() {
    local m
    for m in "github.com/pulumi/pulumi-kubernetes/provider/v4" "github.com/pulumi/pulumi-random/provider/v4" \
             "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"; do
        if go list -m -versions "$m" >/dev/null 2>&1; then
            say "$m: now listed by the module proxy (see toolchain/README.md to add it)"
        else
            say "$m: not available from the Go module proxy here ($(go list -m -versions "$m" 2>&1 | tail -n 1 | tr -s ' '))"
        fi
    done
}

check() {
    local ok=0
    say "checking $bin"
    for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl pulumi actionlint; do
        if [ ! -x "$bin/$b" ]; then
            say "  $b: missing"; ok=1; continue
        fi
        case $b in
            etcd) v=$("$bin/etcd" --version | head -n 1) ;;
            kubectl) v=$("$bin/kubectl" version --client 2>/dev/null | head -n 1) ;;
            pulumi) v=$("$bin/pulumi" version) ;;
            actionlint) v=$("$bin/actionlint" -version | head -n 1) ;;
            kwok|kwokctl) v=$("$bin/$b" --version 2>&1 | head -n 1) ;;
            *) v=$("$bin/$b" --version 2>&1 | head -n 1) ;;
        esac
        say "  $b: $v"
    done
    return $ok
}

case "${1:-build}" in
    env)
        echo "export PATH=\"$bin:\$PATH\""
        echo "export PLATFORM_TOOLCHAIN_BIN=\"$bin\""
        ;;
    check)
        check
        ;;
    build)
        failed=()
        for piece in pulumi etcd kwok actionlint kube; do
            run_step "$piece" || failed+=("$piece")
        done
        probe_unavailable
        check || true
        if [ ${#failed[@]} -gt 0 ]; then
            say "FAILED: ${failed[*]} (logs in $logs)"
            exit 1
        fi
        ;;
    *)
        echo "usage: bash toolchain/build.sh [build|env|check]" >&2
        exit 2
        ;;
esac
