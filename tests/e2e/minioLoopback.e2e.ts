// MinIO's pod (components/minio.ts) run as real processes on loopback: the local cluster runs no
// containers, so the container's command, args and environment, its HTTP probes, its metrics and its
// bucket-creation hook run here with MinIO built from the image's own release (RELEASE.2025-09-07T16-13-09Z,
// commit 07c3a429bfed) and mc from the Go module proxy (goTool.ts). What differs from the pod: the
// volume and the writable /tmp are temporary folders, and the server binds 127.0.0.1 (the
// container listens on every address of its own network namespace; here that would be the
// machine's). The port is the pod's 9000, which the hook's `mc alias set` names.

import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MINIO_METRICS_PATH, credentials, statefulSetSpec } from "../../components/minio";
import { MINIO_PORT } from "../../components/networkGraph";
import { alertRules } from "../../components/monitoring";
import { stackConfig } from "../../scripts/lib/mockRun";
import { resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import { goTool } from "./goTool";
import { EnvVar, ServerProcess, kubeletEnv, startServer, stopServer, until } from "./loopback";

const MINIO_MODULE = "github.com/minio/minio@v0.0.0-20250907161309-07c3a429bfed";
const MC_MODULE = "github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9";
// What a user may set with `pulumi config set --secret minioRootPassword`: characters a URL or a shell would mangle.
const PASSWORD = "p@ss:w/rd %2F $(id) `id` 'q\" x";
const BUCKETS = ["uploads", "media.assets-2026"];

type HttpProbe = { httpGet: { path: string; port: string } };
type Container = {
    command: string[]; args: string[]; env: EnvVar[]; volumeMounts: { name: string; mountPath: string }[];
    startupProbe: HttpProbe; readinessProbe: HttpProbe; livenessProbe: HttpProbe;
    lifecycle: { postStart: { exec: { command: string[] } } };
};

const raw = { ...stackConfig("dev"), minio: { enabled: true, buckets: BUCKETS } };
const dev = resolveConfig("dev", raw, { set: [...SECRET_KEYS], plaintext: [] });
const container = (statefulSetSpec({
    namespace: "kaizen-studio-dev", appName: dev.appName, labels: {}, checksumKey: "k", exporter: true, networkPolicy: { podSelector: {} },
    spec: dev.minio, password: PASSWORD,
}, "s") as unknown as { template: { spec: { containers: Container[] } } }).template.spec.containers[0];

describe("loopback: MinIO's container, probes, metrics and bucket hook with the image's own MinIO release", function () {
    this.timeout(1_200_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-minio-"));
    const volume = path.join(dir, "data");
    const tmp = path.join(dir, "tmp");
    let server: ServerProcess | undefined;
    let starts = 0;
    const log = () => server?.log() ?? "";
    let bin = "";
    let env: Record<string, string> = {};

    /** The container's path on this machine: the volume and the writable /tmp are folders of `dir`. */
    const local = (p: string) => p.replace(/^\/data\b/, volume).replace(/^\/tmp\b/, tmp);

    async function start(): Promise<void> {
        assert.deepEqual(container.command, ["minio"]);
        const args = container.args.map(local).map((a) => (a === `:${MINIO_PORT}` ? `127.0.0.1:${MINIO_PORT}` : a));
        server = startServer(path.join(bin, "minio"), args, { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...env }, dir, path.join(dir, `minio-${++starts}`));
        await until("the startup probe passing", async () => await status(container.startupProbe) === 200, 30, log);
    }

    async function status(p: HttpProbe): Promise<number> {
        assert.equal(p.httpGet.port, "s3");
        try {
            return (await fetch(`http://127.0.0.1:${MINIO_PORT}${p.httpGet.path}`)).status;
        } catch {
            return 0;
        }
    }

    /** The postStart hook's command, as the kubelet runs it in the container: its environment, mc on PATH. */
    function hook() {
        const [cmd, ...args] = container.lifecycle.postStart.exec.command;
        return spawnSync(cmd, args, { env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...env }, encoding: "utf8" });
    }

    function mc(...args: string[]): string {
        const r = spawnSync(path.join(bin, "mc"), ["--json", ...args], { env: { PATH: process.env.PATH, HOME: dir, ...env }, encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        return r.stdout;
    }

    before(() => {
        // Both binaries in one folder: the hook calls `mc` by name, as the image has it on PATH.
        bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(goTool(MINIO_MODULE, "minio"), path.join(bin, "minio"));
        fs.symlinkSync(goTool(MC_MODULE, "mc"), path.join(bin, "mc"));
        fs.mkdirSync(volume);
        fs.mkdirSync(tmp);
        // The kubelet's environment: plain values, and the credentials Secret's keys.
        const secret = credentials(PASSWORD);
        env = Object.fromEntries(Object.entries(kubeletEnv(container.env, secret)).map(([k, v]) => [k, local(v)]));
        assert.deepEqual(Object.keys(env).sort(), ["MC_CONFIG_DIR", "MINIO_BROWSER", "MINIO_PROMETHEUS_AUTH_TYPE", "MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER"]);
    });

    after(async () => {
        await stopServer(server);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("starts with the pod's command and environment; live and ready probes answer 200; it listens only on the S3 port", async () => {
        await start();
        assert.equal(await status(container.livenessProbe), 200);
        assert.equal(await status(container.readinessProbe), 200);
        const listening = spawnSync("ss", ["-Hltnp"], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes(`pid=${server?.child.pid},`));
        // Only the S3 port, on loopback (IPv4 and IPv6): no console port (MINIO_BROWSER=off).
        assert.deepEqual(listening.map((l) => l.trim().split(/\s+/)[3]).sort(), [`127.0.0.1:${MINIO_PORT}`, `[::1]:${MINIO_PORT}`]);
        assert.doesNotMatch(log(), /p@ss:w\/rd/, "the password is not in the log");
    });

    it("serves the metrics the MinioDown alert reads, without a token", async () => {
        const res = await fetch(`http://127.0.0.1:${MINIO_PORT}${MINIO_METRICS_PATH}`);
        assert.equal(res.status, 200);
        const body = await res.text();
        const rule = alertRules({ namespaceName: "ns", httpServices: [], postgres: false, redis: false, kafka: false, minio: true, thresholds: dev.monitoring.alerts })
            .find((r) => r.alert === "MinioDown");
        const metric = /^(\w+)\{/.exec(rule?.expr ?? "")?.[1] ?? "";
        assert.equal(metric, "minio_cluster_nodes_online_total");
        assert.match(body, new RegExp(`^${metric}\\{[^}]*\\} 1$`, "m"), "one node online");
    });

    it("creates the configured buckets with the hook, a password full of ':' '@' '/' '%' and quotes working, and again after a restart (idempotent)", async () => {
        const first = hook();
        assert.equal(first.status, 0, first.stdout + first.stderr);
        const buckets = () => mc("ls", "local").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { key: string }).key.replace(/\/$/, "")).sort();
        assert.deepEqual(buckets(), [...BUCKETS].sort());
        fs.writeFileSync(path.join(dir, "object.txt"), "kept");
        mc("cp", path.join(dir, "object.txt"), `local/${BUCKETS[0]}/object.txt`);
        await stopServer(server);
        await start();
        const again = hook();
        assert.equal(again.status, 0, again.stdout + again.stderr);
        assert.deepEqual(buckets(), [...BUCKETS].sort());
        assert.equal(JSON.parse(mc("stat", `local/${BUCKETS[0]}/object.txt`)).size, 4, "the object is still on the volume");
    });
});
