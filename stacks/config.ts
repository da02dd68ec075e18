// Turns one stack's raw config into a validated PlatformConfig, or fails with every problem at once.
// Pure: tests call resolveConfig with tables of raw values; stacks/load.ts feeds it pulumi.Config.
// The config's shape (every key, its type and description) is the zod schema CONFIG, composed of
// the sections' in stacks/sections/; each section's reader applies the defaults that depend on the
// environment or on other keys. Checks that need the whole config are in crossChecks.ts.

import { ADDONS, readAddons } from "./addons";
import { PROFILES } from "./environments";
import { DNS1123_LABEL, INGRESS_HOST } from "./k8sRules";
import { ConfigErrors, bool, checkMap, mapOf, object, oneOf, shapeReader, text, textMap } from "./reader";
import { SECRETS, SECRET_FIELDS, SECRET_KEYS, customSecretKeys, missingSecrets, readSecretSettings } from "./secrets";
import { checkQuota, checkReferences } from "./sections/crossChecks";
import { KAFKA, MINIO, POSTGRES, REDIS, readKafka, readMinio, readPostgres, readRedis } from "./sections/data";
import { INGRESS, readIngress } from "./sections/edge";
import { CONFIG_NAMESPACE, SecretKeyState } from "./sections/entries";
import { checkPinned, image } from "./sections/images";
import { MONITORING, readMonitoring } from "./sections/monitoring";
import { CLUSTER, NETWORK, QUOTA, readCluster, readNetwork, readQuota } from "./sections/namespace";
import { ENV_MAP_RULES, SERVICE, readService } from "./sections/services";
import { ENVIRONMENTS, PlatformConfig } from "./types";

/** Every top-level config key: Pulumi.yaml declares the same (a unit test keeps them equal). */
const CONFIG_FIELDS = {
    environment: oneOf(ENVIRONMENTS, { required: `one of ${ENVIRONMENTS.join(", ")}` })
        .describe("Environment profile: dev, staging or prod. Selects per-environment defaults (image pinning, quotas, PVC sizes, data protection, required secrets)."),
    appName: text({ rule: DNS1123_LABEL }).describe("Application name; used in labels, the default namespace and object names."),
    namespace: text({ rule: DNS1123_LABEL }).describe("Namespace of the app. Empty means <appName> in prod and <appName>-<environment> elsewhere."),
    domain: text({ rule: INGRESS_HOST }).describe("Public hostname of the app (the Ingress host unless ingress.host is set)."),
    debug: bool().describe("Debug mode and verbose logging for the app services (DEBUG, LOG_LEVEL)."),
    jwtAlgorithm: oneOf(["HS256", "RS256"]).describe("JWT signing algorithm, HS256 (shared secret jwtSecret) or RS256 (key pair jwtPrivateKey/jwtPublicKey)."),
    initImage: image("Image of the init containers that wait for dependencies (needs sh and nc)."),
    cluster: CLUSTER,
    services: mapOf(SERVICE).describe("The app's web services, a map of name to settings."),
    postgres: POSTGRES,
    redis: REDIS,
    kafka: KAFKA,
    minio: MINIO,
    ingress: INGRESS,
    monitoring: MONITORING,
    network: NETWORK,
    quota: QUOTA,
    appEnv: textMap().describe("Plain settings shared by every service's ConfigMap (e.g. CORS_ORIGINS, FRONTEND_URL)."),
    secrets: SECRETS,
    addons: ADDONS,
    ...SECRET_FIELDS,
};

/** The config's shape: every key at every level, its type and description. */
export const CONFIG = object(CONFIG_FIELDS);

const readShape = shapeReader(CONFIG);

/** Top-level config keys other than secrets. */
export const SETTING_KEYS: readonly string[] = Object.keys(CONFIG_FIELDS).filter((k) => !SECRET_KEYS.includes(k));

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
    // Secret values are read by stacks/load.ts and never pass through here; the stack's own secrets
    // (secrets.custom) are known keys, unless they shadow a setting, which readSecretSettings refuses.
    const hidden = new Set([...SECRET_KEYS, ...customSecretKeys(raw.secrets).filter((k) => !SETTING_KEYS.includes(k))]);
    const c = readShape(Object.fromEntries(Object.entries(raw).filter(([k]) => !hidden.has(k))), errors);
    // With no valid environment, read the rest with the most lenient profile so the one real problem
    // is not buried under follow-on ones.
    const env = c.environment ?? "dev";
    const appName = c.appName ?? "app";
    const domain = c.domain ?? "";
    const addons = readAddons(errors, c.addons, env);
    const secrets = readSecretSettings(errors, c.secrets, env, SETTING_KEYS);
    const secretNames = new Set<string>([...SECRET_KEYS, ...Object.keys(secrets.custom)]);
    const cfg: PlatformConfig = {
        stack,
        environment: env,
        appName,
        namespace: c.namespace ?? (env === "prod" ? appName : `${appName}-${env}`),
        domain,
        debug: c.debug ?? false,
        jwtAlgorithm: c.jwtAlgorithm ?? "HS256",
        initImage: checkPinned(errors, "initImage", c.initImage ?? "busybox:1.36.1", PROFILES[env].requirePinnedImages),
        cluster: readCluster(c.cluster),
        services: Object.entries(c.services ?? {}).map(([name, s]) => readService(errors, name, s, env, secretNames)),
        postgres: readPostgres(errors, c.postgres, env),
        redis: readRedis(errors, c.redis, env),
        kafka: readKafka(errors, c.kafka, env),
        minio: readMinio(errors, c.minio, env),
        ingress: readIngress(errors, c.ingress, domain, appName, addons),
        monitoring: readMonitoring(c.monitoring),
        network: readNetwork(errors, c.network, addons),
        quota: readQuota(c.quota, env),
        appEnv: checkMap(errors, "appEnv", c.appEnv ?? {}, ENV_MAP_RULES),
        secrets,
        addons,
    };
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
