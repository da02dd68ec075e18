// What the tests that run a pod's containers as real processes on loopback share: the container's
// environment and arguments as the kubelet would give them, and a server process that is stopped as
// the kubelet stops a container.

import * as assert from "assert/strict";
import { ChildProcess, spawn } from "child_process";

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

/** A server started for a test, its output collected. */
export class ServerProcess {
    private child: ChildProcess | undefined;
    log = "";

    start(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): void {
        assert.equal(this.child, undefined, "already started");
        const child = spawn(command, args, { env, cwd });
        child.stdout?.on("data", (d) => { this.log += d; });
        child.stderr?.on("data", (d) => { this.log += d; });
        this.child = child;
    }

    get pid(): number | undefined {
        return this.child?.pid;
    }

    /** SIGTERM, as the kubelet stops a container; resolves once the process has exited. */
    async stop(): Promise<void> {
        const child = this.child;
        this.child = undefined;
        if (child && child.exitCode === null && child.signalCode === null) {
            await new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); });
        }
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
