// The recovery runbook (README: Operations, "When something goes wrong"), each scenario reproduced on
// the local cluster and recovered with exactly the documented steps: a Helm release left
// `pending-upgrade` by an `up` killed mid-upgrade, and a data claim stuck `Terminating` after someone
// deleted it while its pod still mounts it; and `npm run verify` naming what is unhealthy. (An `up`
// killed halfway is in live.e2e.ts.)

import * as assert from "assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHARTS, LiveWorkspace, chartVariant, createLiveWorkspace, everyWorkloadReady, helmRevisions, killTree, kubectl, kubectlJson, kubectlOk, processesIn, removeLeftovers } from "./live";

const NS = "kaizen-studio-dev";

async function until(what: string, check: () => boolean, seconds = 120): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

describe("live: the recovery runbook", function () {
    this.timeout(900_000);
    let ws: LiveWorkspace;
    let tmp: string;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recovery-"));
        ws = createLiveWorkspace();
        ws.initStack("dev");
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
    });
    after(() => {
        if (ws) {
            ws.pulumi(["cancel", "--yes", "--stack", "dev"], { ok: false });
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
            removeLeftovers([NS]);
            ws.dispose();
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("verify: names what is unhealthy (on kwok no container answers a health check; a stuck rollout with its events)", () => {
        const verify = (...args: string[]) => ws.tryRun("node", ["-r", "ts-node/register/transpile-only", "scripts/verify.ts", "--stack", "dev", ...args]);
        const r = verify("--timeout", "60", "--attempts", "1", "--request-timeout", "2");
        assert.equal(r.status, 1, r.stdout + r.stderr);
        for (const w of ["deployment/backend", "deployment/frontend", "deployment/redis", "statefulset/postgres"]) {
            assert.match(r.stdout, new RegExp(`^rollout ${w}: ok$`, "m"), w);
        }
        // Every rollout finished; the health checks are what kwok cannot answer (no container runs).
        assert.match(r.stdout, /^health backend: FAILED, GET svc\/backend:8000\/health \(port-forward\): /m);
        assert.match(r.stdout, /^health frontend: FAILED, GET svc\/frontend:80\/ \(port-forward\): /m);
        assert.match(r.stdout, /^verify dev: UNHEALTHY: backend \(.*\), frontend \(.*\)$/m);

        // A rollout that cannot finish (no node matches) is named with the scheduler's event.
        kubectlOk(["patch", "deployment", "frontend", "-n", NS, "-p", JSON.stringify({ spec: { template: { spec: { nodeSelector: { "verify-test": "none" } } } } })]);
        const stuck = verify("--timeout", "20", "--attempts", "1", "--request-timeout", "2");
        assert.equal(stuck.status, 1);
        assert.match(stuck.stdout, /^rollout deployment\/frontend: FAILED, not rolled out in 20 s/m);
        assert.match(stuck.stdout, /FailedScheduling/);
        assert.match(stuck.stdout, /^verify dev: UNHEALTHY: deployment\/frontend \(not rolled out in 20 s\)/m);
        assert.equal(verify("--via", "dns").status, 2, "a usage error");
        // The program does not set nodeSelector, so `up` would keep kubectl's field: take it back by hand.
        kubectlOk(["patch", "deployment", "frontend", "-n", NS, "--type", "json", "-p", JSON.stringify([{ op: "remove", path: "/spec/template/spec/nodeSelector" }])]);
        everyWorkloadReady(NS);
    });

    it("a Helm release left pending-upgrade by a killed up: refused until rolled back with helm, then clean", async () => {
        // An upgrade that waits on a Job no node can run: Helm holds the release in pending-upgrade.
        const hanging = chartVariant(tmp, "metrics-server", "3.13.1", [
            "apiVersion: batch/v1", "kind: Job", "metadata: {name: waits-forever, namespace: {{ .Release.Namespace }}}",
            "spec:", "  backoffLimit: 0", "  activeDeadlineSeconds: 3600", "  template:", "    spec:",
            "      restartPolicy: Never", "      nodeSelector: {platform.test/no-such-node: \"true\"}",
            "      automountServiceAccountToken: false",
            "      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}",
            "      containers:", "        - name: wait", "          image: registry.invalid/stand-in/wait:1",
            "          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}", "",
        ].join("\n"));
        ws.editConfig("dev", (c) => { c["platform:addons"].metricsServer.chart = hanging; });
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "dev"], { cwd: ws.dir, env: ws.env, stdio: "ignore" });
        const exited = new Promise((r) => child.once("exit", r));
        await until("the upgrade to hold the release", () => helmRevisions("metrics-server", "kube-system").some(([, s]) => s === "pending-upgrade"));
        killTree(child.pid!);
        await exited;
        processesIn(ws.dir).forEach((pid) => killTree(pid));
        ws.pulumi(["cancel", "--yes", "--stack", "dev"], { ok: false });

        // Running the same deploy again is refused by Helm: the symptom the runbook names.
        const refused = ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
        assert.notEqual(refused.status, 0);
        assert.match(refused.stdout + refused.stderr, /another operation \(install\/upgrade\/rollback\) is in progress/);

        // README: helm history, helm rollback to the last deployed revision, pulumi refresh, pulumi up.
        const history = kubectlOk(["get", "secrets", "-n", "kube-system", "-l", "owner=helm,name=metrics-server,status=deployed", "-o", "jsonpath={.items[*].metadata.labels.version}"]);
        const lastGood = Math.max(...history.trim().split(" ").map(Number));
        const helm = spawn("helm", ["-n", "kube-system", "rollback", "metrics-server", String(lastGood), "--wait"], { stdio: "pipe" });
        assert.equal(await new Promise((r) => helm.once("exit", r)), 0, "helm rollback");
        ws.pulumi(["refresh", "--yes", "--clear-pending-creates", "--stack", "dev"]);
        // The cause fixed (here: back to the chart that was running), one up, and the stack is clean.
        ws.editConfig("dev", (c) => { c["platform:addons"].metricsServer.chart = path.join(CHARTS, "metrics-server"); });
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
        assert.equal(helmRevisions("metrics-server", "kube-system").at(-1)?.[1], "deployed");
        assert.equal(kubectlJson(["get", "deployment", "metrics-server", "-n", "kube-system"]).spec.template.spec.containers[0].image, "registry.invalid/stand-in/metrics-server:3.13.0");
        assert.deepEqual(kubectlJson(["get", "jobs", "-n", "kube-system"]).items, [], "the hanging Job went with the rollback");
    });

    it("a data claim stuck Terminating: the pods using it stopped, then refresh and up give it back", async () => {
        const claim = () => kubectlJson(["get", "pvc", "redis-data", "-n", NS]) as { metadata: { uid: string; deletionTimestamp?: string; finalizers?: string[] }; status: { phase: string } };
        const before = claim().metadata.uid;
        kubectlOk(["delete", "pvc", "redis-data", "-n", NS, "--wait=false"]);
        // Kubernetes keeps a claim a pod mounts (pvc-protection) until no pod uses it; nothing cancels the deletion.
        await until("the claim to be marked for deletion", () => claim().metadata.deletionTimestamp !== undefined, 30);
        await new Promise((r) => setTimeout(r, 3000));
        assert.deepEqual(claim().metadata.finalizers, ["kubernetes.io/pvc-protection"], "still there, held by the pod that mounts it");
        // README: stop the pods that use it; the claim goes; refresh, then up recreates it and the pods.
        kubectlOk(["scale", "deployment", "redis", "-n", NS, "--replicas=0"]);
        await until("the claim to go", () => kubectl(["get", "pvc", "redis-data", "-n", NS]).status !== 0, 120);
        ws.pulumi(["refresh", "--yes", "--stack", "dev"]);
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.notEqual(claim().metadata.uid, before, "a new claim");
        assert.equal(claim().status.phase, "Bound");
        assert.equal(kubectlJson(["get", "deployment", "redis", "-n", NS]).spec.replicas, 1, "up restored the replica count");
        everyWorkloadReady(NS);
        ws.pulumi(["preview", "--expect-no-changes", "--stack", "dev"]);
    });
});
