// Migrations that gate a rollout (services.<name>.migration), live on the local cluster: the Job runs
// to completion before the Deployment rolls, a new image gets a new Job, a failed migration stops the
// update with the old pods serving and is rerun by the next up, init-container mode, and removal.
// kwok runs no container, so a migration "fails" here by its pod never being admitted (a
// ValidatingAdmissionPolicy the test adds): the Job then fails at its deadline, as a failing
// `alembic upgrade head` fails at its backoff limit; what the program and provider do next is the same.

import * as assert from "assert/strict";
import { LiveWorkspace, changes, createLiveWorkspace, everyWorkloadReady, kubectl, kubectlJson, kubectlOk, removeLeftovers } from "./live";

const NS = "kaizen-studio-dev";
const MIGRATION = { command: ["alembic", "upgrade", "head"] };

type Job = { metadata: { name: string; creationTimestamp: string }; status: { succeeded?: number; failed?: number; completionTime?: string; conditions?: { type: string; reason?: string }[] } };
type ReplicaSet = { metadata: { name: string; creationTimestamp: string }; spec: { replicas: number; template: { spec: { containers: { image: string }[] } } }; status: { readyReplicas?: number } };

const jobs = () => (kubectlJson(["get", "jobs", "-n", NS]).items as Job[]);
const backendReplicaSets = () => (kubectlJson(["get", "replicasets", "-n", NS, "-l", "app.kubernetes.io/component=backend"]).items as ReplicaSet[])
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
const backendImage = () => kubectlJson(["get", "deployment", "backend", "-n", NS]).spec.template.spec.containers[0].image as string;

const DENY_POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: e2e-failing-migration}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  validations:
  - expression: "!has(object.metadata.labels) || object.metadata.labels[?'app.kubernetes.io/component'].orValue('') != 'backend-migration'"
    message: the migration fails (e2e)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: e2e-failing-migration}
spec:
  policyName: e2e-failing-migration
  validationActions: [Deny]
  matchResources: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${NS}}}}
`;

describe("live: migrations that gate the rollout", function () {
    this.timeout(900_000);
    let ws: LiveWorkspace;
    const setBackend = (edit: (backend: Record<string, unknown>) => void) => ws.editConfig("dev", (c) => edit(c["platform:services"].backend));

    before(() => {
        ws = createLiveWorkspace();
        ws.initStack("dev");
    });
    after(() => {
        kubectl(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", "e2e-failing-migration", "--ignore-not-found"]);
        if (ws) {
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
            removeLeftovers([NS]);
            ws.dispose();
        }
    });

    it("runs the migration Job to completion before the backend's first ReplicaSet exists; previews stay clean, also after a refresh", () => {
        setBackend((b) => { b.migration = MIGRATION; });
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        everyWorkloadReady(NS);
        const [job] = jobs();
        assert.match(job.metadata.name, /^backend-migration-[0-9a-f]{8}$/);
        assert.equal(job.status.succeeded, 1);
        const [rs] = backendReplicaSets();
        assert.ok(Date.parse(job.status.completionTime!) <= Date.parse(rs.metadata.creationTimestamp), `${job.status.completionTime} <= ${rs.metadata.creationTimestamp}`);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        ws.pulumi(["refresh", "--yes", "--stack", "dev"]);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });

    it("gives a new image a new Job, which completes before the new ReplicaSet; the old Job goes", () => {
        const before = jobs()[0].metadata.name;
        setBackend((b) => { b.image = "registry.yourdomain.com/kaizen-studio-backend:v1.0.1"; });
        assert.deepEqual(changes(ws, "dev").filter((c) => / backend/.test(c)).sort(), [
            "replace kubernetes:batch/v1:Job backend-migration",
            "update kubernetes:apps/v1:Deployment backend",
        ]);
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        everyWorkloadReady(NS);
        const all = jobs();
        assert.equal(all.length, 1, "exactly one Job remains");
        assert.notEqual(all[0].metadata.name, before);
        const newest = backendReplicaSets().at(-1)!;
        assert.equal(newest.spec.template.spec.containers[0].image, "registry.yourdomain.com/kaizen-studio-backend:v1.0.1");
        assert.ok(Date.parse(all[0].status.completionTime!) <= Date.parse(newest.metadata.creationTimestamp));
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });

    it("stops the update at a failed migration, the old pods serving; the next up reruns it and rolls out", () => {
        kubectlOk(["apply", "-f", "-"], DENY_POLICY);
        setBackend((b) => {
            b.image = "registry.yourdomain.com/kaizen-studio-backend:v1.0.2";
            b.migration = { ...MIGRATION, activeDeadlineSeconds: 20 };
        });
        const failed = ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
        assert.notEqual(failed.status, 0);
        assert.match(failed.stdout + failed.stderr, /backend-migration/);
        assert.equal(backendImage(), "registry.yourdomain.com/kaizen-studio-backend:v1.0.1", "the Deployment was not touched");
        const serving = backendReplicaSets().filter((r) => r.spec.replicas > 0);
        assert.deepEqual(serving.map((r) => [r.spec.template.spec.containers[0].image, r.status.readyReplicas]), [["registry.yourdomain.com/kaizen-studio-backend:v1.0.1", 1]]);
        const failedJob = jobs().find((j) => (j.status.conditions ?? []).some((c) => c.type === "Failed"));
        assert.ok(failedJob, "the failed Job is kept for its logs and events");

        // The cause fixed outside the stack: the same config, one more up.
        kubectlOk(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", "e2e-failing-migration"]);
        // The refusals were this test's doing; the readiness check below counts any other.
        kubectlOk(["delete", "events", "-n", NS, "--field-selector", "reason=FailedCreate"]);
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        everyWorkloadReady(NS);
        assert.equal(backendImage(), "registry.yourdomain.com/kaizen-studio-backend:v1.0.2");
        assert.deepEqual(jobs().map((j) => j.status.succeeded), [1]);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });

    it("runs it in an init container instead (mode: initContainer), with no Job", () => {
        setBackend((b) => { b.migration = { ...MIGRATION, mode: "initContainer" }; });
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        everyWorkloadReady(NS);
        assert.deepEqual(jobs(), []);
        const init = kubectlJson(["get", "deployment", "backend", "-n", NS]).spec.template.spec.initContainers as { name: string; command: string[] }[];
        assert.deepEqual(init.map((c) => c.name), ["wait-for-postgres", "wait-for-redis", "backend-migration"]);
        assert.deepEqual(init[2].command, ["alembic", "upgrade", "head"]);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });

    it("removes only the migration's own objects when the key goes", () => {
        setBackend((b) => { b.migration = MIGRATION; });
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        setBackend((b) => { delete b.migration; });
        // The Job and its policy go; PostgreSQL's and Redis's policies stop admitting its pod, and the
        // PodNotReady alert no longer needs to leave Job pods out.
        assert.deepEqual(changes(ws, "dev").filter((c) => !c.startsWith("update kubernetes:apps/v1:Deployment backend")).sort(), [
            "delete kubernetes:batch/v1:Job backend-migration",
            "delete kubernetes:networking.k8s.io/v1:NetworkPolicy backend-migration",
            "update kubernetes:monitoring.coreos.com/v1:PrometheusRule monitoring-alerts",
            "update kubernetes:networking.k8s.io/v1:NetworkPolicy postgres",
            "update kubernetes:networking.k8s.io/v1:NetworkPolicy redis",
        ]);
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.deepEqual(jobs(), []);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });
});
