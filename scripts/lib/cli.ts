// What the project's commands (secrets, rollback) share: the Pulumi CLI run in the project folder,
// and the entry point that turns a thrown error into one line and exit code 1.

import { spawnSync } from "child_process";
import * as path from "path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/**
 * Runs `pulumi args` in the project folder and returns its standard output; throws with its
 * standard error when it fails. `input` goes to standard input (how secrets are passed, never on a
 * command line); `show` lets the command print straight to the terminal (previews, updates).
 */
export function pulumi(args: string[], opts: { input?: string; show?: boolean } = {}): string {
    const r = spawnSync("pulumi", args, {
        cwd: PROJECT_DIR, input: opts.input, encoding: "utf8", maxBuffer: 1 << 28,
        stdio: opts.show ? ["ignore", "inherit", "inherit"] : ["pipe", "pipe", "pipe"],
    });
    if (r.error) {
        throw new Error(`cannot run pulumi (${r.error.message}); build the toolchain with 'npm run toolchain' and load its environment, or install the Pulumi CLI`);
    }
    if (r.status !== 0) {
        // Never more of the command line than its first words: a value could follow.
        throw new Error(`pulumi ${args.filter((a) => !a.startsWith("--secret")).slice(0, 3).join(" ")} failed${r.stderr ? `:\n${r.stderr.trim()}` : ""}`);
    }
    return r.stdout ?? "";
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
