// The data services: PostgreSQL and Redis.

import { PROFILES } from "../environments";
import { hasControlCharacter } from "../k8sRules";
import { ObjectReader, patterns } from "../reader";
import { Environment, PostgresSpec, RedisSpec } from "../types";
import { readDataImage, readImage } from "./images";
import { readResources } from "./services";

/** postgresql.conf lines: a setting name, and a value that cannot start another line. */
const POSTGRES_SETTING_RULES = {
    keys: { ok: (k: string) => /^[a-z_][a-z0-9_.]*$/.test(k), text: "PostgreSQL setting names (lower-case letters, digits, '_' and '.')" },
    values: { ok: (v: string) => !hasControlCharacter(v), text: "a single-line postgresql.conf value" },
};

const SQL_IDENTIFIER = { re: /^[a-z_][a-z0-9_]*$/, maxLength: 63, text: "a lower-case SQL identifier" };

export function readPostgres(r: ObjectReader, env: Environment): PostgresSpec {
    const profile = PROFILES[env];
    const spec: PostgresSpec = {
        enabled: r.bool("enabled", false),
        image: readDataImage(r, { floating: "postgres:15-alpine", exact: "postgres:15.10-alpine" }, 2, profile.requirePinnedImages, "PostgreSQL"),
        exporterImage: readImage(r, "exporterImage", "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", profile.requirePinnedImages),
        database: r.string("database", { default: "app", pattern: SQL_IDENTIFIER }),
        user: r.string("user", { default: "app", pattern: SQL_IDENTIFIER }),
        storageSize: r.quantity("storageSize", profile.postgresStorage, { positive: true }),
        storageClass: r.string("storageClass", { pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2000m", memory: "4Gi" } }),
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
        protect: r.bool("protect", profile.protectData),
        // 70 is the postgres user of the official alpine image.
        runAsUser: r.int("runAsUser", { default: 70, min: 1 }),
    };
    r.done();
    return spec;
}

export function readRedis(r: ObjectReader, env: Environment): RedisSpec {
    const profile = PROFILES[env];
    const spec: RedisSpec = {
        enabled: r.bool("enabled", false),
        image: readDataImage(r, { floating: "redis:7.2-alpine", exact: "redis:7.2.7-alpine" }, 3, profile.requirePinnedImages, "Redis"),
        exporterImage: readImage(r, "exporterImage", "oliver006/redis_exporter:v1.62.0", profile.requirePinnedImages),
        storageSize: r.quantity("storageSize", "10Gi", { positive: true }),
        storageClass: r.string("storageClass", { pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } }),
        // Redis reads sizes case-insensitively, with or without the trailing b.
        maxmemory: r.string("maxmemory", { default: "768mb", pattern: { re: /^\d+(b|kb?|mb?|gb?)?$/i, maxLength: 20, text: "a Redis size such as 768mb, 1gb or 512m" } }),
        maxmemoryPolicy: r.string("maxmemoryPolicy", {
            default: "allkeys-lru",
            oneOf: ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"],
        }),
        protect: r.bool("protect", profile.protectData),
        // 999 is the redis user of the official alpine image.
        runAsUser: r.int("runAsUser", { default: 999, min: 1 }),
    };
    r.done();
    return spec;
}
