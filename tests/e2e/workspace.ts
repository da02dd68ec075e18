// A throwaway copy of the project for end-to-end runs: the committed files, node_modules linked,
// a file state backend and a random passphrase, so nothing touches the developer's stacks or the
// committed Pulumi.<stack>.yaml files.

import { SpawnSyncReturns, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");

const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "index.ts", "package.json", "tsconfig.json", "tsconfig.pulumi.json"];
const PROJECT_DIRS = ["components", "stacks", "scripts", "policy"];

export interface Workspace {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    /** Runs a command in the workspace; fails the test with its output when it exits non-zero. */
    run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string>;
    /** Runs a command and returns its result whatever the exit code. */
    tryRun(cmd: string, args: string[], input?: string): SpawnSyncReturns<string>;
    read(file: string): string;
    dispose(): void;
}

export function createWorkspace(): Workspace {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-e2e-"));
    for (const f of PROJECT_FILES) {
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    for (const d of PROJECT_DIRS) {
        fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, ".state"));
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
        PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(24).toString("base64url"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const tryRun = (cmd: string, args: string[], input?: string) =>
        spawnSync(cmd, args, { cwd: dir, env, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    return {
        dir,
        env,
        tryRun,
        run(cmd, args, input) {
            const r = tryRun(cmd, args, input);
            if (r.error || r.status !== 0) {
                throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.error?.message ?? ""}\n${r.stdout}\n${r.stderr}`);
            }
            return r;
        },
        read: (file) => fs.readFileSync(path.join(dir, file), "utf8"),
        dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}
