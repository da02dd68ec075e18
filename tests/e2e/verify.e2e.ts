// `npm run verify`'s network part against real servers on loopback, no cluster needed: one answers
// 200, one 503, one never answers; an HTTPS one has a self-signed certificate for a test host name,
// reached with --resolve as through an ingress address DNS does not know yet. Port-forwards go
// through a stand-in for kubectl (a real process that prints kubectl's "Forwarding from" line with a
// server's port and runs until stopped), and the whole command runs once more with stand-ins for
// kubectl and pulumi on its PATH. The local cluster cannot run these checks: it simulates pods,
// nothing listens in them (README: Operations, Verifying a deploy).

import * as assert from "assert/strict";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { TLSSocket } from "tls";
import { CheckOptions, checkService, checkUrl } from "../../scripts/lib/health";
import { parseResolve } from "../../scripts/verify";

const ROOT = path.resolve(__dirname, "..", "..");
const HOST = "verify.test";
const NAMESPACE = "shop";
const OPTS: CheckOptions = { timeoutMs: 1000, attempts: 2, retryDelayMs: 50 };

/** The stand-in for kubectl: answers from cluster.json beside it, logs each call to calls.log. */
const FAKE_KUBECTL = `
const fs = require("fs");
const path = require("path");
const cluster = JSON.parse(fs.readFileSync(path.join(__dirname, "cluster.json"), "utf8"));
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, "calls.log"), JSON.stringify({ tool: "kubectl", pid: process.pid, args }) + "\\n");
function fail(message) { process.stderr.write(message + "\\n"); process.exitCode = 1; }
if (args[0] === "get" && args[1] === "events") {
    process.stdout.write(JSON.stringify({ items: cluster.events }));
} else if (args[0] === "get") {
    process.stdout.write(cluster.workloads.map((w) => w.name + "\\n").join(""));
} else if (args[0] === "rollout") {
    const w = cluster.workloads.find((x) => x.name === args[2]);
    if (w.waiting) { process.stdout.write(w.waiting + "\\n"); fail("error: timed out waiting for the condition"); }
    else process.stdout.write(args[2] + " successfully rolled out\\n");
} else if (args[0] === "port-forward") {
    const svc = args.find((a) => a.startsWith("svc/")).slice(4);
    const port = cluster.ports[svc];
    if (!port) fail('error: services "' + svc + '" not found');
    else { process.stdout.write("Forwarding from 127.0.0.1:" + port + " -> 8000\\nForwarding from [::1]:" + port + " -> 8000\\n"); setInterval(() => {}, 1000); }
} else fail("unexpected kubectl " + args.join(" "));
`;

/** The stand-in for pulumi: prints the stack outputs of cluster.json. */
const FAKE_PULUMI = `
const fs = require("fs");
const path = require("path");
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, "calls.log"), JSON.stringify({ tool: "pulumi", args }) + "\\n");
process.stdout.write(JSON.stringify(JSON.parse(fs.readFileSync(path.join(__dirname, "cluster.json"), "utf8")).outputs));
`;

function listen(server: http.Server): Promise<number> {
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

interface Call {
    readonly tool: string;
    readonly pid?: number;
    readonly args: string[];
}

describe("verify: health checks against servers on loopback", function () {
    let tmp: string;
    let bin: string;
    let ca: string;
    const servers: http.Server[] = [];
    const ports: Record<string, number> = {};
    const hits: Record<string, number> = { healthy: 0, failing: 0, silent: 0 };
    const tls: { host?: string; servername?: string } = {};

    before(async function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "verify-"));
        const handlers: Record<string, http.RequestListener> = {
            healthy: (_, res) => res.writeHead(200).end("ok"),
            failing: (_, res) => res.writeHead(503).end("down"),
            silent: () => undefined,
        };
        for (const [name, handler] of Object.entries(handlers)) {
            const server = http.createServer((req, res) => {
                hits[name]++;
                handler(req, res);
            });
            servers.push(server);
            ports[name] = await listen(server);
        }

        // The ingress stand-in: TLS for the test host name only, from a self-signed certificate.
        const cert = path.join(tmp, "tls.crt");
        const key = path.join(tmp, "tls.key");
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", `/CN=${HOST}`, "-addext", `subjectAltName=DNS:${HOST}`, "-keyout", key, "-out", cert], { stdio: "pipe" });
        ca = fs.readFileSync(cert, "utf8");
        const ingress = https.createServer({ cert: ca, key: fs.readFileSync(key) }, (req, res) => {
            tls.host = req.headers.host;
            tls.servername = (req.socket as TLSSocket).servername as string;
            res.writeHead(req.url === "/health" ? 200 : 503).end();
        });
        servers.push(ingress);
        ports.ingress = await listen(ingress);

        // kubectl and pulumi stand-ins, on the PATH of the command's run below.
        bin = path.join(tmp, "bin");
        fs.mkdirSync(bin);
        for (const [tool, source] of [["kubectl", FAKE_KUBECTL], ["pulumi", FAKE_PULUMI]]) {
            fs.writeFileSync(path.join(bin, `${tool}.js`), source);
            fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nexec '${process.execPath}' '${path.join(bin, `${tool}.js`)}' "$@"\n`, { mode: 0o755 });
        }
    });

    after(function () {
        for (const s of servers) {
            s.closeAllConnections();
            s.close();
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** Writes the stand-ins' cluster and clears their call log. */
    function cluster(c: object): void {
        fs.writeFileSync(path.join(bin, "cluster.json"), JSON.stringify(c));
        fs.rmSync(path.join(bin, "calls.log"), { force: true });
    }
    function calls(): Call[] {
        const log = path.join(bin, "calls.log");
        return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Call) : [];
    }
    /** Every port-forward the stand-in started has ended. */
    function assertNoForwardLeft(): void {
        for (const c of calls().filter((x) => x.args[0] === "port-forward")) {
            assert.throws(() => process.kill(c.pid as number, 0), { code: "ESRCH" }, `port-forward ${c.pid} still runs`);
        }
    }

    it("takes a 200 as healthy at once, and tries a 503 and a server that never answers again before giving up", async () => {
        Object.keys(hits).forEach((k) => (hits[k] = 0));
        const start = Date.now();
        const [healthy, failing, silent, refused] = await Promise.all([
            checkUrl(`http://127.0.0.1:${ports.healthy}/health`, OPTS),
            checkUrl(`http://127.0.0.1:${ports.failing}/health`, OPTS),
            checkUrl(`http://127.0.0.1:${ports.silent}/health`, OPTS),
            checkUrl("http://127.0.0.1:1/health", OPTS),
        ]);
        assert.deepEqual({ ...healthy, ms: 0 }, { ok: true, answer: { status: 200 }, attempts: 1, ms: 0 });
        assert.deepEqual({ ...failing, ms: 0 }, { ok: false, answer: { status: 503 }, attempts: 2, ms: 0 });
        assert.deepEqual({ ...silent, ms: 0 }, { ok: false, answer: { error: "no answer in 1 s" }, attempts: 2, ms: 0 });
        assert.ok(silent.ms >= 1000, `the last try waited its deadline (${silent.ms} ms)`);
        assert.equal(refused.ok, false);
        assert.match((refused.answer as { error: string }).error, /ECONNREFUSED 127\.0\.0\.1:1/);
        assert.deepEqual(hits, { healthy: 1, failing: 2, silent: 2 });
        assert.ok(Date.now() - start < 5000);
    });

    it("checks a public URL through the address --resolve gives, with the host's name for Host, SNI and the certificate", async () => {
        const resolve = [parseResolve(`${HOST}:127.0.0.1:${ports.ingress}`)];
        const ok = await checkUrl(`https://${HOST}/health`, { ...OPTS, resolve, ca });
        assert.deepEqual({ ...ok, ms: 0 }, { ok: true, answer: { status: 200 }, attempts: 1, ms: 0 });
        assert.deepEqual(tls, { host: HOST, servername: HOST });
        const down = await checkUrl(`https://${HOST}/down`, { ...OPTS, resolve, ca });
        assert.deepEqual(down.answer, { status: 503 });

        // Without trusting the certificate, or for a name it does not carry, no answer is taken.
        const untrusted = await checkUrl(`https://${HOST}/health`, { ...OPTS, resolve });
        assert.deepEqual(untrusted.answer, { error: "self-signed certificate" });
        const other = await checkUrl("https://other.test/health", { ...OPTS, resolve: [parseResolve(`other.test:127.0.0.1:${ports.ingress}`)], ca });
        assert.match((other.answer as { error: string }).error, /^Hostname\/IP does not match certificate's altnames: Host: other\.test\. is not in the cert's altnames: DNS:verify\.test$/);
    });

    it("checks a Service through a port-forward on the port kubectl reports, a fresh one per try, each stopped after", async () => {
        cluster({ ports: { backend: ports.healthy, frontend: ports.failing, worker: ports.silent } });
        const kubectlCommand = [process.execPath, path.join(bin, "kubectl.js")];
        const target = (service: string) => ({ namespace: NAMESPACE, service, port: 8000 });
        const [backend, frontend, worker, missing] = await Promise.all(["backend", "frontend", "worker", "missing"].map((s) =>
            checkService(target(s), "/health", { ...OPTS, kubectlCommand, startTimeoutMs: 10_000 })));
        assert.deepEqual([backend.ok, backend.answer, backend.attempts], [true, { status: 200 }, 1]);
        assert.deepEqual([frontend.ok, frontend.answer, frontend.attempts], [false, { status: 503 }, 2]);
        assert.deepEqual([worker.ok, worker.answer, worker.attempts], [false, { error: "no answer in 1 s" }, 2]);
        assert.deepEqual([missing.ok, missing.answer, missing.attempts], [false, { error: "port-forward exited (1): error: services \"missing\" not found" }, 2]);
        const forwards = calls().map((c) => c.args.join(" ")).sort();
        assert.deepEqual(forwards, ["backend", "frontend", "frontend", "missing", "missing", "worker", "worker"].map((s) =>
            `port-forward --namespace ${NAMESPACE} svc/${s} :8000 --address 127.0.0.1`));
        assertNoForwardLeft();
    });

    /** Runs the command as `npm run verify` does, with the stand-ins first on its PATH. */
    function verify(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "verify.ts"), ...args],
                { cwd: ROOT, env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }
    const check = (service: string, port: number, healthPath: string, publicUrl?: string) =>
        ({ service, namespace: NAMESPACE, port, healthPath, ...(publicUrl ? { publicUrl } : {}) });
    const waiting = "Waiting for deployment \"frontend\" rollout to finish: 0 of 2 updated replicas are available...";

    it("as a command: reads the stack's outputs, waits for the rollouts, checks every service and names the unhealthy ones, exit 1", async () => {
        cluster({
            outputs: { namespace: NAMESPACE, databaseUrl: "[secret]", healthChecks: [check("backend", 8000, "/health"), check("frontend", 80, "/"), check("worker", 9000, "/healthz")] },
            workloads: [{ name: "deployment.apps/backend" }, { name: "deployment.apps/frontend", waiting }, { name: "statefulset.apps/postgres" }],
            events: [{ type: "Warning", reason: "FailedScheduling", message: "0/3 nodes are available", involvedObject: { kind: "Pod", name: "frontend-7d9cbf5b4-x2k9p" }, lastTimestamp: "2026-11-30T10:00:02Z" }],
            ports: { backend: ports.healthy, frontend: ports.failing, worker: ports.silent },
        });
        const r = await verify(["--stack", "shop-dev", "--timeout", "30", "--request-timeout", "1", "--attempts", "2"]);
        assert.equal(r.status, 1, r.stderr);
        assert.deepEqual(r.stdout.replace(/in \d+ ms/g, "in N ms").trim().split("\n"), [
            `waiting up to 30 s for 3 rollouts in namespace ${NAMESPACE}`,
            "rollout deployment/backend: ok",
            `rollout deployment/frontend: FAILED, not rolled out in 30 s: ${waiting}`,
            "    Warning FailedScheduling pod/frontend-7d9cbf5b4-x2k9p: 0/3 nodes are available",
            "rollout statefulset/postgres: ok",
            "health backend: ok, GET svc/backend:8000/health (port-forward): HTTP 200 in N ms",
            "health frontend: FAILED, GET svc/frontend:80/ (port-forward): HTTP 503 after 2 tries",
            "health worker: FAILED, GET svc/worker:9000/healthz (port-forward): no answer in 1 s after 2 tries",
            "verify shop-dev: UNHEALTHY: deployment/frontend (not rolled out in 30 s), frontend (HTTP 503 after 2 tries), worker (no answer in 1 s after 2 tries)",
        ]);
        const made = calls().map((c) => `${c.tool} ${c.args.join(" ")}`);
        assert.equal(made[0], "pulumi stack output --json --stack shop-dev --non-interactive");
        assert.equal(made[1], `kubectl get deployments,statefulsets --namespace ${NAMESPACE} --output name`);
        assert.deepEqual(made.filter((c) => c.includes(" rollout ")).sort(), ["deployment.apps/backend", "deployment.apps/frontend", "statefulset.apps/postgres"]
            .map((w) => `kubectl rollout status ${w} --namespace ${NAMESPACE} --timeout=30s`));
        assert.ok(made.includes(`kubectl get events --namespace ${NAMESPACE} --output json`));
        assertNoForwardLeft();
    });

    it("as a command: all healthy through the Ingress at a --resolve address, its CA trusted through NODE_EXTRA_CA_CERTS, exit 0", async () => {
        cluster({
            outputs: { namespace: NAMESPACE, healthChecks: [check("backend", 8000, "/health"), check("frontend", 80, "/health", `https://${HOST}`)] },
            workloads: [{ name: "deployment.apps/frontend" }],
            events: [],
            ports: {},
        });
        const r = await verify(["--stack", "shop-dev", "--via", "ingress", "--resolve", `${HOST}:127.0.0.1:${ports.ingress}`],
            { NODE_EXTRA_CA_CERTS: path.join(tmp, "tls.crt") });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(r.stdout.replace(/in \d+ ms/g, "in N ms").trim().split("\n"), [
            `waiting up to 300 s for 1 rollout in namespace ${NAMESPACE}`,
            "rollout deployment/frontend: ok",
            "health backend: skipped, the Ingress does not send /health to it (check it with --via port-forward)",
            `health frontend: ok, GET https://${HOST}/health: HTTP 200 in N ms`,
            "verify shop-dev: healthy (1 rollout finished, 1 service answered 2xx)",
        ]);
        assert.equal(calls().some((c) => c.args[0] === "get" && c.args[1] === "events"), false, "no events read when every rollout finished");
    });
});
