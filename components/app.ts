// The application tier of one stack: namespace guard-rails, data services, the configured web
// services, ingress and monitoring, wired from the validated config. The pure functions below decide
// every value; the class only creates the children.

import * as pulumi from "@pulumi/pulumi";
import { enabledDataServices } from "../stacks/sections/crossChecks";
import { DATA_SERVICES, DataServiceName, PlatformConfig, ServiceSpec, migrationName } from "../stacks/types";
import { AppIngress } from "./ingress";
import { KAFKA_NAME, Kafka } from "./kafka";
import { MINIO_METRICS_PATH, MINIO_NAME, MINIO_PORT_NAME, MINIO_ROOT_USER, Minio } from "./minio";
import { Monitoring, ScrapeTarget } from "./monitoring";
import { NamespaceGuardrails } from "./namespace";
import { DATA_SERVICE_PORTS, KAFKA_PORT, MINIO_PORT, POSTGRES_BACKUP, POSTGRES_PORT, REDIS_PORT, networkPolicyFor, peerInNamespace } from "./networkGraph";
import { Dependency, clusterHost, objectLabels, selectorLabels } from "./podSpec";
import { POSTGRES_NAME, Postgres, connectionUrl as postgresUrl } from "./postgres";
import { PostgresBackup, backupTarget } from "./postgresBackup";
import { REDIS_NAME, Redis, connectionUrl as redisConnectionUrl } from "./redis";
import { HealthCheck, WebService } from "./webService";

/**
 * The part of a stack's config the application tier reads: everything but the cluster connection,
 * the add-ons and the secret settings (those reach it as `secrets` and `addons` below).
 */
export type AppConfig = Omit<PlatformConfig, "stack" | "cluster" | "addons" | "secrets">;

export interface AppArgs {
    readonly config: AppConfig;
    /** The stack's secret values by key (see stacks/secrets.ts and components/appSecrets.ts). */
    readonly secrets: Readonly<Record<string, pulumi.Output<string>>>;
    /** Releases that install the CRDs/webhooks app objects use; empty when the cluster has them already. */
    readonly addons: {
        readonly ingress: readonly pulumi.Resource[];
        readonly monitoringCrds: readonly pulumi.Resource[];
    };
}

/** Fully qualified in-cluster host of a Service in the stack's namespace. */
function serviceHost(cfg: AppConfig, service: string): string {
    return clusterHost(service, cfg.namespace);
}

/** The PostgreSQL connection URL with the password (URL-encoded, so any password parses): a secret. */
export function databaseUrl(cfg: AppConfig, password: pulumi.Input<string>): pulumi.Output<string> {
    const p = cfg.postgres;
    return pulumi.secret(pulumi.output(password).apply((pw) => postgresUrl(p.user, pw, serviceHost(cfg, POSTGRES_NAME), p.database)));
}

/** The Redis connection URL with the password (URL-encoded): a secret. */
export function redisUrl(cfg: AppConfig, password: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(password).apply((pw) => redisConnectionUrl(pw, serviceHost(cfg, REDIS_NAME))));
}

/** Plain environment of a service: shared app settings, then addresses of what it uses, then its own env. */
export function serviceEnv(cfg: AppConfig, s: ServiceSpec): Record<string, string> {
    const env: Record<string, string> = {
        ENVIRONMENT: cfg.environment,
        DEBUG: String(cfg.debug),
        LOG_LEVEL: cfg.debug ? "debug" : "info",
        JWT_ALGORITHM: cfg.jwtAlgorithm,
        ...cfg.appEnv,
    };
    if (s.uses.includes("postgres")) {
        Object.assign(env, {
            POSTGRES_HOST: serviceHost(cfg, POSTGRES_NAME),
            POSTGRES_PORT: String(POSTGRES_PORT),
            POSTGRES_DB: cfg.postgres.database,
            POSTGRES_USER: cfg.postgres.user,
        });
    }
    if (s.uses.includes("redis")) {
        Object.assign(env, { REDIS_HOST: serviceHost(cfg, REDIS_NAME), REDIS_PORT: String(REDIS_PORT) });
    }
    if (s.uses.includes("kafka")) {
        env.KAFKA_BOOTSTRAP_SERVERS = `${serviceHost(cfg, KAFKA_NAME)}:${KAFKA_PORT}`;
    }
    if (s.uses.includes("minio")) {
        env.S3_ENDPOINT = `http://${serviceHost(cfg, MINIO_NAME)}:${MINIO_PORT}`;
    }
    for (const other of cfg.services) {
        if (s.uses.includes(other.name)) {
            env[`${other.name.toUpperCase().replace(/-/g, "_")}_URL`] = `http://${serviceHost(cfg, other.name)}:${other.servicePort}`;
        }
    }
    return { ...env, ...s.env };
}

/** Secret environment of a service: connection URLs for the data services it uses plus its secretEnv mapping. */
export function serviceSecretEnv(cfg: AppConfig, s: ServiceSpec, secrets: Readonly<Record<string, pulumi.Output<string>>>): Record<string, pulumi.Output<string>> {
    const env: Record<string, pulumi.Output<string>> = {};
    if (s.uses.includes("postgres")) {
        env.DATABASE_URL = databaseUrl(cfg, secrets.postgresPassword);
    }
    if (s.uses.includes("redis")) {
        env.REDIS_URL = redisUrl(cfg, secrets.redisPassword);
    }
    if (s.uses.includes("minio")) {
        env.AWS_ACCESS_KEY_ID = pulumi.output(MINIO_ROOT_USER);
        env.AWS_SECRET_ACCESS_KEY = secrets.minioRootPassword;
    }
    for (const [variable, key] of Object.entries(s.secretEnv)) {
        const value = secrets[key];
        if (value === undefined) {
            // Config validation refuses this; the guard keeps a Secret from silently missing a key.
            throw new Error(`services.${s.name}.secretEnv ${variable}: secret '${key}' is not one this stack has`);
        }
        env[variable] = value;
    }
    for (const key of Object.keys(env)) {
        env[key] = pulumi.secret(env[key]);
    }
    return env;
}

/** Init-container waits: data services and other services this one uses, in that order. */
export function serviceDependencies(cfg: AppConfig, s: ServiceSpec): Dependency[] {
    // Each data service's Service is named after it.
    const deps: Dependency[] = DATA_SERVICES.filter((d) => s.uses.includes(d)).map((d) => ({ name: d, host: d, port: DATA_SERVICE_PORTS[d].port }));
    for (const other of cfg.services) {
        if (s.uses.includes(other.name)) {
            deps.push({ name: other.name, host: other.name, port: other.servicePort });
        }
    }
    return deps;
}

/**
 * Init-container waits of a service's migration Job: only the data services it uses. Another service
 * it uses may itself be waiting for this one, which waits for the Job.
 */
export function migrationDependencies(cfg: AppConfig, s: ServiceSpec): Dependency[] {
    return serviceDependencies(cfg, { ...s, uses: s.uses.filter((u) => (DATA_SERVICES as readonly string[]).includes(u)) });
}

/** What Prometheus scrapes: services with a metrics path, the data-service exporters, and MinIO's own metrics. */
export function scrapeTargets(cfg: AppConfig): ScrapeTarget[] {
    const targets: ScrapeTarget[] = cfg.services
        .filter((s) => s.metricsPath !== undefined)
        .map((s) => ({ name: s.name, selector: selectorLabels(cfg.appName, s.name), port: "http", path: s.metricsPath as string }));
    for (const name of enabledDataServices(cfg)) {
        const metrics = name === MINIO_NAME
            ? { port: MINIO_PORT_NAME, path: MINIO_METRICS_PATH, service: MINIO_NAME }
            : { port: "metrics", path: "/metrics" };
        targets.push({ name, selector: selectorLabels(cfg.appName, name), ...metrics });
    }
    return targets;
}

export class App extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** In-cluster URL of each service, by name. */
    readonly serviceUrls: Record<string, pulumi.Output<string>>;
    /** What `npm run verify` checks, one entry per service in config order. */
    readonly healthChecks: pulumi.Output<HealthCheck[]>;
    readonly publicUrl?: pulumi.Output<string>;
    readonly ingress?: AppIngress;
    readonly postgres?: Postgres;
    readonly postgresBackup?: PostgresBackup;
    readonly redis?: Redis;
    readonly kafka?: Kafka;
    readonly minio?: Minio;

    constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:App", name, {}, opts);
        const cfg = args.config;
        const labels = (component: string) => objectLabels(cfg.appName, component, cfg.environment);
        const parent = { parent: this };

        // Children are named after their role, not after config values, so a changed appName or
        // namespace is an update of the same resources (or a refused replacement), never a new set.
        // The aliases adopt resources that stacks created under the earlier, config-derived names;
        // their children follow through the name prefix they share with their parent.
        const guardrails = new NamespaceGuardrails("namespace", {
            name: cfg.namespace,
            labels: { ...objectLabels(cfg.appName, "namespace", cfg.environment) },
            quota: cfg.quota,
            network: cfg.network,
            holdsData: enabledDataServices(cfg).length > 0,
        }, { ...parent, aliases: [{ name: cfg.namespace }] });
        // Workloads wait for the quota, default limits and default-deny policy to exist.
        const inNamespace = { parent: this, dependsOn: [guardrails] };
        const namespace = guardrails.namespaceName;

        const secrets = args.secrets;

        // What every data service's component takes besides its own spec and password.
        const dataArgs = (n: DataServiceName) => ({
            namespace, appName: cfg.appName, labels: labels(n), checksumKey: secrets.checksumKey, exporter: cfg.monitoring.enabled,
            networkPolicy: networkPolicyFor(cfg, n),
        });
        if (cfg.postgres.enabled) {
            this.postgres = new Postgres(POSTGRES_NAME, { ...dataArgs(POSTGRES_NAME), spec: cfg.postgres, password: secrets.postgresPassword }, inNamespace);
            if (cfg.postgres.backup.enabled) {
                // After the database, whose Secret and Service the backup pods use.
                this.postgresBackup = new PostgresBackup(POSTGRES_BACKUP, {
                    namespace, labels: labels(POSTGRES_BACKUP), spec: cfg.postgres.backup, protect: cfg.postgres.protect,
                    target: backupTarget(cfg.appName, serviceHost(cfg, POSTGRES_NAME), cfg.postgres),
                    networkPolicy: networkPolicyFor(cfg, POSTGRES_BACKUP),
                }, { parent: this, dependsOn: [guardrails, this.postgres] });
            }
        }
        if (cfg.redis.enabled) {
            this.redis = new Redis(REDIS_NAME, { ...dataArgs(REDIS_NAME), spec: cfg.redis, password: secrets.redisPassword }, inNamespace);
        }
        if (cfg.kafka.enabled) {
            this.kafka = new Kafka(KAFKA_NAME, { ...dataArgs(KAFKA_NAME), spec: cfg.kafka }, inNamespace);
        }
        if (cfg.minio.enabled) {
            this.minio = new Minio(MINIO_NAME, { ...dataArgs(MINIO_NAME), spec: cfg.minio, password: secrets.minioRootPassword }, inNamespace);
        }

        const services = new Map<string, WebService>();
        for (const s of cfg.services) {
            services.set(s.name, new WebService(s.name, {
                namespace, appName: cfg.appName, service: s, labels: labels(s.name),
                env: serviceEnv(cfg, s),
                secretEnv: serviceSecretEnv(cfg, s, secrets),
                checksumKey: secrets.checksumKey,
                dependencies: serviceDependencies(cfg, s),
                initImage: cfg.initImage,
                networkPolicy: networkPolicyFor(cfg, s.name),
                migrationJob: s.migration?.mode === "job"
                    ? { dependencies: migrationDependencies(cfg, s), networkPolicy: networkPolicyFor(cfg, migrationName(s.name)) } : undefined,
            }, inNamespace));
        }

        if (cfg.ingress.enabled) {
            const routes = cfg.services.filter((s) => s.ingressPath !== undefined).map((s) => ({
                name: s.name,
                path: s.ingressPath as string,
                serviceName: (services.get(s.name) as WebService).serviceName,
                servicePort: s.servicePort,
                podSelector: selectorLabels(cfg.appName, s.name),
                podPort: s.port,
            }));
            const ingress = new AppIngress("ingress", {
                namespace, name: cfg.appName, spec: cfg.ingress, routes, labels: labels("ingress"),
                after: args.addons.ingress,
                controller: peerInNamespace(cfg.network.ingressControllerNamespace, cfg.network.ingressControllerPodLabels),
            }, { ...inNamespace, aliases: [{ name: cfg.appName }] });
            this.ingress = ingress;
            this.publicUrl = ingress.url;
        }

        if (cfg.monitoring.enabled) {
            const httpServices = cfg.services.filter((s) => s.metricsPath !== undefined).map((s) => s.name);
            new Monitoring("monitoring", {
                namespace, namespaceName: cfg.namespace, appName: cfg.appName, labels: labels("monitoring"),
                scrapeInterval: cfg.monitoring.scrapeInterval, targets: scrapeTargets(cfg), httpServices,
                postgres: cfg.postgres.enabled, redis: cfg.redis.enabled, kafka: cfg.kafka.enabled, minio: cfg.minio.enabled,
                thresholds: cfg.monitoring.alerts,
                dashboardLabel: cfg.monitoring.dashboardLabel, crdsFrom: args.addons.monitoringCrds,
                jobPods: cfg.services.some((s) => s.migration?.mode === "job"),
            }, { ...inNamespace, aliases: [{ name: `${cfg.appName}-monitoring` }] });
        }

        this.namespace = namespace;
        this.serviceUrls = Object.fromEntries([...services].map(([n, svc]) => [n, svc.url]));
        const ingress = this.ingress;
        this.healthChecks = pulumi.all([...services.values()].map((svc) => (ingress ? ingress.withPublicUrl(svc.healthCheck) : svc.healthCheck)));
        this.registerOutputs({ namespace: this.namespace, serviceUrls: this.serviceUrls, publicUrl: this.publicUrl, healthChecks: this.healthChecks });
    }
}
