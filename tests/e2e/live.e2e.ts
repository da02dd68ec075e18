// The program through the real Pulumi CLI, the Kubernetes provider and the Node.js language host
// built by toolchain/build.sh, against the local cluster (toolchain/cluster.sh): previews of every
// stack, `up` of dev and prod with the provider's await logic on, idempotency, a rollout, a secret
// rotation with a search for plaintext, a StackReference consumer, drift, a refused config, an `up`
// killed halfway, and what `destroy` removes and keeps.
//
// The stacks share one cluster and their add-on releases share names (ingress-nginx, cert-manager,
// ...), as they would in real clusters of their own, so dev and prod are brought up one after the
// other. Needs KUBECONFIG for the local cluster and the toolchain on PATH (.ci/e2e sets both).

import * as assert from "assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LiveWorkspace, changes, createLiveWorkspace, everyWorkloadReady, killTree, kubectl, kubectlJson, kubectlOk, processesIn } from "./live";
import { ROOT } from "./workspace";

const DEV_NS = "kaizen-studio-dev";
const PROD_NS = "kaizen-studio";
const WORKLOADS = ["deployment.apps/backend", "deployment.apps/frontend", "deployment.apps/redis", "statefulset.apps/postgres"];

type Obj = { metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

function deploymentImage(ns: string, name: string): string {
    return kubectlJson(["get", "deployment", name, "-n", ns]).spec.template.spec.containers[0].image;
}


function boundVolume(ns: string, claim: string): string {
    const pvc = kubectlJson(["get", "pvc", claim, "-n", ns]);
    assert.equal(pvc.status.phase, "Bound", `${claim} is bound`);
    return pvc.spec.volumeName;
}

describe("live: the real Pulumi CLI against the local cluster", function () {
    this.timeout(900_000);
    let ws: LiveWorkspace;

    before(() => {
        ws = createLiveWorkspace();
        for (const stack of ["dev", "staging", "prod"]) {
            ws.initStack(stack);
        }
        ws.initStack("local", "stacks/local.yaml");
    });
    after(() => ws?.dispose());

    describe("preview", () => {
        for (const stack of ["local", "dev", "staging", "prod"]) {
            it(`of ${stack} succeeds on an empty cluster, with no warning from the engine`, () => {
                const r = ws.pulumi(["preview", "--stack", stack]);
                assert.match(r.stdout, /\d+ to create/);
                assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error:|is expected to have version/);
            });
        }
    });

    describe("policy pack on real previews", () => {
        const policyPreview = (stack: string) => {
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tests", "e2e", "policyPreview.ts"), ws.dir, stack],
                { cwd: ROOT, env: ws.env, encoding: "utf8" });
            ws.transcript.push(r.stdout, r.stderr);
            return r;
        };

        for (const stack of ["dev", "prod"]) {
            it(`passes the committed ${stack} stack`, () => {
                const r = policyPreview(stack);
                assert.equal(r.status, 0, r.stdout + r.stderr);
                assert.match(r.stdout, /platform-checklist/);
                assert.doesNotMatch(r.stdout, /mandatory/);
            });
        }

        it("fails a stack that breaks a rule, with the rule's message", () => {
            ws.editConfig("dev", (c) => { c["platform:services"].frontend.replicas = 2; });
            const r = policyPreview("dev");
            ws.editConfig("dev", (c) => { c["platform:services"].frontend.replicas = 1; });
            assert.notEqual(r.status, 0);
            assert.match(r.stdout, /pdb-for-replicated-workloads/);
            assert.match(r.stdout, /Deployment (kaizen-studio-dev\/)?frontend runs 2 replicas: add a PodDisruptionBudget/);
        });
    });

    describe("a refused config", () => {
        it("fails preview and up before anything is touched", () => {
            ws.editConfig("dev", (c) => { c["platform:jwtAlgorithm"] = "HS999"; });
            for (const cmd of [["preview"], ["up", "--yes"]]) {
                const r = ws.pulumi([...cmd, "--stack", "dev"], { ok: false });
                assert.notEqual(r.status, 0);
                assert.match(r.stdout + r.stderr, /jwtAlgorithm: "HS999" is not allowed: must be one of HS256, RS256/);
            }
            const state = JSON.parse(ws.pulumi(["stack", "export", "--stack", "dev"]).stdout);
            assert.deepEqual((state.deployment.resources ?? []).filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack"), []);
            assert.equal(kubectl(["get", "namespace", DEV_NS]).status, 1, "the namespace was not created");
            ws.editConfig("dev", (c) => { c["platform:jwtAlgorithm"] = "HS256"; });
        });
    });

    describe("dev", () => {
        it("comes up with the add-ons, every workload ready and every pod admitted under restricted", () => {
            const r = ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.doesNotMatch(r.stdout + r.stderr, /is expected to have version/);
            assert.deepEqual(everyWorkloadReady(DEV_NS), WORKLOADS);
            const labels = kubectlJson(["get", "namespace", DEV_NS]).metadata.labels;
            assert.equal(labels["pod-security.kubernetes.io/enforce"], "restricted");
            const bad = kubectl(["run", "psa-probe", "-n", DEV_NS, "--image=busybox:1.36.1", "--restart=Never",
                "--overrides", JSON.stringify({ spec: { containers: [{ name: "psa-probe", image: "busybox:1.36.1", securityContext: { privileged: true } }] } })]);
            assert.match(bad.stderr, /violates PodSecurity "restricted:latest"/);
            const releases = kubectlOk(["get", "secrets", "-A", "-l", "owner=helm", "-o", "jsonpath={range .items[*]}{.metadata.labels.name}={.metadata.labels.status} {end}"]);
            for (const rel of ["kube-prometheus-stack", "ingress-nginx", "cert-manager", "metrics-server"]) {
                assert.match(releases, new RegExp(`${rel}=deployed`), rel);
            }
            assert.deepEqual(kubectlJson(["get", "servicemonitor", "-n", DEV_NS]).items.map((i: Obj) => i.metadata.name).sort(), ["backend", "postgres", "redis"]);
            assert.equal(kubectlJson(["get", "ingress", "kaizen-studio", "-n", DEV_NS]).status.loadBalancer.ingress[0].ip, "127.0.0.1");
        });

        it("previews no change right after up (--expect-no-changes)", () => {
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("rolls only the backend when its image tag changes", () => {
            ws.editConfig("dev", (c) => { c["platform:services"].backend.image = "registry.yourdomain.com/kaizen-studio-backend:v1.0.1"; });
            assert.deepEqual(changes(ws, "dev"), ["update kubernetes:apps/v1:Deployment backend"]);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.equal(deploymentImage(DEV_NS, "backend"), "registry.yourdomain.com/kaizen-studio-backend:v1.0.1");
            const sets = kubectlJson(["get", "replicasets", "-n", DEV_NS, "-l", "app.kubernetes.io/component=backend"]).items;
            const live = sets.filter((s: { status: { replicas: number } }) => s.status.replicas > 0);
            assert.equal(live.length, 1, "one ReplicaSet serves after the rollout");
            assert.equal(live[0].spec.template.spec.containers[0].image, "registry.yourdomain.com/kaizen-studio-backend:v1.0.1");
            assert.equal(sets.length, 2, "the old ReplicaSet is kept for rollback, scaled to zero");
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("rolls back to the previous update's images with one command, previewed first", () => {
            const rollback = (...args: string[]) => {
                const r = ws.tryRun("node", ["-r", "ts-node/register/transpile-only", "scripts/rollback.ts", "--stack", "dev", ...args]);
                ws.transcript.push(r.stdout, r.stderr);
                assert.equal(r.status, 0, `rollback ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
                return r.stdout;
            };
            const before = ws.read("Pulumi.dev.yaml");
            const preview = rollback();
            assert.match(preview, /images: backend: registry\.yourdomain\.com\/kaizen-studio-backend:v1\.0\.1 -> registry\.yourdomain\.com\/kaizen-studio-backend:v1\.0\.0/);
            assert.match(preview, /~ image: "registry\.yourdomain\.com\/kaizen-studio-backend:v1\.0\.1" => "registry\.yourdomain\.com\/kaizen-studio-backend:v1\.0\.0"/);
            assert.match(preview, /~ 1 to update/);
            assert.equal(ws.read("Pulumi.dev.yaml"), before, "a preview leaves the stack file as it was");
            assert.equal(deploymentImage(DEV_NS, "backend"), "registry.yourdomain.com/kaizen-studio-backend:v1.0.1");
            rollback("--yes");
            assert.equal(deploymentImage(DEV_NS, "backend"), "registry.yourdomain.com/kaizen-studio-backend:v1.0.0");
            kubectlOk(["rollout", "status", "deployment/backend", "-n", DEV_NS, "--timeout=120s"]);
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("rotates a secret: the Secret changes and exactly the pods using it roll", () => {
            const checksums = () => Object.fromEntries(["backend", "frontend", "redis"].map((d) =>
                [d, kubectlJson(["get", "deployment", d, "-n", DEV_NS]).spec.template.metadata.annotations["checksum/secret"]]));
            const before = checksums();
            assert.equal(ws.secrets("rotate", "redisPassword", "--stack", "dev").status, 0);
            const planned = changes(ws, "dev").sort();
            // In place (the provider's enableSecretMutable): a replacement would delete the Secret first.
            assert.deepEqual(planned, [
                "update kubernetes:apps/v1:Deployment backend",
                "update kubernetes:apps/v1:Deployment redis",
                "update kubernetes:core/v1:Secret backend-secrets",
                "update kubernetes:core/v1:Secret redis-credentials",
            ]);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            const after = checksums();
            assert.notEqual(after.backend, before.backend);
            assert.notEqual(after.redis, before.redis);
            assert.equal(after.frontend, before.frontend, "the frontend does not use Redis");
            const live = kubectlJson(["get", "secret", "redis-credentials", "-n", DEV_NS]).data.REDIS_PASSWORD;
            const configured = ws.pulumi(["config", "get", "platform:redisPassword", "--stack", "dev"], { reveal: true }).stdout.replace(/\n$/, "");
            assert.equal(Buffer.from(live, "base64").toString(), configured);
        });

        it("gives the backend a secret the stack declares itself, through secretEnv, encrypted at rest", () => {
            const value = "sk_test_live-e2e-stack-secret";
            ws.editConfig("dev", (c) => {
                c["platform:secrets"] = { custom: { stripeApiKey: "external" } };
                c["platform:services"].backend.secretEnv.push({ name: "STRIPE_API_KEY", from: "stripeApiKey" });
            });
            ws.pulumi(["config", "set", "--secret", "platform:stripeApiKey", "--stack", "dev"], { input: value });
            assert.equal(ws.read("Pulumi.dev.yaml").includes(value), false);
            assert.deepEqual(changes(ws, "dev").sort(), ["update kubernetes:apps/v1:Deployment backend", "update kubernetes:core/v1:Secret backend-secrets"]);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            const live = kubectlJson(["get", "secret", "backend-secrets", "-n", DEV_NS]).data.STRIPE_API_KEY;
            assert.equal(Buffer.from(live, "base64").toString(), value);
            const env = kubectlJson(["get", "deployment", "backend", "-n", DEV_NS]).spec.template.spec.containers[0].envFrom;
            assert.deepEqual(env.map((e: { secretRef?: { name: string } }) => e.secretRef?.name).filter(Boolean), ["backend-secrets"]);
            assert.equal(JSON.stringify(JSON.parse(ws.pulumi(["stack", "export", "--stack", "dev"]).stdout)).includes(value), false, "encrypted in state");
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("is read by another project through StackReference, its secret output still secret", () => {
            const dir = path.join(ws.dir, "consumer");
            fs.cpSync(path.join(ROOT, "tests", "e2e", "consumer"), dir, { recursive: true });
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
            const run = (args: string[], input?: string) => {
                const r = ws.tryRun("pulumi", [...args, "--non-interactive", "--cwd", dir], input);
                if (!args.includes("--show-secrets")) {
                    ws.transcript.push(r.stdout, r.stderr);
                }
                assert.equal(r.status, 0, `pulumi ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
                return r.stdout;
            };
            run(["stack", "init", "consumer", "--secrets-provider", "passphrase"]);
            run(["config", "set", "platformStack", "organization/platform/dev"]);
            run(["up", "--yes", "--skip-preview"]);
            const shown = JSON.parse(run(["stack", "output", "--json"]));
            assert.equal(shown.namespace, DEV_NS);
            assert.equal(shown.postgresHost, `postgres.${DEV_NS}.svc.cluster.local`);
            assert.equal(shown.databaseUrl, "[secret]");
            const revealed = JSON.parse(run(["stack", "output", "--json", "--show-secrets"]));
            const producer = JSON.parse(ws.pulumi(["stack", "output", "--json", "--show-secrets", "--stack", "dev"], { reveal: true }).stdout);
            assert.equal(revealed.databaseUrl, producer.databaseUrl);
            assert.match(revealed.databaseUrl, /^postgresql:\/\/kaizen_user:.+@postgres\.kaizen-studio-dev\.svc\.cluster\.local:5432\/kaizen_studio$/);
            run(["destroy", "--yes", "--skip-preview"]);
        });

        it("leaves no secret value in plain text in state, stack files, outputs, CLI output or live objects", () => {
            const config = JSON.parse(ws.pulumi(["config", "--json", "--show-secrets", "--stack", "dev"], { reveal: true }).stdout) as Record<string, { value: string; secret: boolean }>;
            const values = Object.values(config).filter((v) => v.secret).map((v) => v.value);
            assert.ok(values.length >= 5, "the dev stack's secrets were read");
            const live = ["deployments", "statefulsets", "services", "configmaps", "ingresses", "networkpolicies", "pods", "servicemonitors", "prometheusrules"]
                .flatMap((kind) => kubectlJson(["get", kind, "-n", DEV_NS]).items as Obj[]);
            const objectText = live.map((o) => JSON.stringify({
                annotations: o.metadata.annotations, labels: o.metadata.labels, template: o.spec?.template?.metadata, data: o.data,
            }));
            const haystacks: [string, string][] = [
                ["pulumi stack export", ws.pulumi(["stack", "export", "--stack", "dev"]).stdout],
                ["pulumi stack output --json", ws.pulumi(["stack", "output", "--json", "--stack", "dev"]).stdout],
                ["Pulumi.dev.yaml", ws.read("Pulumi.dev.yaml")],
                ...ws.transcript.map((t, i): [string, string] => [`CLI output #${i}`, t]),
                ...objectText.map((t, i): [string, string] => [`live object ${live[i].metadata.name}`, t]),
            ];
            const keys = Object.entries(config).filter(([, v]) => v.secret).map(([k]) => k);
            const found = values.flatMap((v, i) => haystacks.filter(([, h]) => h.includes(v)).map(([where]) => `${keys[i]} in ${where}`));
            assert.deepEqual(found, [], "secret values in plain text (names only)");
        });

        it("reports drift on refresh and restores it on the next up", () => {
            kubectlOk(["delete", "service", "backend", "-n", DEV_NS]);
            kubectlOk(["set", "image", "deployment/frontend", "frontend=registry.invalid/hand-edited:1", "-n", DEV_NS]);
            const refresh = ws.pulumi(["refresh", "--yes", "--stack", "dev"]).stdout;
            assert.match(refresh, /- +kubernetes:core\/v1:Service +backend +deleted/);
            assert.match(refresh, /~ +kubernetes:apps\/v1:Deployment +frontend +updated/);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.equal(kubectlJson(["get", "service", "backend", "-n", DEV_NS]).spec.ports[0].port, 8000);
            assert.equal(deploymentImage(DEV_NS, "frontend"), "registry.yourdomain.com/kaizen-studio-web:v1.0.0");
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("keeps the data volumes on destroy, and the next up binds the same ones, marker files intact", () => {
            const pg = boundVolume(DEV_NS, "data-postgres-0");
            const redis = boundVolume(DEV_NS, "redis-data");
            // kwok runs no containers, so nothing writes to the volumes: the test writes a marker into
            // each volume's directory itself and reads it back through the claim bound after the next up.
            const marker = (pv: string) => path.join(kubectlJson(["get", "pv", pv]).spec.hostPath.path, "marker");
            for (const pv of [pg, redis]) {
                fs.mkdirSync(path.dirname(marker(pv)), { recursive: true });
                fs.writeFileSync(marker(pv), `data of ${pv}`);
            }
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.equal(kubectl(["get", "deployment", "backend", "-n", DEV_NS]).status, 1, "workloads are gone");
            assert.equal(kubectl(["get", "statefulset", "postgres", "-n", DEV_NS]).status, 1);
            assert.equal(boundVolume(DEV_NS, "data-postgres-0"), pg);
            assert.equal(boundVolume(DEV_NS, "redis-data"), redis);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.deepEqual(everyWorkloadReady(DEV_NS), WORKLOADS);
            assert.equal(boundVolume(DEV_NS, "data-postgres-0"), pg, "PostgreSQL's claim is bound to the same volume");
            assert.equal(boundVolume(DEV_NS, "redis-data"), redis);
            for (const [claim, pv] of [["data-postgres-0", pg], ["redis-data", redis]]) {
                assert.equal(fs.readFileSync(marker(boundVolume(DEV_NS, claim)), "utf8"), `data of ${pv}`, claim);
            }
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("updates the StatefulSet in place on a settings change, never replacing it or its claim", () => {
            const pg = boundVolume(DEV_NS, "data-postgres-0");
            const uid = kubectlJson(["get", "statefulset", "postgres", "-n", DEV_NS]).metadata.uid;
            ws.editConfig("dev", (c) => { c["platform:postgres"].settings = { max_connections: "150" }; });
            assert.deepEqual(changes(ws, "dev").sort(), ["update kubernetes:apps/v1:StatefulSet postgres", "update kubernetes:core/v1:ConfigMap postgres-config"]);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.equal(kubectlJson(["get", "statefulset", "postgres", "-n", DEV_NS]).metadata.uid, uid, "the same StatefulSet");
            assert.match(kubectlJson(["get", "configmap", "postgres-config", "-n", DEV_NS]).data["postgresql.conf"], /^max_connections = 150$/m);
            assert.equal(boundVolume(DEV_NS, "data-postgres-0"), pg);
            ws.editConfig("dev", (c) => { delete c["platform:postgres"].settings; });
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        });

        it("refuses to move a stack that holds data to another namespace or rename it, in preview and up, touching nothing", () => {
            ws.editConfig("dev", (c) => { c["platform:appName"] = "kaizen"; });
            for (const cmd of [["preview"], ["up", "--yes"]]) {
                const r = ws.pulumi([...cmd, "--stack", "dev"], { ok: false });
                assert.notEqual(r.status, 0);
                assert.match(r.stdout + r.stderr, /namespace: "kaizen-dev" is not allowed: this stack's PostgreSQL and Redis data is in namespace "kaizen-studio-dev"/);
                assert.match(r.stdout + r.stderr, /appName: "kaizen" is not allowed: the PostgreSQL StatefulSet selects its pods by appName \("kaizen-studio"\)/);
            }
            assert.equal(kubectl(["get", "namespace", "kaizen-dev"]).status, 1, "no new namespace");
            ws.editConfig("dev", (c) => { c["platform:namespace"] = DEV_NS; });
            const kept = ws.pulumi(["preview", "--stack", "dev"], { ok: false });
            assert.doesNotMatch(kept.stdout + kept.stderr, /namespace: "/, "the namespace is kept");
            assert.match(kept.stdout + kept.stderr, /appName: "kaizen" is not allowed/);
            ws.editConfig("dev", (c) => { c["platform:appName"] = "kaizen-studio"; delete c["platform:namespace"]; });
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        });

        it("recovers from an up killed halfway: the documented steps leave nothing orphaned", async () => {
            ws.editConfig("dev", (c) => { c["platform:services"].frontend.image = "registry.yourdomain.com/kaizen-studio-web:v1.0.2"; });
            ws.editConfig("dev", (c) => { c["platform:services"].worker = { image: "registry.yourdomain.com/kaizen-studio-backend:v1.0.1", port: 8001, uses: ["redis"] }; });
            const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "dev"], { cwd: ws.dir, env: ws.env, stdio: "ignore" });
            await new Promise<void>((resolve, reject) => {
                const deadline = Date.now() + 120_000;
                const poll = setInterval(() => {
                    // The worker's Deployment exists: the engine is awaiting its rollout, mid-update.
                    if (kubectl(["get", "deployment", "worker", "-n", DEV_NS]).status === 0) {
                        clearInterval(poll);
                        // Every process of the run at once, as when its machine dies: the CLI, the
                        // plugins and the program (the language host starts it in a process group
                        // of its own, and it keeps running, at full CPU, if only the CLI dies).
                        killTree(child.pid!);
                        resolve();
                    } else if (Date.now() > deadline) {
                        clearInterval(poll);
                        reject(new Error("the up never reached the worker"));
                    }
                }, 100);
            });
            await new Promise((r) => child.once("exit", r));
            // The program process may have been started outside that tree's reach (its own process
            // group and session): as the README's runbook says, stop whatever still runs there.
            processesIn(ws.dir).forEach((pid) => killTree(pid));
            // README "An interrupted pulumi up": a kill while the file backend replaces the state file
            // leaves it cut ("failed to load checkpoint"); the backend kept the previous one as .bak.
            let exported = ws.pulumi(["stack", "export", "--stack", "dev"], { ok: false });
            const cut = exported.status !== 0;
            if (cut) {
                assert.match(exported.stderr, /failed to load checkpoint/);
                const stackFile = path.join(ws.dir, ".state", ".pulumi", "stacks", "platform", "dev.json");
                for (const suffix of ["", ".attrs"]) {
                    if (fs.existsSync(`${stackFile}.bak${suffix}`)) {
                        fs.copyFileSync(`${stackFile}.bak${suffix}`, `${stackFile}${suffix}`);
                    }
                }
                exported = ws.pulumi(["stack", "export", "--stack", "dev"]);
            }
            JSON.parse(exported.stdout);
            const locks = path.join(ws.dir, ".state", ".pulumi", "locks", "organization", "platform", "dev");
            assert.ok(cut || (fs.existsSync(locks) && fs.readdirSync(locks).some((f) => f.endsWith(".json"))),
                "the kill interrupted the update: its lock is still held (a finished update releases it)");
            // README "An interrupted pulumi up": cancel the lock if any, refresh clearing pending creates, up.
            ws.pulumi(["cancel", "--yes", "--stack", "dev"], { ok: false });
            ws.pulumi(["refresh", "--yes", "--clear-pending-creates", "--stack", "dev"]);
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
            assert.deepEqual(everyWorkloadReady(DEV_NS), [...WORKLOADS, "deployment.apps/worker"].sort());
            kubectlOk(["rollout", "status", "deployment/worker", "-n", DEV_NS, "--timeout=120s"]);
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
            const state = JSON.parse(ws.pulumi(["stack", "export", "--stack", "dev"]).stdout).deployment;
            assert.deepEqual(state.pending_operations ?? [], [], "no pending operation is left");
            const managed = new Set((state.resources as { type: string; outputs?: { metadata?: { name?: string } } }[])
                .filter((r) => r.type.startsWith("kubernetes:") && r.outputs?.metadata?.name)
                .map((r) => `${r.type.split(":").pop()}/${r.outputs!.metadata!.name}`));
            for (const kind of ["Deployment", "Service", "ConfigMap", "Secret", "NetworkPolicy", "ServiceAccount"]) {
                for (const o of kubectlJson(["get", kind.toLowerCase(), "-n", DEV_NS]).items as Obj[]) {
                    if (kind === "ConfigMap" && o.metadata.name === "kube-root-ca.crt") {
                        continue;
                    }
                    if (kind === "ServiceAccount" && o.metadata.name === "default") {
                        continue;
                    }
                    assert.ok(managed.has(`${kind}/${o.metadata.name}`), `${kind} ${o.metadata.name} is in the cluster but not in the state (orphaned)`);
                }
            }
        });

        it("destroys everything but the retained data", () => {
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"]);
            const left = kubectlOk(["get", "all,configmaps,secrets,networkpolicies,ingresses,pvc", "-n", DEV_NS, "-o", "name"]).split("\n").filter(Boolean).sort();
            assert.deepEqual(left.filter((n) => n !== "configmap/kube-root-ca.crt"), [
                "persistentvolumeclaim/data-postgres-0", "persistentvolumeclaim/redis-data",
            ]);
            assert.equal(kubectl(["get", "namespace", "ingress-nginx"]).status === 0 && kubectlOk(["get", "deploy", "-n", "ingress-nginx", "-o", "name"]).trim() !== "", false, "the add-on releases are uninstalled");
            kubectlOk(["delete", "namespace", DEV_NS, "--wait=true", "--timeout=120s"]);
        });
    });

    describe("prod", () => {
        it("comes up and previews clean", () => {
            ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "prod"]);
            assert.deepEqual(everyWorkloadReady(PROD_NS), WORKLOADS);
            // The program leaves replicas to the HPA; its controller raises them to the minimum.
            kubectlOk(["wait", "--for=jsonpath={.spec.replicas}=3", "deployment/backend", "-n", PROD_NS, "--timeout=90s"]);
            ws.pulumi(["preview", "--expect-no-changes", "--stack", "prod"]);
        });

        it("takes backups: the CronJob on UTC time with its own bound claim, a backup Job admitted under restricted and run to completion", () => {
            const cron = kubectlJson(["get", "cronjob", "postgres-backup", "-n", PROD_NS]).spec;
            assert.deepEqual([cron.schedule, cron.timeZone, cron.concurrencyPolicy], ["0 3 * * *", "Etc/UTC", "Forbid"]);
            assert.equal(kubectlJson(["get", "pvc", "postgres-backups", "-n", PROD_NS]).status.phase, "Bound");
            // What the schedule would start, started now (kwok runs no container: the pod is admitted and completes).
            kubectlOk(["create", "job", "--from=cronjob/postgres-backup", "e2e-backup", "-n", PROD_NS]);
            kubectlOk(["wait", "--for=condition=complete", "job/e2e-backup", "-n", PROD_NS, "--timeout=90s"]);
            assert.equal(kubectlOk(["get", "events", "-n", PROD_NS, "--field-selector", "reason=FailedCreate", "-o", "name"]).trim(), "");
            kubectlOk(["delete", "job", "e2e-backup", "-n", PROD_NS]);
        });

        it("refuses a destroy while its data is protected", () => {
            const refused = ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "prod"], { ok: false });
            assert.notEqual(refused.status, 0);
            assert.match(refused.stdout + refused.stderr, /protected/);
            assert.equal(kubectl(["get", "statefulset", "postgres", "-n", PROD_NS]).status, 0);
        });

        it("is destroyed after an explicit unprotect (README: Operations), keeping its data claims", () => {
            ws.pulumi(["state", "unprotect", "--all", "--yes", "--stack", "prod"]);
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "prod"]);
            const left = kubectlOk(["get", "all,pvc", "-n", PROD_NS, "-o", "name"]).split("\n").filter(Boolean).sort();
            assert.deepEqual(left, ["persistentvolumeclaim/data-postgres-0", "persistentvolumeclaim/postgres-backups", "persistentvolumeclaim/redis-data"]);
            kubectlOk(["delete", "namespace", PROD_NS, "--wait=true", "--timeout=120s"]);
        });
    });
});
