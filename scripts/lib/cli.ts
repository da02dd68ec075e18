// What the project's commands (secrets, rollback, verify, db) share: the Pulumi CLI and kubectl run in
// the project folder, and the entry point that turns a thrown error into one line and exit code 1.

import { spawn, spawnSync } from "child_process";
import * as path from "path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

const INSTALL_HINTS: Readonly<Record<string, string>> = {
    pulumi: "build the toolchain with 'npm run toolchain' and load its environment, or install the Pulumi CLI",
    kubectl: "build the toolchain with 'npm run toolchain' and load its environment, or install kubectl",
};

function cannotRun(tool: string, e: Error): Error {
    return new Error(`cannot run ${tool} (${e.message}); ${INSTALL_HINTS[tool]}`);
}

/** How a tool run ended. */
export interface Ran {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs `tool args` in the project folder without blocking, and resolves with how it ended, failure
 * included (what failed is the caller's report); rejects only when the tool cannot be started.
 */
export function runAsync(tool: string, args: string[]): Promise<Ran> {
    return new Promise((resolve, reject) => {
        const child = spawn(tool, args, { cwd: PROJECT_DIR, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", (e) => reject(cannotRun(tool, e)));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/**
 * Runs `tool args` in the project folder and returns its standard output; throws with its standard
 * error when it fails. `input` goes to standard input (how secrets are passed, never on a command
 * line); `show` lets the command print straight to the terminal (previews, updates).
 */
function run(tool: string, args: string[], opts: { input?: string; show?: boolean } = {}): string {
    const r = spawnSync(tool, args, {
        cwd: PROJECT_DIR, input: opts.input, encoding: "utf8", maxBuffer: 1 << 28,
        stdio: opts.show ? ["ignore", "inherit", "inherit"] : ["pipe", "pipe", "pipe"],
    });
    if (r.error) {
        throw cannotRun(tool, r.error);
    }
    if (r.status !== 0) {
        // Never more of the command line than its first words: a value could follow.
        throw new Error(`${tool} ${args.filter((a) => !a.startsWith("--secret")).slice(0, 3).join(" ")} failed${r.stderr ? `:\n${r.stderr.trim()}` : ""}`);
    }
    return r.stdout ?? "";
}

/** `run` of the Pulumi CLI. */
export function pulumi(args: string[], opts: { input?: string; show?: boolean } = {}): string {
    return run("pulumi", args, opts);
}

/** `run` of kubectl (the current KUBECONFIG and context); `input`: a manifest on standard input. */
export function kubectl(args: string[], opts: { input?: string } = {}): string {
    return run("kubectl", args, opts);
}

/**
 * Runs a command's `main` (which may be async) when its file is the entry point, reporting errors as
 * `<name>: message`.
 */
export function runCommand(name: string, module: NodeModule, main: (argv: string[]) => number | Promise<number>): void {
    if (require.main !== module) {
        return;
    }
    const fail = (e: unknown) => {
        console.error(`${name}: ${(e as Error).message}`);
        process.exitCode = 1;
    };
    try {
        Promise.resolve(main(process.argv.slice(2))).then((code) => (process.exitCode = code), fail);
    } catch (e) {
        fail(e);
    }
}
