#!/usr/bin/env bash
# Builds the local toolchain from the Go module proxy (and the npm registry) into a cache outside the
# repo, keyed by the versions in toolchain/versions.env:
#   Pulumi CLI, the Node.js language host and the Kubernetes provider plugin (from the
#   module versions the proxy serves), a local Kubernetes control plane (etcd, kube-apiserver,
#   kube-controller-manager, kube-scheduler, kubectl), kwok/kwokctl, and actionlint.
#
#   bash toolchain/build.sh [build] [PIECE...]  build what is missing (all pieces by default), check
#                                               (`build cluster` = kube etcd kwok)
#   bash toolchain/build.sh check               only check what is built
#   bash toolchain/build.sh env                 print `export ...` lines: eval "$(bash toolchain/build.sh env)"
#   bash toolchain/build.sh dir                 print the cache folder of this version set
#
# Pieces: kube etcd kwok pulumi nodejs-scripts language-nodejs provider-kubernetes
# actionlint helm. Each piece has a stamp; a warm run only checks (seconds). Exit codes: 0 everything
# built; 1 a piece failed to build (its module, version and log tail are printed); 3 the only missing
# pieces are modules the Go module proxy refuses (see toolchain/README.md).
# Env: PLATFORM_TOOLCHAIN_DIR (cache root, default ~/.cache/platform-toolchain).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=/dev/null
source "$here/versions.env"
key=$(grep -E '^[A-Z_]+=' "$here/versions.env" | sort | sha256sum | cut -c1-12)
root="${PLATFORM_TOOLCHAIN_DIR:-$HOME/.cache/platform-toolchain}/$key"
bin="$root/bin"
logs="$root/logs"
stamps="$root/stamps"
ALL_PIECES="kube etcd kwok pulumi nodejs-scripts language-nodejs provider-kubernetes actionlint helm"
REFUSED=42 # a build function returns this when the module proxy refuses a module

say() { printf '[toolchain] %s\n' "$*" >&2; }

print_env() {
    echo "export PLATFORM_TOOLCHAIN_BIN=\"$bin\""
    echo "export PATH=\"$bin:\$PATH\""
    echo "export KWOK_KUBE_VERSION=\"v$KUBERNETES_VERSION\""
    echo "export PULUMI_SKIP_UPDATE_CHECK=true"
    echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
    # The provider is installed into Pulumi's plugin cache as the version package.json pins; without
    # this the CLI would also pick the binary up from PATH (with a warning on every run).
    echo "export PULUMI_IGNORE_AMBIENT_PLUGINS=true"
    # The language host built here (sdk/v3 v3.52.0) does not receive Pulumi.yaml's runtime options
    # from this CLI, so tsconfig.pulumi.json's noCheck would not reach it: say it through the
    # environment instead (halves a no-op preview; `npm run build` type-checks in CI).
    echo "export PULUMI_NODEJS_TRANSPILE_ONLY=true"
}

case "${1:-}" in
    env) print_env; exit 0 ;;
    dir) echo "$root"; exit 0 ;;
esac

mkdir -p "$bin" "$logs" "$stamps" "$root/src"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export PATH="$bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# mod_json MODULE@VERSION: `go mod download -json`; on a proxy refusal prints the proxy's answer and
# returns $REFUSED.
mod_json() {
    local out
    out=$(cd "$root/src" && GOFLAGS= go mod download -json "$1" 2>&1) || true
    if printf '%s' "$out" | grep -q '"Error"'; then
        printf '%s\n' "$out" >&2
        if printf '%s' "$out" | grep -qE '403|404|410|not available|unknown revision|invalid version'; then
            # e.g. `403 Forbidden ... This module version is not available.` (the proxy refuses the
            # module), or `sumdb ... 404 Not Found` (no checksum-database record for that version).
            echo "module $1: refused by the Go module proxy: $(printf '%s' "$out" | sed -n 's/.*"Error": "//p' |
                sed 's/\\n\\t/ /g; s/",\{0,1\}$//; s/.*: reading https/reading https/' | head -n 1)" >&2
            return $REFUSED
        fi
        return 1
    fi
    printf '%s\n' "$out"
}
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\{0,1\}$/\\1/p" | head -n 1; }

# wrapper_replaces GOMOD: the non-local replace directives of a go.mod, as `replace` lines.
wrapper_replaces() {
    awk '
        /^replace[[:space:]]*\(/ { block = 1; next }
        block && /^\)/ { block = 0; next }
        block { line = $0 } !block && /^replace / { line = $0; sub(/^replace[[:space:]]+/, "", line) }
        line != "" { if (line !~ /=>[[:space:]]*\.\.?\//) print "replace " line; line = "" }
    ' "$1"
}

# ---------------------------------------------------------------------------------------------------
build_kube() {
    local v="$KUBERNETES_VERSION" dir="$root/src/kube" gomod goline
    gomod=$(mod_json "k8s.io/kubernetes@v$v" | json_field GoMod) || return $?
    goline=$(grep -m1 '^go ' "$gomod")
    mkdir -p "$dir" && cd "$dir"
    # k8s.io/kubernetes replaces its staging modules (k8s.io/api, client-go, ...) with local folders;
    # the wrapper replaces each with the published k8s.io/<name> v0.<minor>.<patch> of the release.
    {
        echo "module local/kube"
        echo "$goline"
        echo "require k8s.io/kubernetes v$v"
        sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" |
            while read -r m; do echo "replace $m => $m v0.${v#1.}"; done
    } > go.mod
    echo "wrapper go.mod: $(grep -c '^replace' go.mod) staging replaces"
    local ver="v$v" major=${v%%.*} minor=${v#*.}
    minor=${minor%%.*}
    local f="" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        f="$f -X $p.gitVersion=$ver -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    go build -trimpath -ldflags "-s -w$f" -o "$bin/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
    local dir="$root/src/etcd"
    mod_json "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null || return $?
    mkdir -p "$dir" && cd "$dir"
    printf 'module local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > go.mod
    go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
    mod_json "sigs.k8s.io/kwok@v$KWOK_VERSION" >/dev/null || return $?
    # consts.KubeVersion is kwokctl's default Kubernetes version: make it the one built here.
    GOBIN="$bin" GOFLAGS= go install -trimpath \
        -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION" \
        "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION"
}

# pulumi_wrapper DIR: a wrapper module requiring pkg/v3 and sdk/v3 at the pinned release with
# pkg/v3's non-local replaces (github.com/atotto/clipboard => a fork, ...).
pulumi_wrapper() {
    local v="$PULUMI_VERSION" gomod
    gomod=$(mod_json "github.com/pulumi/pulumi/pkg/v3@v$v" | json_field GoMod) || return $?
    mod_json "github.com/pulumi/pulumi/sdk/v3@v$v" >/dev/null || return $?
    mkdir -p "$1"
    {
        echo "module local/pulumi"
        echo
        grep -m1 '^go ' "$gomod"
        echo
        echo "require ("
        echo "    github.com/pulumi/pulumi/pkg/v3 v$v"
        echo "    github.com/pulumi/pulumi/sdk/v3 v$v"
        echo ")"
        wrapper_replaces "$gomod"
    } > "$1/go.mod"
    cat "$1/go.mod"
}
PULUMI_LDFLAGS() { echo "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"; }

build_pulumi() {
    local dir="$root/src/pulumi"
    pulumi_wrapper "$dir" || return $?
    cd "$dir"
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$(PULUMI_LDFLAGS)" \
        -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# The dynamic-provider plugin is a shell script shipped in the npm package @pulumi/pulumi; the
# policy analyzer fallback is the project's own script (toolchain/wrappers/).
build_nodejs_scripts() {
    local src="$repo/node_modules/@pulumi/pulumi" tmp have
    have=$(node -p "try{require('$src/package.json').version}catch(e){''}" 2>/dev/null || true)
    if [ "$have" != "$PULUMI_VERSION" ]; then
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --silent "@pulumi/pulumi@$PULUMI_VERSION" >/dev/null && tar -xzf ./*.tgz)
        src="$tmp/package"
    fi
    echo "copying from $src"
    install -m 0755 "$src/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"
    # The policy-pack runner the engine falls back to where no language host runs the pack (see the script).
    install -m 0755 "$here/wrappers/pulumi-analyzer-policy-nodejs" "$bin/pulumi-analyzer-policy-nodejs"
    [ -z "${tmp:-}" ] || rm -rf "$tmp"
}

# The Node.js language host. Newer hosts (module sdk/nodejs/cmd/pulumi-language-nodejs/v3) are refused
# by the proxy at every commit tried; sdk/v3 at $PULUMI_LANGUAGE_NODEJS_SDK still holds the host as a
# package and is served. A wrapper module requires it, repeats its non-local replaces, and imports the
# package from a tools file so `go mod tidy` keeps its dependencies.
build_language_nodejs() {
    local v="$PULUMI_LANGUAGE_NODEJS_SDK" dir="$root/src/language-nodejs" gomod
    local pkg=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
    gomod=$(mod_json "github.com/pulumi/pulumi/sdk/v3@v$v" | json_field GoMod) || return $?
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
    {
        echo "module local/language-nodejs"
        echo
        grep -m1 '^go ' "$gomod"
        echo
        echo "require github.com/pulumi/pulumi/sdk/v3 v$v"
        wrapper_replaces "$gomod"
    } > go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > tools.go
    go mod tidy
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
        -o "$bin/pulumi-language-nodejs" "$pkg"
}

# minify_json IN OUT [VERSION]: minified JSON, with a top-level "version" set when given.
minify_json() {
    node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
             if (process.argv[3]) j.version=process.argv[3];
             fs.writeFileSync(process.argv[2], JSON.stringify(j));' "$1" "$2" "${3:-}"
}

# The Kubernetes provider from the one commit the proxy serves (versions.env), copied into a
# writable folder: its go.mod replaces sdk/v4 with ../sdk (not in the module zip), so the published
# sdk/v4 is required instead; main.go embeds two generated files that are not in the zip either.
# The binary reports PULUMI_KUBERNETES_VERSION, the npm SDK version package.json pins.
build_provider_kubernetes() {
    local v="$PULUMI_KUBERNETES_VERSION" dir="$root/src/provider-kubernetes" srcdir cmd
    local mod=github.com/pulumi/pulumi-kubernetes/provider/v4
    srcdir=$(mod_json "$mod@$PULUMI_KUBERNETES_PROVIDER_MODULE" | json_field Dir) || return $?
    mod_json "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_MODULE" >/dev/null || return $?
    echo "provider-kubernetes: $mod@$PULUMI_KUBERNETES_PROVIDER_MODULE as version $v"
    rm -rf "$dir" && mkdir -p "$dir" && cp -r "$srcdir/." "$dir/" && chmod -R u+w "$dir"
    cd "$dir"
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
        -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_MODULE"
    cmd=cmd/pulumi-resource-kubernetes
    minify_json "$cmd/schema.json" "$cmd/schema-embed.json" "$v"
    minify_json "$cmd/terraform-mapping.json" "$cmd/terraform-mapping-embed.json"
    # The schema the binary serves, kept for the schema test (tests/e2e/schema.e2e.ts).
    cp "$cmd/schema-embed.json" "$root/provider-kubernetes-schema.json"
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v" \
        -o "$bin/pulumi-resource-kubernetes" "./$cmd"
}

build_actionlint() {
    mod_json "github.com/rhysd/actionlint@v$ACTIONLINT_VERSION" >/dev/null || return $?
    GOBIN="$bin" GOFLAGS= go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
        "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
}

# Helm, for the benchmark's side-by-side with `helm upgrade --install` (npm run bench).
build_helm() {
    mod_json "helm.sh/helm/v3@v$HELM_VERSION" >/dev/null || return $?
    GOBIN="$bin" GOFLAGS= go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
        "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
}

# Provider plugins go into Pulumi's plugin cache ($PULUMI_HOME/plugins), installed from the local file.
install_plugin() {
    local name=$1 v=$2 file="$bin/pulumi-resource-$1"
    [ -x "$file" ] && [ -x "$bin/pulumi" ] || return 0
    if "$bin/pulumi" plugin ls 2>/dev/null | awk '{print $1, $2, $3}' | grep -q "^$name resource $v$"; then
        return 0
    fi
    say "plugin $name $v: installing into the Pulumi plugin cache"
    "$bin/pulumi" plugin install resource "$name" "$v" --file "$file" >"$logs/plugin-$name.log" 2>&1 ||
        { say "plugin $name: install FAILED:"; tail -n 5 "$logs/plugin-$name.log" | sed 's/^/    /' >&2; return 1; }
}

# ---------------------------------------------------------------------------------------------------
declare -A MODULE_OF=(
    [kube]="k8s.io/kubernetes@v$KUBERNETES_VERSION"
    [etcd]="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    [kwok]="sigs.k8s.io/kwok@v$KWOK_VERSION"
    [pulumi]="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION"
    [nodejs-scripts]="npm @pulumi/pulumi@$PULUMI_VERSION"
    [language-nodejs]="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_LANGUAGE_NODEJS_SDK (nodejs/cmd/pulumi-language-nodejs)"
    [provider-kubernetes]="github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE"
    [actionlint]="github.com/rhysd/actionlint@v$ACTIONLINT_VERSION"
    [helm]="helm.sh/helm/v3@v$HELM_VERSION"
)
declare -A BINS_OF=(
    [kube]="kube-apiserver kube-controller-manager kube-scheduler kubectl"
    [etcd]="etcd" [kwok]="kwok kwokctl" [pulumi]="pulumi"
    [nodejs-scripts]="pulumi-resource-pulumi-nodejs pulumi-analyzer-policy-nodejs" [language-nodejs]="pulumi-language-nodejs"
    [provider-kubernetes]="pulumi-resource-kubernetes"
    [actionlint]="actionlint" [helm]="helm"
)
failed=() refused=()

# run_step PIECE: builds PIECE unless its stamp exists and its binaries are present.
run_step() {
    local name=$1 start rc b ok=1
    for b in ${BINS_OF[$name]}; do [ -x "$bin/$b" ] || ok=0; done
    if [ -f "$stamps/$name" ] && [ $ok = 1 ]; then
        say "$name: built ($(cat "$stamps/$name"))"
        return 0
    fi
    say "$name: building ${MODULE_OF[$name]} (log: $logs/$name.log)"
    start=$(date +%s)
    set +e
    ( set -e; "build_${name//-/_}" ) >"$logs/$name.log" 2>&1
    rc=$?
    set -e
    local took=$(( $(date +%s) - start ))
    if [ $rc = 0 ]; then
        echo "${MODULE_OF[$name]}, built in ${took}s on $(date -u +%FT%TZ)" > "$stamps/$name"
        say "$name: done in ${took}s"
    elif [ $rc = $REFUSED ]; then
        refused+=("$name")
        say "$name: UNAVAILABLE: ${MODULE_OF[$name]} is refused by the Go module proxy:"
        grep 'refused by the Go module proxy' "$logs/$name.log" | tail -n 1 | sed 's/^/    /' >&2
    else
        failed+=("$name")
        say "$name: FAILED after ${took}s building ${MODULE_OF[$name]}; last lines of $logs/$name.log:"
        tail -n 20 "$logs/$name.log" | sed 's/^/    /' >&2
    fi
}

version_of() {
    case $1 in
        etcd) "$bin/etcd" --version 2>&1 | head -n 1 ;;
        kubectl) "$bin/kubectl" version --client 2>&1 | head -n 1 ;;
        pulumi) "$bin/pulumi" version 2>&1 ;;
        actionlint) "$bin/actionlint" -version 2>&1 | head -n 1 ;;
        kwok|kwokctl) "$bin/$1" --version 2>&1 | head -n 1 ;;
        pulumi-resource-pulumi-nodejs) echo "shell script from @pulumi/pulumi" ;;
        pulumi-analyzer-policy-nodejs) echo "shell script from toolchain/wrappers" ;;
        pulumi-language-nodejs) "$bin/$1" -version 2>&1 | head -n 1 ;;
        pulumi-resource-*) echo "(see pulumi plugin ls)" ;;
        *) "$bin/$1" --version 2>&1 | head -n 1 ;;
    esac
}

check() {
    local rc=0 p b
    say "checking $bin"
    for p in $ALL_PIECES; do
        for b in ${BINS_OF[$p]}; do
            if [ -x "$bin/$b" ]; then
                say "  $b: $(version_of "$b")"
            else
                say "  $b: missing"; rc=1
            fi
        done
    done
    if [ -x "$bin/pulumi" ]; then
        say "pulumi plugin ls:"
        "$bin/pulumi" plugin ls 2>&1 | sed 's/^/    /' >&2 || true
    fi
    return $rc
}

cmd=${1:-build}
[ $# = 0 ] || shift
case $cmd in
    check)
        check
        ;;
    build)
        pieces=${*:-$ALL_PIECES}
        pieces=${pieces//cluster/kube etcd kwok} # `build cluster`: only what toolchain/cluster.sh needs
        t0=$(date +%s)
        for piece in $pieces; do
            [ -n "${BINS_OF[$piece]:-}" ] || { say "unknown piece $piece (pieces: $ALL_PIECES)"; exit 2; }
            run_step "$piece"
        done
        install_plugin kubernetes "$PULUMI_KUBERNETES_VERSION" || failed+=("plugin-kubernetes")
        check || true
        say "cache: $root ($(( $(date +%s) - t0 ))s)"
        if [ ${#failed[@]} -gt 0 ]; then
            say "FAILED: ${failed[*]} (logs in $logs)"
            exit 1
        fi
        if [ ${#refused[@]} -gt 0 ]; then
            say "UNAVAILABLE from the Go module proxy: ${refused[*]} (see toolchain/README.md)"
            exit 3
        fi
        ;;
    *)
        echo "usage: bash toolchain/build.sh [build [PIECE...]|check|env|dir]" >&2
        exit 2
        ;;
esac
