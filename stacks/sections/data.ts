// The data services: PostgreSQL, Redis, Kafka and MinIO.

import { PROFILES } from "../environments";
import { CRON_SCHEDULE, DNS1123_SUBDOMAIN, Rule, follows, hasControlCharacter } from "../k8sRules";
import { ConfigErrors, Read, MapRules, bool, checkMap, exactly, int, object, oneOf, quantity, refused, text, textList, textMap } from "../reader";
import {
    BackupRetention, DataServiceSpec, Environment, KafkaSpec, MinioSpec, PostgresBackupSpec, PostgresSpec, REDIS_WORKLOADS, RedisSpec, ResourceSpec,
} from "../types";
import { checkPinned, image, readDataImage } from "./images";
import { RESOURCES, readResources } from "./services";

/** postgresql.conf lines: a setting name, and a value that cannot start another line. */
const POSTGRES_SETTING_RULES: MapRules = {
    keys: { ok: (k: string) => /^[a-z_][a-z0-9_.]*$/.test(k), text: "PostgreSQL setting names (lower-case letters, digits, '_' and '.')" },
    values: { ok: (v: string) => !hasControlCharacter(v), text: "a single-line postgresql.conf value" },
};

const SQL_IDENTIFIER: Rule = { re: /^[a-z_][a-z0-9_]*$/, maxLength: 63, text: "a lower-case SQL identifier" };

/**
 * An S3 bucket name as MinIO checks it (3 to 63 characters, no IP address, no '..', '.-' or '-.'),
 * plus the prefixes and suffixes AWS reserves, so a bucket name also works on S3 itself. The names
 * go into MinIO's bucket-creation hook command: this alphabet is also what keeps that safe.
 */
export const S3_BUCKET: Rule = {
    re: {
        test: (v: string) => /^[a-z0-9][a-z0-9.-]+[a-z0-9]$/.test(v) && !/\.\.|\.-|-\./.test(v) && !/^\d+\.\d+\.\d+\.\d+$/.test(v) &&
            !/^(xn--|sthree-)/.test(v) && !/(-s3alias|--ol-s3)$/.test(v),
    },
    maxLength: 63,
    text: "an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit, " +
        "without '..', '.-' or '-.', not an IP address, not starting with 'xn--' or 'sthree-', not ending with '-s3alias' or '--ol-s3'",
};

/** One kind of data service, as the refusal of scaling it names it. */
interface DataServiceKind {
    readonly what: string;
    /** What one pod of it is, for the scaling refusal: "a single primary". */
    readonly single: string;
    /** Where high availability comes from instead, for the scaling refusal. */
    readonly highAvailability: string;
}

/** The defaults of one kind of data service, for the fields every data service has. */
interface DataServiceDefaults {
    readonly images: { floating: string; exact: string };
    /** Numeric parts of an exact release tag (PostgreSQL MAJOR.MINOR, Redis MAJOR.MINOR.PATCH). */
    readonly versionParts: number;
    readonly storageSize: string;
    readonly resources: ResourceSpec;
    /** The image's own non-root user. */
    readonly runAsUser: number;
}

/** The fields every data service has; `autoscaling`, and `replicas` other than 1, which the web services have, are refused with the reason. */
function dataServiceFields(k: DataServiceKind) {
    const single = `${k.what} here is ${k.single} (one writer on a ReadWriteOnce volume)`;
    const instead = `Scale the services that use it instead; for high availability use ${k.highAvailability}`;
    return {
        enabled: bool().describe(`run ${k.what} in the namespace`),
        image: image(`${k.what} image; an exact release where images are pinned`),
        storageSize: quantity({ positive: true }).describe("size of its volume"),
        storageClass: text({ rule: DNS1123_SUBDOMAIN }).describe("StorageClass of its volume; empty: the cluster's default"),
        resources: RESOURCES,
        protect: bool().describe("protect it from pulumi destroy"),
        runAsUser: int({ min: 1 }).describe("UID of the server"),
        replicas: exactly(1, `must be 1: ${single}, and a second replica would be a second writer on the same data or a replica with an empty volume. ${instead}`)
            .describe("always 1"),
        autoscaling: refused(`${single} and cannot autoscale: an HPA would start a second writer on the same data or a replica with an empty volume. ${instead}`),
    };
}

type DataServiceInput = Read<ReturnType<typeof object<ReturnType<typeof dataServiceFields>>>>;

function readDataService(errors: ConfigErrors, key: string, s: DataServiceInput = {}, env: Environment, k: DataServiceKind, d: DataServiceDefaults): DataServiceSpec {
    const profile = PROFILES[env];
    return {
        enabled: s.enabled ?? false,
        image: readDataImage(errors, `${key}.image`, s.image, d.images, d.versionParts, profile.requirePinnedImages, k.what),
        storageSize: s.storageSize ?? d.storageSize,
        storageClass: s.storageClass ?? "",
        resources: readResources(errors, `${key}.resources`, s.resources, d.resources),
        protect: s.protect ?? profile.protectData,
        runAsUser: s.runAsUser ?? d.runAsUser,
    };
}

const exporterImage = (what: string) => image(`the Prometheus exporter of ${what}`);

/** `<key>.exporterImage`, or `def`: pinned like every image where the environment requires it. */
function readExporterImage(errors: ConfigErrors, key: string, value: string | undefined, def: string, env: Environment): string {
    return checkPinned(errors, `${key}.exporterImage`, value ?? def, PROFILES[env].requirePinnedImages);
}

/** A single primary, as PostgreSQL and Redis run here. */
const PRIMARY = { single: "a single primary", highAvailability: "read replicas, a managed database or an operator" };

const POSTGRES_KIND: DataServiceKind = { what: "PostgreSQL", ...PRIMARY };

const BACKUP = object({
    enabled: bool().describe("scheduled pg_dump to a volume"),
    schedule: text({ rule: CRON_SCHEDULE }).describe("cron schedule of the dumps"),
    retentionCount: int({ min: 1, max: 10000 }).describe("keep the newest N dumps"),
    retentionDays: int({ min: 1, max: 36500 }).describe("keep the dumps of the last N days"),
    storageSize: quantity({ positive: true }).describe("size of the backup volume; the data volume's unless set"),
    storageClass: text({ rule: DNS1123_SUBDOMAIN }).describe("StorageClass of the backup volume; the data volume's unless set"),
    resources: RESOURCES,
    activeDeadlineSeconds: int({ min: 60 }).describe("seconds a backup Job may run"),
}).describe("scheduled dumps of the database");

export const POSTGRES = object({
    ...dataServiceFields(POSTGRES_KIND),
    exporterImage: exporterImage("PostgreSQL"),
    database: text({ rule: SQL_IDENTIFIER }).describe("the app's database"),
    user: text({ rule: SQL_IDENTIFIER }).describe("the app's database user"),
    settings: textMap().describe("postgresql.conf settings"),
    backup: BACKUP,
}).describe("PostgreSQL, one primary as a StatefulSet");

/** Which dumps to keep: `retentionCount` or `retentionDays`, never both; the newest 7 when neither is set. */
function readRetention(errors: ConfigErrors, b: Read<typeof BACKUP> = {}): BackupRetention {
    if (b.retentionCount !== undefined && b.retentionDays !== undefined) {
        errors.add("postgres.backup.retentionDays", b.retentionDays, `must not be set together with retentionCount (${b.retentionCount}): keep either the newest N dumps or those of the last N days`);
    }
    return b.retentionDays !== undefined && b.retentionCount === undefined ? { by: "days", value: b.retentionDays } : { by: "count", value: b.retentionCount ?? 7 };
}

/** `postgres.backup`; its volume defaults to the data volume's size and class. */
function readPostgresBackup(errors: ConfigErrors, b: Read<typeof BACKUP> = {}, env: Environment, data: DataServiceSpec): PostgresBackupSpec {
    const enabled = b.enabled ?? (PROFILES[env].postgresBackups && data.enabled);
    if (enabled && !data.enabled) {
        errors.add("postgres.backup.enabled", true, "needs postgres.enabled: true (there is no database to back up)");
    }
    return {
        enabled: enabled && data.enabled,
        schedule: b.schedule ?? "0 3 * * *",
        retention: readRetention(errors, b),
        storageSize: b.storageSize ?? data.storageSize,
        storageClass: b.storageClass ?? data.storageClass,
        resources: readResources(errors, "postgres.backup.resources", b.resources, { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } }),
        activeDeadlineSeconds: b.activeDeadlineSeconds ?? 4 * 3600,
    };
}

export function readPostgres(errors: ConfigErrors, p: Read<typeof POSTGRES> = {}, env: Environment): PostgresSpec {
    const data = readDataService(errors, "postgres", p, env, POSTGRES_KIND, {
        images: { floating: "postgres:15-alpine", exact: "postgres:15.10-alpine" }, versionParts: 2,
        storageSize: PROFILES[env].postgresStorage,
        resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2000m", memory: "4Gi" } },
        // 70 is the postgres user of the official alpine image.
        runAsUser: 70,
    });
    return {
        ...data,
        exporterImage: readExporterImage(errors, "postgres", p.exporterImage, "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", env),
        database: p.database ?? "app",
        user: p.user ?? "app",
        settings: checkMap(errors, "postgres.settings", p.settings ?? {
            max_connections: "200",
            shared_buffers: "1GB",
            effective_cache_size: "3GB",
            work_mem: "8MB",
            maintenance_work_mem: "256MB",
            wal_buffers: "16MB",
            checkpoint_completion_target: "0.9",
            random_page_cost: "1.1",
        }, POSTGRES_SETTING_RULES),
        backup: readPostgresBackup(errors, p.backup, env, data),
    };
}

const REDIS_KIND: DataServiceKind = { what: "Redis", ...PRIMARY };

export const REDIS = object({
    ...dataServiceFields(REDIS_KIND),
    exporterImage: exporterImage("Redis"),
    // Redis reads sizes case-insensitively, with or without the trailing b.
    maxmemory: text({ rule: { re: /^\d+(b|kb?|mb?|gb?)?$/i, maxLength: 20, text: "a Redis size such as 768mb, 1gb or 512m" } }).describe("Redis maxmemory"),
    maxmemoryPolicy: oneOf(["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
        .describe("what Redis evicts at maxmemory"),
    workload: oneOf(REDIS_WORKLOADS).describe("deployment (claim redis-data) or statefulset (claim data-redis-0); fixed once the stack has run"),
}).describe("Redis, one primary");

export function readRedis(errors: ConfigErrors, r: Read<typeof REDIS> = {}, env: Environment): RedisSpec {
    return {
        ...readDataService(errors, "redis", r, env, REDIS_KIND, {
            images: { floating: "redis:7.2-alpine", exact: "redis:7.2.7-alpine" }, versionParts: 3,
            storageSize: "10Gi",
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
            // 999 is the redis user of the official alpine image.
            runAsUser: 999,
        }),
        exporterImage: readExporterImage(errors, "redis", r.exporterImage, "oliver006/redis_exporter:v1.62.0", env),
        workload: r.workload ?? "deployment",
        maxmemory: r.maxmemory ?? "768mb",
        maxmemoryPolicy: r.maxmemoryPolicy ?? "allkeys-lru",
    };
}

const KAFKA_KIND: DataServiceKind = {
    what: "Kafka",
    single: "a single broker and controller",
    highAvailability: "a replicated cluster run by an operator such as Strimzi, or a managed Kafka",
};

export const KAFKA = object({
    ...dataServiceFields(KAFKA_KIND),
    exporterImage: exporterImage("Kafka"),
}).describe("Kafka, one KRaft node (broker and controller) as a StatefulSet");

export function readKafka(errors: ConfigErrors, k: Read<typeof KAFKA> = {}, env: Environment): KafkaSpec {
    return {
        ...readDataService(errors, "kafka", k, env, KAFKA_KIND, {
            // Apache Kafka's own image has no tag that moves: the same exact release everywhere.
            images: { floating: "apache/kafka:4.1.1", exact: "apache/kafka:4.1.1" }, versionParts: 3,
            storageSize: "10Gi",
            resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2000m", memory: "2Gi" } },
            // 1000 is appuser of the apache/kafka image.
            runAsUser: 1000,
        }),
        exporterImage: readExporterImage(errors, "kafka", k.exporterImage, "danielqsj/kafka-exporter:v1.9.0", env),
    };
}

const MINIO_KIND: DataServiceKind = {
    what: "MinIO",
    single: "a single server",
    highAvailability: "a distributed MinIO run by its operator, or a managed object store",
};

export const MINIO = object({
    ...dataServiceFields(MINIO_KIND),
    buckets: textList().describe("buckets created at start"),
}).describe("MinIO, one server as a StatefulSet");

export function readMinio(errors: ConfigErrors, m: Read<typeof MINIO> = {}, env: Environment): MinioSpec {
    return {
        ...readDataService(errors, "minio", m, env, MINIO_KIND, {
            // MinIO tags every release RELEASE.<timestamp>; only `latest` moves, and pinning refuses it.
            images: { floating: "minio/minio:RELEASE.2025-09-07T16-13-09Z", exact: "minio/minio:RELEASE.2025-09-07T16-13-09Z" }, versionParts: 0,
            storageSize: "10Gi",
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "2Gi" } },
            // The image runs as root unless told otherwise; any non-root UID that owns /data works.
            runAsUser: 1000,
        }),
        buckets: checkBuckets(errors, m.buckets ?? []),
    };
}

function checkBuckets(errors: ConfigErrors, buckets: string[]): string[] {
    const seen = new Set<string>();
    for (const b of buckets) {
        if (!follows(S3_BUCKET, b)) {
            errors.add("minio.buckets", b, `must be ${S3_BUCKET.text}`);
        } else if (seen.has(b)) {
            errors.add("minio.buckets", b, "must be listed once");
        }
        seen.add(b);
    }
    return buckets;
}
