#!/usr/bin/env bash
# The main job: from a fresh clone, bring the `local` stack up on a local cluster.
#   npm run up:local [-- <example>]      (an example of stacks/examples/, e.g. disney-ai-plus)
# Installs dependencies, builds the toolchain if missing (Pulumi CLI, Node.js language host,
# Kubernetes provider, control plane; cached outside the repo), starts the local cluster (loopback
# only), serves the add-ons' charts on loopback, uses a file state backend and a passphrase secrets provider under .local/ (git-ignored, no
# Pulumi Cloud account), generates the stack's secrets into encrypted config, runs `pulumi up`,
# prints the outputs and how to reach the app. A second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[up:local] %s\n' "$*" >&2; }
# No argument: the `local` stack (Kaizen Studio, stacks/local.yaml). An example's name: that example
# stack (stacks/examples/<name>.yaml), with this machine's local settings laid over it below.
stack=${1:-local}
template=stacks/local.yaml
if [ "$stack" != local ]; then
    template=stacks/examples/$stack.yaml
    [ -f "$template" ] || { say "no example '$stack'; choose one of: $(cd stacks/examples && ls *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')"; exit 2; }
fi

[ -d node_modules/@pulumi/pulumi ] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }

bash toolchain/build.sh build || { say "toolchain build failed; see the messages above"; exit 1; }
eval "$(bash toolchain/build.sh env)"

bash toolchain/cluster.sh up
eval "$(bash toolchain/cluster.sh env)"

# The add-ons' charts. The local cluster reaches no public chart repository and runs no containers,
# so the four add-ons come from the project's stand-in charts (tests/fixtures/charts: the real
# charts' names, versions and the parts of their interface the program uses), packaged and served
# as a Helm repository on loopback for the length of this run, the way a mirror serves a real cluster.
repo_port=8879
charts=.local/charts
rm -rf "$charts" && mkdir -p "$charts"
for chart in tests/fixtures/charts/*/; do helm package "$chart" -d "$charts" >/dev/null; done
helm repo index "$charts" --url "http://127.0.0.1:$repo_port"
node scripts/lib/chart-repo.mjs "$charts" "$repo_port" &
repo_pid=$!
trap 'kill "$repo_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    kill -0 "$repo_pid" 2>/dev/null || { say "the chart repository could not listen on 127.0.0.1:$repo_port (see above)"; exit 1; }
    curl -sf -o /dev/null "http://127.0.0.1:$repo_port/index.yaml" && break
    sleep 0.1
done
say "add-on charts served at http://127.0.0.1:$repo_port ($(ls "$charts" | grep -c '\.tgz$') charts)"

mkdir -p .local/state
umask 077
[ -s .local/passphrase ] || node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' > .local/passphrase
export PULUMI_BACKEND_URL="file://$PWD/.local/state"
export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.local/passphrase"

# Pulumi.<stack>.yaml: the committed template's config, plus this machine's salt and secrets, with
# what every stack needs on this machine: the local cluster's kubeconfig, the enabled add-ons' charts
# from the loopback repository, and an Ingress that does not wait for an address (the stand-in
# controller publishes none).
node -e '
const fs = require("fs"); const { parse, stringify } = require("yaml");
const [template, file, repo] = process.argv.slice(1);
const t = parse(fs.readFileSync(template, "utf8")).config;
t["platform:cluster"] = { kubeconfig: ".local/kubeconfig" };
for (const addon of Object.values(t["platform:addons"] ?? {})) if (addon.enabled) addon.repository = repo;
if (t["platform:ingress"]?.enabled) t["platform:ingress"].waitForAddress = false;
const current = fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) ?? {} : {};
const secure = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, v]) => v && typeof v === "object" && "secure" in v));
fs.writeFileSync(file, stringify({ ...current, config: { ...t, ...secure } }));' "$template" "Pulumi.$stack.yaml" "http://127.0.0.1:$repo_port"
pulumi stack select --create "$stack" --secrets-provider passphrase
init_status=0
npm run --silent secrets -- init --stack "$stack" > .local/secrets-init.log 2>&1 || init_status=$?
cat .local/secrets-init.log >&2
# Secrets a person supplies (an external API key, the alert webhook) cannot be generated; on the local
# cluster, where nothing calls them, each missing one gets a stand-in value, said here.
missing=$(sed -n 's/^ *still missing \([A-Za-z0-9]*\):.*/\1/p' .local/secrets-init.log)
[ "$init_status" = 0 ] || [ -n "$missing" ] || { say "generating the stack's secrets failed (above)"; exit 1; }
for key in $missing; do
    case $key in *Url) value="https://$key.invalid/local-stand-in" ;; *) value="local-stand-in-$key" ;; esac
    printf '%s' "$value" | pulumi config set --secret "platform:$key" --stack "$stack"
    say "set a local stand-in for the person-supplied secret $key"
done
# --refresh: the state may describe a cluster that is gone (`npm run cluster:down` deletes it, the
# state in .local/state stays); refreshing first makes up recreate what is missing instead of failing.
pulumi up --yes --skip-preview --refresh --stack "$stack"
pulumi stack output --stack "$stack"
ns=$(pulumi stack output namespace --stack "$stack")
say "the app runs in namespace $ns (KUBECONFIG=$KUBECONFIG):"
say "  kubectl -n $ns get pods"
services=$(pulumi stack output serviceUrls --json --stack "$stack" | node -e 'process.stdout.write(Object.keys(JSON.parse(require("fs").readFileSync(0, "utf8"))).join(" "))')
say "  kubectl -n $ns port-forward svc/<service> 8080:<port>   (services: $services; the local cluster simulates pods, so nothing answers)"
say "state: .local/state, passphrase: .local/passphrase; stop the cluster with 'npm run cluster:down'"
