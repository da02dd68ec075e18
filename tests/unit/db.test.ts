// The database command (scripts/db.ts) without a cluster: its argument checks, and what it asks
// Pulumi and kubectl to do, against fakes that answer as they would. The Jobs themselves are
// builders.test.ts's; the real pg_dump/pg_restore run in tests/e2e/backupRestore.e2e.ts.

import * as assert from "assert/strict";
import * as path from "path";
import { stringify } from "yaml";
import { BackupTarget, oneOffJob } from "../../components/postgresBackup";
import { DbIo, backupOutputs, clusterFlags, jobOutcome, parseArgs, run } from "../../scripts/db";
import { ROOT, runCommittedStack } from "./harness";

const FILE = "kaizen_studio-20261130T030000Z.dump";
const AT = new Date("2026-11-30T10:15:00Z");

describe("db command: arguments", () => {
    it("reads list and restore, with --dry-run for restore only", () => {
        assert.deepEqual(parseArgs(["list", "--stack", "prod"]), { command: "list", stack: "prod" });
        assert.deepEqual(parseArgs(["restore", "--stack", "prod", "--from", FILE]), { command: "restore", stack: "prod", from: FILE, dryRun: false });
        assert.deepEqual(parseArgs(["--dry-run", "--from", FILE, "restore", "--stack", "prod"]), { command: "restore", stack: "prod", from: FILE, dryRun: true });
    });

    it("refuses anything else, naming what is wrong", () => {
        const refusals: [string[], string][] = [
            [[], "a command is needed: list or restore"],
            [["backup", "--stack", "prod"], "unknown command 'backup': list or restore"],
            [["list"], "--stack is required"],
            [["list", "--stack"], "--stack needs a value"],
            [["list", "--stack", "--dry-run"], "--stack needs a value"],
            [["list", "--stack", "prod", "--dry-run"], "--dry-run is for restore only"],
            [["list", "--stack", "prod", "--from", FILE], "--from is for restore only"],
            [["list", "--stack", "prod", "extra"], "unexpected argument 'extra'"],
            [["restore", "--stack", "prod", "--yes"], "unknown option --yes"],
            [["restore", "--stack", "prod"], "restore needs --from <dump file name> (npm run db -- list shows them)"],
        ];
        for (const [argv, message] of refusals) {
            assert.throws(() => parseArgs(argv), { message }, argv.join(" "));
        }
    });

    it("takes --from only as a dump's plain file name: no path, no traversal, no other file", () => {
        for (const from of [`../${FILE}`, `/backups/${FILE}`, `../../etc/passwd`, `.${FILE}.partial`, "kaizen_studio.dump", `${FILE}/..`, "KAIZEN-20261130T030000Z.dump"]) {
            assert.throws(() => parseArgs(["restore", "--stack", "prod", "--from", from]),
                { message: `--from '${from}' is not the file name of a dump in the backup volume: <database>-<YYYYMMDDTHHMMSSZ>.dump, a plain name without a path` }, from);
        }
    });
});

describe("db command: stack outputs, cluster and Job state", () => {
    it("finds the backups in the stack's outputs, and says how to get them when there are none", async () => {
        const outputs = (await runCommittedStack("prod")).exports;
        const { namespace, target } = backupOutputs("prod", { namespace: "kaizen-studio", postgresBackup: outputs.postgresBackup });
        assert.equal(namespace, "kaizen-studio");
        assert.deepEqual([target.claimName, target.database, target.image], ["postgres-backups", "kaizen_studio", "postgres:15.10-alpine"]);
        assert.throws(() => backupOutputs("dev", { namespace: "kaizen-studio-dev" }),
            { message: "stack dev has no PostgreSQL backups in its outputs: set postgres.backup.enabled (on by default in prod) and run 'pulumi up --stack dev'" });
    });

    it("reaches the stack's cluster as its provider does: the kubeconfig relative to the project, the context", () => {
        assert.deepEqual(clusterFlags({ "platform:cluster": { objectValue: { kubeconfig: ".local/kubeconfig", context: "kind-a" } } }),
            ["--kubeconfig", path.join(ROOT, ".local", "kubeconfig"), "--context", "kind-a"]);
        assert.deepEqual(clusterFlags({ "platform:cluster": { objectValue: { kubeconfig: "/etc/k/config" } } }), ["--kubeconfig", "/etc/k/config"]);
        assert.deepEqual(clusterFlags({}), [], "the ambient kubeconfig");
    });

    it("waits for a Job's Complete or Failed condition", () => {
        assert.deepEqual(jobOutcome({}), { state: "running" });
        assert.deepEqual(jobOutcome({ status: { conditions: [{ type: "SuccessCriteriaMet", status: "True" }] } }), { state: "running" });
        assert.deepEqual(jobOutcome({ status: { conditions: [{ type: "Complete", status: "True" }] } }), { state: "complete" });
        assert.deepEqual(jobOutcome({ status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] } }),
            { state: "failed", reason: "BackoffLimitExceeded: Job has reached the specified backoff limit" });
        assert.deepEqual(jobOutcome({ status: { conditions: [{ type: "Failed", status: "False" }] } }), { state: "running" });
    });
});

/** A cluster that answers kubectl as the API server would, and records what it was asked. */
function fakeWorld(target: BackupTarget, opts: { finish?: "Complete" | "Failed"; pollsBeforeDone?: number; activeBackup?: string; log?: string } = {}) {
    const calls: { args: string[]; input?: string }[] = [];
    const out: string[] = [];
    const err: string[] = [];
    let clock = AT.getTime();
    let polls = 0;
    const io: DbIo = {
        pulumi(args) {
            if (args[0] === "stack") {
                return JSON.stringify({ namespace: "kaizen-studio", postgresBackup: target, databaseUrl: "[secret]" });
            }
            return JSON.stringify({ "platform:cluster": { value: "{}", objectValue: { kubeconfig: ".local/kubeconfig" }, secret: false } });
        },
        kubectl(args, input) {
            calls.push({ args, input });
            if (args[0] === "get" && args[1] === "cronjob") {
                return opts.activeBackup ?? "";
            }
            if (args[0] === "get" && args[1] === "job") {
                polls++;
                const done = polls > (opts.pollsBeforeDone ?? 1);
                return JSON.stringify({ status: done && opts.finish ? { conditions: [{ type: opts.finish, status: "True", reason: opts.finish === "Failed" ? "BackoffLimitExceeded" : undefined }] } : {} });
            }
            if (args[0] === "logs") {
                return opts.log ?? "";
            }
            return "";
        },
        sleep(ms) { clock += ms; },
        now: () => new Date(clock),
        out: (t) => out.push(t),
        err: (t) => err.push(t),
    };
    /** The calls, each as its command line without the cluster flags. */
    const lines = () => calls.map((c) => c.args.join(" ").replace(` -n kaizen-studio --kubeconfig ${path.join(ROOT, ".local", "kubeconfig")}`, ""));
    return { io, calls, lines, out, err };
}

describe("db command: what it does", () => {
    let target: BackupTarget;
    before(async () => {
        target = (await runCommittedStack("prod")).exports.postgresBackup as BackupTarget;
    });
    const restoreJob = () => oneOffJob(target, "kaizen-studio", "restore", FILE, AT);

    it("restores: creates the restore Job in the stack's namespace and cluster, waits for it, keeps it for its log", () => {
        const w = fakeWorld(target, { finish: "Complete", pollsBeforeDone: 3 });
        assert.equal(run(["restore", "--stack", "prod", "--from", FILE], w.io), 0);
        assert.deepEqual(w.lines(), [
            "get cronjob postgres-backup -o jsonpath={.status.active[*].name}",
            "create -f -",
            ...Array(4).fill("get job postgres-restore-20261130-101500 -o json"),
            "logs job/postgres-restore-20261130-101500 --tail=40",
        ]);
        assert.ok(w.calls.every((c) => c.args.join(" ").endsWith(`-n kaizen-studio --kubeconfig ${path.join(ROOT, ".local", "kubeconfig")}`)));
        assert.deepEqual(JSON.parse(w.calls[1].input ?? ""), restoreJob());
        assert.deepEqual(w.out, [
            "restoring kaizen_studio-20261130T030000Z.dump into database kaizen_studio of stack prod (job postgres-restore-20261130-101500); waiting for it to finish",
            "restored kaizen_studio-20261130T030000Z.dump into kaizen_studio; job postgres-restore-20261130-101500 and its log stay for a day",
        ]);
    });

    it("reports a failed restore with its log's tail and exits 1", () => {
        const w = fakeWorld(target, { finish: "Failed", log: "pg_restore: error: could not execute query: ERROR:  out of shared memory\n" });
        assert.equal(run(["restore", "--stack", "prod", "--from", FILE], w.io), 1);
        assert.deepEqual(w.err, [
            "the restore job postgres-restore-20261130-101500 failed (BackoffLimitExceeded); the last lines of its log:\n" +
            "pg_restore: error: could not execute query: ERROR:  out of shared memory\n" +
            "(kubectl -n kaizen-studio describe job postgres-restore-20261130-101500; the Job is removed a day after it finished)",
            "the restore runs in one transaction: the database is as it was before it",
        ]);
    });

    it("refuses to restore while a backup runs, creating nothing", () => {
        const w = fakeWorld(target, { activeBackup: "postgres-backup-29400180" });
        assert.equal(run(["restore", "--stack", "prod", "--from", FILE], w.io), 1);
        assert.deepEqual(w.lines(), ["get cronjob postgres-backup -o jsonpath={.status.active[*].name}"]);
        assert.deepEqual(w.err, ["db: a backup is running (postgres-backup-29400180): wait for it to finish (kubectl -n kaizen-studio get jobs), then restore"]);
    });

    it("refuses a dump of another database before touching the cluster", () => {
        const w = fakeWorld(target);
        assert.equal(run(["restore", "--stack", "prod", "--from", "other_db-20261130T030000Z.dump"], w.io), 2);
        assert.deepEqual([w.lines(), w.err], [[], ["db: 'other_db-20261130T030000Z.dump' is a dump of database 'other_db', not of this stack's 'kaizen_studio'"]]);
    });

    it("dry run: prints the Job, has the API server check it without creating it, lists the dump's contents, changes nothing", () => {
        const w = fakeWorld(target, { finish: "Complete", log: "; Archive created at 2026-11-30 03:00:01 UTC\n215; 1259 16390 TABLE public items kaizen_user\n" });
        assert.equal(run(["restore", "--stack", "prod", "--from", FILE, "--dry-run"], w.io), 0);
        assert.deepEqual(w.lines(), [
            "create --dry-run=server -o name -f -",
            "create -f -",
            "get job postgres-restore-plan-20261130-101500 -o json",
            "get job postgres-restore-plan-20261130-101500 -o json",
            "logs job/postgres-restore-plan-20261130-101500",
            "delete job postgres-restore-plan-20261130-101500 --wait=false",
        ]);
        assert.deepEqual(JSON.parse(w.calls[0].input ?? ""), restoreJob(), "the restore Job, only dry-run");
        assert.equal(JSON.parse(w.calls[1].input ?? "").metadata.name, "postgres-restore-plan-20261130-101500");
        assert.deepEqual(w.out, [
            `# the Job a restore of ${FILE} would create:\n${stringify(restoreJob())}`,
            "the API server accepts it (server-side dry run: validation, admission, Pod Security, quota)",
            "# what pg_restore would drop and recreate in database kaizen_studio (pg_restore --list):\n; Archive created at 2026-11-30 03:00:01 UTC\n215; 1259 16390 TABLE public items kaizen_user",
            "dry run: nothing was changed (the plan Job only read the dump, and is deleted)",
        ]);
    });

    it("lists the dumps with a short-lived Job, deleted once read", () => {
        const w = fakeWorld(target, { finish: "Complete", log: `-rw-------    1 70       70         20480 Nov 30 03:00 ${FILE}\n` });
        assert.equal(run(["list", "--stack", "prod"], w.io), 0);
        assert.deepEqual(w.lines().filter((l) => !l.startsWith("get job")), [
            "create -f -", "logs job/postgres-backup-list-20261130-101500", "delete job postgres-backup-list-20261130-101500 --wait=false",
        ]);
        assert.deepEqual(w.out, [`dumps in the backup volume postgres-backups of stack prod (restore one with --from <name>):\n-rw-------    1 70       70         20480 Nov 30 03:00 ${FILE}`]);
    });

    it("gives up on a Job that outlives its deadline, leaving it in place", () => {
        const w = fakeWorld(target);
        assert.throws(() => run(["restore", "--stack", "prod", "--from", FILE], w.io),
            { message: "job postgres-restore-20261130-101500 has not finished after its deadline; it is left in place: kubectl -n kaizen-studio describe job postgres-restore-20261130-101500" });
        assert.equal(w.lines().some((l) => l.startsWith("delete")), false);
    });
});
