// Each application component, through the prod stack (the fullest) and focused configs: security
// contexts, probes, volumes, the NetworkPolicy graph, ingress, data services and monitoring objects.

import * as assert from "assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { routedService } from "../../components/ingress";
import { BACKUP_COMMAND, backupTarget, cronJobSpec } from "../../components/postgresBackup";
import { resolveConfig } from "../../stacks/config";
import { K8sObject, violations } from "../../policy/rules";
import { FAKE_SECRETS, Program, Recorded, runCommittedStack, runOnce, runProgram, runWithKafkaAndMinio, stackConfig, unwrap, valueOf } from "./harness";

const T = {
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    service: "kubernetes:core/v1:Service",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    quota: "kubernetes:core/v1:ResourceQuota",
    limitRange: "kubernetes:core/v1:LimitRange",
    serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
    roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
};

const RESTRICTED_CONTAINER = {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

function podSpec(r: Recorded) {
    return r.inputs.spec.template.spec;
}

function sel(component: string) {
    return { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": component };
}

function fromNamespace(ns: string, labels: Record<string, string>) {
    return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } }, podSelector: { matchLabels: labels } };
}

const INGRESS_CONTROLLER = fromNamespace("ingress-nginx", { "app.kubernetes.io/name": "ingress-nginx" });
const PROMETHEUS = fromNamespace("monitoring", { "app.kubernetes.io/name": "prometheus" });

describe("components (prod stack)", () => {
    let p: Program;
    before(async () => {
        p = await runCommittedStack("prod");
    });

    describe("NamespaceGuardrails", () => {
        it("labels the namespace for Pod Security restricted (enforce, audit, warn)", () => {
            const labels = p.get("kubernetes:core/v1:Namespace", "namespace").inputs.metadata.labels;
            assert.equal(labels["pod-security.kubernetes.io/enforce"], "restricted");
            assert.equal(labels["pod-security.kubernetes.io/enforce-version"], "latest");
            assert.equal(labels["pod-security.kubernetes.io/audit"], "restricted");
            assert.equal(labels["pod-security.kubernetes.io/warn"], "restricted");
            assert.equal(labels["app.kubernetes.io/name"], "kaizen-studio");
            assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi");
        });

        it("sets a quota and container defaults", () => {
            assert.deepEqual(p.get(T.quota, "namespace-quota").inputs.spec.hard, {
                "requests.cpu": "32", "requests.memory": "64Gi", "limits.cpu": "64", "limits.memory": "128Gi",
                pods: "80", persistentvolumeclaims: "10", "requests.storage": "500Gi",
            });
            assert.deepEqual(p.get(T.limitRange, "namespace-limits").inputs.spec.limits, [{
                type: "Container", defaultRequest: { cpu: "50m", memory: "64Mi" }, default: { cpu: "500m", memory: "512Mi" },
            }]);
        });

        it("denies all traffic by default and allows only DNS egress", () => {
            assert.deepEqual(p.get(T.netpol, "namespace-default-deny").inputs.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            assert.deepEqual(p.get(T.netpol, "namespace-allow-dns").inputs.spec, {
                podSelector: {},
                policyTypes: ["Egress"],
                egress: [{
                    to: [fromNamespace("kube-system", { "k8s-app": "kube-dns" })],
                    ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
                }],
            });
        });

        it("starts pods only after their NetworkPolicy, ConfigMap and Secret exist", () => {
            assert.deepEqual(p.dependsOn(p.get(T.deployment, "backend")), [
                "kubernetes:core/v1:ConfigMap backend-config", `${T.netpol} backend`, "kubernetes:core/v1:Secret backend-secrets",
            ]);
            assert.deepEqual(p.dependsOn(p.get(T.deployment, "frontend")), ["kubernetes:core/v1:ConfigMap frontend-config", `${T.netpol} frontend`]);
            assert.deepEqual(p.dependsOn(p.get(T.statefulSet, "postgres")), [
                "kubernetes:core/v1:Secret postgres-credentials", "kubernetes:core/v1:ConfigMap postgres-config",
                "kubernetes:core/v1:Service postgres-headless", `${T.netpol} postgres`,
            ]);
            assert.deepEqual(p.dependsOn(p.get(T.deployment, "redis")), [
                "kubernetes:core/v1:Secret redis-credentials", "kubernetes:core/v1:PersistentVolumeClaim redis-data", `${T.netpol} redis`,
            ]);
        });

        it("makes every workload wait for the guard-rails", () => {
            for (const [type, name] of [["WebService", "backend"], ["WebService", "frontend"], ["Postgres", "postgres"], ["Redis", "redis"]]) {
                assert.deepEqual(p.dependsOn(p.get(`platform:app:${type}`, name)), ["platform:app:NamespaceGuardrails namespace"], name);
            }
        });
    });

    describe("WebService", () => {
        it("runs every container of every pod with the restricted security context", () => {
            for (const r of [...p.all(T.deployment), ...p.all(T.statefulSet)]) {
                const spec = podSpec(r);
                assert.equal(spec.securityContext.runAsNonRoot, true, r.name);
                assert.deepEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" }, r.name);
                assert.equal(spec.automountServiceAccountToken, false, r.name);
                for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
                    assert.deepEqual(c.securityContext, RESTRICTED_CONTAINER, `${r.name}/${c.name}`);
                    assert.ok(c.resources.requests.cpu && c.resources.limits.memory, `${r.name}/${c.name} resources`);
                    // Every container: a full node disk evicts the pod that filled it, not its neighbours.
                    assert.equal(c.resources.requests["ephemeral-storage"], "64Mi", `${r.name}/${c.name} ephemeral request`);
                    assert.match(c.resources.limits["ephemeral-storage"], /^\d+Mi$/, `${r.name}/${c.name} ephemeral limit`);
                    assert.doesNotMatch(c.image, /:latest$/, `${r.name}/${c.name} image`);
                }
            }
        });

        it("gives the backend probes on /health, requests/limits, and a pinned image", () => {
            const c = podSpec(p.get(T.deployment, "backend")).containers[0];
            assert.equal(c.image, "registry.yourdomain.com/kaizen-studio-backend:v1.0.0");
            assert.deepEqual(c.ports, [{ name: "http", containerPort: 8000, protocol: "TCP" }]);
            assert.deepEqual(c.livenessProbe, { httpGet: { path: "/health", port: "http" }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 });
            assert.deepEqual(c.readinessProbe, { httpGet: { path: "/health", port: "http" }, initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 });
            assert.deepEqual(c.startupProbe, { httpGet: { path: "/health", port: "http" }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 30 });
            assert.deepEqual(c.resources, {
                requests: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "64Mi" },
                limits: { cpu: "2000m", memory: "2Gi", "ephemeral-storage": "512Mi" }, // 256Mi + its one writable dir (/tmp)
            });
        });

        it("makes the backend wait for PostgreSQL and Redis in init containers", () => {
            const init = podSpec(p.get(T.deployment, "backend")).initContainers;
            assert.deepEqual(init.map((c: { name: string }) => c.name), ["wait-for-postgres", "wait-for-redis"]);
            assert.deepEqual(init[0].command, ["sh", "-c", "until nc -z -w 2 postgres 5432; do echo \"waiting for postgres:5432\"; sleep 2; done"]);
            assert.equal(init[1].command[2].startsWith("until nc -z -w 2 redis 6379;"), true);
            assert.equal(init[0].image, "busybox:1.36.1");
            assert.deepEqual(podSpec(p.get(T.deployment, "frontend")).initContainers, []);
        });

        it("mounts emptyDirs where nginx writes, under a read-only root", () => {
            const spec = podSpec(p.get(T.deployment, "frontend"));
            assert.deepEqual(spec.volumes, [
                { name: "var-cache-nginx", emptyDir: { sizeLimit: "256Mi" } }, { name: "var-run", emptyDir: { sizeLimit: "256Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ]);
            assert.deepEqual(spec.containers[0].volumeMounts, [
                { name: "var-cache-nginx", mountPath: "/var/cache/nginx" }, { name: "var-run", mountPath: "/var/run" }, { name: "tmp", mountPath: "/tmp" },
            ]);
            assert.equal(spec.securityContext.runAsUser, 101);
        });

        it("spreads pods and rolls out with zero unavailable", () => {
            const d = p.get(T.deployment, "backend").inputs.spec;
            assert.deepEqual(d.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
            const spec = d.template.spec;
            assert.deepEqual(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, [{
                weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: sel("backend") } },
            }]);
            assert.deepEqual(spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        });

        it("takes config from a ConfigMap and secrets from a Secret, with checksums that roll the pods", () => {
            const d = p.get(T.deployment, "backend").inputs.spec.template;
            assert.deepEqual(d.spec.containers[0].envFrom, [{ configMapRef: { name: "backend-config" } }, { secretRef: { name: "backend-secrets" } }]);
            assert.match(d.metadata.annotations["checksum/config"], /^[0-9a-f]{64}$/);
            assert.match(d.metadata.annotations["checksum/secret"], /^[0-9a-f]{64}$/);
            const data = unwrap(p.get(T.secret, "backend-secrets").inputs.stringData);
            assert.equal(data.secret, true, "Secret data is registered as a secret");
            assert.deepEqual(Object.keys(data.value).sort(), ["DATABASE_URL", "ENCRYPTION_KEY", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "REDIS_URL"]);
            assert.deepEqual(p.get(T.deployment, "frontend").inputs.spec.template.spec.containers[0].envFrom, [{ configMapRef: { name: "frontend-config" } }]);
            assert.equal(p.find(T.secret, "frontend-secrets"), undefined, "a service without secrets gets no Secret");
        });

        it("URL-encodes credentials in DATABASE_URL and REDIS_URL, so any password parses", async () => {
            const odd = "p@ss:w/rd#?%&é";
            const q = await runProgram("dev", stackConfig("dev"), { ...FAKE_SECRETS, postgresPassword: odd, redisPassword: odd });
            const data = unwrap(q.get(T.secret, "backend-secrets").inputs.stringData).value;
            const db = new URL(data.DATABASE_URL);
            assert.equal(db.protocol, "postgresql:");
            assert.equal(decodeURIComponent(db.username), "kaizen_user");
            assert.equal(decodeURIComponent(db.password), odd);
            assert.equal(db.hostname, "postgres.kaizen-studio-dev.svc.cluster.local");
            assert.equal(db.port, "5432");
            assert.equal(db.pathname, "/kaizen_studio");
            const redis = new URL(data.REDIS_URL);
            assert.equal(decodeURIComponent(redis.password), odd);
            assert.equal(redis.hostname, "redis.kaizen-studio-dev.svc.cluster.local");
            assert.equal(redis.pathname, "/0");
        });

        it("uses a ServiceAccount without token automount and ClusterIP Services on 8000 and 80", () => {
            assert.equal(p.get(T.serviceAccount, "backend").inputs.automountServiceAccountToken, false);
            assert.equal(podSpec(p.get(T.deployment, "backend")).serviceAccountName, "backend");
            assert.deepEqual(p.get(T.service, "backend").inputs.spec, {
                type: "ClusterIP", selector: sel("backend"), ports: [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }],
            });
            assert.deepEqual(p.get(T.service, "frontend").inputs.spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
        });

        it("creates no Role, RoleBinding or scheduling constraint for services that configure none", () => {
            assert.deepEqual([p.all(T.role), p.all(T.roleBinding)], [[], []]);
            for (const name of ["backend", "frontend"]) {
                const spec = podSpec(p.get(T.deployment, name));
                assert.deepEqual(["nodeSelector" in spec, "tolerations" in spec], [false, false], name);
            }
        });
    });

    describe("NetworkPolicy graph", () => {
        const policy = (name: string) => p.get(T.netpol, name).inputs.spec;

        it("lets the frontend call nothing and admits nobody through its own policy (the controller comes in through the edge's)", () => {
            assert.deepEqual(policy("frontend"), {
                podSelector: { matchLabels: sel("frontend") },
                policyTypes: ["Ingress", "Egress"],
            });
        });

        it("admits the backend from Prometheus; egress to PostgreSQL, Redis and external HTTPS only", () => {
            assert.deepEqual(policy("backend"), {
                podSelector: { matchLabels: sel("backend") },
                policyTypes: ["Ingress", "Egress"],
                ingress: [
                    { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 8000 }] },
                ],
                egress: [
                    { to: [{ podSelector: { matchLabels: sel("postgres") } }], ports: [{ protocol: "TCP", port: 5432 }] },
                    { to: [{ podSelector: { matchLabels: sel("redis") } }], ports: [{ protocol: "TCP", port: 6379 }] },
                    { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"] } }], ports: [{ protocol: "TCP", port: 443 }] },
                ],
            });
        });

        it("admits the ingress controller to each routed service on its pod port, through the edge's own policies", () => {
            for (const [service, port] of [["frontend", 8080], ["backend", 8000]] as const) {
                const np = p.get(T.netpol, `ingress-to-${service}`).inputs;
                assert.equal(np.metadata.name, `${service}-from-ingress`);
                assert.deepEqual(np.spec, {
                    podSelector: { matchLabels: sel(service) },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [INGRESS_CONTROLLER], ports: [{ protocol: "TCP", port }] }],
                });
            }
            assert.equal(p.all(T.netpol).filter((r) => r.name.startsWith("ingress-to-")).length, 2, "no route policy for unrouted workloads");
        });

        it("admits PostgreSQL only from the backend and the backup pods, and its exporter only from Prometheus", () => {
            assert.deepEqual(policy("postgres").ingress, [
                { from: [{ podSelector: { matchLabels: sel("backend") } }], ports: [{ protocol: "TCP", port: 5432 }] },
                { from: [{ podSelector: { matchLabels: sel("postgres-backup") } }], ports: [{ protocol: "TCP", port: 5432 }] },
                { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9187 }] },
            ]);
            assert.equal("egress" in policy("postgres"), false, "no egress rule: only DNS, from the namespace policy");
        });

        it("admits Redis only from the backend and its exporter only from Prometheus", () => {
            assert.deepEqual(policy("redis").ingress, [
                { from: [{ podSelector: { matchLabels: sel("backend") } }], ports: [{ protocol: "TCP", port: 6379 }] },
                { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9121 }] },
            ]);
            assert.equal("egress" in policy("redis"), false, "no egress rule: only DNS, from the namespace policy");
        });
    });

    describe("Postgres", () => {
        it("runs postgres 15 alpine with pg_isready probes, tuning config and an exporter on 9187", () => {
            const sts = p.get(T.statefulSet, "postgres").inputs.spec;
            assert.equal(sts.serviceName, "postgres-headless");
            assert.equal(sts.replicas, 1);
            const [pg, exporter] = sts.template.spec.containers;
            assert.equal(pg.image, "postgres:15.10-alpine", "prod pins an exact release; dev keeps the seed's postgres:15-alpine");
            assert.deepEqual(pg.args, ["-c", "config_file=/etc/postgresql/postgresql.conf"]);
            const isReady = ["sh", "-c", "pg_isready -h 127.0.0.1 -p 5432 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\""];
            assert.deepEqual(pg.readinessProbe.exec.command, isReady);
            assert.deepEqual(pg.livenessProbe.exec.command, isReady);
            assert.deepEqual(pg.startupProbe.exec.command, isReady);
            assert.deepEqual(pg.resources, {
                requests: { cpu: "500m", memory: "2Gi", "ephemeral-storage": "64Mi" },
                limits: { cpu: "2000m", memory: "4Gi", "ephemeral-storage": "768Mi" }, // 256Mi + socket dir and /tmp
            });
            assert.equal(sts.template.spec.securityContext.runAsUser, 70);
            assert.equal(exporter.name, "postgres-exporter");
            assert.deepEqual(exporter.ports, [{ name: "metrics", containerPort: 9187, protocol: "TCP" }]);
            const conf = p.get(T.configMap, "postgres-config").inputs.data["postgresql.conf"];
            assert.match(conf, /^listen_addresses = '\*'$/m);
            assert.match(conf, /^max_connections = 200$/m);
            assert.match(conf, /^shared_buffers = 1GB$/m);
        });

        it("gives PostgreSQL a memory-backed /dev/shm of 1Gi, and size-limited writable dirs", () => {
            const spec = podSpec(p.get(T.statefulSet, "postgres"));
            assert.deepEqual(spec.volumes.find((v: { name: string }) => v.name === "shm"), { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } });
            assert.deepEqual(spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === "shm"), { name: "shm", mountPath: "/dev/shm" });
            for (const v of spec.volumes.filter((x: { emptyDir?: unknown }) => x.emptyDir)) {
                assert.ok(v.emptyDir.sizeLimit, `${v.name} has a size limit`);
            }
        });

        it("retries the password sync for as long as the startup probe waits", () => {
            const pg = podSpec(p.get(T.statefulSet, "postgres")).containers[0];
            const script: string = pg.lifecycle.postStart.exec.command[2];
            const attempts = Number(/seq 1 (\d+)/.exec(script)![1]);
            const pause = Number(/sleep (\d+)/.exec(script)![1]);
            const probeBudget = pg.startupProbe.periodSeconds * pg.startupProbe.failureThreshold;
            assert.equal(probeBudget, 300);
            assert.ok(attempts * pause >= probeBudget, `hook retries ${attempts * pause}s, startup probe allows ${probeBudget}s`);
        });

        it("has headless and ClusterIP Services on 5432", () => {
            assert.equal(p.get(T.service, "postgres-headless").inputs.spec.clusterIP, "None");
            assert.deepEqual(p.get(T.service, "postgres-headless").inputs.spec.ports.map((x: { name: string }) => x.name), ["postgres"], "scraped once, through the ClusterIP Service");
            assert.deepEqual(p.get(T.service, "postgres").inputs.spec.ports.map((x: { name: string }) => x.name), ["postgres", "metrics"]);
            assert.equal(p.get(T.service, "postgres").inputs.spec.type, "ClusterIP");
            assert.deepEqual(p.get(T.service, "postgres").inputs.spec.ports[0], { name: "postgres", port: 5432, targetPort: "postgres", protocol: "TCP" });
        });

        it("keeps credentials in a Secret referenced by key, never inline", () => {
            const env = podSpec(p.get(T.statefulSet, "postgres")).containers[0].env;
            assert.deepEqual(env.find((e: { name: string }) => e.name === "POSTGRES_PASSWORD"), {
                name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: "postgres-credentials", key: "POSTGRES_PASSWORD" } },
            });
            const data = unwrap(p.get(T.secret, "postgres-credentials").inputs.stringData);
            assert.equal(data.secret, true);
            assert.deepEqual(data.value, { POSTGRES_USER: "kaizen_user", POSTGRES_DB: "kaizen_studio", POSTGRES_PASSWORD: FAKE_SECRETS.postgresPassword });
        });
    });

    describe("PostgresBackup", () => {
        const cronJob = () => p.get("kubernetes:batch/v1:CronJob", "postgres-backup").inputs;

        it("dumps daily at 03:00 UTC, one run at a time, with job history, retries and a deadline", () => {
            const { jobTemplate, ...schedule } = cronJob().spec;
            assert.deepEqual(schedule, {
                schedule: "0 3 * * *", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid", startingDeadlineSeconds: 3600,
                successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
            });
            const { template, ...job } = jobTemplate.spec;
            assert.deepEqual(job, { backoffLimit: 2, activeDeadlineSeconds: 14400 });
            assert.equal(template.spec.restartPolicy, "Never");
            assert.deepEqual(template.metadata.labels, { ...sel("postgres-backup"), "app.kubernetes.io/part-of": "kaizen-studio", "app.kubernetes.io/managed-by": "pulumi", environment: "prod" });
        });

        it("runs the builder's pod (builders.test.ts: pg_dump, restricted contexts, the password from the Secret) with the server's own image", () => {
            const pod = cronJob().spec.jobTemplate.spec.template.spec;
            const prod = resolveConfig("prod", stackConfig("prod"), { set: Object.keys(FAKE_SECRETS), plaintext: [] });
            const built = cronJobSpec(backupTarget(prod.appName, "postgres.kaizen-studio.svc.cluster.local", prod.postgres), prod.postgres.backup, {});
            assert.deepEqual(pod.containers.map((c: { image: string }) => c.image), [podSpec(p.get(T.statefulSet, "postgres")).containers[0].image]);
            assert.deepEqual(pod.containers[0].command, BACKUP_COMMAND);
            assert.deepEqual(pod, (built.jobTemplate as unknown as { spec: { template: { spec: unknown } } }).spec.template.spec);
        });

        it("keeps the dumps on a claim of their own, retained and protected like the data", () => {
            const claim = p.get("kubernetes:core/v1:PersistentVolumeClaim", "postgres-backups");
            assert.equal(claim.inputs.metadata.name, "postgres-backups");
            assert.deepEqual(claim.inputs.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "100Gi" } } });
            assert.deepEqual([claim.opts.retainOnDelete, claim.opts.protect], [true, true]);
        });

        it("lets the backup pods reach PostgreSQL on 5432 only, and admits nobody", () => {
            assert.deepEqual(p.get(T.netpol, "postgres-backup").inputs.spec, {
                podSelector: { matchLabels: sel("postgres-backup") },
                policyTypes: ["Ingress", "Egress"],
                egress: [{ to: [{ podSelector: { matchLabels: sel("postgres") } }], ports: [{ protocol: "TCP", port: 5432 }] }],
            });
        });

        it("is created after PostgreSQL, its CronJob after its claim and policy", () => {
            assert.deepEqual(p.dependsOn(p.get("platform:app:PostgresBackup", "postgres-backup")), ["platform:app:NamespaceGuardrails namespace", "platform:app:Postgres postgres"]);
            assert.deepEqual(p.dependsOn(p.get("kubernetes:batch/v1:CronJob", "postgres-backup")), [
                "kubernetes:core/v1:PersistentVolumeClaim postgres-backups", `${T.netpol} postgres-backup`,
            ]);
        });
    });

    describe("Redis", () => {
        it("runs with password auth, AOF, maxmemory allkeys-lru, and the seed's resources", () => {
            const d = p.get(T.deployment, "redis").inputs.spec;
            assert.deepEqual(d.strategy, { type: "Recreate" });
            assert.equal(d.replicas, 1);
            const c = d.template.spec.containers[0];
            assert.deepEqual(c.args, [
                "--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data",
                "--maxmemory", "768mb", "--maxmemory-policy", "allkeys-lru", "--requirepass", "$(REDIS_PASSWORD)",
            ]);
            assert.deepEqual(c.resources, {
                requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "64Mi" },
                limits: { cpu: "1000m", memory: "1Gi", "ephemeral-storage": "256Mi" },
            });
            assert.deepEqual(d.template.spec.volumes, [{ name: "data", persistentVolumeClaim: { claimName: "redis-data" } }]);
            assert.equal(p.get("kubernetes:core/v1:PersistentVolumeClaim", "redis-data").inputs.spec.resources.requests.storage, "10Gi");
        });
    });

    describe("AppIngress", () => {
        it("routes /api to the backend and / to the frontend over TLS with class nginx", () => {
            const spec = p.get(T.ingress, "ingress").inputs.spec;
            assert.equal(spec.ingressClassName, "nginx");
            assert.deepEqual(spec.rules[0].http.paths, [
                { path: "/api", pathType: "Prefix", backend: { service: { name: "backend", port: { number: 8000 } } } },
                { path: "/", pathType: "Prefix", backend: { service: { name: "frontend", port: { number: 80 } } } },
            ]);
        });

        it("annotates TLS issuer, redirects, rate limit, WebSocket timeouts and custom headers, and no snippets", () => {
            const a = p.get(T.ingress, "ingress").inputs.metadata.annotations;
            assert.deepEqual(a, {
                "cert-manager.io/cluster-issuer": "letsencrypt-prod",
                "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/limit-rps": "100",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
                "nginx.ingress.kubernetes.io/custom-headers": "kaizen-studio/kaizen-studio-security-headers",
                "pulumi.com/patchForce": "true",
            });
            assert.equal(Object.keys(a).some((k) => k.includes("snippet")), false);
        });

        it("finds the Service a request path reaches as the Ingress API matches Prefix paths (routedService)", () => {
            const paths = [{ path: "/", service: "web" }, { path: "/api", service: "api" }, { path: "/api/auth/", service: "auth" }];
            assert.equal(routedService(paths, "/health"), "web");
            assert.equal(routedService(paths, "/api"), "api");
            assert.equal(routedService(paths, "/api/health?full=1"), "api");
            assert.equal(routedService(paths, "/apix/health"), "web", "element by element, not by characters");
            assert.equal(routedService(paths, "/api/auth"), "auth", "a trailing slash is no element");
            assert.equal(routedService(paths, "/api/auth/health"), "auth", "the longest match wins");
            assert.equal(routedService(paths.slice(1), "/health"), undefined);
        });

        it("lets only the ingress controller reach cert-manager's HTTP-01 solver pods, on 8089", () => {
            const np = p.get(T.netpol, "ingress-acme-solver").inputs;
            assert.equal(np.metadata.name, "acme-http01-solver");
            assert.deepEqual(np.spec, {
                podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
                policyTypes: ["Ingress"],
                ingress: [{ from: [INGRESS_CONTROLLER], ports: [{ protocol: "TCP", port: 8089 }] }],
            });
        });

        it("sets the security headers; HSTS comes from the controller this stack installs", () => {
            assert.deepEqual(p.get(T.configMap, "ingress-security-headers").inputs.data, {
                "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "strict-origin-when-cross-origin",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' wss:; frame-ancestors 'none'",
            });
        });
    });

    describe("Monitoring", () => {
        it("scrapes the backend and both exporters", () => {
            const monitors = p.all(T.serviceMonitor).map((r) => [r.inputs.metadata.name, r.inputs.spec.selector.matchLabels, r.inputs.spec.endpoints]);
            assert.deepEqual(monitors, [
                ["backend", sel("backend"), [{ port: "http", path: "/metrics", interval: "30s" }]],
                ["postgres", sel("postgres"), [{ port: "metrics", path: "/metrics", interval: "30s" }]],
                ["redis", sel("redis"), [{ port: "metrics", path: "/metrics", interval: "30s" }]],
            ]);
        });

        it("alerts with the nine alerts of the reference system at its thresholds", () => {
            const rules = p.get(T.prometheusRule, "monitoring-alerts").inputs.spec.groups[0].rules;
            const summary = rules.map((r: { alert: string; expr: string; for: string }) => [r.alert, r.for]);
            assert.deepEqual(summary, [
                ["BackendHighErrorRate", "5m"], ["BackendHighLatency", "10m"], ["BackendDown", "2m"],
                ["PostgresDown", "1m"], ["PostgresHighConnections", "5m"],
                ["RedisDown", "1m"], ["RedisHighMemory", "5m"],
                ["PodCrashLooping", "5m"], ["PodNotReady", "5m"],
            ]);
            const expr = (name: string) => rules.find((r: { alert: string }) => r.alert === name).expr as string;
            assert.match(expr("BackendHighErrorRate"), /> 0\.05$/);
            assert.match(expr("BackendHighLatency"), /^histogram_quantile\(0\.95, .*\) > 1$/);
            assert.match(expr("PostgresHighConnections"), /> 0\.8$/);
            assert.match(expr("RedisHighMemory"), /> 0\.9$/);
            assert.match(expr("PodNotReady"), /namespace="kaizen-studio"/);
        });

        it("creates the custom resources only after the release that installs their CRDs", () => {
            for (const r of [...p.all(T.serviceMonitor), ...p.all(T.prometheusRule)]) {
                assert.deepEqual(p.dependsOn(r), ["kubernetes:helm.sh/v3:Release addons-kube-prometheus-stack"], r.name);
            }
        });

        it("ships a Grafana dashboard ConfigMap for the sidecar", () => {
            const cm = p.get(T.configMap, "monitoring-dashboard").inputs;
            assert.equal(cm.metadata.labels.grafana_dashboard, "1");
            const dash = JSON.parse(cm.data["kaizen-studio.json"]);
            assert.equal(dash.title, "kaizen-studio (kaizen-studio)");
            assert.equal(dash.panels.length, 6);
        });
    });
});

describe("components (other shapes by config alone)", () => {
    it("runs without PostgreSQL, Redis, monitoring or ingress", async () => {
        const c = stackConfig("dev");
        c.postgres = { enabled: false };
        c.redis = { enabled: false };
        c.monitoring = { enabled: false };
        c.ingress = { enabled: false };
        c.addons = {};
        c.services = { api: { image: "example/api:1.0.0", port: 3000 } };
        const p = await runProgram("dev", c);
        assert.equal(p.find(T.statefulSet, "postgres"), undefined);
        assert.equal(p.find(T.deployment, "redis"), undefined);
        assert.equal(p.all(T.serviceMonitor).length, 0);
        assert.equal(p.all(T.ingress).length, 0);
        assert.equal(p.all("kubernetes:helm.sh/v3:Release").length, 0);
        const d = p.get(T.deployment, "api").inputs.spec;
        assert.equal(d.replicas, 1);
        assert.equal("ingress" in p.get(T.netpol, "api").inputs.spec, false, "nothing may reach it");
        // Outputs of disabled parts are absent, not undefined.
        assert.deepEqual(Object.keys(p.exports).sort(), ["appName", "clusterIssuers", "environment", "generatedSecrets", "healthChecks", "namespace", "publicUrls", "serviceUrls"]);
        assert.deepEqual(p.exports.publicUrls, {});
        assert.deepEqual(await valueOf(p.exports.healthChecks), [{ service: "api", namespace: "kaizen-studio-dev", port: 3000, healthPath: "/health" }], "no Ingress: no public URL");
        assert.equal(p.get("kubernetes:core/v1:Namespace", "namespace").opts.retainOnDelete, false, "no data: destroy deletes the namespace");
    });

    it("expresses a web + api + PostGIS system with path routing and service-to-service calls", async () => {
        // Pinned by digest: PostGIS's tags name no exact PostgreSQL release.
        const POSTGIS = `postgis/postgis:15-3.4-alpine@sha256:${"0123456789abcdef".repeat(4)}`;
        const c = stackConfig("staging");
        c.appName = "disney-ai-plus";
        c.redis = { enabled: false };
        c.postgres = { enabled: true, image: POSTGIS, database: "app", user: "app" };
        c.services = {
            web: { image: "example/web:2.1.0", port: 3000, ingressPath: "/", uses: ["api"], replicas: 2, autoscaling: { minReplicas: 2, maxReplicas: 10 } },
            api: { image: "example/api:2.1.0", port: 4000, ingressPath: "/api", uses: ["postgres"], metricsPath: "/metrics", replicas: 2 },
        };
        const p = await runProgram("staging", c, { encryptionKey: "k", postgresPassword: "p", jwtSecret: "j", grafanaAdminPassword: "g" });
        assert.equal(podSpec(p.get(T.statefulSet, "postgres")).containers[0].image, POSTGIS);
        const sel2 = (n: string) => ({ "app.kubernetes.io/name": "disney-ai-plus", "app.kubernetes.io/component": n });
        assert.deepEqual(p.get(T.netpol, "api").inputs.spec.ingress, [
            { from: [{ podSelector: { matchLabels: sel2("web") } }], ports: [{ protocol: "TCP", port: 4000 }] },
            { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 4000 }] },
        ]);
        assert.deepEqual(p.get(T.netpol, "ingress-to-api").inputs.spec.ingress, [
            { from: [INGRESS_CONTROLLER], ports: [{ protocol: "TCP", port: 4000 }] },
        ]);
        assert.deepEqual(p.get(T.netpol, "web").inputs.spec.egress, [
            { to: [{ podSelector: { matchLabels: sel2("api") } }], ports: [{ protocol: "TCP", port: 4000 }] },
        ]);
        assert.equal(p.get(T.configMap, "web-config").inputs.data.API_URL, "http://api.disney-ai-plus-staging.svc.cluster.local:4000");
        assert.deepEqual(podSpec(p.get(T.deployment, "web")).initContainers.map((i: { name: string }) => i.name), ["wait-for-api"]);
        const rules = p.get(T.prometheusRule, "monitoring-alerts").inputs.spec.groups[0].rules.map((r: { alert: string }) => r.alert);
        assert.deepEqual(rules, ["ApiHighErrorRate", "ApiHighLatency", "ApiDown", "PostgresDown", "PostgresHighConnections", "PodCrashLooping", "PodNotReady"]);
        assert.equal("replicas" in p.get(T.deployment, "web").inputs.spec, false);
        assert.equal(p.get(T.deployment, "api").inputs.spec.replicas, 2);
    });

    // Seed 003's HPA: CPU, memory, a custom metric served by an adapter, and its own scaling behavior.
    const SEED_003_AUTOSCALING = {
        minReplicas: 3, maxReplicas: 20, cpuUtilization: 70, memoryUtilization: 80,
        podsMetrics: [{ name: "http_requests_per_second", averageValue: "1000" }],
        behavior: {
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
            scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
        },
    };

    it("routes several services by path (seed 003 style), longest prefix first, autoscaling as the seed does", async () => {
        const c = stackConfig("staging");
        c.appName = "dreamseed";
        const api = (port: number) => ({ image: `example/svc:1.4.2`, port, uses: ["postgres", "redis"], metricsPath: "/metrics", healthPath: "/health" });
        c.services = {
            web: { image: "example/web:1.4.2", port: 3000, ingressPath: "/" },
            assessment: { ...api(8000), ingressPath: "/api/assessments", replicas: 3, autoscaling: SEED_003_AUTOSCALING, pdbMinAvailable: 2 },
            content: { ...api(8001), ingressPath: "/api/content", healthPath: "/api/content/health" },
            auth: { ...api(8002), ingressPath: "/api/auth" },
        };
        c.addons = { ...(c.addons as object), prometheusAdapter: { fromCluster: true } };
        const p = await runProgram("staging", c, { encryptionKey: "k", postgresPassword: "p", redisPassword: "r", jwtSecret: "j", grafanaAdminPassword: "g" });
        const paths = p.get(T.ingress, "ingress").inputs.spec.rules[0].http.paths.map((x: { path: string; backend: { service: { name: string } } }) => [x.path, x.backend.service.name]);
        assert.deepEqual(paths, [["/api/assessments", "assessment"], ["/api/content", "content"], ["/api/auth", "auth"], ["/", "web"]]);
        const pg = p.get(T.netpol, "postgres").inputs.spec.ingress.map((r: { from: { podSelector: { matchLabels: Record<string, string> } }[] }) => r.from[0].podSelector?.matchLabels["app.kubernetes.io/component"]);
        assert.deepEqual(pg, ["assessment", "content", "auth", undefined], "the three APIs, then Prometheus for the exporter");
        assert.equal(p.get(T.pdb, "assessment").inputs.spec.minAvailable, 2);
        assert.equal(p.get(T.pdb, "assessment").inputs.spec.unhealthyPodEvictionPolicy, "AlwaysAllow", "an unready pod never blocks a drain");
        const hpa = p.get(T.hpa, "assessment").inputs.spec;
        assert.deepEqual(hpa.metrics[2], { type: "Pods", pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "1000" } } });
        assert.deepEqual(hpa.behavior, SEED_003_AUTOSCALING.behavior);
        assert.equal(p.all(T.serviceMonitor).length, 5);
        // A health path is public only where the Ingress sends it to that service: /health goes to web.
        const check = (service: string, port: number, healthPath: string, publicUrl?: string) =>
            ({ service, namespace: "dreamseed-staging", port, healthPath, ...(publicUrl ? { publicUrl } : {}) });
        assert.deepEqual(await valueOf(p.exports.healthChecks), [
            check("web", 3000, "/health", "https://staging.yourdomain.com"),
            check("assessment", 8000, "/health"),
            check("content", 8001, "/api/content/health", "https://staging.yourdomain.com"),
            check("auth", 8002, "/health"),
        ]);
    });

    it("binds a Role with exactly the service's rules to its own ServiceAccount, mounts its token, and runs it on a spot node pool", async () => {
        const c = stackConfig("dev");
        const services = c.services as Record<string, Record<string, unknown>>;
        c.network = { apiServerCidrs: ["10.96.0.1/32"] };
        services.backend.rbac = [
            { resources: ["configmaps"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: ["backend-leader"] },
        ];
        services.backend.nodeSelector = { "node-pool": "spot" };
        services.backend.tolerations = [{ key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" }];
        const p = await runProgram("dev", c);
        // Its way to the API server, and only its: the namespace denies all other egress.
        type Egress = { to: { ipBlock?: { cidr: string } }[]; ports: unknown[] };
        const apiServerEgress = (name: string) => ((p.get("kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs.spec.egress ?? []) as Egress[])
            .filter((e) => e.to.some((peer) => peer.ipBlock?.cidr === "10.96.0.1/32"));
        assert.deepEqual(apiServerEgress("backend"), [443, 6443].map((port) => ({ to: [{ ipBlock: { cidr: "10.96.0.1/32" } }], ports: [{ protocol: "TCP", port }] })));
        assert.deepEqual(apiServerEgress("frontend"), []);
        const metadata = { ...p.get(T.serviceAccount, "backend").inputs.metadata };
        assert.equal(metadata.name, "backend");
        assert.deepEqual(p.get(T.role, "backend").inputs, {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata,
            rules: [
                { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: ["backend-leader"] },
            ],
        });
        assert.deepEqual(p.get(T.roleBinding, "backend").inputs, {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "backend" },
            subjects: [{ kind: "ServiceAccount", name: "backend", namespace: "kaizen-studio-dev" }],
        });
        assert.equal(p.get(T.serviceAccount, "backend").inputs.automountServiceAccountToken, false, "only the service's own pods mount the token");
        const backend = p.get(T.deployment, "backend");
        assert.deepEqual(p.dependsOn(backend), [
            "kubernetes:core/v1:ConfigMap backend-config", `${T.netpol} backend`, "kubernetes:core/v1:Secret backend-secrets", `${T.roleBinding} backend`,
        ], "pods start with their permissions in place");
        assert.equal(podSpec(backend).serviceAccountName, "backend");
        assert.equal(podSpec(backend).automountServiceAccountToken, true);
        assert.deepEqual(podSpec(backend).nodeSelector, { "node-pool": "spot" });
        assert.deepEqual(podSpec(backend).tolerations, [{ key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" }]);
        // The frontend configures none of it.
        assert.deepEqual([p.all(T.role).map((r) => r.name), p.all(T.roleBinding).map((r) => r.name)], [["backend"], ["backend"]]);
        const frontend = podSpec(p.get(T.deployment, "frontend"));
        assert.deepEqual([frontend.automountServiceAccountToken, "nodeSelector" in frontend, "tolerations" in frontend], [false, false, false]);
    });

    it("creates no Role for an empty rbac list", async () => {
        const c = stackConfig("dev");
        (c.services as Record<string, Record<string, unknown>>).backend.rbac = [];
        const p = await runProgram("dev", c);
        assert.deepEqual([p.all(T.role), p.all(T.roleBinding)], [[], []]);
        assert.equal(podSpec(p.get(T.deployment, "backend")).automountServiceAccountToken, false);
    });

    it("skips the Ingress address wait only where the stack says no controller publishes one", async () => {
        const c = stackConfig("dev");
        c.ingress = { enabled: true, waitForAddress: false };
        const p = await runProgram("dev", c);
        assert.equal(p.get(T.ingress, "ingress").inputs.metadata.annotations["pulumi.com/skipAwait"], "true");
        const committed = await runCommittedStack("dev", {});
        assert.equal("pulumi.com/skipAwait" in committed.get(T.ingress, "ingress").inputs.metadata.annotations, false);
    });

    describe("an external ingress controller", () => {
        const HEADERS = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy"];
        const external = (controller: Record<string, unknown>, ingress: Record<string, unknown> = {}) => {
            const c = stackConfig("dev");
            c.addons = {};
            c.monitoring = { enabled: true, crdsFromCluster: true };
            c.ingress = { hstsMaxAgeSeconds: 600, ...ingress, controller: { mode: "external", ...controller } };
            return runProgram("dev", c);
        };

        it("sends HSTS from the Ingress, with the stack's max-age, when the controller does not", async () => {
            const p = await external({ allowedResponseHeaders: [...HEADERS, "strict-transport-security"], sendsHsts: false });
            const data = p.get(T.configMap, "ingress-security-headers").inputs.data;
            assert.equal(data["Strict-Transport-Security"], "max-age=600; includeSubDomains");
            assert.deepEqual(Object.keys(data).sort(), [...HEADERS, "Strict-Transport-Security"].sort());
            assert.deepEqual(p.dependsOn(p.get(T.ingress, "ingress")), [
                "kubernetes:core/v1:ConfigMap ingress-security-headers",
                "kubernetes:networking.k8s.io/v1:NetworkPolicy ingress-to-backend",
                "kubernetes:networking.k8s.io/v1:NetworkPolicy ingress-to-frontend",
            ]);
        });

        it("leaves HSTS to a controller that sends it (ingress-nginx's default), so it is never sent twice", async () => {
            const p = await external({ allowedResponseHeaders: HEADERS });
            assert.deepEqual(Object.keys(p.get(T.configMap, "ingress-security-headers").inputs.data).sort(), [...HEADERS].sort());
        });

        it("sets no custom headers at all when the stack leaves them to the app", async () => {
            const p = await external({}, { securityHeaders: false });
            assert.equal(p.find(T.configMap, "ingress-security-headers"), undefined);
            assert.equal("nginx.ingress.kubernetes.io/custom-headers" in p.get(T.ingress, "ingress").inputs.metadata.annotations, false);
            assert.equal(p.get(T.netpol, "ingress-acme-solver").inputs.metadata.name, "acme-http01-solver", "the solver path stays");
        });
    });
});

describe("Redis as a StatefulSet (redis.workload: statefulset, on the prod stack)", () => {
    let p: Program;
    before(async () => {
        const c = stackConfig("prod");
        c.redis = { ...(c.redis as object), workload: "statefulset" };
        p = await runOnce("prod", c, FAKE_SECRETS);
    });

    it("registers a StatefulSet with its headless Service, protected like the data, and no Deployment or standalone claim", async () => {
        assert.equal(p.find(T.deployment, "redis"), undefined);
        assert.equal(p.find("kubernetes:core/v1:PersistentVolumeClaim", "redis-data"), undefined);
        assert.equal(p.get(T.service, "redis-headless").inputs.spec.clusterIP, "None");
        const sts = p.get(T.statefulSet, "redis");
        assert.equal(sts.opts.protect, true);
        assert.deepEqual(p.dependsOn(sts), [`${T.secret} redis-credentials`, `${T.service} redis-headless`, `${T.netpol} redis`]);
        assert.deepEqual(p.get(T.service, "redis-headless").inputs.spec.ports, [{ name: "redis", port: 6379, targetPort: "redis", protocol: "TCP" }]);
        assert.equal(await valueOf(p.exports.redisWorkload), "statefulset");
    });
});

describe("migrations (services.<name>.migration, on the prod stack)", () => {
    const JOB = "kubernetes:batch/v1:Job";
    // Seed 003's jobs/db-migration.yaml.
    const SEED_003 = { command: ["alembic", "upgrade", "head"] };
    const prodWithBackend = (settings: Record<string, unknown>, secrets: Record<string, string> = FAKE_SECRETS) => {
        const c = stackConfig("prod");
        Object.assign((c.services as Record<string, Record<string, unknown>>).backend, settings);
        return runOnce("prod", c, secrets);
    };
    const names = (list: { name: string }[]) => list.map((x) => x.name);
    const migrationLabels = {
        "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "backend-migration",
        "app.kubernetes.io/part-of": "kaizen-studio", "app.kubernetes.io/managed-by": "pulumi", environment: "prod",
    };
    let p: Program;
    before(async () => {
        p = await prodWithBackend({ migration: SEED_003 });
    });

    it("runs the migration in a Job of the backend's own pod: its image, env, ServiceAccount, security contexts, resources and writable dirs", () => {
        const job = p.get(JOB, "backend-migration").inputs;
        const deployment = p.get(T.deployment, "backend").inputs.spec.template;
        assert.match(job.metadata.name, /^backend-migration-[0-9a-f]{8}$/);
        assert.equal(job.metadata.namespace, "kaizen-studio");
        assert.deepEqual(job.metadata.labels, migrationLabels);
        assert.deepEqual(job.metadata.annotations, { "pulumi.com/timeoutSeconds": "660", "pulumi.com/replaceUnready": "true", "pulumi.com/patchForce": "true" });
        assert.deepEqual(Object.keys(job.spec).sort(), ["activeDeadlineSeconds", "backoffLimit", "template"], "no ttlSecondsAfterFinished: the Job stays, and Pulumi sees no drift");
        assert.equal(job.spec.backoffLimit, 0);
        assert.equal(job.spec.activeDeadlineSeconds, 600);
        // The same env checksums as the Deployment's pods: the Job runs with the env they will run with.
        assert.deepEqual(job.spec.template.metadata, { labels: migrationLabels, annotations: deployment.metadata.annotations });
        const pod = job.spec.template.spec;
        assert.deepEqual(Object.keys(pod).sort(), ["automountServiceAccountToken", "containers", "initContainers", "restartPolicy", "securityContext", "serviceAccountName", "volumes"]);
        assert.equal(pod.restartPolicy, "Never");
        assert.equal(pod.serviceAccountName, "backend");
        assert.equal(pod.automountServiceAccountToken, false);
        assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual(pod.volumes, [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }]);
        assert.deepEqual(names(pod.initContainers), ["wait-for-postgres", "wait-for-redis"]);
        assert.deepEqual(pod.initContainers, deployment.spec.initContainers, "the same waits as the backend's pods");
        assert.deepEqual(pod.containers, [{
            name: "backend-migration",
            image: "registry.yourdomain.com/kaizen-studio-backend:v1.0.0",
            command: ["alembic", "upgrade", "head"],
            envFrom: [{ configMapRef: { name: "backend-config" } }, { secretRef: { name: "backend-secrets" } }],
            resources: { requests: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "64Mi" }, limits: { cpu: "2000m", memory: "2Gi", "ephemeral-storage": "512Mi" } },
            securityContext: RESTRICTED_CONTAINER,
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        }]);
        // Field for field what the app container has, and the same pod-level settings.
        const app = deployment.spec.containers[0];
        for (const field of ["image", "envFrom", "resources", "securityContext", "volumeMounts"]) {
            assert.deepEqual(pod.containers[0][field], app[field], field);
        }
        for (const field of ["serviceAccountName", "automountServiceAccountToken", "securityContext", "volumes"]) {
            assert.deepEqual(pod[field], deployment.spec[field], field);
        }
    });

    it("rolls the Deployment out only after the Job completed; the Job starts after its env and NetworkPolicy exist", () => {
        assert.deepEqual(p.dependsOn(p.get(T.deployment, "backend")), [
            "kubernetes:core/v1:ConfigMap backend-config", `${T.netpol} backend`, "kubernetes:core/v1:Secret backend-secrets", `${JOB} backend-migration`,
        ]);
        assert.deepEqual(p.dependsOn(p.get(JOB, "backend-migration")), [
            "kubernetes:core/v1:ConfigMap backend-config", "kubernetes:core/v1:Secret backend-secrets", `${T.netpol} backend-migration`,
        ]);
        assert.deepEqual(p.dependsOn(p.get(T.deployment, "frontend")), ["kubernetes:core/v1:ConfigMap frontend-config", `${T.netpol} frontend`]);
        assert.deepEqual(p.all(JOB).map((r) => r.name), ["backend-migration"]);
    });

    it("gives the Job's pods the backend's egress and no ingress; PostgreSQL and Redis admit them on their client ports only", () => {
        const np = p.get(T.netpol, "backend-migration").inputs;
        assert.equal(np.metadata.name, "backend-migration");
        assert.deepEqual(np.metadata.labels, migrationLabels);
        assert.deepEqual(np.spec, {
            podSelector: { matchLabels: sel("backend-migration") },
            policyTypes: ["Ingress", "Egress"],
            egress: p.get(T.netpol, "backend").inputs.spec.egress,
        });
        assert.deepEqual(p.get(T.netpol, "postgres").inputs.spec.ingress, [
            { from: [{ podSelector: { matchLabels: sel("backend") } }], ports: [{ protocol: "TCP", port: 5432 }] },
            { from: [{ podSelector: { matchLabels: sel("backend-migration") } }], ports: [{ protocol: "TCP", port: 5432 }] },
            // prod takes backups: their pods are PostgreSQL's other client.
            { from: [{ podSelector: { matchLabels: sel("postgres-backup") } }], ports: [{ protocol: "TCP", port: 5432 }] },
            { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9187 }] },
        ]);
        assert.deepEqual(p.get(T.netpol, "redis").inputs.spec.ingress, [
            { from: [{ podSelector: { matchLabels: sel("backend") } }], ports: [{ protocol: "TCP", port: 6379 }] },
            { from: [{ podSelector: { matchLabels: sel("backend-migration") } }], ports: [{ protocol: "TCP", port: 6379 }] },
            { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9121 }] },
        ]);
        // Nothing that selects the backend's pods selects the Job's: not its Service, PDB, policies or ServiceMonitor.
        assert.deepEqual(p.get(T.service, "backend").inputs.spec.selector, sel("backend"));
        assert.deepEqual(p.get(T.pdb, "backend").inputs.spec.selector, { matchLabels: sel("backend") });
        assert.equal(p.get(T.netpol, "ingress-to-backend").inputs.spec.podSelector.matchLabels["app.kubernetes.io/component"], "backend");
    });

    it("gives the Job's pods no way to the API server, even from a service with a Role: they mount no token", async () => {
        const c = stackConfig("dev");
        c.network = { apiServerCidrs: ["10.96.0.1/32"] };
        Object.assign((c.services as Record<string, Record<string, unknown>>).backend, {
            rbac: [{ resources: ["configmaps"], verbs: ["get"] }], migration: SEED_003,
        });
        const q = await runProgram("dev", c);
        const egress = (name: string) => q.get(T.netpol, name).inputs.spec.egress as { to: { ipBlock?: { cidr: string } }[] }[];
        const toApiServer = (rule: { to: { ipBlock?: { cidr: string } }[] }) => rule.to.some((peer) => peer.ipBlock?.cidr === "10.96.0.1/32");
        assert.equal(egress("backend").filter(toApiServer).length, 2, "443 and 6443 for the backend's pods");
        assert.deepEqual(egress("backend-migration"), egress("backend").filter((rule) => !toApiServer(rule)));
        assert.equal(q.get(JOB, "backend-migration").inputs.spec.template.spec.automountServiceAccountToken, false);
    });

    // Command, args and env changes: builders.test.ts, without a program run each.
    it("keeps the Job's name while nothing it runs changes, and changes it with the image or a rotated secret", async () => {
        const jobName = (q: Program) => q.get(JOB, "backend-migration").inputs.metadata.name as string;
        const unchanged = await prodWithBackend({ migration: SEED_003, pdbMinAvailable: 1, autoscaling: { minReplicas: 3, maxReplicas: 10 }, healthPath: "/ready" });
        assert.equal(jobName(unchanged), jobName(p), "Deployment-only settings leave the Job alone");
        const v101 = "registry.yourdomain.com/kaizen-studio-backend:v1.0.1";
        const newImage = await prodWithBackend({ migration: SEED_003, image: v101 });
        assert.equal(newImage.get(JOB, "backend-migration").inputs.spec.template.spec.containers[0].image, v101);
        assert.equal(podSpec(newImage.get(T.deployment, "backend")).containers[0].image, v101);
        const changed = [
            jobName(newImage),
            // DATABASE_URL changes: the Secret's HMAC checksum, and so the Job, change with it.
            jobName(await prodWithBackend({ migration: SEED_003 }, { ...FAKE_SECRETS, postgresPassword: "pg-rotated-password-0123456789abcd" })),
        ];
        assert.equal(new Set([jobName(p), ...changed]).size, changed.length + 1, changed.join(", "));
        for (const n of changed) {
            assert.match(n, /^backend-migration-[0-9a-f]{8}$/);
        }
    });

    it("leaves finished Job pods out of PodNotReady (their Ready condition stays False while the Job is kept)", () => {
        const rules = p.get(T.prometheusRule, "monitoring-alerts").inputs.spec.groups[0].rules;
        assert.equal(rules.find((r: { alert: string }) => r.alert === "PodNotReady").expr,
            'sum by (pod) (kube_pod_status_ready{namespace="kaizen-studio",condition="false"} * on (namespace, pod) group_left max by (namespace, pod) (kube_pod_owner{namespace="kaizen-studio",owner_kind!="Job"})) > 0');
    });

    it("runs seed 004's migration as the last init container of every backend pod, and creates no Job", async () => {
        // Seed 004 keeps alembic.ini under alembic/; its pods' logs are read with `-c migrations`.
        const q = await prodWithBackend({ migration: { command: ["alembic"], args: ["-c", "alembic/alembic.ini", "upgrade", "head"], mode: "initContainer" } });
        assert.deepEqual(q.all(JOB), []);
        assert.equal(q.find(T.netpol, "backend-migration"), undefined);
        const pod = podSpec(q.get(T.deployment, "backend"));
        assert.deepEqual(names(pod.initContainers), ["wait-for-postgres", "wait-for-redis", "backend-migration"]);
        const app = pod.containers[0];
        assert.deepEqual(pod.initContainers[2], {
            name: "backend-migration", image: app.image, command: ["alembic"], args: ["-c", "alembic/alembic.ini", "upgrade", "head"],
            envFrom: app.envFrom, resources: app.resources, securityContext: RESTRICTED_CONTAINER, volumeMounts: app.volumeMounts,
        });
        assert.deepEqual(q.dependsOn(q.get(T.deployment, "backend")), [
            "kubernetes:core/v1:ConfigMap backend-config", `${T.netpol} backend`, "kubernetes:core/v1:Secret backend-secrets",
        ]);
        assert.equal(q.get(T.prometheusRule, "monitoring-alerts").inputs.spec.groups[0].rules.find((r: { alert: string }) => r.alert === "PodNotReady").expr,
            'sum by (pod) (kube_pod_status_ready{namespace="kaizen-studio",condition="false"}) > 0');
    });

    it("adds no Job, migration NetworkPolicy or migration container to the committed stacks", async () => {
        for (const stack of ["dev", "staging", "prod"]) {
            const q = await runCommittedStack(stack);
            assert.deepEqual(q.all(JOB), [], stack);
            assert.deepEqual(q.all(T.netpol).map((r) => r.name).filter((n) => n.includes("migration")), [], stack);
            for (const d of q.all(T.deployment)) {
                const init = names(podSpec(d).initContainers ?? []);
                assert.deepEqual(init.filter((n) => !n.startsWith("wait-for-")), [], `${stack} ${d.name}`);
            }
        }
    });
});

describe("Kafka and MinIO (prod, with the seed 003 data services on)", () => {
    let p: Program;
    before(async () => {
        p = await runWithKafkaAndMinio();
    });
    const policy = (name: string) => p.get(T.netpol, name).inputs.spec;
    const from = (component: string) => ({ podSelector: { matchLabels: sel(component) } });

    it("runs Kafka behind headless and ClusterIP Services on 9092, its exporter's 9308 on the ClusterIP one only", () => {
        assert.deepEqual(p.get(T.service, "kafka").inputs.spec, {
            type: "ClusterIP", selector: sel("kafka"),
            ports: [{ name: "kafka", port: 9092, targetPort: "kafka", protocol: "TCP" }, { name: "metrics", port: 9308, targetPort: "metrics", protocol: "TCP" }],
        });
        assert.deepEqual(p.get(T.service, "kafka-headless").inputs.spec, {
            clusterIP: "None", selector: sel("kafka"), ports: [{ name: "kafka", port: 9092, targetPort: "kafka", protocol: "TCP" }], publishNotReadyAddresses: true,
        });
        assert.equal(p.get(T.statefulSet, "kafka").inputs.spec.serviceName, "kafka-headless");
        const config = p.get(T.configMap, "kafka-config").inputs.data["server.properties"];
        assert.match(config, /^advertised\.listeners=CLIENT:\/\/kafka\.kaizen-studio\.svc\.cluster\.local:9092,LOCAL:\/\/127\.0\.0\.1:9094$/m);
        assert.match(p.get(T.statefulSet, "kafka").inputs.spec.template.metadata.annotations["checksum/config"], /^[0-9a-f]{64}$/);
    });

    it("runs MinIO behind headless and ClusterIP Services on 9000, with no metrics port of its own", () => {
        const s3 = { name: "s3", port: 9000, targetPort: "s3", protocol: "TCP" };
        assert.deepEqual(p.get(T.service, "minio").inputs.spec, { type: "ClusterIP", selector: sel("minio"), ports: [s3] });
        assert.deepEqual(p.get(T.service, "minio-headless").inputs.spec, { clusterIP: "None", selector: sel("minio"), ports: [s3], publishNotReadyAddresses: true });
    });

    it("admits Kafka only from the services that use it, and its exporter only from Prometheus", () => {
        assert.deepEqual(policy("kafka"), {
            podSelector: { matchLabels: sel("kafka") },
            policyTypes: ["Ingress", "Egress"],
            ingress: [
                { from: [from("backend")], ports: [{ protocol: "TCP", port: 9092 }] },
                { from: [from("worker")], ports: [{ protocol: "TCP", port: 9092 }] },
                { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9308 }] },
            ],
        });
        assert.deepEqual(policy("worker").egress, [{ to: [from("kafka")], ports: [{ protocol: "TCP", port: 9092 }] }]);
    });

    it("admits MinIO only from the backend, and Prometheus on its API port, where MinIO serves its metrics", () => {
        assert.deepEqual(policy("minio"), {
            podSelector: { matchLabels: sel("minio") },
            policyTypes: ["Ingress", "Egress"],
            ingress: [
                { from: [from("backend")], ports: [{ protocol: "TCP", port: 9000 }] },
                { from: [PROMETHEUS], ports: [{ protocol: "TCP", port: 9000 }] },
            ],
        });
        assert.deepEqual(policy("backend").egress.slice(2, 4), [
            { to: [from("kafka")], ports: [{ protocol: "TCP", port: 9092 }] },
            { to: [from("minio")], ports: [{ protocol: "TCP", port: 9000 }] },
        ]);
    });

    it("keeps MinIO's root credentials in a Secret, and gives Kafka none", async () => {
        assert.equal(p.find(T.secret, "kafka-credentials"), undefined);
        const data = unwrap(p.get(T.secret, "minio-credentials").inputs.stringData);
        assert.equal(data.secret, true);
        assert.deepEqual(data.value, { MINIO_ROOT_USER: "minio", MINIO_ROOT_PASSWORD: FAKE_SECRETS.minioRootPassword });
        assert.equal(p.get(T.statefulSet, "minio").inputs.spec.template.metadata.annotations["checksum/secret"].length, 64);
        assert.equal("checksum/secret" in p.get(T.statefulSet, "kafka").inputs.spec.template.metadata.annotations, false);
    });

    it("starts each StatefulSet after its NetworkPolicy, headless Service and config or credentials, protected in prod", () => {
        assert.deepEqual(p.dependsOn(p.get(T.statefulSet, "kafka")), [`${T.configMap} kafka-config`, `${T.service} kafka-headless`, `${T.netpol} kafka`]);
        assert.deepEqual(p.dependsOn(p.get(T.statefulSet, "minio")), [`${T.secret} minio-credentials`, `${T.service} minio-headless`, `${T.netpol} minio`]);
        for (const name of ["kafka", "minio"]) {
            assert.equal(p.get(T.statefulSet, name).opts.protect, true, name);
            assert.deepEqual(p.dependsOn(p.get(`platform:app:${name === "kafka" ? "Kafka" : "Minio"}`, name)), ["platform:app:NamespaceGuardrails namespace"], name);
            assert.equal(p.get(T.statefulSet, name).inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "10Gi");
        }
    });

    it("gives their users KAFKA_BOOTSTRAP_SERVERS and S3_ENDPOINT in the ConfigMap, the S3 keys in the Secret, and waits for them", () => {
        const config = (name: string) => p.get(T.configMap, `${name}-config`).inputs.data;
        assert.equal(config("backend").KAFKA_BOOTSTRAP_SERVERS, "kafka.kaizen-studio.svc.cluster.local:9092");
        assert.equal(config("backend").S3_ENDPOINT, "http://minio.kaizen-studio.svc.cluster.local:9000");
        assert.equal(config("worker").KAFKA_BOOTSTRAP_SERVERS, "kafka.kaizen-studio.svc.cluster.local:9092");
        assert.equal("S3_ENDPOINT" in config("worker"), false);
        assert.equal("KAFKA_BOOTSTRAP_SERVERS" in config("frontend") || "S3_ENDPOINT" in config("frontend"), false);
        const secret = unwrap(p.get(T.secret, "backend-secrets").inputs.stringData);
        assert.equal(secret.secret, true);
        assert.equal(secret.value.AWS_ACCESS_KEY_ID, "minio");
        assert.equal(secret.value.AWS_SECRET_ACCESS_KEY, FAKE_SECRETS.minioRootPassword);
        assert.equal(p.find(T.secret, "worker-secrets"), undefined, "Kafka brings no secret");
        const init = (name: string) => podSpec(p.get(T.deployment, name)).initContainers;
        assert.deepEqual(init("backend").map((c: { name: string }) => c.name), ["wait-for-postgres", "wait-for-redis", "wait-for-kafka", "wait-for-minio"]);
        assert.deepEqual(init("worker").map((c: { command: string[] }) => c.command), [
            ["sh", "-c", "until nc -z -w 2 kafka 9092; do echo \"waiting for kafka:9092\"; sleep 2; done"],
        ]);
        assert.equal(init("backend")[3].command[2].startsWith("until nc -z -w 2 minio 9000;"), true);
    });

    it("scrapes Kafka's exporter and MinIO's own endpoint (through its ClusterIP Service only), and alerts when either is down", () => {
        const monitors = p.all(T.serviceMonitor).map((r) => [r.inputs.metadata.name, r.inputs.spec.selector.matchLabels, r.inputs.spec.endpoints]);
        assert.deepEqual(monitors.slice(3), [
            ["kafka", sel("kafka"), [{ port: "metrics", path: "/metrics", interval: "30s" }]],
            ["minio", sel("minio"), [{
                port: "s3", path: "/minio/v2/metrics/cluster", interval: "30s",
                relabelings: [{ sourceLabels: ["__meta_kubernetes_service_name"], regex: "minio", action: "keep" }],
            }]],
        ]);
        assert.deepEqual(monitors.slice(0, 3).map((m) => m[0]), ["backend", "postgres", "redis"]);
        const rules = p.get(T.prometheusRule, "monitoring-alerts").inputs.spec.groups[0].rules.map((r: { alert: string; for: string }) => [r.alert, r.for]);
        assert.deepEqual(rules.slice(7, 9), [["KafkaDown", "1m"], ["MinioDown", "1m"]]);
        assert.equal(rules.length, 11);
    });

    it("exports Kafka's and MinIO's host and port and MinIO's credentials Secret, none of them secret", async () => {
        const e = p.exports;
        assert.equal(await valueOf(e.kafkaHost), "kafka.kaizen-studio.svc.cluster.local");
        assert.equal(e.kafkaPort, 9092);
        assert.equal(await valueOf(e.minioHost), "minio.kaizen-studio.svc.cluster.local");
        assert.equal(e.minioPort, 9000);
        assert.equal(await valueOf(e.minioCredentialsSecret), "minio-credentials");
        for (const name of ["kafkaHost", "minioHost", "minioCredentialsSecret"]) {
            assert.equal(await pulumi.isSecret(pulumi.output(e[name])), false, name);
        }
    });

    it("nests both under the App and passes the policy pack", () => {
        for (const [type, name] of [["Kafka", "kafka"], ["Minio", "minio"]]) {
            const component = p.get(`platform:app:${type}`, name);
            assert.equal(p.resources.find((r) => r.resource !== undefined && r.resource === component.opts.parent)?.type, "platform:app:App");
            assert.equal(p.get(T.statefulSet, name).opts.parent, component.resource);
        }
        const objects = p.resources.filter((r) => r.inputs?.kind).map((r) => r.inputs as K8sObject);
        assert.deepEqual(violations(objects), []);
    });

    it("keeps the namespace on destroy when only Kafka holds data", async () => {
        const c = stackConfig("dev");
        c.postgres = { enabled: false };
        c.redis = { enabled: false };
        c.kafka = { enabled: true };
        (c.services as Record<string, { uses: string[] }>).backend.uses = ["kafka"];
        const q = await runProgram("dev", c);
        assert.equal(q.get("kubernetes:core/v1:Namespace", "namespace").opts.retainOnDelete, true);
    });
});
