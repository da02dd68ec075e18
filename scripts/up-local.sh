#!/usr/bin/env bash
# The main job: from a fresh clone, bring the `local` stack up on a local cluster.
#   npm run up:local
# Installs dependencies, builds the toolchain if missing, starts the local cluster (loopback only),
# uses a file state backend and a passphrase secrets provider under .local/ (git-ignored, no Pulumi
# Cloud account), generates the stack's secrets, runs `pulumi up`, prints the outputs and how to
# reach the app.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[up:local] %s\n' "$*" >&2; }

[ -d node_modules ] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }

set +e
bash toolchain/build.sh build
rc=$?
set -e
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    say "toolchain build failed (exit $rc); see the messages above"
    exit "$rc"
fi
eval "$(bash toolchain/build.sh env)"

bash toolchain/cluster.sh up
eval "$(bash toolchain/cluster.sh env)"

mkdir -p .local/state
umask 077
[ -s .local/passphrase ] || node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' > .local/passphrase
export PULUMI_BACKEND_URL="file://$PWD/.local/state"
export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.local/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true

missing=()
pulumi plugin ls 2>/dev/null | grep -q '^kubernetes ' || missing+=("the kubernetes provider plugin 4.34.2")
pulumi plugin ls 2>/dev/null | grep -q '^random ' || missing+=("the random provider plugin 4.21.2")
command -v pulumi-language-nodejs >/dev/null || missing+=("the Node.js language host (pulumi-language-nodejs)")
if [ ${#missing[@]} -gt 0 ]; then
    say "BLOCKED: missing $(IFS=';'; echo "${missing[*]}")."
    say "These machines cannot build them: the Go module proxy refuses their modules (README: 'Live runs')."
    say "The local cluster is up (KUBECONFIG=$KUBECONFIG). On a machine with a normal Pulumi installation"
    say "('pulumi plugin install resource kubernetes 4.34.2', 'pulumi plugin install resource random 4.21.2'), rerun."
    exit 3
fi

# Pulumi.local.yaml: the committed template's config, plus this machine's salt and secrets.
node -e '
const fs = require("fs"); const { parse, stringify } = require("yaml");
const template = parse(fs.readFileSync("stacks/local.yaml", "utf8"));
const current = fs.existsSync("Pulumi.local.yaml") ? parse(fs.readFileSync("Pulumi.local.yaml", "utf8")) ?? {} : {};
const secure = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, v]) => v && typeof v === "object" && "secure" in v));
const out = { ...current, config: { ...template.config, ...secure } };
fs.writeFileSync("Pulumi.local.yaml", stringify(out));'
pulumi stack select --create local --secrets-provider passphrase
npm run --silent secrets -- init --stack local
pulumi up --yes --stack local
pulumi stack output --stack local
ns=$(pulumi stack output namespace --stack local)
say "reach the app: kubectl -n $ns port-forward svc/frontend 8080:80 (frontend), svc/backend 8000:8000 (API)"
