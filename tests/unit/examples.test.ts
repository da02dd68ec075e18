// The example stacks of the other seed systems (stacks/examples/), each by config alone: rendered
// under mocks and checked against the seed's own numbers. tests/e2e/examples.e2e.ts brings each one
// up on the local cluster.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Rendered, renderConfig } from "../../scripts/render";
import { Obj, reachability } from "../support/reachability";
import { ROOT, stackConfig } from "./harness";

type K8s = { kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const examples = new Map<string, Promise<Rendered>>();
/** An example stack rendered once per test process, as `npm run render` would. */
function example(name: string): Promise<Rendered> {
    if (!examples.has(name)) {
        examples.set(name, renderConfig(name, stackConfig(`examples/${name}`)));
    }
    return examples.get(name) as Promise<Rendered>;
}

function one(r: Rendered, kind: string, name: string): K8s {
    const found = (r.objects as unknown as K8s[]).filter((o) => o.kind === kind && o.metadata.name === name);
    assert.equal(found.length, 1, `${kind}/${name}`);
    return found[0];
}
const names = (r: Rendered, kind: string) => (r.objects as unknown as K8s[]).filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();

describe("example stacks of the other seed systems", () => {
    it("has one file per example, each a valid stack of this program", () => {
        assert.deepEqual(fs.readdirSync(path.join(ROOT, "stacks", "examples")).sort(), ["ai-imutis.yaml", "disney-ai-plus.yaml"]);
    });

    describe("Disney AI Plus (seed 002, production)", () => {
        const NS = "disney-ai-plus";

        it("runs web (Next.js, 3000) and api (Node, 3001) in the seed's namespace, each with its own ServiceAccount, ConfigMap and NetworkPolicy", async () => {
            const r = await example("disney-ai-plus");
            assert.deepEqual(names(r, "Deployment"), ["api", "web"]);
            for (const [svc, port] of [["web", 3000], ["api", 3001]] as const) {
                const d = one(r, "Deployment", svc);
                assert.equal(d.metadata.namespace, NS);
                const pod = d.spec.template.spec;
                assert.equal(pod.serviceAccountName, svc);
                assert.deepEqual(pod.containers[0].ports, [{ name: "http", containerPort: port, protocol: "TCP" }]);
                assert.equal(d.spec.replicas, undefined, "left to the HPA");
                assert.equal(pod.containers[0].securityContext.runAsNonRoot, true);
                assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
                assert.equal(one(r, "ConfigMap", `${svc}-config`).data?.PORT, String(port));
            }
            assert.deepEqual(names(r, "ServiceAccount"), ["api", "web"]);
            assert.equal(one(r, "ConfigMap", "web-config").data?.API_URL, "http://api.disney-ai-plus.svc.cluster.local:3001");
            // Only the api holds secrets: its database URL, JWT secret and the Supabase key.
            assert.deepEqual((r.objects as unknown as K8s[]).filter((o) => o.kind === "Secret" && o.metadata.namespace === NS).map((o) => o.metadata.name).sort(), ["api-secrets", "postgres-credentials"]);
            assert.deepEqual(one(r, "Deployment", "api").spec.template.spec.containers[0].envFrom, [{ configMapRef: { name: "api-config" } }, { secretRef: { name: "api-secrets" } }]);
            assert.deepEqual(Object.keys(one(r, "Secret", "api-secrets").stringData ?? {}).sort(), ["DATABASE_URL", "JWT_SECRET", "SUPABASE_ANON_KEY"]);
            assert.deepEqual(one(r, "Deployment", "web").spec.template.spec.containers[0].envFrom, [{ configMapRef: { name: "web-config" } }]);
        });

        it("lets web reach only api, api only PostgreSQL (and HTTPS out), the backups only PostgreSQL, nothing else (independent evaluator)", async () => {
            const r = await example("disney-ai-plus");
            assert.deepEqual(reachability(r.objects as unknown as Obj[]), [
                "acme-solver -> kube-dns:53/TCP", "acme-solver -> kube-dns:53/UDP",
                "api -> internet:443/TCP", "api -> kube-dns:53/TCP", "api -> kube-dns:53/UDP", "api -> postgres:5432/TCP",
                "debug-pod -> kube-dns:53/TCP", "debug-pod -> kube-dns:53/UDP",
                "ingress-controller -> acme-solver:8089/TCP", "ingress-controller -> web:3000/TCP",
                "postgres -> kube-dns:53/TCP", "postgres -> kube-dns:53/UDP",
                "postgres-backup -> kube-dns:53/TCP", "postgres-backup -> kube-dns:53/UDP", "postgres-backup -> postgres:5432/TCP",
                "prometheus -> api:3001/TCP", "prometheus -> postgres:9187/TCP", "prometheus -> web:3000/TCP",
                "web -> api:3001/TCP", "web -> kube-dns:53/TCP", "web -> kube-dns:53/UDP",
            ]);
        });

        it("autoscales both 3-20 at 70 % CPU / 80 % memory, with PDBs", async () => {
            const r = await example("disney-ai-plus");
            for (const svc of ["web", "api"]) {
                const hpa = one(r, "HorizontalPodAutoscaler", svc).spec;
                assert.equal(hpa.minReplicas, 3);
                assert.equal(hpa.maxReplicas, 20);
                assert.deepEqual(hpa.metrics.map((m: { resource: { name: string; target: { averageUtilization: number } } }) => [m.resource.name, m.resource.target.averageUtilization]), [["cpu", 70], ["memory", 80]]);
                assert.equal(one(r, "PodDisruptionBudget", svc).spec.minAvailable, 2);
            }
        });

        it("keeps PostgreSQL in a StatefulSet with a 10Gi claim and its exporter on 9187, and monitors every component", async () => {
            const r = await example("disney-ai-plus");
            const sts = one(r, "StatefulSet", "postgres").spec;
            assert.equal(sts.volumeClaimTemplates[0].spec.resources.requests.storage, "10Gi");
            const exporter = sts.template.spec.containers.find((c: { name: string }) => c.name === "postgres-exporter");
            assert.deepEqual(exporter.ports, [{ name: "metrics", containerPort: 9187, protocol: "TCP" }]);
            assert.deepEqual(names(r, "ServiceMonitor"), ["api", "postgres", "web"]);
            const apiConfig = one(r, "ConfigMap", "api-config").data ?? {};
            assert.deepEqual([apiConfig.POSTGRES_HOST, apiConfig.POSTGRES_PORT, apiConfig.POSTGRES_DB, apiConfig.POSTGRES_USER],
                ["postgres.disney-ai-plus.svc.cluster.local", "5432", "disney_ai_plus", "disney_app"]);
        });

        it("offers TLS 1.3 only at the ingress controller, with a cert-manager certificate for the host", async () => {
            const r = await example("disney-ai-plus");
            const nginx = r.releases.find((x) => x.name === "ingress-nginx") as { values: { controller: { config: Record<string, string> } } };
            assert.equal(nginx.values.controller.config["ssl-protocols"], "TLSv1.3");
            const ing = one(r, "Ingress", "disney-ai-plus");
            assert.deepEqual(ing.spec.tls, [{ hosts: ["disney-ai-plus.yourdomain.com"], secretName: "disney-ai-plus-tls" }]);
            assert.deepEqual(ing.spec.rules[0].http.paths.map((p: { path: string; backend: { service: { name: string } } }) => [p.path, p.backend.service.name]), [["/", "web"]]);
        });
    });

    describe("AI-IMUTIS (seed 004, production values)", () => {
        const NS = "ai-imutis";

        it("runs the API at 3 replicas (HPA 3-10 at 70 % CPU / 80 % memory) on port 8000 behind Service port 80, with the seed's per-pod resources", async () => {
            const r = await example("ai-imutis");
            const d = one(r, "Deployment", "api");
            assert.equal(d.metadata.namespace, NS);
            assert.equal(d.spec.replicas, undefined, "left to the HPA, whose minimum is the seed's 3");
            const hpa = one(r, "HorizontalPodAutoscaler", "api").spec;
            assert.deepEqual([hpa.minReplicas, hpa.maxReplicas], [3, 10]);
            assert.deepEqual(hpa.metrics.map((m: { resource: { name: string; target: { averageUtilization: number } } }) => [m.resource.name, m.resource.target.averageUtilization]), [["cpu", 70], ["memory", 80]]);
            const c = d.spec.template.spec.containers[0];
            assert.deepEqual(c.ports, [{ name: "http", containerPort: 8000, protocol: "TCP" }]);
            assert.deepEqual([c.resources.requests.cpu, c.resources.requests.memory], ["50m", "128Mi"]);
            assert.deepEqual(one(r, "Service", "api").spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
            assert.deepEqual(names(r, "HorizontalPodAutoscaler"), ["api"], "no HPA on PostgreSQL or Redis");
        });

        it("keeps PostGIS on a 50Gi claim (backed up with its own pg_dump to a claim as large), Redis on a 20Gi claim and Prometheus on 50Gi", async () => {
            const r = await example("ai-imutis");
            const pg = one(r, "StatefulSet", "postgres").spec;
            assert.equal(pg.template.spec.containers[0].image, "gcr.io/ai-imutis/postgis:15.10-3.4-alpine");
            assert.equal(pg.volumeClaimTemplates[0].spec.resources.requests.storage, "50Gi");
            assert.equal(one(r, "CronJob", "postgres-backup").spec.jobTemplate.spec.template.spec.containers[0].image, "gcr.io/ai-imutis/postgis:15.10-3.4-alpine");
            assert.equal(one(r, "PersistentVolumeClaim", "postgres-backups").spec.resources.requests.storage, "50Gi");
            assert.equal(one(r, "PersistentVolumeClaim", "redis-data").spec.resources.requests.storage, "20Gi");
            const kps = r.releases.find((x) => x.name === "kube-prometheus-stack") as { values: { prometheus: { prometheusSpec: { storageSpec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: string } } } } } } } } };
            assert.equal(kps.values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "50Gi");
            assert.deepEqual(names(r, "PrometheusRule"), ["ai-imutis-alerts"]);
        });

        it("gives the API's ServiceAccount a Role to read ConfigMaps, its token, and a way to the API server only", async () => {
            const r = await example("ai-imutis");
            assert.deepEqual((one(r, "Role", "api") as unknown as { rules: unknown }).rules, [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]);
            assert.equal(one(r, "Deployment", "api").spec.template.spec.automountServiceAccountToken, true);
            const egress = one(r, "NetworkPolicy", "api").spec.egress as { to: { ipBlock?: { cidr: string } }[]; ports: unknown[] }[];
            assert.deepEqual(egress.filter((e) => e.to.some((p) => p.ipBlock?.cidr === "127.0.0.1/32")),
                [443, 6443].map((port) => ({ to: [{ ipBlock: { cidr: "127.0.0.1/32" } }], ports: [{ protocol: "TCP", port }] })));
            // Everything else by the independent evaluator: the API reaches PostgreSQL and Redis, nothing reaches them but it
            // (and the backups of the production profile, PostgreSQL).
            assert.deepEqual(reachability(r.objects as unknown as Obj[]).filter((l) => / -> (postgres|redis):/.test(l)), [
                "api -> postgres:5432/TCP", "api -> redis:6379/TCP", "postgres-backup -> postgres:5432/TCP", "prometheus -> postgres:9187/TCP", "prometheus -> redis:9121/TCP",
            ]);
        });
    });
});
