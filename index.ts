// Entry point: load and validate the stack's config, connect to the cluster, build the add-ons and the
// application, and export the outputs other projects read through StackReference (README: "Stack outputs").

import * as k8s from "@pulumi/kubernetes";
import { ClusterAddons } from "./components/addons";
import { App, databaseUrl as appDatabaseUrl } from "./components/app";
import { AppSecrets } from "./components/appSecrets";
import { forceFieldOwnership } from "./components/fieldOwnership";
import { POSTGRES_PORT, REDIS_PORT } from "./components/networkGraph";
import { loadStack } from "./stacks/load";
import { secretDefs } from "./stacks/secrets";

// Throws one error listing every config problem before any resource is registered.
const { config, secretValues } = loadStack();

// Hand edits to declared fields are drift that the next `pulumi up` reverts (components/fieldOwnership.ts).
forceFieldOwnership();

const cluster = new k8s.Provider("cluster", {
    ...(config.cluster.kubeconfig ? { kubeconfig: config.cluster.kubeconfig } : {}),
    ...(config.cluster.context ? { context: config.cluster.context } : {}),
    // Changed Secrets and ConfigMaps are updated in place rather than replaced: a replacement of a
    // fixed-name object deletes it first, leaving pods that mount it without it for a moment. The
    // checksum annotations roll the pods that use a changed one.
    enableSecretMutable: true,
    enableConfigMapMutable: true,
});

const providers = { providers: { kubernetes: cluster } };

// Secrets from encrypted config, or generated into encrypted state where the stack allows it.
const secrets = new AppSecrets("secrets", {
    needed: secretDefs(config.secrets).filter((d) => d.neededBy(config)),
    configured: secretValues,
});

const addons = new ClusterAddons("addons", {
    addons: config.addons,
    ingressClassName: config.ingress.className,
    hstsMaxAgeSeconds: config.ingress.hstsMaxAgeSeconds,
    dashboardLabel: config.monitoring.dashboardLabel,
    grafanaAdminPassword: secrets.values.grafanaAdminPassword,
    alertWebhookUrl: secrets.values.alertWebhookUrl,
}, providers);

const app = new App("app", {
    config,
    secrets: secrets.values,
    addons: { ingress: addons.ingressReady, monitoringCrds: addons.monitoringCrds },
}, { ...providers, aliases: [{ name: config.appName }] });

const routed = config.services.filter((s) => s.ingressPath !== undefined);

export const environment = config.environment;
export const namespace = app.namespace;
/** Public URL of the app, and of each routed service. */
export const publicUrl = app.publicUrl;
export const publicUrls = config.ingress.enabled
    ? Object.fromEntries(routed.map((s) => [s.name, `https://${config.ingress.host}${s.ingressPath}`]))
    : {};
/** In-cluster URL of each service. */
export const serviceUrls = app.serviceUrls;
export const postgresHost = app.postgres?.host;
export const postgresPort = config.postgres.enabled ? POSTGRES_PORT : undefined;
export const databaseName = config.postgres.enabled ? config.postgres.database : undefined;
export const databaseUser = config.postgres.enabled ? config.postgres.user : undefined;
/** Secret with POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB. */
export const postgresCredentialsSecret = app.postgres?.credentialsSecretName;
/** Connection URL with the password: a secret output. */
export const databaseUrl = config.postgres.enabled ? appDatabaseUrl(config, secrets.values.postgresPassword) : undefined;
export const redisHost = app.redis?.host;
export const redisPort = config.redis.enabled ? REDIS_PORT : undefined;
export const redisCredentialsSecret = app.redis?.credentialsSecretName;
/** Secrets generated into encrypted state because the stack's config had none (run `npm run secrets -- init`). */
export const generatedSecrets = secrets.generatedKeys;
/** IngressClass the app's Ingress uses. */
export const ingressClassName = config.ingress.className;
/** ClusterIssuers created by the cert-manager add-on (empty when the cluster brings its own). */
export const clusterIssuers = addons.clusterIssuerNames;
/** Namespace of kube-prometheus-stack (Prometheus, Grafana, Alertmanager), when this stack installs it. */
export const monitoringNamespace = config.addons.kubePrometheusStack.enabled ? config.addons.kubePrometheusStack.namespace : undefined;
