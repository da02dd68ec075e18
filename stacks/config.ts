// Turns one stack's raw config into a validated PlatformConfig, or fails with every problem at once.
// Pure: tests call resolveConfig with tables of raw values; stacks/load.ts feeds it pulumi.Config.
// Each section is read in stacks/sections/; checks that need the whole config are in crossChecks.ts.

import { readAddons } from "./addons";
import { PROFILES } from "./environments";
import { ConfigErrors, ObjectReader, patterns } from "./reader";
import { SECRET_KEYS, missingSecrets, readSecretSettings } from "./secrets";
import { checkQuota, checkReferences } from "./sections/crossChecks";
import { readKafka, readMinio, readPostgres, readRedis } from "./sections/data";
import { readIngress } from "./sections/edge";
import { CONFIG_NAMESPACE, SecretKeyState } from "./sections/entries";
import { readImage } from "./sections/images";
import { readMonitoring } from "./sections/monitoring";
import { readCluster, readNetwork, readQuota } from "./sections/namespace";
import { ENV_MAP_RULES, readService } from "./sections/services";
import { ENVIRONMENTS, Environment, PlatformConfig } from "./types";

/** Top-level config keys other than secrets (Pulumi.yaml declares the same; a unit test keeps them equal). */
export const SETTING_KEYS: readonly string[] = [
    "environment", "appName", "namespace", "domain", "debug", "jwtAlgorithm", "initImage", "cluster", "services",
    "postgres", "redis", "kafka", "minio", "ingress", "monitoring", "network", "quota", "appEnv", "secrets", "addons",
];

export class ConfigValidationError extends Error {
    constructor(readonly stackName: string, readonly problems: readonly string[]) {
        super(
            `Stack '${stackName}' has ${problems.length} config problem${problems.length === 1 ? "" : "s"} ` +
            `(keys are under '${CONFIG_NAMESPACE}:'):\n` + problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigValidationError";
        // The engine prints `stack` for a failed program: the problem list, without a JavaScript trace.
        this.stack = `${this.name}: ${this.message}`;
        // Not enumerable, so Node's error printout does not list the problems a second time.
        Object.defineProperties(this, { stackName: { enumerable: false }, problems: { enumerable: false } });
    }
}

/**
 * Validates one stack's raw config (keys without the namespace prefix, values JSON-parsed, secret
 * values left out) and applies defaults.
 */
export function resolveConfig(stack: string, raw: Record<string, unknown>, secretKeys: SecretKeyState = { set: [], plaintext: [] }): PlatformConfig {
    const errors = new ConfigErrors();
    const r = new ObjectReader("", raw, errors);
    const environment = r.string("environment", { required: `one of ${ENVIRONMENTS.join(", ")}`, oneOf: ENVIRONMENTS }) as Environment;
    // With no valid environment, read the rest with the most lenient profile so the one real problem
    // is not buried under follow-on ones.
    const env: Environment = ENVIRONMENTS.includes(environment) ? environment : "dev";
    const appName = r.string("appName", { default: "app", pattern: patterns.dnsLabel });
    const domain = r.string("domain", { pattern: patterns.hostname });
    const secrets = readSecretSettings(r.object("secrets"), env, SETTING_KEYS);
    const secretNames = new Set<string>([...SECRET_KEYS, ...Object.keys(secrets.custom)]);
    const addons = readAddons(r.object("addons"), env);
    const cfg: PlatformConfig = {
        stack,
        environment: env,
        appName,
        namespace: r.string("namespace", { default: env === "prod" ? appName : `${appName}-${env}`, pattern: patterns.dnsLabel }),
        domain,
        debug: r.bool("debug", false),
        jwtAlgorithm: r.string("jwtAlgorithm", { default: "HS256", oneOf: ["HS256", "RS256"] }) as "HS256" | "RS256",
        initImage: readImage(r, "initImage", "busybox:1.36.1", PROFILES[env].requirePinnedImages),
        cluster: readCluster(r.object("cluster")),
        services: r.entries("services").map(([name, sr]) => readService(name, sr, env, secretNames)),
        postgres: readPostgres(r.object("postgres"), env),
        redis: readRedis(r.object("redis"), env),
        kafka: readKafka(r.object("kafka"), env),
        minio: readMinio(r.object("minio"), env),
        ingress: readIngress(r.object("ingress"), domain, appName, addons),
        monitoring: readMonitoring(r.object("monitoring")),
        network: readNetwork(r.object("network"), addons),
        quota: readQuota(r.object("quota"), env),
        appEnv: r.stringMap("appEnv", {}, ENV_MAP_RULES),
        secrets,
        addons,
    };
    // Secret values are read by stacks/load.ts and never pass through here; they only count as known keys.
    for (const key of secretNames) {
        r.skip(key);
    }
    r.done();
    for (const key of secretKeys.plaintext) {
        errors.problems.push(`${key}: is stored in plain text: secrets must be set with 'pulumi config set --secret ${key} <value>' (or 'npm run secrets')`);
    }
    // Cross-checks run on whatever is valid: every problem is reported at once.
    checkReferences(cfg, errors);
    checkQuota(cfg, errors);
    errors.problems.push(...missingSecrets(cfg, new Set(secretKeys.set)));
    if (errors.problems.length > 0) {
        throw new ConfigValidationError(stack, errors.problems);
    }
    return cfg;
}

