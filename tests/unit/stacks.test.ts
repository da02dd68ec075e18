// The committed stacks (Pulumi.<stack>.yaml) run through the real program under mocks: the values
// the reference system's overlays specify, asserted exactly.

import * as assert from "assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { FAKE_SECRETS, Program, runCommittedStack, valueOf } from "./harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const NAMESPACE = "kubernetes:core/v1:Namespace";

interface Expected {
    namespace: string;
    host: string;
    backend: { replicas: number; hpa: [number, number, number] };
    frontendReplicas: number;
    pdb: { backend?: number; frontend?: number };
    postgresStorage: string;
    debug: string;
    jwt: string;
    protectData: boolean;
    /** PostgreSQL backups: on by default in prod only. */
    backups: boolean;
}

const EXPECTED: Record<string, Expected> = {
    dev: {
        namespace: "kaizen-studio-dev", host: "dev.yourdomain.com",
        backend: { replicas: 1, hpa: [1, 3, 70] }, frontendReplicas: 1, pdb: {},
        postgresStorage: "50Gi", debug: "true", jwt: "HS256", protectData: false, backups: false,
    },
    staging: {
        namespace: "kaizen-studio-staging", host: "staging.yourdomain.com",
        backend: { replicas: 2, hpa: [2, 5, 70] }, frontendReplicas: 2, pdb: { backend: 1, frontend: 1 },
        postgresStorage: "50Gi", debug: "false", jwt: "HS256", protectData: false, backups: false,
    },
    prod: {
        namespace: "kaizen-studio", host: "studio.yourdomain.com",
        backend: { replicas: 3, hpa: [3, 20, 60] }, frontendReplicas: 2, pdb: { backend: 2, frontend: 1 },
        postgresStorage: "100Gi", debug: "false", jwt: "RS256", protectData: true, backups: true,
    },
};

for (const [stack, want] of Object.entries(EXPECTED)) {
    describe(`stack ${stack}`, () => {
        let p: Program;
        before(async () => {
            p = await runCommittedStack(stack);
        });

        it(`uses namespace ${want.namespace} with restricted Pod Security`, () => {
            const ns = p.get(NAMESPACE, "namespace").inputs;
            assert.equal(ns.metadata.name, want.namespace);
            assert.equal(ns.metadata.name, want.namespace);
            assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            assert.equal(ns.metadata.labels["app.kubernetes.io/part-of"], "kaizen-studio");
            assert.equal(ns.metadata.labels.environment, stack);
        });

        it(`leaves backend replicas to an HPA of ${want.backend.hpa[0]}-${want.backend.hpa[1]} at ${want.backend.hpa[2]}% CPU`, () => {
            const backend = p.get(DEPLOYMENT, "backend").inputs;
            assert.equal("replicas" in backend.spec, false, "replicas must be absent while the HPA owns scale");
            const hpa = p.get(HPA, "backend").inputs.spec;
            assert.equal(hpa.minReplicas, want.backend.hpa[0]);
            assert.equal(hpa.maxReplicas, want.backend.hpa[1]);
            assert.deepEqual(hpa.metrics, [
                { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: want.backend.hpa[2] } } },
                { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } },
            ]);
            assert.equal(hpa.behavior.scaleDown.stabilizationWindowSeconds, 300);
            assert.deepEqual(hpa.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "backend" });
        });

        it(`runs ${want.frontendReplicas} frontend replica(s) without an HPA`, () => {
            assert.equal(p.get(DEPLOYMENT, "frontend").inputs.spec.replicas, want.frontendReplicas);
            assert.equal(p.find(HPA, "frontend"), undefined);
        });

        it("has the PodDisruptionBudgets of the environment", () => {
            for (const svc of ["backend", "frontend"] as const) {
                const pdb = p.find(PDB, svc);
                const min = want.pdb[svc];
                if (min === undefined) {
                    assert.equal(pdb, undefined, `${svc} must have no PDB in ${stack}`);
                } else {
                    assert.equal(pdb?.inputs.spec.minAvailable, min);
                    assert.equal(pdb?.inputs.spec.unhealthyPodEvictionPolicy, "AlwaysAllow");
                    assert.deepEqual(pdb?.inputs.spec.selector.matchLabels, { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": svc });
                }
            }
        });

        it(`gives PostgreSQL a retained ${want.postgresStorage} volume`, () => {
            const sts = p.get(STATEFULSET, "postgres").inputs.spec;
            assert.equal(sts.volumeClaimTemplates[0].spec.resources.requests.storage, want.postgresStorage);
            assert.deepEqual(sts.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
            assert.equal(p.get(PVC, "redis-data").inputs.spec.resources.requests.storage, "10Gi");
        });

        it("sets debug and the JWT algorithm in the backend ConfigMap", () => {
            const data = p.get("kubernetes:core/v1:ConfigMap", "backend-config").inputs.data;
            assert.equal(data.DEBUG, want.debug);
            assert.equal(data.JWT_ALGORITHM, want.jwt);
            assert.equal(data.POSTGRES_HOST, `postgres.${want.namespace}.svc.cluster.local`);
            assert.equal(data.POSTGRES_DB, "kaizen_studio");
            assert.equal(data.POSTGRES_USER, "kaizen_user");
            assert.equal(data.REDIS_HOST, `redis.${want.namespace}.svc.cluster.local`);
            assert.equal(data.CORS_ORIGINS, `https://${want.host}`);
        });

        it(`routes https://${want.host} with TLS`, () => {
            const ing = p.get("kubernetes:networking.k8s.io/v1:Ingress", "ingress").inputs;
            assert.deepEqual(ing.spec.tls, [{ hosts: [want.host], secretName: "kaizen-studio-tls" }]);
            assert.equal(ing.spec.rules[0].host, want.host);
        });

        it("exports the documented outputs", async () => {
            const e = p.exports;
            assert.deepEqual(Object.keys(e).sort(), ["appName", "clusterIssuers", "databaseName", "databaseUrl", "databaseUser", "environment",
                "generatedSecrets", "healthChecks", "ingressClassName", "monitoringNamespace", "namespace", ...(want.backups ? ["postgresBackup"] : []),
                "postgresCredentialsSecret", "postgresHost", "postgresPort", "publicUrl", "publicUrls", "redisCredentialsSecret", "redisHost", "redisPort", "redisWorkload", "serviceUrls"]);
            assert.equal(e.appName, "kaizen-studio");
            assert.equal(await valueOf(e.namespace), want.namespace);
            assert.equal(await valueOf(e.publicUrl), `https://${want.host}`);
            assert.deepEqual(await valueOf(e.publicUrls), { backend: `https://${want.host}/api`, frontend: `https://${want.host}/` });
            assert.deepEqual(await valueOf(e.serviceUrls), {
                backend: `http://backend.${want.namespace}.svc.cluster.local:8000`,
                frontend: `http://frontend.${want.namespace}.svc.cluster.local:80`,
            });
            // The backend's /health is not routed to it (/ sends it to the frontend): no public URL.
            assert.deepEqual(await valueOf(e.healthChecks), [
                { service: "backend", namespace: want.namespace, port: 8000, healthPath: "/health" },
                { service: "frontend", namespace: want.namespace, port: 80, healthPath: "/", publicUrl: `https://${want.host}` },
            ]);
            assert.equal(await valueOf(e.postgresHost), `postgres.${want.namespace}.svc.cluster.local`);
            assert.equal(e.postgresPort, 5432);
            assert.equal(await valueOf(e.redisHost), `redis.${want.namespace}.svc.cluster.local`);
            assert.equal(await valueOf(e.redisWorkload), "deployment");
            assert.equal(e.redisPort, 6379);
            assert.equal(e.databaseName, "kaizen_studio");
            assert.equal(e.databaseUser, "kaizen_user");
            assert.equal(await valueOf(e.postgresCredentialsSecret), "postgres-credentials");
            assert.equal(await valueOf(e.redisCredentialsSecret), "redis-credentials");
            assert.equal(e.ingressClassName, "nginx");
            assert.deepEqual(e.clusterIssuers, ["letsencrypt-prod", "letsencrypt-staging"]);
            assert.equal(await valueOf(e.monitoringNamespace), "monitoring");
            assert.equal(await pulumi.isSecret(e.databaseUrl), true, "databaseUrl must be a secret output");
            assert.equal(await valueOf(e.databaseUrl),
                `postgresql://kaizen_user:${FAKE_SECRETS.postgresPassword}@postgres.${want.namespace}.svc.cluster.local:5432/kaizen_studio`);
            for (const name of ["namespace", "publicUrl", "serviceUrls", "healthChecks", "postgresHost", "redisHost"]) {
                assert.equal(await pulumi.isSecret(pulumi.output(e[name])), false, `${name} must not be secret`);
            }
        });

        it(want.backups ? "backs PostgreSQL up daily into a retained volume of the data volume's size" : "has no PostgreSQL backups", () => {
            const cronJob = p.find("kubernetes:batch/v1:CronJob", "postgres-backup");
            const claim = p.find(PVC, "postgres-backups");
            if (!want.backups) {
                assert.deepEqual([cronJob, claim, p.find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "postgres-backup"), p.exports.postgresBackup], [undefined, undefined, undefined, undefined]);
                return;
            }
            assert.equal(cronJob?.inputs.spec.schedule, "0 3 * * *");
            assert.equal(claim?.inputs.spec.resources.requests.storage, want.postgresStorage);
            assert.deepEqual([claim?.opts.retainOnDelete, claim?.opts.protect], [true, want.protectData]);
            // The output `npm run db` runs its Jobs with.
            assert.deepEqual(p.exports.postgresBackup, {
                podLabels: { "app.kubernetes.io/name": "kaizen-studio", "app.kubernetes.io/component": "postgres-backup" },
                image: "postgres:15.10-alpine", runAsUser: 70,
                resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
                host: `postgres.${want.namespace}.svc.cluster.local`, port: 5432, database: "kaizen_studio", user: "kaizen_user",
                credentialsSecret: "postgres-credentials", claimName: "postgres-backups", activeDeadlineSeconds: 14400,
            });
        });

        it(`${want.protectData ? "protects" : "does not protect"} the data workloads from deletion`, () => {
            assert.equal(p.get(STATEFULSET, "postgres").opts.protect, want.protectData);
            const pvc = p.get(PVC, "redis-data").opts;
            assert.equal(pvc.protect, want.protectData);
            assert.equal(pvc.retainOnDelete, true, "the Redis volume outlives pulumi destroy in every stack");
            const ns = p.all("kubernetes:core/v1:Namespace").filter((r) => r.inputs.metadata.labels?.["app.kubernetes.io/name"] === "kaizen-studio");
            assert.equal(ns.length, 1);
            assert.equal(ns[0].opts.retainOnDelete, true, "deleting the namespace would delete the data claims in it");
        });
    });
}
