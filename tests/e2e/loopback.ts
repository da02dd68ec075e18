// What the tests that run a pod's containers as real processes on loopback share: the container's
// environment and arguments as the kubelet would give them, and a server process that is stopped as
// the kubelet stops a container, its output in files.

import * as assert from "assert/strict";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { killTree } from "./live";

export type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };

/** A container's environment as the kubelet sets it, `secret` holding the Secret's keys it refers to. */
export function kubeletEnv(env: readonly EnvVar[], secret: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(env.map((e) => {
        const key = e.valueFrom?.secretKeyRef?.key;
        assert.ok(e.value !== undefined || (key !== undefined && key in secret), `env ${e.name} has a value or a key of the Secret`);
        return [e.name, e.value ?? secret[key as string]];
    }));
}

/** `$(NAME)` replaced from `env`, `$$` as `$`, as the kubelet expands a container's command and args. */
export function kubeletExpand(arg: string, env: Readonly<Record<string, string>>): string {
    return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (name === undefined ? "$" : env[name] ?? m));
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (what a tcpSocket probe checks). */
export function tcpOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.setTimeout(1000);
        const done = (open: boolean) => {
            s.destroy();
            resolve(open);
        };
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
        s.once("timeout", () => done(false));
    });
}

/** A server started for a test, its output kept. */
export interface ServerProcess {
    readonly child: ChildProcess;
    stdout(): string;
    stderr(): string;
    /** Both, for failure messages and checks that the log holds no secret. */
    log(): string;
    /** Resolves with the exit code or signal name once the process has ended. */
    readonly exited: Promise<number | string>;
    /** SIGKILL to the process and everything below it (for clean-up after a failure). */
    kill(): void;
}

/**
 * Starts `command` in `cwd` with exactly `env` (nothing inherited), its output into files
 * `<log>.out` and `<log>.err`: a pipe that this process stopped reading while it waits on a client
 * (spawnSync) would fill and block the server's logging, as a container runtime never does.
 */
export function startServer(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, log: string): ServerProcess {
    const [out, err] = [`${log}.out`, `${log}.err`];
    const files = [fs.openSync(out, "w"), fs.openSync(err, "w")];
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", ...files] });
    files.forEach((fd) => fs.closeSync(fd));
    const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "")));
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    const kill = () => {
        if (child.pid && child.exitCode === null && child.signalCode === null) {
            killTree(child.pid);
        }
    };
    return { child, stdout: () => read(out), stderr: () => read(err), log: () => read(out) + read(err), exited, kill };
}

/**
 * SIGTERM, as the kubelet stops a container; resolves once the process has exited, failing after
 * `graceSeconds` (the pod's terminationGracePeriodSeconds, 30 unless it sets one). Nothing to do
 * for a server not started or already ended.
 */
export async function stopServer(p: ServerProcess | undefined, graceSeconds = 30): Promise<void> {
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) {
        return;
    }
    p.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${graceSeconds} s after SIGTERM`)), graceSeconds * 1000);
    });
    try {
        await Promise.race([p.exited, late]);
    } finally {
        clearTimeout(timer);
    }
}

/** Waits until 127.0.0.1:`port` accepts connections, failing early if `proc` ends. */
export async function waitForPort(proc: ServerProcess, port: number, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await tcpOpen(port))) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
            throw new Error(`exited (${proc.child.exitCode ?? proc.child.signalCode}) before listening on ${port}:\n${proc.stdout().slice(-4000)}\n${proc.stderr()}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`nothing listened on ${port} within ${seconds} s:\n${proc.stdout().slice(-4000)}\n${proc.stderr()}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Polls `ready` every 100 ms until it is true; fails with `log()` after `seconds`. */
export async function until(what: string, ready: () => boolean | Promise<boolean>, seconds: number, log: () => string): Promise<void> {
    for (let n = 0; n < seconds * 10; n++) {
        if (await ready()) {
            return;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${what} never happened in ${seconds} s:\n${log()}`);
}
