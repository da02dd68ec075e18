// The stack's secrets: which exist, which are generated, and when each is needed. One table drives
// config validation, the program (stacks/load.ts, components/appSecrets.ts) and the secrets command.

import { ObjectReader } from "./reader";
import { Environment, PlatformConfig } from "./types";

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

export const SECRET_KEYS: readonly string[] = SECRET_DEFS.map((d) => d.key);

export interface SecretSettings {
    /** Every needed generated secret must be in encrypted config; no in-program random fallback. */
    readonly requireConfigured: boolean;
    /** Azure AD single sign-on is on: its client id and secret must be configured. */
    readonly azureAdSso: boolean;
}

export function readSecretSettings(r: ObjectReader, env: Environment): SecretSettings {
    const spec = {
        requireConfigured: r.bool("requireConfigured", env === "prod"),
        azureAdSso: r.bool("azureAdSso", false),
    };
    r.done();
    return spec;
}

/**
 * Problems with the secrets a stack needs, given which secret keys are set: external secrets are
 * always required when needed; generated ones only when the stack requires configured secrets, and
 * RSA keys always, because the program cannot generate them (the secrets command can).
 */
export function missingSecrets(cfg: PlatformConfig, setKeys: ReadonlySet<string>): string[] {
    const problems: string[] = [];
    for (const def of SECRET_DEFS) {
        if (!def.neededBy(cfg) || setKeys.has(def.key)) {
            continue;
        }
        if (def.kind === "external") {
            problems.push(`${def.key}: is required: ${def.description}; set it with 'pulumi config set --secret ${def.key} <value> --stack ${cfg.stack}'`);
        } else if (def.kind !== "password" || cfg.secrets.requireConfigured) {
            const why = def.kind === "password" ? "this stack has secrets.requireConfigured: true" : "the program cannot generate RSA keys";
            problems.push(`${def.key}: is required (${why}): run 'npm run secrets -- init --stack ${cfg.stack}'`);
        }
    }
    return problems;
}
