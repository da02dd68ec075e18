// The example stacks of the other seed systems (stacks/examples/), each brought up on the local
// cluster by the real CLI and provider exactly as a user's stack would be: preview, up with every
// workload ready, a clean second preview, destroy. Add-ons come from the stand-in charts (live.ts).

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { LiveWorkspace, createLiveWorkspace, everyWorkloadReady, kubectl, kubectlJson, kubectlOk, removeLeftovers } from "./live";
import { ROOT } from "./workspace";

const EXAMPLES = fs.readdirSync(path.join(ROOT, "stacks", "examples")).filter((f) => f.endsWith(".yaml")).map((f) => f.replace(/\.yaml$/, "")).sort();

/** What each example must run once up, by the seed (kind/name in its namespace). */
interface Expected {
    namespace: string;
    workloads: string[];
    hpas: Record<string, [number, number]>;
    claims: string[];
    /** Prefixes of the migration Jobs that must have completed. */
    jobs?: string[];
    /** Namespaces the stack creates besides its own (e.g. a monitoring namespace of its own name). */
    otherNamespaces?: string[];
    /** Node labels and taints the seed's cluster has (a node pool), put on one local node for the run. */
    nodePool?: { label: string; taint: string };
    /** Checks only this example's config makes possible, run after the clean second preview. */
    checks?: ("restore" | "redisSwitchRefused" | "customMetricRules")[];
}

const SPOT = "cloud.google.com/gke-preemptible";
const POOL_NODE = "kwok-node-2";

const EXPECTED: Record<string, Expected> = {
    "ai-imutis": {
        namespace: "ai-imutis",
        workloads: ["deployment.apps/api", "statefulset.apps/postgres", "statefulset.apps/redis"],
        hpas: { api: [3, 10] },
        claims: ["data-postgres-0", "data-redis-0", "postgres-backups"],
        checks: ["redisSwitchRefused"],
    },
    dreamseed: {
        namespace: "dreamseed-production",
        workloads: ["ai-tutor-service", "analytics-service", "assessment-service", "auth-service", "content-service", "payment-service", "redis", "user-service"]
            .map((d) => `deployment.apps/${d}`).concat(["kafka", "minio", "postgres"].map((s) => `statefulset.apps/${s}`)),
        hpas: { "assessment-service": [3, 20] },
        claims: ["data-kafka-0", "data-minio-0", "data-postgres-0", "postgres-backups", "redis-data"],
        nodePool: { label: `${SPOT}=true`, taint: `${SPOT}=true:NoSchedule` },
        otherNamespaces: ["dreamseed-monitoring"],
        jobs: ["assessment-service-migration-"],
        checks: ["customMetricRules"],
    },
    "disney-ai-plus": {
        namespace: "disney-ai-plus",
        workloads: ["deployment.apps/api", "deployment.apps/web", "statefulset.apps/postgres"],
        hpas: { api: [3, 20], web: [3, 20] },
        claims: ["data-postgres-0", "postgres-backups"],
        checks: ["restore"],
    },
};

describe("live: the example stacks of the other seed systems", function () {
    this.timeout(900_000);
    let ws: LiveWorkspace;
    before(() => { ws = createLiveWorkspace(); });
    after(() => ws?.dispose());

    it("covers every example file", () => {
        assert.deepEqual(EXAMPLES, Object.keys(EXPECTED).sort());
    });

    for (const name of EXAMPLES) {
        describe(name, () => {
            const expected = EXPECTED[name];
            before(() => {
                if (expected.nodePool) {
                    kubectlOk(["label", "node", POOL_NODE, expected.nodePool.label, "--overwrite"]);
                    kubectlOk(["taint", "node", POOL_NODE, expected.nodePool.taint, "--overwrite"]);
                }
            });
            after(() => {
                ws.pulumi(["state", "unprotect", "--all", "--yes", "--stack", name], { ok: false });
                ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", name], { ok: false });
                removeLeftovers([expected.namespace, ...(expected.otherNamespaces ?? [])]);
                if (expected.nodePool) {
                    kubectl(["taint", "node", POOL_NODE, `${expected.nodePool.taint}-`]);
                    kubectl(["label", "node", POOL_NODE, `${expected.nodePool.label.split("=")[0]}-`]);
                }
            });

            it("previews and comes up with every workload ready, the HPAs at the seed's ranges", () => {
                ws.initStack(name, `stacks/examples/${name}.yaml`);
                ws.pulumi(["preview", "--stack", name]);
                ws.pulumi(["up", "--yes", "--skip-preview", "--stack", name]);
                assert.deepEqual(everyWorkloadReady(expected.namespace), expected.workloads);
                const hpas = kubectlJson(["get", "hpa", "-n", expected.namespace]).items as { metadata: { name: string }; spec: { minReplicas: number; maxReplicas: number } }[];
                assert.deepEqual(Object.fromEntries(hpas.map((h) => [h.metadata.name, [h.spec.minReplicas, h.spec.maxReplicas]])), expected.hpas);
                const releases = kubectlOk(["get", "secrets", "-A", "-l", "owner=helm,status=deployed", "-o", "jsonpath={range .items[*]}{.metadata.labels.name} {end}"]).trim().split(" ").sort();
                const addons = Object.entries((parse(fs.readFileSync(path.join(ROOT, "stacks", "examples", `${name}.yaml`), "utf8")).config["platform:addons"] ?? {}) as Record<string, { enabled?: boolean }>)
                    .filter(([, a]) => a.enabled).length;
                assert.equal(releases.length, addons, releases.join(" "));
                const jobs = kubectlJson(["get", "jobs", "-n", expected.namespace]).items as { metadata: { name: string }; status: { succeeded?: number } }[];
                assert.deepEqual(jobs.map((j) => [(expected.jobs ?? []).some((p) => j.metadata.name.startsWith(p)), j.status.succeeded]), (expected.jobs ?? []).map(() => [true, 1]));
                if (expected.nodePool) {
                    // Pods that tolerate the pool's taint and select it run there; no other pod does.
                    const pods = kubectlJson(["get", "pods", "-n", expected.namespace]).items as { metadata: { name: string }; spec: { nodeName: string; nodeSelector?: Record<string, string> } }[];
                    const onPool = pods.filter((p) => p.spec.nodeName === POOL_NODE);
                    assert.ok(onPool.length > 0, "some pods run on the pool");
                    assert.deepEqual(pods.filter((p) => (p.spec.nodeSelector?.[SPOT] === "true") !== (p.spec.nodeName === POOL_NODE)).map((p) => p.metadata.name), []);
                }
            });

            it("previews no change right after up (--expect-no-changes)", () => {
                ws.pulumi(["preview", "--expect-no-changes", "--stack", name]);
            });

            if (expected.checks?.includes("restore")) {
                it("restores with npm run db as a Job admitted under restricted, with the exact pg_restore; a bad --from is refused", () => {
                    const db = (...args: string[]) => ws.tryRun("node", ["-r", "ts-node/register/transpile-only", "scripts/db.ts", ...args, "--stack", name]);
                    const bad = db("restore", "--from", "../etc/passwd");
                    assert.equal(bad.status, 2, bad.stdout + bad.stderr);
                    // kwok completes the Job without running it: this proves the command's way through the cluster.
                    const dump = "disney_ai_plus-20261130T030000Z.dump";
                    const ok = db("restore", "--from", dump);
                    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
                    assert.match(ok.stdout, new RegExp(`^restored ${dump} into disney_ai_plus;`, "m"));
                    const [job] = (kubectlJson(["get", "jobs", "-n", expected.namespace, "-l", "platform/db-task=restore"]).items as { status: { succeeded?: number }; spec: { template: { spec: { containers: { command: string[]; env: { name: string; valueFrom?: unknown }[] }[] } } } }[]);
                    const c = job.spec.template.spec.containers[0];
                    assert.deepEqual(c.command, ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--verbose", "-d", "disney_ai_plus", `/backups/${dump}`]);
                    assert.ok(c.env.find((e) => e.name === "PGPASSWORD")?.valueFrom, "the password from the Secret, never inline");
                    assert.equal(job.status.succeeded, 1);
                    assert.equal(kubectlOk(["get", "events", "-n", expected.namespace, "--field-selector", "reason=FailedCreate", "-o", "name"]).trim(), "");
                    kubectlOk(["delete", "jobs", "-n", expected.namespace, "-l", "platform/db-task"]);
                });
            }

            if (expected.checks?.includes("customMetricRules")) {
                it("gives the prometheus-adapter release the rule of the HPA's Pods metric, reading the app's counter", () => {
                    const cm = kubectlJson(["get", "configmap", "prometheus-adapter", "-n", "dreamseed-monitoring"]) as { data: Record<string, string> };
                    const rules = (parse(cm.data["config.yaml"]) as { rules: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] }).rules;
                    assert.deepEqual(rules.map((r) => [r.name.as, r.seriesQuery, r.metricsQuery]), [[
                        "http_requests_per_second", "http_requests_total{namespace!=\"\",pod!=\"\"}",
                        "sum(rate(http_requests_total{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
                    ]]);
                    const args = kubectlOk(["get", "deployment", "prometheus-adapter", "-n", "dreamseed-monitoring", "-o", "jsonpath={.spec.template.spec.containers[0].args}"]);
                    assert.match(args, /--prometheus-url=http:\/\/kube-prometheus-stack-prometheus\.dreamseed-monitoring\.svc:9090/);
                });
            }

            if (expected.checks?.includes("redisSwitchRefused")) {
                it("refuses switching Redis back to a Deployment in preview and up, naming both claims, touching nothing", () => {
                    const uid = kubectlJson(["get", "statefulset", "redis", "-n", expected.namespace]).metadata.uid;
                    ws.editConfig(name, (c) => { c["platform:redis"].workload = "deployment"; });
                    for (const cmd of [["preview"], ["up", "--yes"]]) {
                        const r = ws.pulumi([...cmd, "--stack", name], { ok: false });
                        assert.notEqual(r.status, 0);
                        assert.match(r.stdout + r.stderr, /redis\.workload: "deployment" is not allowed: this stack's Redis runs as a StatefulSet with its data on claim "data-redis-0"/);
                    }
                    assert.equal(kubectl(["get", "deployment", "redis", "-n", expected.namespace]).status, 1, "no Deployment");
                    assert.equal(kubectlJson(["get", "statefulset", "redis", "-n", expected.namespace]).metadata.uid, uid, "the same StatefulSet");
                    ws.editConfig(name, (c) => { c["platform:redis"].workload = "statefulset"; });
                    ws.pulumi(["preview", "--expect-no-changes", "--stack", name]);
                });
            }

            it("is destroyed after an explicit unprotect, keeping only its data claims", () => {
                ws.pulumi(["state", "unprotect", "--all", "--yes", "--stack", name]);
                ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", name]);
                const left = kubectlOk(["get", "all,configmaps,secrets,networkpolicies,ingresses,pvc", "-n", expected.namespace, "-o", "name"]).split("\n")
                    .filter((l) => l && !l.startsWith("configmap/kube-root-ca.crt")).sort();
                assert.deepEqual(left, expected.claims.map((c) => `persistentvolumeclaim/${c}`));
            });
        });
    }
});
