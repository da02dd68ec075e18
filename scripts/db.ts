// The database command: restore the app database from a dump in the stack's backup volume, or list
// the dumps. Each runs as a one-off Job in the backup pods' own template
// (components/postgresBackup.ts): the PostgreSQL server's image, the restricted security context,
// the password from the credentials Secret, the NetworkPolicy that lets the backups reach PostgreSQL.
//
//   npm run db -- list --stack prod
//   npm run db -- restore --stack prod --from kaizen_studio-20261130T030000Z.dump [--dry-run]
//
// It reads the stack's outputs (`namespace`, `postgresBackup`) and its `cluster` config (kubeconfig,
// context) with the Pulumi CLI, and talks to the cluster with kubectl. A restore waits for its Job,
// prints the log's tail and exits 1 when it fails; `--dry-run` prints the Job it would create, has
// the API server check it without creating it, and prints what the dump holds (`pg_restore --list`,
// in a Job that only reads the volume), changing nothing in the database.

import * as path from "path";
import { stringify } from "yaml";
import { BACKUP_FILE, BackupTarget, BackupTask, JobManifest, backupFileProblem, oneOffJob } from "../components/postgresBackup";
import { POSTGRES_BACKUP } from "../components/networkGraph";
import { PROJECT_DIR, kubectl, pulumi, runCommand } from "./lib/cli";

const USAGE = [
    "usage: npm run db -- list --stack <name>",
    "       npm run db -- restore --stack <name> --from <dump file name, as list shows it> [--dry-run]",
].join("\n");

export type DbCommand =
    | { readonly command: "list"; readonly stack: string }
    | { readonly command: "restore"; readonly stack: string; readonly from: string; readonly dryRun: boolean };

export class UsageError extends Error {}

/** The command line, checked: one command, its flags and nothing else; `--from` a dump's plain file name. */
export function parseArgs(argv: readonly string[]): DbCommand {
    const flags = new Map<string, string | true>();
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--dry-run") {
            flags.set(a, true);
        } else if (a === "--stack" || a === "--from") {
            const value = argv[i + 1];
            if (value === undefined || value.startsWith("--")) {
                throw new UsageError(`${a} needs a value`);
            }
            flags.set(a, value);
            i++;
        } else if (a.startsWith("-")) {
            throw new UsageError(`unknown option ${a}`);
        } else {
            positional.push(a);
        }
    }
    const [command, ...extra] = positional;
    if (command !== "list" && command !== "restore") {
        throw new UsageError(command === undefined ? "a command is needed: list or restore" : `unknown command '${command}': list or restore`);
    }
    if (extra.length) {
        throw new UsageError(`unexpected argument '${extra[0]}'`);
    }
    const stack = flags.get("--stack");
    if (typeof stack !== "string") {
        throw new UsageError("--stack is required");
    }
    if (command === "list") {
        const misplaced = ["--from", "--dry-run"].find((f) => flags.has(f));
        if (misplaced) {
            throw new UsageError(`${misplaced} is for restore only`);
        }
        return { command, stack };
    }
    const from = flags.get("--from");
    if (typeof from !== "string") {
        throw new UsageError("restore needs --from <dump file name> (npm run db -- list shows them)");
    }
    if (!BACKUP_FILE.test(from)) {
        throw new UsageError(`--from '${from}' is not the file name of a dump in the backup volume: <database>-<YYYYMMDDTHHMMSSZ>.dump, a plain name without a path`);
    }
    return { command, stack, from, dryRun: flags.has("--dry-run") };
}

/** `pulumi stack output --json` or `pulumi config --json` of a stack, as the CLI prints it. */
type Json = Record<string, unknown>;

/** Where a stack's backups are, from its outputs; throws when the stack has none. */
export function backupOutputs(stack: string, outputs: Json): { namespace: string; target: BackupTarget } {
    const target = outputs.postgresBackup as BackupTarget | undefined;
    if (typeof outputs.namespace !== "string" || typeof target !== "object" || target === null || typeof target.claimName !== "string") {
        throw new Error(`stack ${stack} has no PostgreSQL backups in its outputs: set postgres.backup.enabled (on by default in prod) and run 'pulumi up --stack ${stack}'`);
    }
    return { namespace: outputs.namespace, target };
}

/** kubectl's flags for the stack's cluster (`platform:cluster`), as the program's provider reaches it; none for the ambient kubeconfig. */
export function clusterFlags(config: Json): string[] {
    const entry = config["platform:cluster"] as { objectValue?: { kubeconfig?: string; context?: string } } | undefined;
    const cluster = entry?.objectValue ?? {};
    return [
        ...(cluster.kubeconfig ? ["--kubeconfig", path.resolve(PROJECT_DIR, cluster.kubeconfig)] : []),
        ...(cluster.context ? ["--context", cluster.context] : []),
    ];
}

export type JobOutcome = { readonly state: "running" } | { readonly state: "complete" } | { readonly state: "failed"; readonly reason: string };

/** A Job's state from its status: finished once its Complete or Failed condition is true. */
export function jobOutcome(job: { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }): JobOutcome {
    const conditions = (job.status?.conditions ?? []).filter((c) => c.status === "True");
    const failed = conditions.find((c) => c.type === "Failed");
    if (failed) {
        return { state: "failed", reason: [failed.reason, failed.message].filter(Boolean).join(": ") || "failed" };
    }
    return conditions.some((c) => c.type === "Complete") ? { state: "complete" } : { state: "running" };
}

/** What the command does to the world; tests give it fakes. */
export interface DbIo {
    readonly pulumi: (args: string[]) => string;
    readonly kubectl: (args: string[], input?: string) => string;
    readonly sleep: (ms: number) => void;
    readonly now: () => Date;
    readonly out: (text: string) => void;
    readonly err: (text: string) => void;
}

/** Lines of a failed Job's log shown with its error. */
const LOG_TAIL = 40;
/** Past the Job's own deadline, how long to wait for the Job controller to mark it failed. */
const DEADLINE_GRACE_MS = 120_000;
const POLL_MS = 2_000;

class Cluster {
    constructor(private readonly io: DbIo, private readonly flags: string[], private readonly namespace: string) {}

    kubectl(args: string[], input?: string): string {
        return this.io.kubectl([...args, "-n", this.namespace, ...this.flags], input);
    }

    /** Creates the Job, waits until it finishes (or its deadline has long passed), and returns its outcome and log. */
    run(job: JobManifest, opts: { tail?: number; keep: boolean }): { outcome: JobOutcome; log: string } {
        const name = job.metadata.name;
        this.kubectl(["create", "-f", "-"], JSON.stringify(job));
        const deadline = this.io.now().getTime() + (job.spec.activeDeadlineSeconds as number) * 1000 + DEADLINE_GRACE_MS;
        let outcome = jobOutcome(JSON.parse(this.kubectl(["get", "job", name, "-o", "json"])));
        while (outcome.state === "running") {
            if (this.io.now().getTime() > deadline) {
                throw new Error(`job ${name} has not finished after its deadline; it is left in place: kubectl -n ${this.namespace} describe job ${name}`);
            }
            this.io.sleep(POLL_MS);
            outcome = jobOutcome(JSON.parse(this.kubectl(["get", "job", name, "-o", "json"])));
        }
        let log: string;
        try {
            log = this.kubectl(["logs", `job/${name}`, ...(opts.tail ? [`--tail=${opts.tail}`] : [])]);
        } catch (e) {
            log = `(no log: ${(e as Error).message.split("\n").pop()}; kubectl -n ${this.namespace} describe job ${name})`;
        }
        if (!opts.keep) {
            this.kubectl(["delete", "job", name, "--wait=false"]);
        }
        return { outcome, log };
    }
}

function jobFailure(task: BackupTask, job: JobManifest, namespace: string, outcome: JobOutcome, log: string): string {
    const reason = outcome.state === "failed" ? outcome.reason : "";
    return `the ${task} job ${job.metadata.name} failed (${reason}); the last lines of its log:\n${log.trimEnd()}\n` +
        `(kubectl -n ${namespace} describe job ${job.metadata.name}; the Job is removed a day after it finished)`;
}

export function run(argv: string[], io: DbIo): number {
    let cmd: DbCommand;
    try {
        cmd = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            io.err(`db: ${e.message}\n${USAGE}`);
            return 2;
        }
        throw e;
    }
    const { namespace, target } = backupOutputs(cmd.stack, JSON.parse(io.pulumi(["stack", "output", "--json", "--stack", cmd.stack, "--non-interactive"])));
    const cluster = new Cluster(io, clusterFlags(JSON.parse(io.pulumi(["config", "--json", "--stack", cmd.stack, "--non-interactive"]))), namespace);
    const at = io.now();

    if (cmd.command === "list") {
        const job = oneOffJob(target, namespace, "list", "", at);
        const { outcome, log } = cluster.run(job, { keep: false });
        if (outcome.state !== "complete") {
            io.err(jobFailure("list", job, namespace, outcome, log));
            return 1;
        }
        io.out(`dumps in the backup volume ${target.claimName} of stack ${cmd.stack} (restore one with --from <name>):\n${log.trimEnd()}`);
        return 0;
    }

    const problem = backupFileProblem(cmd.from, target.database);
    if (problem) {
        io.err(`db: ${problem}`);
        return 2;
    }
    const restore = oneOffJob(target, namespace, "restore", cmd.from, at);
    if (cmd.dryRun) {
        io.out(`# the Job a restore of ${cmd.from} would create:\n${stringify(restore)}`);
        cluster.kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(restore));
        io.out("the API server accepts it (server-side dry run: validation, admission, Pod Security, quota)");
        const plan = oneOffJob(target, namespace, "plan", cmd.from, at);
        const { outcome, log } = cluster.run(plan, { keep: false });
        if (outcome.state !== "complete") {
            io.err(jobFailure("plan", plan, namespace, outcome, log));
            return 1;
        }
        io.out(`# what pg_restore would drop and recreate in database ${target.database} (pg_restore --list):\n${log.trimEnd()}`);
        io.out("dry run: nothing was changed (the plan Job only read the dump, and is deleted)");
        return 0;
    }
    // A backup running now would dump a half-restored database and prune a good dump for it.
    const active = cluster.kubectl(["get", "cronjob", POSTGRES_BACKUP, "-o", "jsonpath={.status.active[*].name}"]).trim();
    if (active) {
        io.err(`db: a backup is running (${active}): wait for it to finish (kubectl -n ${namespace} get jobs), then restore`);
        return 1;
    }
    io.out(`restoring ${cmd.from} into database ${target.database} of stack ${cmd.stack} (job ${restore.metadata.name}); waiting for it to finish`);
    const { outcome, log } = cluster.run(restore, { tail: LOG_TAIL, keep: true });
    if (outcome.state !== "complete") {
        io.err(jobFailure("restore", restore, namespace, outcome, log));
        io.err("the restore runs in one transaction: the database is as it was before it");
        return 1;
    }
    io.out(`restored ${cmd.from} into ${target.database}; job ${restore.metadata.name} and its log stay for a day`);
    return 0;
}

function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function main(argv: string[]): number {
    return run(argv, {
        pulumi: (args) => pulumi(args),
        kubectl: (args, input) => kubectl(args, { input }),
        sleep,
        now: () => new Date(),
        out: (text) => console.log(text),
        err: (text) => console.error(text),
    });
}

runCommand("db", module, main);
