#!/usr/bin/env bash
# The main job: from a fresh clone, bring the `local` stack up on a local cluster.
#   npm run up:local
# Installs dependencies, builds the toolchain if missing (Pulumi CLI, Node.js language host,
# Kubernetes provider, control plane; cached outside the repo), starts the local cluster (loopback
# only), uses a file state backend and a passphrase secrets provider under .local/ (git-ignored, no
# Pulumi Cloud account), generates the stack's secrets into encrypted config, runs `pulumi up`,
# prints the outputs and how to reach the app. A second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[up:local] %s\n' "$*" >&2; }
stack=local
template=stacks/local.yaml

[ -d node_modules/@pulumi/pulumi ] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }

bash toolchain/build.sh build || { say "toolchain build failed; see the messages above"; exit 1; }
eval "$(bash toolchain/build.sh env)"

bash toolchain/cluster.sh up
eval "$(bash toolchain/cluster.sh env)"

mkdir -p .local/state
umask 077
[ -s .local/passphrase ] || node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' > .local/passphrase
export PULUMI_BACKEND_URL="file://$PWD/.local/state"
export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.local/passphrase"

# Pulumi.<stack>.yaml: the committed template's config, plus this machine's salt and secrets.
node -e '
const fs = require("fs"); const { parse, stringify } = require("yaml");
const [template, file] = process.argv.slice(1);
const t = parse(fs.readFileSync(template, "utf8"));
const current = fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) ?? {} : {};
const secure = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, v]) => v && typeof v === "object" && "secure" in v));
fs.writeFileSync(file, stringify({ ...current, config: { ...t.config, ...secure } }));' "$template" "Pulumi.$stack.yaml"
pulumi stack select --create "$stack" --secrets-provider passphrase
npm run --silent secrets -- init --stack "$stack"
pulumi up --yes --skip-preview --stack "$stack"
pulumi stack output --stack "$stack"
ns=$(pulumi stack output namespace --stack "$stack")
say "the app runs in namespace $ns (KUBECONFIG=$KUBECONFIG):"
say "  kubectl -n $ns get pods"
say "  kubectl -n $ns port-forward svc/frontend 8080:80   (frontend; the local cluster simulates pods, so nothing answers)"
say "state: .local/state, passphrase: .local/passphrase; stop the cluster with 'npm run cluster:down'"
