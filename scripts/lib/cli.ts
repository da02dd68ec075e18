// What the project's commands (secrets, rollback, db) share: the Pulumi CLI run in the project
// folder, kubectl, and the entry point that turns a thrown error into one line and exit code 1.

import { spawnSync } from "child_process";
import * as path from "path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface RunOptions {
    /** Standard input (how secrets and manifests are passed, never on a command line). */
    readonly input?: string;
    /** Let the command print straight to the terminal (previews, updates). */
    readonly show?: boolean;
}

/** Runs `tool args` in the project folder and returns its standard output; throws with its standard error when it fails. */
function run(tool: string, missing: string, args: string[], opts: RunOptions): string {
    const r = spawnSync(tool, args, {
        cwd: PROJECT_DIR, input: opts.input, encoding: "utf8", maxBuffer: 1 << 28,
        stdio: opts.show ? ["ignore", "inherit", "inherit"] : ["pipe", "pipe", "pipe"],
    });
    if (r.error) {
        throw new Error(`cannot run ${tool} (${r.error.message}); ${missing}`);
    }
    if (r.status !== 0) {
        // Never more of the command line than its first words: a value could follow.
        throw new Error(`${tool} ${args.filter((a) => !a.startsWith("--secret")).slice(0, 3).join(" ")} failed${r.stderr ? `:\n${r.stderr.trim()}` : ""}`);
    }
    return r.stdout ?? "";
}

/** Runs `pulumi args` in the project folder (see `run`). */
export function pulumi(args: string[], opts: RunOptions = {}): string {
    return run("pulumi", "build the toolchain with 'npm run toolchain' and load its environment, or install the Pulumi CLI", args, opts);
}

/** Runs `kubectl args` in the project folder (see `run`). */
export function kubectl(args: string[], opts: RunOptions = {}): string {
    return run("kubectl", "build the toolchain with 'npm run toolchain' and load its environment, or install kubectl", args, opts);
}

/** Runs a command's `main` when its file is the entry point, reporting errors as `<name>: message`. */
export function runCommand(name: string, module: NodeModule, main: (argv: string[]) => number): void {
    if (require.main !== module) {
        return;
    }
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        console.error(`${name}: ${(e as Error).message}`);
        process.exitCode = 1;
    }
}
