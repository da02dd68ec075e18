// The data services: PostgreSQL, Redis, Kafka and MinIO.

import { PROFILES } from "../environments";
import { CRON_SCHEDULE, Rule, follows, hasControlCharacter } from "../k8sRules";
import { ObjectReader, patterns, show } from "../reader";
import {
    BackupRetention, DataServiceSpec, Environment, ExporterSpec, KafkaSpec, MinioSpec, PostgresBackupSpec, PostgresSpec, REDIS_WORKLOADS, RedisSpec, RedisWorkload, ResourceSpec,
} from "../types";
import { readDataImage, readImage } from "./images";
import { readResources } from "./services";

/** postgresql.conf lines: a setting name, and a value that cannot start another line. */
const POSTGRES_SETTING_RULES = {
    keys: { ok: (k: string) => /^[a-z_][a-z0-9_.]*$/.test(k), text: "PostgreSQL setting names (lower-case letters, digits, '_' and '.')" },
    values: { ok: (v: string) => !hasControlCharacter(v), text: "a single-line postgresql.conf value" },
};

const SQL_IDENTIFIER = { re: /^[a-z_][a-z0-9_]*$/, maxLength: 63, text: "a lower-case SQL identifier" };

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

/** The defaults of one kind of data service, for the fields every data service has. */
interface DataServiceDefaults {
    readonly images: { floating: string; exact: string };
    /** Numeric parts of an exact release tag (PostgreSQL MAJOR.MINOR, Redis MAJOR.MINOR.PATCH). */
    readonly versionParts: number;
    readonly what: string;
    /** What one pod of it is, for the scaling refusal: "a single primary". */
    readonly single: string;
    /** Where high availability comes from instead, for the scaling refusal. */
    readonly highAvailability: string;
    readonly storageSize: string;
    readonly resources: ResourceSpec;
    /** The image's own non-root user. */
    readonly runAsUser: number;
}

/** `autoscaling`, and `replicas` other than 1, which the web services have: refused with the reason, not as unknown keys. */
function refuseScaling(r: ObjectReader, d: DataServiceDefaults): void {
    const single = `${d.what} here is ${d.single} (one writer on a ReadWriteOnce volume)`;
    const instead = `Scale the services that use it instead; for high availability use ${d.highAvailability}`;
    r.refuse("autoscaling", `${single} and cannot autoscale: an HPA would start a second writer on the same data or a replica with an empty volume. ${instead}`);
    const replicas = r.raw.replicas;
    r.skip("replicas");
    if (r.has("replicas") && replicas !== 1 && replicas !== "1") {
        r.errors.add(r.key("replicas"), replicas, `must be 1: ${single}, and a second replica would be a second writer on the same data or a replica with an empty volume. ${instead}`);
    }
}

function readDataService(r: ObjectReader, env: Environment, d: DataServiceDefaults): DataServiceSpec {
    const profile = PROFILES[env];
    refuseScaling(r, d);
    return {
        enabled: r.bool("enabled", false),
        image: readDataImage(r, d.images, d.versionParts, profile.requirePinnedImages, d.what),
        storageSize: r.quantity("storageSize", d.storageSize, { positive: true }),
        storageClass: r.string("storageClass", { pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), d.resources),
        protect: r.bool("protect", profile.protectData),
        runAsUser: r.int("runAsUser", { default: d.runAsUser, min: 1 }),
    };
}

function readExporter(r: ObjectReader, env: Environment, image: string): ExporterSpec {
    return { exporterImage: readImage(r, "exporterImage", image, PROFILES[env].requirePinnedImages) };
}

/** A single primary, as PostgreSQL and Redis run here. */
const PRIMARY = { single: "a single primary", highAvailability: "read replicas, a managed database or an operator" };

/** Which dumps to keep: `retentionCount` or `retentionDays`, never both; the newest 7 when neither is set. */
function readRetention(r: ObjectReader): BackupRetention {
    const count = r.int("retentionCount", { default: 7, min: 1, max: 10000 });
    const days = r.int("retentionDays", { default: 7, min: 1, max: 36500 });
    if (r.has("retentionCount") && r.has("retentionDays")) {
        r.errors.add(r.key("retentionDays"), r.raw.retentionDays, `must not be set together with retentionCount (${show(r.raw.retentionCount)}): keep either the newest N dumps or those of the last N days`);
    }
    return r.has("retentionDays") && !r.has("retentionCount") ? { by: "days", value: days } : { by: "count", value: count };
}

/** `postgres.backup`; its volume defaults to the data volume's size and class. */
function readPostgresBackup(r: ObjectReader, env: Environment, data: DataServiceSpec): PostgresBackupSpec {
    const enabled = r.bool("enabled", PROFILES[env].postgresBackups && data.enabled);
    if (enabled && !data.enabled) {
        r.errors.add(r.key("enabled"), true, "needs postgres.enabled: true (there is no database to back up)");
    }
    const spec: PostgresBackupSpec = {
        enabled: enabled && data.enabled,
        schedule: r.string("schedule", { default: "0 3 * * *", pattern: CRON_SCHEDULE }),
        retention: readRetention(r),
        storageSize: r.quantity("storageSize", data.storageSize, { positive: true }),
        storageClass: r.string("storageClass", { default: data.storageClass, pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } }),
        activeDeadlineSeconds: r.int("activeDeadlineSeconds", { default: 4 * 3600, min: 60 }),
    };
    r.done();
    return spec;
}

export function readPostgres(r: ObjectReader, env: Environment): PostgresSpec {
    const spec: Omit<PostgresSpec, "backup"> = {
        ...readDataService(r, env, {
            images: { floating: "postgres:15-alpine", exact: "postgres:15.10-alpine" }, versionParts: 2, what: "PostgreSQL", ...PRIMARY,
            storageSize: PROFILES[env].postgresStorage,
            resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2000m", memory: "4Gi" } },
            // 70 is the postgres user of the official alpine image.
            runAsUser: 70,
        }),
        ...readExporter(r, env, "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"),
        database: r.string("database", { default: "app", pattern: SQL_IDENTIFIER }),
        user: r.string("user", { default: "app", pattern: SQL_IDENTIFIER }),
        settings: r.stringMap("settings", {
            max_connections: "200",
            shared_buffers: "1GB",
            effective_cache_size: "3GB",
            work_mem: "8MB",
            maintenance_work_mem: "256MB",
            wal_buffers: "16MB",
            checkpoint_completion_target: "0.9",
            random_page_cost: "1.1",
        }, POSTGRES_SETTING_RULES),
    };
    const backup = readPostgresBackup(r.object("backup"), env, spec);
    r.done();
    return { ...spec, backup };
}

export function readRedis(r: ObjectReader, env: Environment): RedisSpec {
    const spec: RedisSpec = {
        ...readDataService(r, env, {
            images: { floating: "redis:7.2-alpine", exact: "redis:7.2.7-alpine" }, versionParts: 3, what: "Redis", ...PRIMARY,
            storageSize: "10Gi",
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
            // 999 is the redis user of the official alpine image.
            runAsUser: 999,
        }),
        ...readExporter(r, env, "oliver006/redis_exporter:v1.62.0"),
        workload: r.string("workload", { default: "deployment", oneOf: REDIS_WORKLOADS }) as RedisWorkload,
        // Redis reads sizes case-insensitively, with or without the trailing b.
        maxmemory: r.string("maxmemory", { default: "768mb", pattern: { re: /^\d+(b|kb?|mb?|gb?)?$/i, maxLength: 20, text: "a Redis size such as 768mb, 1gb or 512m" } }),
        maxmemoryPolicy: r.string("maxmemoryPolicy", {
            default: "allkeys-lru",
            oneOf: ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"],
        }),
    };
    r.done();
    return spec;
}

export function readKafka(r: ObjectReader, env: Environment): KafkaSpec {
    const spec: KafkaSpec = {
        ...readDataService(r, env, {
            // Apache Kafka's own image has no tag that moves: the same exact release everywhere.
            images: { floating: "apache/kafka:4.1.1", exact: "apache/kafka:4.1.1" }, versionParts: 3, what: "Kafka",
            single: "a single broker and controller",
            highAvailability: "a replicated cluster run by an operator such as Strimzi, or a managed Kafka",
            storageSize: "10Gi",
            resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2000m", memory: "2Gi" } },
            // 1000 is appuser of the apache/kafka image.
            runAsUser: 1000,
        }),
        ...readExporter(r, env, "danielqsj/kafka-exporter:v1.9.0"),
    };
    r.done();
    return spec;
}

export function readMinio(r: ObjectReader, env: Environment): MinioSpec {
    const spec: MinioSpec = {
        ...readDataService(r, env, {
            // MinIO tags every release RELEASE.<timestamp>; only `latest` moves, and pinning refuses it.
            images: { floating: "minio/minio:RELEASE.2025-09-07T16-13-09Z", exact: "minio/minio:RELEASE.2025-09-07T16-13-09Z" }, versionParts: 0, what: "MinIO",
            single: "a single server",
            highAvailability: "a distributed MinIO run by its operator, or a managed object store",
            storageSize: "10Gi",
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "2Gi" } },
            // The image runs as root unless told otherwise; any non-root UID that owns /data works.
            runAsUser: 1000,
        }),
        buckets: readBuckets(r),
    };
    r.done();
    return spec;
}

function readBuckets(r: ObjectReader): string[] {
    const buckets = r.stringList("buckets");
    const seen = new Set<string>();
    for (const b of buckets) {
        if (!follows(S3_BUCKET, b)) {
            r.errors.add(r.key("buckets"), b, `must be ${S3_BUCKET.text}`);
        } else if (seen.has(b)) {
            r.errors.add(r.key("buckets"), b, "must be listed once");
        }
        seen.add(b);
    }
    return buckets;
}
