// PostgreSQL backups and restores (components/postgresBackup.ts, scripts/db.ts) against a real
// PostgreSQL on loopback. The local cluster runs no containers, so the commands and environment the
// prod stack's backup CronJob and its restore, plan and listing Jobs carry run here, as the image's
// user would run them: a backup is taken, the database emptied, the restore brings every row back.
// Twice: with busybox's sh and tools only (the alpine images, the default) and with dash and GNU
// tools (Debian-based images such as postgis/postgis). What differs from the pods: the server's
// host and port, the password (the Secret's value in the pod), and the backup folder (the volume).

import * as assert from "assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_FILE, BACKUP_MOUNT, BackupTask, backupTarget, cronJobSpec, oneOffJob } from "../../components/postgresBackup";
import { stackConfig } from "../../scripts/lib/mockRun";
import { resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import { PostgresBackupSpec } from "../../stacks/types";
import { LocalPostgres, startLocalPostgres, which } from "./localPostgres";

const PASSWORD = "it's a \"backup\" pa$$word; $(id) `id`";
const prod = resolveConfig("prod", stackConfig("prod"), { set: [...SECRET_KEYS], plaintext: [] });
const target = backupTarget(prod.appName, "postgres.kaizen-studio.svc.cluster.local", prod.postgres);

// The builders return Pulumi input types; here they are plain values.
type Container = { command: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[] };
const backupContainer = (spec: PostgresBackupSpec = prod.postgres.backup) =>
    (cronJobSpec(target, spec, {}) as unknown as { jobTemplate: { spec: { template: { spec: { containers: Container[] } } } } }).jobTemplate.spec.template.spec.containers[0];
const jobContainer = (task: BackupTask, file = "") =>
    (oneOffJob(target, "kaizen-studio", task, file, new Date()).spec.template as unknown as { spec: { containers: Container[] } }).spec.containers[0];

const SEED = `
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, note text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), amount numeric(12, 2), payload jsonb);
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
INSERT INTO customers (name, note) SELECT 'customer ' || g, CASE WHEN g % 3 = 0 THEN E'it''s "quoted"\\nnew line, 中文' END FROM generate_series(1, 500) g;
INSERT INTO orders (customer_id, amount, payload) SELECT g % 500 + 1, g * 1.5, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)) FROM generate_series(1, 2000) g;
`;

/** Every row of both tables, the sequence's position and the view, as one line. */
const FINGERPRINT = `SELECT concat_ws(' ',
    (SELECT count(*) FROM customers), (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c),
    (SELECT count(*) FROM orders), (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o),
    (SELECT last_value FROM orders_id_seq), (SELECT count(*) FROM big_orders))`;

const TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";

/** A folder with every busybox applet and nothing else: the alpine image's tools. */
function busyboxTools(dir: string): string {
    const busybox = which("busybox");
    if (!busybox) {
        throw new Error("no busybox: apt-get install busybox (.ci/e2e does)");
    }
    fs.mkdirSync(dir);
    for (const applet of execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean)) {
        fs.symlinkSync(busybox, path.join(dir, applet));
    }
    return dir;
}

describe("PostgreSQL backup and restore against a real server, with the Jobs' own commands", function () {
    this.timeout(300_000);
    let pg: LocalPostgres;
    before(async () => {
        pg = await startLocalPostgres({ user: target.user, database: target.database, password: PASSWORD });
    });
    after(() => pg?.stop());

    for (const tools of ["busybox", "debian"] as const) {
        describe(`with ${tools === "busybox" ? "busybox's sh and tools (alpine images)" : "dash and GNU tools (Debian-based images)"}`, () => {
            let searchPath = "";
            let backups = "";
            let dump = "";
            let seeded = "";
            /** Runs a container's command as the pod would: its env with the test's host, port, password and folder; the image's tools on PATH. */
            const runAsPod = (c: Container, folder: string, env: Record<string, string> = {}) => {
                const overrides: Record<string, string> = { PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGPASSWORD: PASSWORD, BACKUP_DIR: folder, ...env };
                const podEnv: Record<string, string> = {};
                for (const e of c.env ?? []) {
                    const value = overrides[e.name] ?? e.value;
                    assert.ok(value !== undefined, `${e.name} comes from ${JSON.stringify(e.valueFrom)}: the test must give it`);
                    podEnv[e.name] = value;
                }
                // The volume's path in the command, and the executable as the image's PATH finds it.
                const command = c.command.map((a) => (a.startsWith(`${BACKUP_MOUNT}/`) || a === BACKUP_MOUNT ? folder + a.slice(BACKUP_MOUNT.length) : a));
                const executable = which(command[0], searchPath);
                assert.ok(executable, `${command[0]} on ${searchPath}`);
                return pg.run([executable, ...command.slice(1)], { ...podEnv, PATH: searchPath, HOME: folder, LANG: "C" });
            };
            const dumps = (folder: string) => fs.readdirSync(folder).filter((f) => BACKUP_FILE.test(f)).sort();
            const restore = (file: string, folder = backups) => runAsPod(jobContainer("restore", file), folder);

            before(() => {
                searchPath = tools === "busybox" ? `${busyboxTools(path.join(pg.dir, "busybox"))}:${pg.bin}` : `${pg.bin}:/usr/bin:/bin`;
                backups = pg.folder(`backups-${tools}`);
                pg.sql(`DROP SCHEMA public CASCADE; CREATE SCHEMA public; ${SEED}`);
                seeded = pg.sql(FINGERPRINT);
                assert.match(seeded, /^500 [0-9a-f]{32} 2000 [0-9a-f]{32} 2000 1334$/);
            });

            it("takes a backup: pg_dump -Fc to <db>-<UTC time>.dump, readable by its owner only, no temporary file left", () => {
                const r = runAsPod(backupContainer(), backups);
                assert.equal(r.status, 0, r.stdout + r.stderr);
                const names = dumps(backups);
                assert.equal(names.length, 1, names.join(" "));
                dump = names[0];
                assert.match(dump, /^kaizen_studio-\d{8}T\d{6}Z\.dump$/);
                assert.deepEqual(fs.readdirSync(backups), [dump], "no partial file");
                const size = fs.statSync(path.join(backups, dump)).size;
                assert.equal(r.stdout.trim(), `backup: wrote ${dump} (${size} bytes)`);
                assert.equal(fs.statSync(path.join(backups, dump)).mode & 0o777, 0o600);
                assert.equal(fs.readFileSync(path.join(backups, dump)).subarray(0, 5).toString(), "PGDMP", "a custom-format archive");
            });

            it("lists the dumps and what a restore would recreate (the list and plan Jobs' commands)", () => {
                const list = runAsPod(jobContainer("list"), backups);
                assert.equal(list.status, 0, list.stderr);
                assert.match(list.stdout, new RegExp(`${dump.replace(/\./g, "\\.")}\\n`));
                const plan = runAsPod(jobContainer("plan", dump), backups);
                assert.equal(plan.status, 0, plan.stderr);
                for (const entry of ["TABLE public customers", "TABLE public orders", "VIEW public big_orders", "INDEX public orders_by_customer", "TABLE DATA public orders", "SEQUENCE SET public orders_id_seq"]) {
                    assert.match(plan.stdout, new RegExp(`${entry} `), entry);
                }
            });

            it("restores every row into an emptied database", () => {
                pg.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
                assert.equal(pg.sql(TABLES), "0", "emptied");
                const r = restore(dump);
                assert.equal(r.status, 0, r.stdout + r.stderr);
                assert.equal(pg.sql(FINGERPRINT), seeded);
                assert.equal(pg.sql("INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id"), "2001", "the sequence goes on where it was");
            });

            it("restores over a changed database: the dump's objects are replaced, rows added since are gone", () => {
                pg.sql("DELETE FROM orders WHERE id > 1000; UPDATE customers SET name = 'renamed'; DROP VIEW big_orders;");
                assert.notEqual(pg.sql(FINGERPRINT.replace(", (SELECT count(*) FROM big_orders)", "")), seeded);
                const r = restore(dump);
                assert.equal(r.status, 0, r.stdout + r.stderr);
                assert.equal(pg.sql(FINGERPRINT), seeded);
            });

            it("leaves the database as it was when a restore fails (one transaction), with the reason in its log", () => {
                const truncated = dump.replace(/T\d{6}Z/, "T000000Z").replace(/-\d{8}/, "-20200101");
                const bytes = fs.readFileSync(path.join(backups, dump));
                fs.writeFileSync(path.join(backups, truncated), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
                pg.sql("UPDATE customers SET note = 'changed after the backup' WHERE id = 1");
                const before = pg.sql(FINGERPRINT);
                const r = restore(truncated);
                fs.rmSync(path.join(backups, truncated));
                assert.notEqual(r.status, 0);
                assert.match(r.stderr, /pg_restore: error/);
                assert.equal(pg.sql(FINGERPRINT), before);
            });

            it("keeps the newest dumps by count, and touches no other file", () => {
                const folder = pg.folder(`count-${tools}`);
                const old = ["20200101T000000Z", "20200102T000000Z", "20200103T000000Z", "20200104T000000Z"].map((t) => `kaizen_studio-${t}.dump`);
                const others = ["notes.txt", "kaizen_studio-manual.dump", "other_db-20200101T000000Z.dump"];
                for (const f of [...old, ...others]) {
                    fs.copyFileSync(path.join(backups, dump), path.join(folder, f));
                }
                // A run killed at its deadline left its temporary file; another run is writing one now.
                const killed = path.join(folder, ".kaizen_studio-20200105T000000Z.dump.partial");
                fs.writeFileSync(killed, "cut short");
                const longAgo = new Date(Date.now() - (prod.postgres.backup.activeDeadlineSeconds + 60) * 1000);
                fs.utimesSync(killed, longAgo, longAgo);
                const writing = ".kaizen_studio-20200106T000000Z.dump.partial";
                fs.writeFileSync(path.join(folder, writing), "being written");
                const r = runAsPod(backupContainer({ ...prod.postgres.backup, retention: { by: "count", value: 3 } }), folder);
                assert.equal(r.status, 0, r.stderr);
                const kept = dumps(folder).filter((f) => f.startsWith("kaizen_studio-"));
                assert.equal(kept.length, 3, kept.join(" "));
                assert.deepEqual(kept.slice(0, 2), old.slice(2), "the two newest old ones and the new one");
                assert.deepEqual(r.stdout.split("\n").filter((l) => l.startsWith("backup: pruned")), old.slice(0, 2).map((f) => `backup: pruned ${path.join(folder, f)}`));
                assert.deepEqual(fs.readdirSync(folder).filter((f) => !BACKUP_FILE.test(f) || !f.startsWith("kaizen_studio-")).sort(), [writing, ...others].sort(),
                    "the killed run's temporary file removed, the writing run's and the other files untouched");
            });

            it("keeps the dumps of the last N days by age", () => {
                const folder = pg.folder(`days-${tools}`);
                const day = 86_400_000;
                for (const [name, age] of [["kaizen_studio-20200101T000000Z.dump", 10 * day], ["kaizen_studio-20200102T000000Z.dump", 6 * day]] as const) {
                    fs.copyFileSync(path.join(backups, dump), path.join(folder, name));
                    const t = new Date(Date.now() - age);
                    fs.utimesSync(path.join(folder, name), t, t);
                }
                const r = runAsPod(backupContainer({ ...prod.postgres.backup, retention: { by: "days", value: 7 } }), folder);
                assert.equal(r.status, 0, r.stderr);
                const kept = dumps(folder);
                assert.equal(kept.length, 2, kept.join(" "));
                assert.equal(kept[0], "kaizen_studio-20200102T000000Z.dump");
                assert.match(r.stdout, /backup: pruned .*kaizen_studio-20200101T000000Z\.dump/);
            });

            it("fails without touching the dumps when the database refuses the backup", () => {
                const folder = pg.folder(`refused-${tools}`);
                fs.copyFileSync(path.join(backups, dump), path.join(folder, "kaizen_studio-20200101T000000Z.dump"));
                const r = runAsPod(backupContainer({ ...prod.postgres.backup, retention: { by: "count", value: 1 } }), folder, { PGPASSWORD: "not-the-password" });
                assert.notEqual(r.status, 0);
                assert.match(r.stderr, /password authentication failed/);
                assert.deepEqual(fs.readdirSync(folder), ["kaizen_studio-20200101T000000Z.dump"], "nothing new, nothing pruned, no partial file");
            });
        });
    }
});
