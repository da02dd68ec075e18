// The example stacks of the other seed systems (stacks/examples/), each by config alone: rendered
// under mocks and checked against the seed's own numbers. tests/e2e/examples.e2e.ts brings each one
// up on the local cluster.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Rendered, renderConfig } from "../../scripts/render";
import { Obj, reachability } from "../support/reachability";
import { ROOT, runOnce, stackConfig } from "./harness";

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
        assert.deepEqual(fs.readdirSync(path.join(ROOT, "stacks", "examples")).sort(), ["ai-imutis.yaml", "disney-ai-plus.yaml", "dreamseed.yaml"]);
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

        it("keeps PostGIS on a 50Gi claim (backed up with its own pg_dump to a claim as large), Redis as a StatefulSet on a 20Gi claim and Prometheus on 50Gi", async () => {
            const r = await example("ai-imutis");
            const pg = one(r, "StatefulSet", "postgres").spec;
            assert.equal(pg.template.spec.containers[0].image, "gcr.io/ai-imutis/postgis:15.10-3.4-alpine");
            assert.equal(pg.volumeClaimTemplates[0].spec.resources.requests.storage, "50Gi");
            assert.equal(one(r, "CronJob", "postgres-backup").spec.jobTemplate.spec.template.spec.containers[0].image, "gcr.io/ai-imutis/postgis:15.10-3.4-alpine");
            assert.equal(one(r, "PersistentVolumeClaim", "postgres-backups").spec.resources.requests.storage, "50Gi");
            const redis = one(r, "StatefulSet", "redis").spec;
            assert.equal(redis.serviceName, "redis-headless");
            assert.deepEqual(redis.volumeClaimTemplates.map((t: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }) =>
                [t.metadata.name, t.spec.resources.requests.storage]), [["data", "20Gi"]]);
            assert.deepEqual(redis.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
            assert.deepEqual(names(r, "PersistentVolumeClaim"), ["postgres-backups"], "no standalone Redis claim");
            assert.ok(!names(r, "Deployment").includes("redis"));
            const kps = r.releases.find((x) => x.name === "kube-prometheus-stack") as { values: { prometheus: { prometheusSpec: { storageSpec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: string } } } } } } } } };
            assert.equal(kps.values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "50Gi");
            assert.deepEqual(names(r, "PrometheusRule"), ["ai-imutis-alerts"]);
        });

        it("runs the seed's migrations (alembic upgrade head) in an init container of every API pod, after the waits for its data services", async () => {
            const r = await example("ai-imutis");
            const init = one(r, "Deployment", "api").spec.template.spec.initContainers as { name: string; image: string; command: string[] }[];
            assert.deepEqual(init.map((c) => c.name), ["wait-for-postgres", "wait-for-redis", "api-migration"]);
            assert.deepEqual([init[2].image, init[2].command], ["gcr.io/ai-imutis/api:v1.0.0", ["alembic", "upgrade", "head"]]);
            assert.deepEqual(names(r, "Job"), []);
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

    describe("DreamSeed (seed 003, production overlay)", () => {
        const NS = "dreamseed-production";
        const SERVICES = ["ai-tutor-service", "analytics-service", "assessment-service", "auth-service", "content-service", "payment-service", "user-service"];
        const ROUTED = ["assessment-service", "auth-service", "content-service"];

        it("runs the seven services in dreamseed-production, 3 replicas each, with the seed's resources, probes and PDBs", async () => {
            const r = await example("dreamseed");
            assert.deepEqual(names(r, "Deployment").filter((n) => n !== "redis"), SERVICES);
            for (const svc of SERVICES) {
                const d = one(r, "Deployment", svc);
                assert.equal(d.metadata.namespace, NS);
                assert.equal(d.spec.replicas, svc === "assessment-service" ? undefined : 3, svc);
                const c = d.spec.template.spec.containers[0];
                assert.deepEqual([c.resources.requests.cpu, c.resources.requests.memory, c.resources.limits.cpu, c.resources.limits.memory], ["250m", "512Mi", "500m", "1Gi"], svc);
                assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.initialDelaySeconds, c.readinessProbe.httpGet.path, c.readinessProbe.initialDelaySeconds, c.readinessProbe.periodSeconds], ["/health", 30, "/ready", 5, 5], svc);
                assert.equal(one(r, "Service", svc).spec.ports[0].port, 80);
                assert.equal(one(r, "PodDisruptionBudget", svc).spec.minAvailable, 2);
            }
        });

        it("routes /api/assessments, /api/content and /api/auth under api.dreamseed.ai, rate-limited at 100 rps, the rest internal", async () => {
            const r = await example("dreamseed");
            const ing = one(r, "Ingress", "dreamseed");
            assert.deepEqual(ing.spec.rules.map((x: { host: string }) => x.host), ["api.dreamseed.ai"]);
            assert.deepEqual(ing.spec.rules[0].http.paths.map((p: { path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } }) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]).sort(),
                [["/api/assessments", "Prefix", "assessment-service", 80], ["/api/auth", "Prefix", "auth-service", 80], ["/api/content", "Prefix", "content-service", 80]]);
            assert.deepEqual(ing.spec.tls, [{ hosts: ["api.dreamseed.ai"], secretName: "dreamseed-tls" }]);
            assert.equal((ing.metadata as unknown as { annotations: Record<string, string> }).annotations["nginx.ingress.kubernetes.io/limit-rps"], "100");
            assert.deepEqual(reachability(r.objects as unknown as Obj[]).filter((l) => l.startsWith("ingress-controller -> ") && !l.includes("acme-solver")),
                ROUTED.map((svc) => `ingress-controller -> ${svc}:8000/TCP`));
        });

        it("autoscales assessment-service 3-20 on CPU 70 %, memory 80 % and 1000 requests per second per pod, with the seed's behaviour", async () => {
            const r = await example("dreamseed");
            assert.deepEqual(names(r, "HorizontalPodAutoscaler"), ["assessment-service"]);
            const hpa = one(r, "HorizontalPodAutoscaler", "assessment-service").spec;
            assert.deepEqual([hpa.minReplicas, hpa.maxReplicas], [3, 20]);
            assert.deepEqual(hpa.metrics, [
                { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
                { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } },
                { type: "Pods", pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "1000" } } },
            ]);
            assert.deepEqual(hpa.behavior, {
                scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
                scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
            });
        });

        it("runs the seed's migration Job (alembic upgrade head, backoffLimit 3) with assessment-service's image, and rolls the service out only after it", async () => {
            const r = await example("dreamseed");
            const jobs = (r.objects as unknown as K8s[]).filter((o) => o.kind === "Job");
            assert.equal(jobs.length, 1);
            assert.match(jobs[0].metadata.name, /^assessment-service-migration-[0-9a-f]{8}$/);
            const spec = jobs[0].spec;
            assert.deepEqual([spec.backoffLimit, spec.activeDeadlineSeconds, spec.template.spec.restartPolicy], [3, 300, "Never"]);
            const c = spec.template.spec.containers[0];
            assert.deepEqual([c.image, c.command], ["gcr.io/dreamseed/assessment-service:v1.0.0", ["alembic", "upgrade", "head"]]);
            assert.deepEqual(c.envFrom, one(r, "Deployment", "assessment-service").spec.template.spec.containers[0].envFrom, "the service's own settings and secrets");
            const program = await runOnce("dreamseed", stackConfig("examples/dreamseed"));
            assert.ok(program.dependsOn(program.get("kubernetes:apps/v1:Deployment", "assessment-service")).includes("kubernetes:batch/v1:Job assessment-service-migration"));
        });

        it("runs Kafka and MinIO as data services: assessment and analytics (and the migration) reach Kafka, content reaches MinIO, nothing else", async () => {
            const r = await example("dreamseed");
            assert.deepEqual(names(r, "StatefulSet"), ["kafka", "minio", "postgres"]);
            for (const sts of ["kafka", "minio"]) {
                assert.deepEqual(one(r, "StatefulSet", sts).spec.volumeClaimTemplates.map((v: { metadata: { name: string } }) => v.metadata.name), ["data"], sts);
            }
            for (const svc of ["assessment-service", "analytics-service"]) {
                assert.equal(one(r, "ConfigMap", `${svc}-config`).data?.KAFKA_BOOTSTRAP_SERVERS, "kafka.dreamseed-production.svc.cluster.local:9092", svc);
            }
            assert.equal(one(r, "ConfigMap", "content-service-config").data?.S3_ENDPOINT, "http://minio.dreamseed-production.svc.cluster.local:9000");
            assert.deepEqual(Object.keys(one(r, "Secret", "content-service-secrets").stringData ?? {}).filter((k) => k.startsWith("AWS_")).sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
            const migration = (r.objects as unknown as K8s[]).find((o) => o.kind === "Job")!.metadata.name;
            assert.deepEqual(reachability(r.objects as unknown as Obj[]).filter((l) => / -> (kafka|minio):/.test(l)), [
                "analytics-service -> kafka:9092/TCP", "assessment-service -> kafka:9092/TCP", `${migration} -> kafka:9092/TCP`, "content-service -> minio:9000/TCP",
            ]);
        });

        it("puts the internal services on the spot pool, tolerating its taint, and keeps the routed ones off it", async () => {
            const r = await example("dreamseed");
            for (const svc of SERVICES) {
                const pod = one(r, "Deployment", svc).spec.template.spec;
                if (ROUTED.includes(svc)) {
                    assert.deepEqual([pod.nodeSelector, pod.tolerations], [undefined, undefined], svc);
                } else {
                    assert.deepEqual(pod.nodeSelector, { "cloud.google.com/gke-preemptible": "true" }, svc);
                    assert.deepEqual(pod.tolerations, [{ key: "cloud.google.com/gke-preemptible", operator: "Equal", value: "true", effect: "NoSchedule" }], svc);
                }
            }
        });

        it("serves assessment-service's requests per second to its HPA by prometheus-adapter, from the stack's Prometheus in dreamseed-monitoring", async () => {
            const r = await example("dreamseed");
            const { values, ...release } = r.releases.find((x) => x.name === "prometheus-adapter") as { values: Record<string, unknown> };
            assert.deepEqual(release, {
                name: "prometheus-adapter", namespace: "dreamseed-monitoring", chart: "prometheus-adapter", version: "5.3.0",
                repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
            });
            assert.deepEqual(values.prometheus, { url: "http://kube-prometheus-stack-prometheus.dreamseed-monitoring.svc", port: 9090, path: "" });
            assert.deepEqual(values.rules, {
                default: false,
                custom: [{
                    seriesQuery: 'http_requests_total{namespace!="",pod!=""}',
                    resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
                    name: { matches: "^http_requests_total$", as: "http_requests_per_second" },
                    metricsQuery: "sum(rate(http_requests_total{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
                }],
            });
            const program = await runOnce("dreamseed", stackConfig("examples/dreamseed"));
            const adapter = program.get("kubernetes:helm.sh/v3:Release", "addons-prometheus-adapter");
            assert.deepEqual(program.dependsOn(adapter), ["kubernetes:helm.sh/v3:Release addons-kube-prometheus-stack"]);
            assert.equal(adapter.inputs.createNamespace, true);
        });

        it("runs the monitoring stack in dreamseed-monitoring, which Prometheus scrapes the services from", async () => {
            const r = await example("dreamseed");
            assert.equal((r.releases.find((x) => x.name === "kube-prometheus-stack") as { namespace: string }).namespace, "dreamseed-monitoring");
            assert.deepEqual(names(r, "ServiceMonitor"), [...SERVICES, "kafka", "minio", "postgres", "redis"].sort());
            const np = one(r, "NetworkPolicy", "assessment-service").spec;
            assert.deepEqual(np.ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dreamseed-monitoring" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } }], ports: [{ protocol: "TCP", port: 8000 }] }]);
        });
    });
});
