// Scheduled logical backups of the app database: a CronJob that runs `pg_dump -Fc` with the
// server's own image (so pg_dump matches the server's version) into a retained volume of its own,
// then prunes dumps beyond the retention, under the restricted security context and a NetworkPolicy
// that lets its pods reach PostgreSQL and nothing else. The same pod template runs the one-off
// restore and listing Jobs of `npm run db` (scripts/db.ts), so a restore runs exactly like a backup.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PostgresBackupSpec, PostgresSpec, ResourceSpec } from "../stacks/types";
import { POSTGRES_BACKUP, POSTGRES_PORT } from "./networkGraph";
import {
    objectMeta, resources, restrictedContainerSecurityContext, restrictedPodSecurityContext, secretEnvVar, selectorLabels,
    volumeClaimSpec, writableDirs,
} from "./podSpec";
import { CREDENTIALS } from "./postgres";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type PodSpec = k8s.types.input.core.v1.PodSpec;

/** Where the backup volume is mounted in every backup, restore and listing pod. */
export const BACKUP_MOUNT = "/backups";
/** The backup volume's claim. */
export const BACKUP_CLAIM = "postgres-backups";

/** The UTC time stamp in a dump's name, as `date -u +%Y%m%dT%H%M%SZ` writes it; sorting the names sorts the dumps by age. */
const STAMP_GLOB = `${"[0-9]".repeat(8)}T${"[0-9]".repeat(6)}Z`;
/** A dump's file name: `<database>-<YYYYMMDDTHHMMSSZ>.dump`. */
export const BACKUP_FILE = /^([a-z_][a-z0-9_]*)-\d{8}T\d{6}Z\.dump$/;

/**
 * One backup run. The dump is written under a hidden temporary name and renamed only once
 * `pg_restore --list` reads it back as a whole archive, so a dump cut short (deadline, full volume,
 * lost connection) never carries a name that restores and prunes count; pruning runs only after a
 * dump succeeded, so a failing backup never removes a good one. Dumps are readable by their owner
 * only (they hold the whole database). Connection settings and the password come from the PG*
 * environment, never the command line. Retention: the newest BACKUP_RETENTION_COUNT dumps, or
 * those younger than BACKUP_RETENTION_DAYS days. POSIX sh with busybox or GNU tools, for alpine- and
 * Debian-based PostgreSQL images alike.
 */
export const BACKUP_SCRIPT = [
    "set -eu",
    "umask 077",
    "name=\"$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump\"",
    "partial=\"$BACKUP_DIR/.$name.partial\"",
    // A temporary file untouched for longer than a Job may run is a killed run's (a live one's is
    // being written, and a manual run may overlap a scheduled one).
    `find "$BACKUP_DIR" -maxdepth 1 -type f -name ".$PGDATABASE-${STAMP_GLOB}.dump.partial" -mmin +"$BACKUP_STALE_MINUTES" -exec rm -f -- {} \\;`,
    "trap 'rm -f -- \"$partial\"' EXIT",
    "pg_dump -Fc -d \"$PGDATABASE\" -f \"$partial\"",
    "pg_restore --list \"$partial\" > /dev/null",
    "mv -- \"$partial\" \"$BACKUP_DIR/$name\"",
    "echo \"backup: wrote $name ($(wc -c < \"$BACKUP_DIR/$name\") bytes)\"",
    "if [ -n \"${BACKUP_RETENTION_DAYS:-}\" ]; then",
    `  find "$BACKUP_DIR" -maxdepth 1 -type f -name "$PGDATABASE-${STAMP_GLOB}.dump" -mmin +$((BACKUP_RETENTION_DAYS * 1440)) -exec rm -f -- {} \\; -exec echo "backup: pruned" {} \\;`,
    "else",
    `  set -- "$BACKUP_DIR/$PGDATABASE-"${STAMP_GLOB}.dump`,
    "  excess=$(($# - BACKUP_RETENTION_COUNT))",
    "  while [ \"$excess\" -gt 0 ]; do rm -f -- \"$1\"; echo \"backup: pruned $1\"; shift; excess=$((excess - 1)); done",
    "fi",
].join("\n");

export const BACKUP_COMMAND = ["sh", "-c", BACKUP_SCRIPT];

/**
 * Restores a dump into the app database: objects of the dump are dropped (if they exist) and
 * recreated with their rows, owned by the connecting user. In one transaction, so a restore that
 * fails leaves the database as it was; `--verbose` names each step, so a failed run's log tail says
 * where it stopped.
 */
export function restoreCommand(database: string, file: string, dir = BACKUP_MOUNT): string[] {
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--verbose", "-d", database, `${dir}/${file}`];
}

/** What a restore of `file` would recreate (the archive's table of contents); reads the file only. */
export function restorePlanCommand(file: string, dir = BACKUP_MOUNT): string[] {
    return ["pg_restore", "--list", `${dir}/${file}`];
}

export const LIST_COMMAND = ["ls", "-l", BACKUP_MOUNT];

/** Why `file` cannot be restored into `database`, or undefined: a dump's plain file name, never a path. */
export function backupFileProblem(file: string, database: string): string | undefined {
    const m = BACKUP_FILE.exec(file);
    if (!m) {
        return `'${file}' is not the file name of a dump in the backup volume: expected ${database}-<YYYYMMDDTHHMMSSZ>.dump, a plain name without a path (npm run db -- list shows them)`;
    }
    return m[1] === database ? undefined : `'${file}' is a dump of database '${m[1]}', not of this stack's '${database}'`;
}

/** What every backup, restore and listing pod runs with; plain values, published as the `postgresBackup` stack output. */
export interface BackupTarget {
    /** Labels the backup NetworkPolicy and PostgreSQL's policy select the pods by. */
    readonly podLabels: Readonly<Record<string, string>>;
    /** The PostgreSQL server's image: its pg_dump and pg_restore match the server's version. */
    readonly image: string;
    readonly runAsUser: number;
    readonly resources: ResourceSpec;
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    /** Secret whose POSTGRES_PASSWORD key holds the password. */
    readonly credentialsSecret: string;
    readonly claimName: string;
    readonly activeDeadlineSeconds: number;
}

/** The backup target of a stack's PostgreSQL, reached at `host`. */
export function backupTarget(appName: string, host: string, p: PostgresSpec): BackupTarget {
    return {
        podLabels: selectorLabels(appName, POSTGRES_BACKUP),
        image: p.image,
        runAsUser: p.runAsUser,
        resources: p.backup.resources,
        host,
        port: POSTGRES_PORT,
        database: p.database,
        user: p.user,
        credentialsSecret: CREDENTIALS,
        claimName: BACKUP_CLAIM,
        activeDeadlineSeconds: p.backup.activeDeadlineSeconds,
    };
}

/** Where and as whom pg_dump and pg_restore connect; the password from the credentials Secret. */
export function databaseEnv(t: BackupTarget): EnvVar[] {
    return [
        { name: "PGHOST", value: t.host },
        { name: "PGPORT", value: String(t.port) },
        { name: "PGDATABASE", value: t.database },
        { name: "PGUSER", value: t.user },
        secretEnvVar("PGPASSWORD", t.credentialsSecret, "POSTGRES_PASSWORD"),
        { name: "PGCONNECT_TIMEOUT", value: "10" },
    ];
}

/**
 * The pod of a backup, restore or listing: the server's image as its own user under the restricted
 * contexts, no service account token, the backup volume at /backups (read-only except for backups)
 * and an emptyDir for /tmp under the read-only root.
 */
export function backupPodSpec(t: BackupTarget, c: { name: string; command: string[]; env: EnvVar[]; readOnly: boolean }): PodSpec {
    const tmp = writableDirs(["/tmp"]);
    const readOnly = c.readOnly ? { readOnly: true } : {};
    return {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurityContext(t.runAsUser),
        containers: [{
            name: c.name,
            image: t.image,
            command: c.command,
            ...(c.env.length ? { env: c.env } : {}),
            resources: resources(t.resources, tmp.volumes.length),
            securityContext: restrictedContainerSecurityContext(),
            volumeMounts: [{ name: "backups", mountPath: BACKUP_MOUNT, ...readOnly }, ...tmp.mounts],
        }],
        volumes: [{ name: "backups", persistentVolumeClaim: { claimName: t.claimName, ...readOnly } }, ...tmp.volumes],
    };
}

/** Successful and failed backup Jobs kept for `kubectl get jobs` and their logs. */
export const BACKUP_HISTORY = 3;

/**
 * The backup CronJob: one run at a time, in UTC, retried twice, stopped at the deadline. A run that
 * cannot start within an hour of its time (controller down, quota full) is skipped rather than
 * started late, and a long outage does not make the controller give up on the schedule (it refuses
 * to catch up after more than 100 missed starts without a starting deadline).
 */
export function cronJobSpec(t: BackupTarget, b: PostgresBackupSpec, labels: Readonly<Record<string, string>>): k8s.types.input.batch.v1.CronJobSpec {
    const podLabels = { ...labels, ...t.podLabels };
    const retention = b.retention.by === "days"
        ? { name: "BACKUP_RETENTION_DAYS", value: String(b.retention.value) }
        : { name: "BACKUP_RETENTION_COUNT", value: String(b.retention.value) };
    return {
        schedule: b.schedule,
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: BACKUP_HISTORY,
        failedJobsHistoryLimit: BACKUP_HISTORY,
        jobTemplate: {
            metadata: { labels: podLabels },
            spec: {
                backoffLimit: 2,
                activeDeadlineSeconds: t.activeDeadlineSeconds,
                template: {
                    metadata: { labels: podLabels },
                    spec: backupPodSpec(t, {
                        name: "backup",
                        command: BACKUP_COMMAND,
                        env: [
                            ...databaseEnv(t),
                            { name: "BACKUP_DIR", value: BACKUP_MOUNT },
                            retention,
                            { name: "BACKUP_STALE_MINUTES", value: String(Math.ceil(t.activeDeadlineSeconds / 60)) },
                        ],
                        readOnly: false,
                    }),
                },
            },
        },
    };
}

/** The one-off Jobs of `npm run db`. */
export type BackupTask = "restore" | "plan" | "list";

const TASKS: Record<BackupTask, { job: string; database: boolean; command: (t: BackupTarget, file: string) => string[] }> = {
    restore: { job: "postgres-restore", database: true, command: (t, file) => restoreCommand(t.database, file) },
    plan: { job: "postgres-restore-plan", database: false, command: (_t, file) => restorePlanCommand(file) },
    list: { job: "postgres-backup-list", database: false, command: () => LIST_COMMAND },
};

/** A Job manifest for kubectl: plain values only. */
export interface JobManifest {
    readonly apiVersion: "batch/v1";
    readonly kind: "Job";
    readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
    readonly spec: k8s.types.input.batch.v1.JobSpec;
}

/** `YYYYMMDD-HHMMSS` in UTC, for Job names. */
function jobStamp(at: Date): string {
    return at.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/**
 * A one-off Job of `npm run db` in the backup pods' template: the volume read-only, the database
 * credentials only for a restore, never retried (a failed restore is for a person to read), removed
 * a day after it finishes.
 */
export function oneOffJob(t: BackupTarget, namespace: string, task: BackupTask, file: string, at: Date): JobManifest {
    const spec = TASKS[task];
    const labels = { ...t.podLabels, "platform/db-task": task };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: `${spec.job}-${jobStamp(at)}`, namespace, labels },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: t.activeDeadlineSeconds,
            ttlSecondsAfterFinished: 86400,
            template: {
                metadata: { labels },
                spec: backupPodSpec(t, { name: task, command: spec.command(t, file), env: spec.database ? databaseEnv(t) : [], readOnly: true }),
            },
        },
    };
}

export interface PostgresBackupArgs {
    readonly namespace: pulumi.Input<string>;
    /** Labels of every object; the pods carry the target's selector labels too. */
    readonly labels: Readonly<Record<string, string>>;
    /** Schedule, retention, volume (stacks/types.ts PostgresBackupSpec). */
    readonly spec: PostgresBackupSpec;
    /** What the backup pods run with (backupTarget). */
    readonly target: BackupTarget;
    /** Pulumi `protect` on the backup volume, as on PostgreSQL's workload (postgres.protect). */
    readonly protect: boolean;
    /** The backup pods' NetworkPolicy (components/networkGraph.ts: PostgreSQL only). */
    readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
}

export class PostgresBackup extends pulumi.ComponentResource {
    /** What `npm run db` needs to run a restore or listing like a backup. */
    readonly target: BackupTarget;
    readonly claimName: pulumi.Output<string>;

    constructor(name: string, args: PostgresBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:PostgresBackup", name, {}, opts);
        const meta = (objectName: string) => objectMeta(objectName, args.namespace, args.labels);
        const policy = new k8s.networking.v1.NetworkPolicy(name, { metadata: meta(POSTGRES_BACKUP), spec: args.networkPolicy }, { parent: this });
        // The dumps outlive `pulumi destroy` like the data they copy.
        const claim = new k8s.core.v1.PersistentVolumeClaim(`${name}s`, {
            metadata: meta(args.target.claimName),
            spec: volumeClaimSpec(args.spec.storageSize, args.spec.storageClass),
        }, { parent: this, retainOnDelete: true, protect: args.protect });
        new k8s.batch.v1.CronJob(name, {
            metadata: meta(POSTGRES_BACKUP),
            spec: cronJobSpec(args.target, args.spec, args.labels),
        }, { parent: this, dependsOn: [claim, policy] });

        this.target = args.target;
        this.claimName = claim.metadata.name;
        this.registerOutputs({ target: this.target, claimName: this.claimName });
    }
}
