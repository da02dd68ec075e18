// The stack's secrets: which exist, which are generated, and when each is needed. One table drives
// config validation, the program (stacks/load.ts, components/appSecrets.ts) and the secrets command.

import * as crypto from "crypto";
import { ConfigErrors, Read, bool, mapOf, object, oneOf, text } from "./reader";
import { CustomSecretKind, Environment, PlatformConfig, SecretSettings } from "./types";

export type SecretKind =
    /** A random password-like string (URL-safe alphabet, so it can sit in a connection URL). */
    | "password"
    /** An RSA private key in PEM (RS256 JWT signing); its public half is derived by the secrets command. */
    | "rsaPrivateKey"
    | "rsaPublicKey"
    /** Supplied by a person (e.g. an SSO client secret); never generated. */
    | "external";

export interface SecretDef {
    /** Config key, `platform:<key>`, always set with `--secret`. */
    readonly key: string;
    readonly kind: SecretKind;
    /** Length for generated passwords. */
    readonly length?: number;
    readonly description: string;
    /** Whether this stack needs the secret at all. */
    readonly neededBy: (cfg: PlatformConfig) => boolean;
}

export const SECRET_DEFS: readonly SecretDef[] = [
    {
        key: "postgresPassword", kind: "password", length: 32,
        description: "PostgreSQL password of the application user",
        neededBy: (c) => c.postgres.enabled,
    },
    {
        key: "redisPassword", kind: "password", length: 32,
        description: "Redis AUTH password",
        neededBy: (c) => c.redis.enabled,
    },
    {
        key: "minioRootPassword", kind: "password", length: 32,
        description: "MinIO root password, the S3 secret key of the services that use minio",
        neededBy: (c) => c.minio.enabled,
    },
    {
        key: "jwtSecret", kind: "password", length: 64,
        description: "HS256 JWT signing secret (stacks with jwtAlgorithm HS256)",
        neededBy: (c) => c.jwtAlgorithm === "HS256",
    },
    {
        key: "jwtPrivateKey", kind: "rsaPrivateKey",
        description: "RS256 JWT signing key, PEM (stacks with jwtAlgorithm RS256)",
        neededBy: (c) => c.jwtAlgorithm === "RS256",
    },
    {
        key: "jwtPublicKey", kind: "rsaPublicKey",
        description: "RS256 JWT verification key, PEM, the public half of jwtPrivateKey",
        neededBy: (c) => c.jwtAlgorithm === "RS256",
    },
    {
        key: "encryptionKey", kind: "password", length: 64,
        description: "Application data encryption key",
        neededBy: () => true,
    },
    {
        key: "checksumKey", kind: "password", length: 64,
        description: "Key of the checksum/secret pod annotations (HMAC), so they reveal nothing about the secrets",
        neededBy: () => true,
    },
    {
        key: "grafanaAdminPassword", kind: "password", length: 32,
        description: "Grafana admin password (kube-prometheus-stack add-on)",
        neededBy: (c) => c.addons.kubePrometheusStack.enabled,
    },
    {
        key: "alertWebhookUrl", kind: "external",
        description: "Alertmanager webhook receiver URL (kube-prometheus-stack with routeAlerts, the prod default)",
        neededBy: (c) => c.addons.kubePrometheusStack.enabled && c.addons.kubePrometheusStack.routeAlerts,
    },
    {
        key: "azureAdClientId", kind: "external",
        description: "Azure AD SSO client id (only when secrets.azureAdSso is true)",
        neededBy: (c) => c.secrets.azureAdSso,
    },
    {
        key: "azureAdClientSecret", kind: "external",
        description: "Azure AD SSO client secret (only when secrets.azureAdSso is true)",
        neededBy: (c) => c.secrets.azureAdSso,
    },
];

/** The built-in secrets' keys. */
export const SECRET_KEYS: readonly string[] = SECRET_DEFS.map((d) => d.key);

const CUSTOM_KINDS: readonly CustomSecretKind[] = ["password", "external"];
/** Length of generated custom passwords. */
export const CUSTOM_PASSWORD_LENGTH = 32;


const CUSTOM_KEY = /^[a-z][a-zA-Z0-9]{0,62}$/;

export const SECRETS = object({
    requireConfigured: bool().describe("no generated fallback: every secret set with --secret"),
    azureAdSso: bool().describe("require the Azure AD SSO secrets"),
    custom: mapOf(oneOf(CUSTOM_KINDS)).describe("the stack's own secrets: key -> password or external"),
}).describe("Secret handling");

/** The secrets' own config keys, with their descriptions; their values never pass validation. */
export const SECRET_FIELDS = Object.fromEntries(SECRET_DEFS.map((d) => [d.key, text().describe(`Secret: ${d.description}`)]));

/**
 * `reservedKeys`: the project's other config keys, which a custom secret must not shadow.
 */
export function readSecretSettings(errors: ConfigErrors, s: Read<typeof SECRETS> = {}, env: Environment, reservedKeys: readonly string[]): SecretSettings {
    const custom: Record<string, CustomSecretKind> = {};
    for (const [key, kind] of Object.entries(s.custom ?? {})) {
        if (kind === undefined) {
            continue;
        }
        if (!CUSTOM_KEY.test(key)) {
            errors.add(`secrets.custom.${key}`, kind, "must be declared under a camelCase config key (a letter, then letters and digits, at most 63)");
        } else if (SECRET_KEYS.includes(key) || reservedKeys.includes(key)) {
            errors.add(`secrets.custom.${key}`, kind, `must not reuse '${key}', which is already a config key of this project`);
        } else {
            // Only valid declarations become secrets, so one mistake is reported once.
            custom[key] = kind;
        }
    }
    return {
        requireConfigured: s.requireConfigured ?? env === "prod",
        azureAdSso: s.azureAdSso ?? false,
        custom,
    };
}

/** Keys of the secrets a raw `secrets` config object declares, read before validation (see splitConfig). */
export function customSecretKeys(rawSecrets: unknown): string[] {
    const custom = (rawSecrets as { custom?: unknown } | undefined)?.custom;
    return custom && typeof custom === "object" && !Array.isArray(custom) ? Object.keys(custom) : [];
}

/** Every secret of a stack: the built-in ones, then its own. */
export function secretDefs(settings: SecretSettings): SecretDef[] {
    const custom = Object.entries(settings.custom).map(([key, kind]): SecretDef => ({
        key, kind, length: CUSTOM_PASSWORD_LENGTH,
        description: `stack secret '${key}' (secrets.custom, ${kind})`,
        neededBy: () => true,
    }));
    return [...SECRET_DEFS, ...custom];
}

/** The secrets this stack needs that are not set. */
function unsetNeeded(cfg: PlatformConfig, setKeys: ReadonlySet<string>): SecretDef[] {
    return secretDefs(cfg.secrets).filter((d) => d.neededBy(cfg) && !setKeys.has(d.key));
}

/**
 * Problems with the secrets a stack needs, given which secret keys are set: external secrets are
 * always required when needed; generated ones only when the stack requires configured secrets, and
 * RSA keys always, because the program cannot generate them (the secrets command can).
 */
export function missingSecrets(cfg: PlatformConfig, setKeys: ReadonlySet<string>): string[] {
    const problems: string[] = [];
    for (const def of unsetNeeded(cfg, setKeys)) {
        if (def.kind === "external") {
            problems.push(`${def.key}: is required: ${def.description}; set it with 'pulumi config set --secret ${def.key} <value> --stack ${cfg.stack}'`);
        } else if (def.kind !== "password" || cfg.secrets.requireConfigured) {
            const why = def.kind === "password" ? "this stack has secrets.requireConfigured: true" : "the program cannot generate RSA keys";
            problems.push(`${def.key}: is required (${why}): run 'npm run secrets -- init --stack ${cfg.stack}'`);
        }
    }
    return problems;
}

/** A generated value for `def` (passwords URL-safe; RSA as a PEM pair, private first). */
export function generateSecret(def: SecretDef): Record<string, string> {
    if (def.kind === "password") {
        const length = def.length ?? 32;
        return { [def.key]: crypto.randomBytes(Math.ceil((length * 3) / 4)).toString("base64url").slice(0, length) };
    }
    if (def.kind === "rsaPrivateKey" || def.kind === "rsaPublicKey") {
        const pair = crypto.generateKeyPairSync("rsa", {
            modulusLength: 3072,
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs8", format: "pem" },
        });
        return { jwtPrivateKey: pair.privateKey, jwtPublicKey: pair.publicKey };
    }
    throw new Error(`${def.key} is supplied by a person and cannot be generated: set it with 'pulumi config set --secret ${def.key} <value>'`);
}

export interface SecretStatus {
    readonly key: string;
    readonly kind: SecretKind;
    readonly needed: boolean;
    readonly set: boolean;
}

export function secretStatus(cfg: PlatformConfig, setKeys: ReadonlySet<string>): SecretStatus[] {
    return secretDefs(cfg.secrets).map((d) => ({ key: d.key, kind: d.kind, needed: d.neededBy(cfg), set: setKeys.has(d.key) }));
}

/** What `init` does: generate every needed, unset, generatable secret; an RSA pair as a whole. */
export function planInit(cfg: PlatformConfig, setKeys: ReadonlySet<string>): { generate: SecretDef[]; external: SecretDef[] } {
    const missing = unsetNeeded(cfg, setKeys);
    const generate = missing.filter((d) => d.kind === "password" || d.kind === "rsaPrivateKey");
    // A missing public key alone is regenerated with its private key, so the two always match.
    if (missing.some((d) => d.kind === "rsaPublicKey") && !generate.some((d) => d.kind === "rsaPrivateKey")) {
        generate.push(SECRET_DEFS.find((d) => d.kind === "rsaPrivateKey") as SecretDef);
    }
    return { generate, external: missing.filter((d) => d.kind === "external") };
}

/** What `rotate <key>` does: the key's definition (an RSA half rotates the pair), or an error naming the allowed keys. */
export function planRotate(cfg: PlatformConfig, key: string): SecretDef {
    const defs = secretDefs(cfg.secrets);
    const def = defs.find((d) => d.key === key);
    const rotatable = defs.filter((d) => d.kind !== "external").map((d) => d.key);
    if (!def || def.kind === "external") {
        throw new Error(`cannot rotate '${key}': rotatable secrets are ${rotatable.join(", ")}` +
            (def ? `; '${key}' is supplied by a person: set it with 'pulumi config set --secret ${key} <value>'` : ""));
    }
    return def.kind === "rsaPublicKey" ? SECRET_DEFS.find((d) => d.kind === "rsaPrivateKey") as SecretDef : def;
}
