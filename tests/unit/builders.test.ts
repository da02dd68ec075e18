// The workload spec builders on their own, without mocks, fed the prod stack's validated config:
// the HPA, the web Deployment, PostgreSQL's StatefulSet, Redis's Deployment, the namespace's quota
// and limits. Exact values, including what must be absent.

import * as assert from "assert/strict";
import { limitRangeSpec, resourceQuotaSpec } from "../../components/namespace";
import { connectionUrl as postgresUrl, PASSWORD_SYNC_COMMAND, SHM_SIZE, statefulSetSpec } from "../../components/postgres";
import { connectionUrl as redisUrl, deploymentSpec as redisDeploymentSpec } from "../../components/redis";
import { deploymentSpec, hpaSpec, WebServiceArgs } from "../../components/webService";
import { resolveConfig } from "../../stacks/config";
import { FAKE_SECRETS, stackConfig } from "./harness";

const prod = resolveConfig("prod", stackConfig("prod"), { set: Object.keys(FAKE_SECRETS), plaintext: [] });
const service = (name: string) => {
    const s = prod.services.find((x) => x.name === name);
    assert.ok(s, name);
    return s;
};
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
