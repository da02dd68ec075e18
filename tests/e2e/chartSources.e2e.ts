// The add-ons' three kinds of chart source, each served on loopback by this test and installed by a
// real `pulumi up` through the real provider (README: Configuration, add-ons):
//   - a Helm HTTP repository (index.yaml + archives, `helm repo index`) served by a Node.js server;
//   - an OCI registry (the CNCF distribution registry, built from the Go module proxy) over TLS with
//     a certificate made for 127.0.0.1, trusted through SSL_CERT_FILE (the provider's Helm cannot
//     use plain HTTP for OCI);
//   - a local chart archive (`.tgz` path);
// the fourth add-on keeps the local chart folder the live suite uses. The charts are the project's
// stand-ins (tests/fixtures/charts), packaged here with their real names and versions.

import * as assert from "assert/strict";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { parse } from "yaml";
import { goTool } from "./goTool";
import { freePort } from "./localPostgres";
import { CHARTS, LiveWorkspace, changes, chartVariant, createLiveWorkspace, helmRevisions, kubectlJson, removeLeftovers } from "./live";

/** The registry release built for this test (a Go module the proxy serves). */
const REGISTRY_MODULE = "github.com/distribution/distribution/v3/cmd/registry@v3.1.2";

/** The Helm repository server `npm run up:local` uses too. */
const REPO_SERVER = path.join(__dirname, "..", "..", "scripts", "lib", "chart-repo.mjs");

function chartVersion(chart: string): string {
    return (parse(fs.readFileSync(path.join(CHARTS, chart, "Chart.yaml"), "utf8")) as { version: string }).version;
}

/** The registry binary, built once into the toolchain cache's tools folder. */
function registryBinary(): string {
    return goTool(REGISTRY_MODULE, "registry");
}

async function waitFor(url: string, ca?: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
        const r = spawnCurl(url, ca);
        if (r === 0) {
            return;
        }
        await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`${url} did not answer`);
}

function spawnCurl(url: string, ca?: string): number {
    try {
        execFileSync("curl", ["-sf", ...(ca ? ["--cacert", ca] : []), url], { stdio: "ignore" });
        return 0;
    } catch {
        return 1;
    }
}

describe("add-on chart sources served on loopback (HTTP repository, OCI registry, local archive)", function () {
    let tmp: string;
    let repo: ChildProcess | undefined;
    let registry: ChildProcess | undefined;
    let ws: LiveWorkspace;
    let repoUrl: string;
    let ociRef: string;
    let archive: string;

    before(async function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chart-sources-"));
        const repoDir = path.join(tmp, "repo");
        fs.mkdirSync(repoDir);
        for (const chart of ["ingress-nginx", "cert-manager", "metrics-server"]) {
            execFileSync("helm", ["package", path.join(CHARTS, chart), "-d", repoDir], { stdio: "pipe" });
        }

        // The HTTP repository: index.yaml with absolute URLs, archives beside it. Served by its own
        // process: this one blocks while the CLI runs.
        const repoPort = await freePort();
        repoUrl = `http://127.0.0.1:${repoPort}`;
        execFileSync("helm", ["repo", "index", repoDir, "--url", repoUrl]);
        repo = spawn(process.execPath, [REPO_SERVER, repoDir, String(repoPort)], { stdio: "ignore" });
        await waitFor(`${repoUrl}/index.yaml`);

        // The OCI registry over TLS, with a certificate for 127.0.0.1 trusted through SSL_CERT_FILE.
        const cert = path.join(tmp, "registry.crt");
        const key = path.join(tmp, "registry.key");
        execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "pipe" });
        const bundle = path.join(tmp, "ca-bundle.pem");
        fs.writeFileSync(bundle, fs.readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8") + fs.readFileSync(cert, "utf8"));
        const port = await freePort();
        fs.writeFileSync(path.join(tmp, "registry.yml"), [
            "version: 0.1",
            "log: {level: warn}",
            `storage: {filesystem: {rootdirectory: ${path.join(tmp, "oci")}}}`,
            `http: {addr: "127.0.0.1:${port}", tls: {certificate: ${cert}, key: ${key}}}`,
        ].join("\n"));
        registry = spawn(registryBinary(), ["serve", path.join(tmp, "registry.yml")], { stdio: "ignore" });
        await waitFor(`https://127.0.0.1:${port}/v2/`, cert);
        execFileSync("helm", ["push", path.join(repoDir, `cert-manager-${chartVersion("cert-manager")}.tgz`), `oci://127.0.0.1:${port}/charts`, "--ca-file", cert], { stdio: "pipe" });
        ociRef = `oci://127.0.0.1:${port}/charts/cert-manager`;
        archive = path.join(repoDir, `metrics-server-${chartVersion("metrics-server")}.tgz`);

        ws = createLiveWorkspace();
        ws.env.SSL_CERT_FILE = bundle;
        ws.initStack("dev");
        ws.editConfig("dev", (c) => {
            const a = c["platform:addons"] as Record<string, Record<string, unknown>>;
            Object.assign(a.ingressNginx, { chart: "ingress-nginx", repository: repoUrl, version: chartVersion("ingress-nginx") });
            Object.assign(a.certManager, { chart: ociRef, repository: "", version: chartVersion("cert-manager") });
            Object.assign(a.metricsServer, { chart: archive, repository: "" });
        });
    });

    after(function () {
        if (ws) {
            ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
            removeLeftovers(["kaizen-studio-dev"]);
            ws.dispose();
        }
        registry?.kill();
        repo?.kill();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("installs each add-on from its source with pulumi up, and a second preview is clean", function () {
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        const state = JSON.parse(ws.pulumi(["stack", "export", "--stack", "dev"]).stdout) as { deployment: { resources: { type: string; urn: string; outputs?: Record<string, any> }[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
        const release = (name: string) => state.deployment.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.urn.endsWith(`::addons-${name}`))?.outputs;
        assert.equal(release("ingress-nginx")?.repositoryOpts?.repo, repoUrl);
        assert.equal(release("cert-manager")?.chart, ociRef);
        assert.equal(release("metrics-server")?.chart, archive);
        for (const [name, ns, version] of [["ingress-nginx", "ingress-nginx", "4.13.3"], ["cert-manager", "cert-manager", "v1.18.2"], ["metrics-server", "kube-system", "3.13.0"]]) {
            assert.equal(release(name)?.status?.status, "deployed", name);
            assert.equal(release(name)?.status?.version, version, name);
            // Helm's own record of the release, in the cluster.
            const secrets = kubectlJson(["get", "secrets", "-n", ns, "-l", `owner=helm,name=${name}`]).items as { metadata: { labels: Record<string, string> } }[];
            assert.deepEqual(secrets.map((s) => s.metadata.labels.status), ["deployed"], name);
        }
        // cert-manager's post-install hook (a Job) ran to completion before the release was deployed,
        // and was deleted as its hook-delete-policy says.
        assert.deepEqual(releaseRecord("cert-manager", "cert-manager").hooks.map((h) => [h.name, h.last_run.phase]), [["cert-manager-startupapicheck", "Succeeded"]]);
        assert.deepEqual(kubectlJson(["get", "jobs", "-n", "cert-manager"]).items, []);
        assert.deepEqual(changes(ws, "dev"), []);
    });

    /** Helm's record of a release's deployed revision (base64 of gzipped JSON in its Secret). */
    function releaseRecord(name: string, ns: string): { hooks: { name: string; last_run: { phase: string } }[] } {
        const secret = kubectlJson(["get", "secrets", "-n", ns, "-l", `owner=helm,name=${name},status=deployed`]).items[0] as { data: { release: string } };
        return JSON.parse(zlib.gunzipSync(Buffer.from(Buffer.from(secret.data.release, "base64").toString(), "base64")).toString());
    }

    const variant = (chart: string, version: string, extraTemplate?: string) => chartVariant(tmp, chart, version, extraTemplate);
    const image = () => kubectlJson(["get", "deployment", "metrics-server", "-n", "kube-system"]).spec.template.spec.containers[0].image as string;

    it("upgrades only the release whose chart version changed", function () {
        const bumped = variant("metrics-server", "3.13.1");
        ws.editConfig("dev", (c) => { (c["platform:addons"] as Record<string, Record<string, unknown>>).metricsServer.chart = bumped; });
        assert.deepEqual(changes(ws, "dev"), ["update kubernetes:helm.sh/v3:Release addons-metrics-server"]);
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.equal(image(), "registry.invalid/stand-in/metrics-server:3.13.1");
        assert.deepEqual(helmRevisions("metrics-server", "kube-system"), [[1, "superseded"], [2, "deployed"]]);
        assert.deepEqual(changes(ws, "dev"), []);
    });

    it("waits for the chart's Jobs (waitForJobs) and rolls the release back when one fails", function () {
        // A Job no node can run, with a deadline: the job controller marks it failed after 5 s. Without
        // waitForJobs Helm would call the release deployed as soon as the Job object exists.
        const broken = variant("cert-manager", "v1.18.3", [
            "apiVersion: batch/v1", "kind: Job", "metadata: {name: never-completes, namespace: {{ .Release.Namespace }}}",
            "spec:", "  backoffLimit: 0", "  activeDeadlineSeconds: 5", "  template:", "    spec:",
            "      restartPolicy: Never", "      nodeSelector: {platform.test/no-such-node: \"true\"}",
            "      automountServiceAccountToken: false",
            "      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}",
            "      containers:", "        - name: never", "          image: registry.invalid/stand-in/never:1",
            "          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}", "",
        ].join("\n"));
        ws.editConfig("dev", (c) => { Object.assign((c["platform:addons"] as Record<string, Record<string, unknown>>).certManager, { chart: broken, version: "v1.18.3" }); });
        assert.deepEqual(changes(ws, "dev"), ["update kubernetes:helm.sh/v3:Release addons-cert-manager"]);
        const r = ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
        assert.notEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /addons-cert-manager/);
        assert.match(r.stdout + r.stderr, /never-completes|DeadlineExceeded|BackoffLimitExceeded|job failed/i);
        const revisions = helmRevisions("cert-manager", "cert-manager");
        assert.deepEqual(revisions.at(-1), [revisions.length, "deployed"], `the rollback is the deployed revision: ${JSON.stringify(revisions)}`);
        assert.ok(revisions.some(([, status]) => status === "failed"), `a failed revision is recorded: ${JSON.stringify(revisions)}`);
        assert.equal(kubectlJson(["get", "deployment", "cert-manager", "-n", "cert-manager"]).spec.template.spec.containers[0].image, "registry.invalid/stand-in/cert-manager:v1.18.2");
        assert.deepEqual(kubectlJson(["get", "jobs", "-n", "cert-manager"]).items, [], "the failed upgrade's Job went with it (cleanupOnFail)");
        // Recovery is the config change undone and one more up; then the stack is clean.
        ws.editConfig("dev", (c) => { Object.assign((c["platform:addons"] as Record<string, Record<string, unknown>>).certManager, { chart: ociRef, version: chartVersion("cert-manager") }); });
        ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"]);
        assert.deepEqual(changes(ws, "dev"), []);
    });

    it("rolls a failed upgrade back (atomic), the stack reporting the failure and the old release serving", function () {
        // The API server refuses the extra object (an invalid name), so the upgrade fails part-way.
        const broken = variant("metrics-server", "3.13.2", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_A_Valid_Name}\ndata: {}\n");
        ws.editConfig("dev", (c) => { (c["platform:addons"] as Record<string, Record<string, unknown>>).metricsServer.chart = broken; });
        const r = ws.pulumi(["up", "--yes", "--skip-preview", "--stack", "dev"], { ok: false });
        assert.notEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /addons-metrics-server/);
        assert.match(r.stdout + r.stderr, /rolled back|atomic/i);
        assert.equal(image(), "registry.invalid/stand-in/metrics-server:3.13.1", "the previous release still runs");
        const revisions = helmRevisions("metrics-server", "kube-system");
        assert.deepEqual(revisions.at(-1), [revisions.length, "deployed"], "the rollback is the deployed revision");
        assert.ok(revisions.some(([, status]) => status === "failed"), `a failed revision is recorded: ${JSON.stringify(revisions)}`);
    });

});
