// The workload spec builders on their own, without mocks, fed the prod stack's validated config:
// the HPA, the web Deployment, PostgreSQL's StatefulSet, Redis's Deployment, Kafka's and MinIO's
// StatefulSets, the namespace's quota and limits. Exact values, including what must be absent.

import * as assert from "assert/strict";
import { KAFKA_CLUSTER_ID, LOG4J2_YAML, START_COMMAND, kafkaConfig, statefulSetSpec as kafkaStatefulSetSpec } from "../../components/kafka";
import { bucketsCommand, credentials as minioCredentials, statefulSetSpec as minioStatefulSetSpec } from "../../components/minio";
import { limitRangeSpec, resourceQuotaSpec } from "../../components/namespace";
import { connectionUrl as postgresUrl, PASSWORD_SYNC_COMMAND, SHM_SIZE, statefulSetSpec } from "../../components/postgres";
import {
    BACKUP_COMMAND, BACKUP_SCRIPT, LIST_COMMAND, backupFileProblem, backupTarget, cronJobSpec, oneOffJob, restoreCommand, restorePlanCommand,
} from "../../components/postgresBackup";
import { connectionUrl as redisUrl, deploymentSpec as redisDeploymentSpec, statefulSetSpec as redisStatefulSetSpec } from "../../components/redis";
import { deploymentSpec, hpaSpec, migrationJobAnnotations, migrationJobName, migrationJobSpec, roleRules, WebServiceArgs } from "../../components/webService";
import { resolveConfig } from "../../stacks/config";
import { FAKE_SECRETS, stackConfig } from "./harness";

const secrets = { set: Object.keys(FAKE_SECRETS), plaintext: [] };
const prod = resolveConfig("prod", stackConfig("prod"), secrets);
const service = (name: string) => {
    const s = prod.services.find((x) => x.name === name);
    assert.ok(s, name);
    return s;
};
/** The prod backend, validated, with `autoscaling` in place of the committed one. */
const backendScaledBy = (autoscaling: Record<string, unknown>) => {
    const raw = stackConfig("prod");
    (raw.services as Record<string, Record<string, unknown>>).backend.autoscaling = autoscaling;
    // A custom metric needs a server of the custom metrics API; here the cluster's own.
    raw.addons = { ...(raw.addons as object), prometheusAdapter: { fromCluster: true } };
    const s = resolveConfig("prod", raw, secrets).services.find((x) => x.name === "backend");
    assert.ok(s);
    return s;
};
/** The prod backend, validated, with `migration` set. */
const backendMigrating = (migration: Record<string, unknown>) => {
    const raw = stackConfig("prod");
    (raw.services as Record<string, Record<string, unknown>>).backend.migration = migration;
    const s = resolveConfig("prod", raw, secrets).services.find((x) => x.name === "backend");
    assert.ok(s);
    return s;
};
const WAIT_RESOURCES = { requests: { cpu: "10m", memory: "16Mi", "ephemeral-storage": "64Mi" }, limits: { cpu: "100m", memory: "32Mi", "ephemeral-storage": "256Mi" } };
const RESTRICTED = { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
const waitFor = (host: string, port: number) => ({
    name: `wait-for-${host}`, image: "busybox:1.36.1",
    command: ["sh", "-c", `until nc -z -w 2 ${host} ${port}; do echo "waiting for ${host}:${port}"; sleep 2; done`],
    securityContext: RESTRICTED, resources: WAIT_RESOURCES,
});
/** The prod backend's container as every pod of it runs it, under `name` running `command`. */
const backendContainer = (name: string, command: string[], args?: string[]) => ({
    name, image: "registry.yourdomain.com/kaizen-studio-backend:v1.0.0", command, ...(args ? { args } : {}),
    envFrom: [{ configMapRef: { name: "backend-config" } }, { secretRef: { name: "backend-secrets" } }],
    resources: { requests: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "64Mi" }, limits: { cpu: "2000m", memory: "2Gi", "ephemeral-storage": "512Mi" } },
    securityContext: RESTRICTED,
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
});
/** The prod stack with Kafka and MinIO on, as seed 003 (DreamSeed) runs them beside PostgreSQL and Redis. */
const prodWithData = resolveConfig("prod", { ...stackConfig("prod"), kafka: { enabled: true }, minio: { enabled: true, buckets: ["uploads", "reports.2024"] } }, secrets);
const dataArgs = { namespace: "kaizen-studio", appName: "kaizen-studio", labels: { tier: "data" }, checksumKey: "k", exporter: true, networkPolicy: { podSelector: {} } };
// The builders return Pulumi input types (each field may be an Output); these tests read plain values.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const plain = (x: unknown): any => x;

describe("workload spec builders (pure)", () => {
    it("scales the prod backend 3-20 on 60 % CPU and 80 % memory, down one pod a minute after a 300 s window", () => {
        assert.deepEqual(hpaSpec(service("backend"), "backend"), {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "backend" },
            minReplicas: 3,
            maxReplicas: 20,
            metrics: [
                { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } },
                { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } },
            ],
            behavior: {
                scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
                scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 30 }] },
            },
        });
        assert.equal(hpaSpec(service("frontend"), "frontend"), undefined, "the frontend has fixed replicas");
    });

    it("builds seed 003's (DreamSeed) HPA from config: CPU, memory, then the Pods metric, and its behavior, exactly", () => {
        const seed = backendScaledBy({
            minReplicas: 3, maxReplicas: 20, cpuUtilization: 70, memoryUtilization: 80,
            podsMetrics: [{ name: "http_requests_per_second", averageValue: "1000" }],
            behavior: {
                scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
                scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
            },
        });
        // The seed's hpa/assessment-service.yaml spec, with this program's Deployment name.
        assert.deepEqual(hpaSpec(seed, "backend"), {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "backend" },
            minReplicas: 3,
            maxReplicas: 20,
            metrics: [
                { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
                { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } },
                { type: "Pods", pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "1000" } } },
            ],
            behavior: {
                scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
                scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
            },
        });
    });

    it("keeps the program's defaults for what behavior leaves out, the shorthand's window included; selectPolicy only when set", () => {
        const h = plain(hpaSpec(backendScaledBy({
            minReplicas: 3, maxReplicas: 5, memoryUtilization: 0, scaleDownStabilizationSeconds: 600,
            podsMetrics: [{ name: "queue_depth", averageValue: 30 }, { name: "http_requests_per_second", averageValue: "500m" }],
            behavior: { scaleUp: { selectPolicy: "Disabled" }, scaleDown: { selectPolicy: "Min", policies: [{ type: "Pods", value: 2, periodSeconds: 60 }, { type: "Percent", value: 10, periodSeconds: 60 }] } },
        }), "backend"));
        assert.deepEqual(h.metrics, [
            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
            { type: "Pods", pods: { metric: { name: "queue_depth" }, target: { type: "AverageValue", averageValue: "30" } } },
            { type: "Pods", pods: { metric: { name: "http_requests_per_second" }, target: { type: "AverageValue", averageValue: "500m" } } },
        ]);
        assert.deepEqual(h.behavior, {
            scaleDown: { stabilizationWindowSeconds: 600, selectPolicy: "Min", policies: [{ type: "Pods", value: 2, periodSeconds: 60 }, { type: "Percent", value: 10, periodSeconds: 60 }] },
            scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Disabled", policies: [{ type: "Percent", value: 100, periodSeconds: 30 }] },
        });
        const committed = plain(hpaSpec(service("backend"), "backend"));
        assert.equal(committed.metrics.some((m: { type: string }) => m.type === "Pods"), false, "no custom metric unless configured");
        assert.equal("selectPolicy" in committed.behavior.scaleUp || "selectPolicy" in committed.behavior.scaleDown, false);
    });

    it("builds the backend Deployment: no replicas under the HPA, surge-only rollouts, restricted contexts, probes on /health", () => {
        const args: WebServiceArgs = {
            namespace: "kaizen-studio", appName: "kaizen-studio", service: service("backend"), labels: { tier: "web" }, env: {},
            secretEnv: { JWT_SECRET_KEY: "x" }, checksumKey: "k", dependencies: [{ name: "postgres", host: "postgres", port: 5432 }],
            initImage: "busybox:1.36.1", networkPolicy: { podSelector: {} },
        };
        const d = plain(deploymentSpec(args, "backend", { config: "c", secret: "s" }));
        assert.equal("replicas" in d, false);
        assert.deepEqual(d.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        const pod = d.template.spec;
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal("nodeSelector" in pod, false, "no node selector without config");
        assert.equal("tolerations" in pod, false, "no tolerations without config");
        assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } });
        const c = pod.containers[0];
        assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual([c.startupProbe.httpGet.path, c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], ["/health", "/health", "/health"]);
        assert.equal(c.startupProbe.failureThreshold, 30);
        assert.deepEqual(c.envFrom, [{ configMapRef: { name: "backend-config" } }, { secretRef: { name: "backend-secrets" } }]);
        assert.deepEqual(pod.initContainers.map((i: { name: string }) => i.name), ["wait-for-postgres"]);
        assert.deepEqual(d.template.metadata?.annotations, { "checksum/config": "c", "checksum/secret": "s" });
        const noSecrets = plain(deploymentSpec({ ...args, service: service("frontend"), secretEnv: {}, dependencies: [] }, "frontend", { config: "c", secret: "s" }));
        assert.equal(noSecrets.replicas, 2);
        assert.deepEqual(noSecrets.template.spec.containers[0].envFrom, [{ configMapRef: { name: "frontend-config" } }]);
        assert.deepEqual(noSecrets.template.spec.initContainers, []);
    });

    it("mounts the token of a service with Role rules, and schedules its pods on a spot node pool", () => {
        const spot = {
            ...service("backend"),
            rbac: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"], resourceNames: [] }],
            nodeSelector: { "node-pool": "spot" },
            tolerations: [
                { key: "spot", operator: "Equal" as const, value: "true", effect: "NoSchedule" as const },
                { key: "node.kubernetes.io/unreachable", operator: "Exists" as const, effect: "NoExecute" as const, tolerationSeconds: 30 },
            ],
        };
        const args: WebServiceArgs = {
            namespace: "kaizen-studio", appName: "kaizen-studio", service: spot, labels: {}, env: {}, secretEnv: {}, checksumKey: "k",
            dependencies: [], initImage: "busybox:1.36.1", networkPolicy: { podSelector: {} },
        };
        const pod = plain(deploymentSpec(args, "backend", { config: "c", secret: "s" })).template.spec;
        assert.equal(pod.automountServiceAccountToken, true);
        assert.deepEqual(pod.nodeSelector, { "node-pool": "spot" });
        assert.deepEqual(pod.tolerations, [
            { key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" },
            { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
        ]);
        assert.deepEqual(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight, 100, "spread as before");
    });

    it("turns a service's rbac into Role rules, resourceNames only where set, and none without rbac", () => {
        const s = {
            ...service("backend"),
            rbac: [
                { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"], resourceNames: [] },
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: ["backend-leader"] },
            ],
        };
        assert.deepEqual(roleRules(s), [
            { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"], resourceNames: ["backend-leader"] },
        ]);
        assert.deepEqual(roleRules(service("backend")), []);
    });

    describe("migrations", () => {
        const webArgs = (s: ReturnType<typeof service>): WebServiceArgs => ({
            namespace: "kaizen-studio", appName: "kaizen-studio", service: s, labels: { tier: "web", "app.kubernetes.io/component": "backend" },
            env: {}, secretEnv: { JWT_SECRET_KEY: "x" }, checksumKey: "k",
            dependencies: [{ name: "postgres", host: "postgres", port: 5432 }, { name: "redis", host: "redis", port: 6379 }, { name: "api", host: "api", port: 80 }],
            initImage: "busybox:1.36.1", networkPolicy: { podSelector: {} },
            migrationJob: { dependencies: [{ name: "postgres", host: "postgres", port: 5432 }, { name: "redis", host: "redis", port: 6379 }], networkPolicy: { podSelector: {} } },
        });
        const checksums = { config: "c", secret: "s" };

        it("builds seed 003's migration Job from config: alembic upgrade head in the backend's pod, once, within its deadline", () => {
            // The seed's jobs/db-migration.yaml (backoffLimit 3) and its deploy script's 300 s wait.
            const s = backendMigrating({ command: ["alembic", "upgrade", "head"], backoffLimit: 3, activeDeadlineSeconds: 300 });
            assert.deepEqual(s.migration, { command: ["alembic", "upgrade", "head"], args: [], mode: "job", activeDeadlineSeconds: 300, backoffLimit: 3 });
            assert.deepEqual(migrationJobSpec(webArgs(s), "backend", checksums), {
                backoffLimit: 3,
                activeDeadlineSeconds: 300,
                template: {
                    metadata: {
                        // The migration's component, never the service's: its Service, PDB and NetworkPolicy must not count the pod.
                        labels: { tier: "web", "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "backend-migration" },
                        annotations: { "checksum/config": "c", "checksum/secret": "s" },
                    },
                    spec: {
                        serviceAccountName: "backend",
                        automountServiceAccountToken: false,
                        securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } },
                        restartPolicy: "Never",
                        // The data services only: not the service 'api' the backend also waits for.
                        initContainers: [waitFor("postgres", 5432), waitFor("redis", 6379)],
                        containers: [backendContainer("backend-migration", ["alembic", "upgrade", "head"])],
                        volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
                    },
                },
            });
            // The provider waits a minute past the Job's own deadline, and replaces a failed Job on the next up.
            assert.deepEqual(migrationJobAnnotations(s.migration as NonNullable<typeof s.migration>), { "pulumi.com/timeoutSeconds": "360", "pulumi.com/replaceUnready": "true" });
        });

        it("names the Job after everything it runs: the same name for the same spec, a new one when the image, command, args or env change", () => {
            const s = backendMigrating({ command: ["alembic", "upgrade", "head"] });
            const name = (svc: typeof s, sums = checksums) => migrationJobName("backend", plain(migrationJobSpec(webArgs(svc), "backend", sums)));
            assert.match(name(s), /^backend-migration-[0-9a-f]{8}$/);
            assert.equal(name(s), name(backendMigrating({ command: ["alembic", "upgrade", "head"] })));
            // Fields of the Deployment alone leave the Job as it is.
            assert.equal(name(s), name({ ...s, replicas: 7, probes: { ...s.probes, liveness: { ...s.probes.liveness, periodSeconds: 30 } }, port: 9000 }));
            const others = [
                name({ ...s, image: "registry.yourdomain.com/kaizen-studio-backend:v1.0.1" }),
                name(backendMigrating({ command: ["alembic", "upgrade", "heads"] })),
                name(backendMigrating({ command: ["alembic", "upgrade", "head"], args: ["--sql"] })),
                name(s, { config: "c2", secret: "s" }),
                name(s, { config: "c", secret: "s2" }),
                name(backendMigrating({ command: ["alembic", "upgrade", "head"], backoffLimit: 1 })),
            ];
            assert.equal(new Set([name(s), ...others]).size, others.length + 1, others.join(" "));
        });

        it("runs seed 004's migration as the last init container of every backend pod, after the waits, and builds no Job", () => {
            // Seed 004 keeps alembic.ini under alembic/.
            const s = backendMigrating({ command: ["alembic"], args: ["-c", "alembic/alembic.ini", "upgrade", "head"], mode: "initContainer" });
            const pod = plain(deploymentSpec(webArgs(s), "backend", checksums)).template.spec;
            assert.deepEqual(pod.initContainers, [
                waitFor("postgres", 5432), waitFor("redis", 6379), waitFor("api", 80),
                backendContainer("backend-migration", ["alembic"], ["-c", "alembic/alembic.ini", "upgrade", "head"]),
            ]);
            assert.deepEqual(pod.containers.map((c: { name: string }) => c.name), ["backend"]);
            assert.equal(migrationJobSpec(webArgs(s), "backend", checksums), undefined);
        });

        it("runs the Job on the service's nodes, and without its token even where the service has a Role", () => {
            const s = {
                ...backendMigrating({ command: ["alembic", "upgrade", "head"] }),
                rbac: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: [] }],
                nodeSelector: { "node-pool": "spot" },
                tolerations: [{ key: "spot", operator: "Equal" as const, value: "true", effect: "NoSchedule" as const }],
            };
            const job = plain(migrationJobSpec(webArgs(s), "backend", checksums)).template.spec;
            const app = plain(deploymentSpec(webArgs(s), "backend", checksums)).template.spec;
            assert.equal(app.automountServiceAccountToken, true);
            assert.equal(job.automountServiceAccountToken, false, "a migration talks to its database, not to Kubernetes");
            assert.deepEqual(job.nodeSelector, { "node-pool": "spot" });
            assert.deepEqual(job.tolerations, [{ key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" }]);
            assert.deepEqual([job.nodeSelector, job.tolerations], [app.nodeSelector, app.tolerations]);
        });

        it("adds nothing without a migration", () => {
            const s = service("backend");
            assert.equal(s.migration, undefined);
            assert.equal(migrationJobSpec(webArgs(s), "backend", checksums), undefined);
            assert.deepEqual(plain(deploymentSpec(webArgs(s), "backend", checksums)).template.spec.initContainers.map((c: { name: string }) => c.name),
                ["wait-for-postgres", "wait-for-redis", "wait-for-api"]);
        });
    });

    it("builds PostgreSQL's StatefulSet: one replica, claims retained, a 100Gi claim, 1Gi /dev/shm, the password sync hook", () => {
        const sts = plain(statefulSetSpec({ ...dataArgs, spec: prod.postgres, password: "p" }, "c", "s"));
        assert.equal(sts.replicas, 1);
        assert.equal(sts.serviceName, "postgres-headless");
        assert.deepEqual(sts.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
        assert.deepEqual((sts.volumeClaimTemplates)[0].spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "100Gi" } } });
        const pod = sts.template.spec;
        assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === "shm"), { name: "shm", emptyDir: { medium: "Memory", sizeLimit: SHM_SIZE } });
        assert.equal(SHM_SIZE, "1Gi");
        assert.deepEqual(pod.containers.map((c: { name: string }) => c.name), ["postgres", "postgres-exporter"]);
        assert.deepEqual(pod.containers[0].lifecycle, { postStart: { exec: { command: PASSWORD_SYNC_COMMAND } } });
        assert.equal(pod.containers[0].startupProbe.failureThreshold * pod.containers[0].startupProbe.periodSeconds, 300);
        const withoutExporter = plain(statefulSetSpec({ ...dataArgs, exporter: false, spec: prod.postgres, password: "p" }, "c", "s"));
        assert.deepEqual(withoutExporter.template.spec.containers.map((c: { name: string }) => c.name), ["postgres"]);
    });

    it("builds Redis's Deployment: Recreate on its one claim, AOF, maxmemory from config, the password from the environment", () => {
        const d = plain(redisDeploymentSpec({ ...dataArgs, spec: prod.redis, password: "p" }, "s"));
        assert.equal(d.replicas, 1);
        assert.deepEqual(d.strategy, { type: "Recreate" });
        const c = (d.template.spec).containers[0];
        assert.deepEqual(c.args, ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data", "--maxmemory", "768mb", "--maxmemory-policy", "allkeys-lru", "--requirepass", "$(REDIS_PASSWORD)"]);
        assert.deepEqual(d.template.spec.volumes, [{ name: "data", persistentVolumeClaim: { claimName: "redis-data" } }]);
    });

    it("builds Redis's StatefulSet (workload: statefulset): the same pod on the claim from its template, kept when the StatefulSet goes", () => {
        const args = { ...dataArgs, spec: { ...prod.redis, workload: "statefulset" as const, storageSize: "20Gi" }, password: "p" };
        const sts = plain(redisStatefulSetSpec(args, "s"));
        const d = plain(redisDeploymentSpec(args, "s"));
        assert.equal(sts.serviceName, "redis-headless");
        assert.equal(sts.replicas, 1);
        assert.deepEqual(sts.template.spec.containers, d.template.spec.containers, "the containers do not depend on the workload kind");
        assert.deepEqual(sts.template.spec.securityContext, d.template.spec.securityContext);
        assert.equal(sts.template.spec.automountServiceAccountToken, false);
        assert.equal(sts.template.spec.volumes, undefined, "no standalone claim");
        assert.deepEqual(sts.template.metadata.annotations, { "checksum/secret": "s" });
        assert.deepEqual(sts.volumeClaimTemplates.map((t: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }) =>
            [t.metadata.name, t.spec.resources.requests.storage]), [["data", "20Gi"]]);
        assert.deepEqual(sts.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
    });

    describe("PostgreSQL backups", () => {
        const target = backupTarget("kaizen-studio", "postgres.kaizen-studio.svc.cluster.local", prod.postgres);
        const backupLabels = { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "postgres-backup" };
        const restricted = {
            allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
            capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
        };
        const podSecurity = { runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } };
        const connection = [
            { name: "PGHOST", value: "postgres.kaizen-studio.svc.cluster.local" },
            { name: "PGPORT", value: "5432" },
            { name: "PGDATABASE", value: "kaizen_studio" },
            { name: "PGUSER", value: "kaizen_user" },
            { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "postgres-credentials", key: "POSTGRES_PASSWORD" } } },
            { name: "PGCONNECT_TIMEOUT", value: "10" },
        ];
        const resourcesWithTmp = {
            requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "64Mi" },
            limits: { cpu: "1000m", memory: "1Gi", "ephemeral-storage": "512Mi" },
        };
        const tmp = { volume: { name: "tmp", emptyDir: { sizeLimit: "256Mi" } }, mount: { name: "tmp", mountPath: "/tmp" } };
        const at = new Date("2026-11-30T10:15:00.123Z");
        const file = "kaizen_studio-20261130T030000Z.dump";

        it("builds the backup CronJob: Forbid, UTC, history, retries, deadline, pg_dump in the server's image, retention by days when configured", () => {
            const daily = { ...prod.postgres.backup, schedule: "30 1 * * *", retention: { by: "days" as const, value: 14 } };
            assert.deepEqual(cronJobSpec(target, daily, { tier: "backup", ...backupLabels }), {
                schedule: "30 1 * * *",
                timeZone: "Etc/UTC",
                concurrencyPolicy: "Forbid",
                startingDeadlineSeconds: 3600,
                successfulJobsHistoryLimit: 3,
                failedJobsHistoryLimit: 3,
                jobTemplate: {
                    metadata: { labels: { tier: "backup", ...backupLabels } },
                    spec: {
                        backoffLimit: 2,
                        activeDeadlineSeconds: 14400,
                        template: {
                            metadata: { labels: { tier: "backup", ...backupLabels } },
                            spec: {
                                restartPolicy: "Never",
                                automountServiceAccountToken: false,
                                securityContext: podSecurity,
                                containers: [{
                                    name: "backup",
                                    image: "postgres:15.10-alpine",
                                    command: ["sh", "-c", BACKUP_SCRIPT],
                                    env: [...connection, { name: "BACKUP_DIR", value: "/backups" }, { name: "BACKUP_RETENTION_DAYS", value: "14" }, { name: "BACKUP_STALE_MINUTES", value: "240" }],
                                    resources: resourcesWithTmp,
                                    securityContext: restricted,
                                    volumeMounts: [{ name: "backups", mountPath: "/backups" }, tmp.mount],
                                }],
                                volumes: [{ name: "backups", persistentVolumeClaim: { claimName: "postgres-backups" } }, tmp.volume],
                            },
                        },
                    },
                },
            });
            const byCount = plain(cronJobSpec(target, prod.postgres.backup, backupLabels)).jobTemplate.spec.template.spec.containers[0].env;
            assert.deepEqual(byCount.slice(-2, -1), [{ name: "BACKUP_RETENTION_COUNT", value: "7" }]);
        });

        it("builds the restore Job: the backup pod, pg_restore of the one dump, the volume read-only, never retried, kept a day", () => {
            assert.deepEqual(oneOffJob(target, "kaizen-studio", "restore", file, at), {
                apiVersion: "batch/v1",
                kind: "Job",
                metadata: { name: "postgres-restore-20261130-101500", namespace: "kaizen-studio", labels: { ...backupLabels, "platform/db-task": "restore" } },
                spec: {
                    backoffLimit: 0,
                    activeDeadlineSeconds: 14400,
                    ttlSecondsAfterFinished: 86400,
                    template: {
                        metadata: { labels: { ...backupLabels, "platform/db-task": "restore" } },
                        spec: {
                            restartPolicy: "Never",
                            automountServiceAccountToken: false,
                            securityContext: podSecurity,
                            containers: [{
                                name: "restore",
                                image: "postgres:15.10-alpine",
                                command: ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--verbose", "-d", "kaizen_studio", `/backups/${file}`],
                                env: connection,
                                resources: resourcesWithTmp,
                                securityContext: restricted,
                                volumeMounts: [{ name: "backups", mountPath: "/backups", readOnly: true }, tmp.mount],
                            }],
                            volumes: [{ name: "backups", persistentVolumeClaim: { claimName: "postgres-backups", readOnly: true } }, tmp.volume],
                        },
                    },
                },
            });
        });

        it("builds the plan and list Jobs without the database's password, reading the volume only", () => {
            for (const [task, command, name] of [
                ["plan", ["pg_restore", "--list", `/backups/${file}`], "postgres-restore-plan-20261130-101500"],
                ["list", ["ls", "-l", "/backups"], "postgres-backup-list-20261130-101500"],
            ] as const) {
                const job = oneOffJob(target, "kaizen-studio", task, file, at);
                assert.equal(job.metadata.name, name);
                const pod = plain(job.spec.template).spec;
                assert.deepEqual(pod.containers[0].command, command, task);
                assert.equal("env" in pod.containers[0], false, `${task}: no credentials`);
                assert.deepEqual(pod.containers[0].volumeMounts[0], { name: "backups", mountPath: "/backups", readOnly: true });
            }
        });

        it("keeps the password off every command line: pg_dump and pg_restore read it from the environment", () => {
            for (const command of [BACKUP_COMMAND, restoreCommand("kaizen_studio", file), restorePlanCommand(file), LIST_COMMAND]) {
                assert.equal(command.join(" ").includes("PASSWORD"), false, command.join(" "));
            }
            assert.equal(BACKUP_SCRIPT.includes("pg_dump -Fc -d \"$PGDATABASE\" -f \"$partial\""), true);
        });

        it("accepts only a dump's plain file name of this stack's database for a restore", () => {
            assert.equal(backupFileProblem(file, "kaizen_studio"), undefined);
            assert.equal(backupFileProblem("app-20261130T030000Z.dump", "kaizen_studio"), "'app-20261130T030000Z.dump' is a dump of database 'app', not of this stack's 'kaizen_studio'");
            for (const bad of [`../${file}`, `/backups/${file}`, `x/${file}`, `.${file}.partial`, "kaizen_studio-20261130.dump", `${file}\n`, "kaizen_studio-20261130T030000Z.sql"]) {
                assert.match(backupFileProblem(bad, "kaizen_studio") ?? "", /is not the file name of a dump in the backup volume/, bad);
            }
        });
    });

    it("builds Kafka's StatefulSet: one KRaft node on a retained 10Gi claim, started directly from the ConfigMap, an exporter on loopback", () => {
        const selector = { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "kafka" };
        const labels = { tier: "data", ...selector };
        const tmp = { name: "tmp", emptyDir: { sizeLimit: "256Mi" } };
        assert.deepEqual(plain(kafkaStatefulSetSpec({ ...dataArgs, spec: prodWithData.kafka }, "c")), {
            serviceName: "kafka-headless",
            replicas: 1,
            selector: { matchLabels: selector },
            updateStrategy: { type: "RollingUpdate" },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            template: {
                metadata: { labels, annotations: { "checksum/config": "c" } },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } },
                    terminationGracePeriodSeconds: 60,
                    containers: [
                        {
                            name: "kafka",
                            image: "apache/kafka:4.1.1",
                            command: START_COMMAND,
                            ports: [{ name: "kafka", containerPort: 9092, protocol: "TCP" }],
                            env: [
                                { name: "KAFKA_LOG4J_OPTS", value: "-Dlog4j2.configurationFile=/etc/kafka/log4j2.yaml" },
                                { name: "LOG_DIR", value: "/tmp/kafka-logs" },
                                { name: "EXTRA_ARGS", value: "-name kafkaServer" },
                                { name: "KAFKA_HEAP_OPTS", value: "-XX:InitialRAMPercentage=50.0 -XX:MaxRAMPercentage=50.0" },
                            ],
                            resources: {
                                requests: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "64Mi" },
                                limits: { cpu: "2000m", memory: "2Gi", "ephemeral-storage": "512Mi" },
                            },
                            securityContext: RESTRICTED,
                            startupProbe: { tcpSocket: { port: "kafka" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 30 },
                            livenessProbe: { tcpSocket: { port: "kafka" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                            readinessProbe: { tcpSocket: { port: "kafka" }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
                            volumeMounts: [
                                { name: "data", mountPath: "/var/lib/kafka/data" },
                                { name: "config", mountPath: "/etc/kafka", readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                        {
                            name: "kafka-exporter",
                            image: "danielqsj/kafka-exporter:v1.9.0",
                            args: ["--kafka.server=127.0.0.1:9094", "--kafka.version=4.0.0"],
                            env: [],
                            ports: [{ name: "metrics", containerPort: 9308, protocol: "TCP" }],
                            securityContext: RESTRICTED,
                            resources: {
                                requests: { cpu: "10m", memory: "32Mi", "ephemeral-storage": "64Mi" },
                                limits: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "256Mi" },
                            },
                            livenessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 30, timeoutSeconds: 5 },
                            readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 15, timeoutSeconds: 5 },
                        },
                    ],
                    volumes: [{ name: "config", configMap: { name: "kafka-config" } }, tmp],
                },
            },
            volumeClaimTemplates: [{ metadata: { name: "data", labels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } }],
        });
        assert.deepEqual(START_COMMAND, ["sh", "-c",
            `/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id ${KAFKA_CLUSTER_ID} --config /etc/kafka/server.properties && ` +
            "exec /opt/kafka/bin/kafka-server-start.sh /etc/kafka/server.properties"]);
        // A cluster id is 16 bytes in URL-safe base64 without padding.
        assert.equal(Buffer.from(KAFKA_CLUSTER_ID, "base64url").length, 16);
        assert.equal(Buffer.from(KAFKA_CLUSTER_ID, "base64url").toString("base64url"), KAFKA_CLUSTER_ID);
        const withoutExporter = plain(kafkaStatefulSetSpec({ ...dataArgs, exporter: false, spec: { ...prodWithData.kafka, storageClass: "fast-ssd" } }, "c"));
        assert.deepEqual(withoutExporter.template.spec.containers.map((c: { name: string }) => c.name), ["kafka"]);
        assert.equal(withoutExporter.volumeClaimTemplates[0].spec.storageClassName, "fast-ssd");
    });

    it("configures Kafka as one broker and controller: clients through the Service, everything else on loopback", () => {
        assert.deepEqual(kafkaConfig("kafka.dreamseed.svc.cluster.local"), {
            "server.properties": [
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:9093",
                "controller.listener.names=CONTROLLER",
                "listeners=CLIENT://:9092,LOCAL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
                "advertised.listeners=CLIENT://kafka.dreamseed.svc.cluster.local:9092,LOCAL://127.0.0.1:9094",
                "listener.security.protocol.map=CLIENT:PLAINTEXT,LOCAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=LOCAL",
                "log.dirs=/var/lib/kafka/data/logs",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "",
            ].join("\n"),
            "log4j2.yaml": LOG4J2_YAML,
        });
        // The logging config: a console appender and nothing that writes files.
        assert.equal(LOG4J2_YAML.includes("File"), false);
        assert.match(LOG4J2_YAML, /^ {4}Console:\n {6}name: STDOUT$/m);
    });

    it("builds MinIO's StatefulSet: one server on a retained claim, console off, public metrics only with monitoring, the bucket hook", () => {
        const selector = { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "minio" };
        const labels = { tier: "data", ...selector };
        const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: "s3" }, periodSeconds, timeoutSeconds: 5, failureThreshold });
        const cred = (name: string, key = name) => ({ name, valueFrom: { secretKeyRef: { name: "minio-credentials", key } } });
        assert.deepEqual(plain(minioStatefulSetSpec({ ...dataArgs, spec: prodWithData.minio, password: "p" }, "s")), {
            serviceName: "minio-headless",
            replicas: 1,
            selector: { matchLabels: selector },
            updateStrategy: { type: "RollingUpdate" },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            template: {
                metadata: { labels, annotations: { "checksum/secret": "s" } },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } },
                    containers: [{
                        name: "minio",
                        image: "minio/minio:RELEASE.2025-09-07T16-13-09Z",
                        command: ["minio"],
                        args: ["server", "/data", "--address", ":9000", "--certs-dir", "/tmp/certs"],
                        ports: [{ name: "s3", containerPort: 9000, protocol: "TCP" }],
                        env: [
                            cred("MINIO_ROOT_USER"),
                            cred("MINIO_ROOT_PASSWORD"),
                            { name: "MINIO_BROWSER", value: "off" },
                            { name: "MINIO_PROMETHEUS_AUTH_TYPE", value: "public" },
                            { name: "MC_CONFIG_DIR", value: "/tmp/.mc" },
                        ],
                        resources: {
                            requests: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "64Mi" },
                            limits: { cpu: "1000m", memory: "2Gi", "ephemeral-storage": "512Mi" },
                        },
                        securityContext: RESTRICTED,
                        startupProbe: probe("/minio/health/live", 5, 30),
                        livenessProbe: probe("/minio/health/live", 10, 3),
                        readinessProbe: probe("/minio/health/ready", 5, 3),
                        lifecycle: { postStart: { exec: { command: bucketsCommand(["uploads", "reports.2024"]) } } },
                        volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "tmp", mountPath: "/tmp" }],
                    }],
                    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
                },
            },
            volumeClaimTemplates: [{ metadata: { name: "data", labels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } }],
        });
        // No buckets and no monitoring: no hook, no mc settings, metrics behind authentication.
        const bare = plain(minioStatefulSetSpec({ ...dataArgs, exporter: false, spec: { ...prodWithData.minio, buckets: [] }, password: "p" }, "s")).template.spec.containers[0];
        assert.equal("lifecycle" in bare, false);
        assert.deepEqual(bare.env.map((e: { name: string }) => e.name), ["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_BROWSER"]);
    });

    it("creates MinIO's buckets with mc over loopback, the secret key on standard input, retrying for as long as the startup probe waits", () => {
        assert.deepEqual(bucketsCommand(["uploads", "reports.2024"]), ["sh", "-c",
            "i=0; while [ $i -lt 30 ]; do " +
            "printf '%s\\n' \"$MINIO_ROOT_PASSWORD\" | mc alias set local http://127.0.0.1:9000 \"$MINIO_ROOT_USER\" >/dev/null && " +
            "mc mb --ignore-existing local/uploads local/reports.2024 && exit 0; " +
            "i=$((i + 1)); sleep 5; done; echo 'bucket creation failed' >&2; exit 1"]);
        const c = plain(minioStatefulSetSpec({ ...dataArgs, spec: prodWithData.minio, password: "p" }, "s")).template.spec.containers[0];
        assert.ok(30 * 5 >= c.startupProbe.periodSeconds * c.startupProbe.failureThreshold);
        // The password reaches mc from the Secret's variable, never inside a URL mc would split.
        assert.deepEqual(minioCredentials("p@ss:w/rd#?%"), { MINIO_ROOT_USER: "minio", MINIO_ROOT_PASSWORD: "p@ss:w/rd#?%" });
    });

    it("URL-encodes credentials in connection URLs", () => {
        assert.equal(postgresUrl("kaizen_user", "p@ss:w/rd#?%", "postgres.ns.svc.cluster.local", "kaizen_studio"),
            "postgresql://kaizen_user:p%40ss%3Aw%2Frd%23%3F%25@postgres.ns.svc.cluster.local:5432/kaizen_studio");
        assert.equal(redisUrl("a b&c", "redis.ns.svc.cluster.local"), "redis://:a%20b%26c@redis.ns.svc.cluster.local:6379/0");
    });

    it("turns the prod quota into a ResourceQuota and LimitRange", () => {
        const q = plain(resourceQuotaSpec(prod.quota));
        assert.deepEqual(Object.keys(q.hard as object).sort(), ["limits.cpu", "limits.memory", "persistentvolumeclaims", "pods", "requests.cpu", "requests.memory", "requests.storage"]);
        const lr = plain(limitRangeSpec(prod.quota));
        assert.deepEqual((lr.limits)[0].type, "Container");
        assert.deepEqual((lr.limits)[0].defaultRequest, prod.quota.defaultRequest);
        assert.deepEqual((lr.limits)[0].default, prod.quota.defaultLimit);
    });
});
