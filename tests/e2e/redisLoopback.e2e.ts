// Redis's pod (components/redis.ts) run as a real process on loopback: the local cluster runs no
// containers, so the container's own args, its probe command and its environment run here with
// Debian's redis-server (.ci/e2e installs it), the args' $(REDIS_PASSWORD) expanded as the kubelet
// expands it. What differs from the pod: `--dir` (the volume) is a temporary folder, and `--bind
// 127.0.0.1` is added (the container listens on every address of its own network namespace; here
// that would be the machine's). The port is the pod's 6379, so the probe command runs unchanged.
// Debian's server is 7.0, the image's 7.2: every setting used here exists in both.

import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploymentSpec } from "../../components/redis";
import { stackConfig } from "../../scripts/lib/mockRun";
import { resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import { RedisSpec } from "../../stacks/types";
import { which } from "./localPostgres";
import { EnvVar, ServerProcess, kubeletEnv, kubeletExpand, startServer, stopServer, tcpOpen, until } from "./loopback";

// What a user may set with `pulumi config set --secret redisPassword`: characters a shell or a URL would mangle.
const PASSWORD = "p@ss:w/rd %2F $(id) `id` 'q\" x";
const PORT = 6379;

type Probe = { exec: { command: string[] } };
type Container = { command: string[]; args: string[]; env: EnvVar[]; startupProbe: Probe; readinessProbe: Probe; livenessProbe: Probe };

const prod = resolveConfig("prod", stackConfig("prod"), { set: [...SECRET_KEYS], plaintext: [] });

/** The Redis container of the prod stack's pod, with `spec` changes. */
function redisContainer(spec: Partial<RedisSpec> = {}): Container {
    const d = deploymentSpec({
        namespace: "kaizen-studio", appName: prod.appName, labels: {}, checksumKey: "k", exporter: false, networkPolicy: { podSelector: {} },
        spec: { ...prod.redis, ...spec }, password: PASSWORD,
    }, "s") as unknown as { template: { spec: { containers: Container[] } } };
    return d.template.spec.containers[0];
}

/** Runs a probe's exec command as the kubelet would in the container: its environment, no shell of ours. */
function probe(p: Probe, env: Record<string, string>): number | null {
    return spawnSync(p.exec.command[0], p.exec.command.slice(1), { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" }).status;
}

describe("loopback: Redis's container args, probes and persistence with a real redis-server", function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-redis-"));
    // The server's output beside, not on, the volume.
    const logs = fs.mkdtempSync(path.join(os.tmpdir(), "platform-redis-logs-"));
    let server: ServerProcess | undefined;
    let starts = 0;
    const log = () => server?.log() ?? "";
    /** The kubelet's environment for `c`: the credentials Secret holds the password. */
    const envOf = (c: Container) => kubeletEnv(c.env, { REDIS_PASSWORD: PASSWORD });

    /** Starts redis-server with the container's args (expanded), the volume at `dir`; resolves once the startup probe passes. */
    async function start(c: Container): Promise<void> {
        assert.deepEqual(c.command, ["redis-server"]);
        const env = envOf(c);
        const args = c.args.map((a) => kubeletExpand(a, env));
        args[args.indexOf("--dir") + 1] = dir;
        server = startServer(which("redis-server") ?? "redis-server", [...args, "--bind", "127.0.0.1"], { PATH: process.env.PATH, ...env }, dir, path.join(logs, `redis-${++starts}`));
        await until("the startup probe passing", () => probe(c.startupProbe, env) === 0, 10, log);
    }

    /** redis-cli with the password; `input`: commands, one per line, instead of `args`. */
    function cli(...args: string[]): string {
        return cliWith(args);
    }
    function cliWith(args: string[], input?: string): string {
        const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(PORT), ...args], { env: { PATH: process.env.PATH, REDISCLI_AUTH: PASSWORD }, encoding: "utf8", input });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
    }

    before(async () => {
        assert.ok(which("redis-server") && which("redis-cli"), "no redis-server: apt-get install redis-server (.ci/e2e does)");
        assert.equal(await tcpOpen(PORT), false, `port ${PORT} is taken on loopback: stop what listens there`);
    });

    after(async () => {
        await stopServer(server);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(logs, { recursive: true, force: true });
    });

    it("starts with the pod's args; its probes pass with the pod's environment and fail without the password", async () => {
        const c = redisContainer();
        await start(c);
        const env = envOf(c);
        assert.equal(probe(c.readinessProbe, env), 0);
        assert.equal(probe(c.livenessProbe, env), 0);
        const withoutAuth = Object.fromEntries(Object.entries(env).filter(([k]) => k !== "REDISCLI_AUTH"));
        assert.notEqual(probe(c.readinessProbe, withoutAuth), 0, "the server asks for the password");
        assert.equal(cli("CONFIG", "GET", "maxmemory"), `maxmemory\n${768 * 2 ** 20}`);
        assert.equal(cli("CONFIG", "GET", "maxmemory-policy"), "maxmemory-policy\nallkeys-lru");
        assert.equal(cli("CONFIG", "GET", "appendonly"), "appendonly\nyes");
        assert.equal(cli("CONFIG", "GET", "appendfsync"), "appendfsync\neverysec");
        assert.equal(cli("CONFIG", "GET", "dir"), `dir\n${fs.realpathSync(dir)}`);
        assert.doesNotMatch(log(), new RegExp(PASSWORD.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "the password is not in the log");
    });

    it("keeps what was written across a restart, in the append-only file on the volume", async () => {
        cli("SET", "session:1", "kept");
        await stopServer(server);
        assert.ok(fs.readdirSync(dir).includes("appendonlydir"), fs.readdirSync(dir).join(" "));
        await start(redisContainer());
        assert.equal(cli("GET", "session:1"), "kept");
    });

    it("evicts by the policy at maxmemory instead of refusing writes", async () => {
        await stopServer(server);
        await start(redisContainer({ maxmemory: "2mb" }));
        const value = "x".repeat(10_000);
        const replies = cliWith([], Array.from({ length: 500 }, (_, i) => `SET k${i} ${value}`).join("\n")).split("\n");
        assert.deepEqual([...new Set(replies)], ["OK"], "no write refused");
        const keys = Number(cli("DBSIZE"));
        assert.ok(keys > 0 && keys < 500, `some keys were evicted (${keys} left)`);
        assert.match(cli("INFO", "stats"), /^evicted_keys:[1-9]\d*\r?$/m);
    });

    it("takes every maxmemory form and policy the config accepts, and refuses those it refuses", () => {
        const read = (redis: Record<string, unknown>) => resolveConfig("dev", { ...stackConfig("dev"), redis: { enabled: true, ...redis } }, { set: [...SECRET_KEYS], plaintext: [] }).redis;
        for (const size of ["1073741824", "512b", "1k", "1kb", "768m", "768mb", "1g", "1gb", "768MB", "1G", "0"]) {
            assert.equal(cli("CONFIG", "SET", "maxmemory", read({ maxmemory: size }).maxmemory), "OK", size);
        }
        for (const size of ["1.5gb", "1tb", "-1", "1 gb", "1gib"]) {
            assert.throws(() => read({ maxmemory: size }), new RegExp(`redis\\.maxmemory: "${size}" is not allowed`));
            assert.match(cli("CONFIG", "SET", "maxmemory", size), /^ERR /, size);
        }
        for (const policy of ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]) {
            assert.equal(cli("CONFIG", "SET", "maxmemory-policy", read({ maxmemoryPolicy: policy }).maxmemoryPolicy), "OK", policy);
        }
    });
});
