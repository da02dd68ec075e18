// The program as a function: from the validated config and the configured secret values to the
// stack outputs. index.ts calls it; tests call it through the same entry point.

import * as k8s from "@pulumi/kubernetes";
import { LoadedStack } from "../stacks/load";
import { secretDefs } from "../stacks/secrets";
import { ClusterAddons, podsMetricNames } from "./addons";
import { App } from "./app";
import { AppSecrets } from "./appSecrets";
import { forceFieldOwnership } from "./fieldOwnership";

/** Builds the stack and returns its outputs (README: "Stack outputs"). */
export function platform({ config, secretValues }: LoadedStack): Record<string, unknown> {
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
        podsMetricNames: podsMetricNames(config.services),
        scrapeInterval: config.monitoring.scrapeInterval,
        grafanaAdminPassword: secrets.values.grafanaAdminPassword,
        alertWebhookUrl: secrets.values.alertWebhookUrl,
    }, providers);

    const app = new App("app", {
        config,
        secrets: secrets.values,
        addons: { ingress: addons.ingressReady, monitoringCrds: addons.monitoringCrds },
    }, { ...providers, aliases: [{ name: config.appName }] });

    // Every output comes from the component that created the object it describes.
    const outputs: Record<string, unknown> = {
        environment: config.environment,
        /** The app's name and namespace (also read back by the next update: stacks/load.ts). */
        appName: config.appName,
        namespace: app.namespace,
        /** Public URL of the app, and of each routed service. */
        publicUrl: app.publicUrl,
        publicUrls: app.ingress?.routeUrls ?? {},
        /** In-cluster URL of each service. */
        serviceUrls: app.serviceUrls,
        /** Per service: its Service, port, health path and public URL, which `npm run verify` checks. */
        healthChecks: app.healthChecks,
        postgresHost: app.postgres?.host,
        postgresPort: app.postgres?.port,
        databaseName: app.postgres?.database,
        databaseUser: app.postgres?.user,
        /** Secret with POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB. */
        postgresCredentialsSecret: app.postgres?.credentialsSecretName,
        /** Connection URL with the password: a secret output. */
        databaseUrl: app.postgres?.url,
        /** What `npm run db` runs its restore and listing Jobs with (absent without postgres.backup). */
        postgresBackup: app.postgresBackup?.target,
        redisHost: app.redis?.host,
        redisPort: app.redis?.port,
        redisCredentialsSecret: app.redis?.credentialsSecretName,
        /** How Redis runs, `deployment` or `statefulset` (read back by the next update: stacks/load.ts). */
        redisWorkload: app.redis?.workload,
        kafkaHost: app.kafka?.host,
        kafkaPort: app.kafka?.port,
        minioHost: app.minio?.host,
        minioPort: app.minio?.port,
        /** Secret with MINIO_ROOT_USER, MINIO_ROOT_PASSWORD. */
        minioCredentialsSecret: app.minio?.credentialsSecretName,
        /** Secrets generated into encrypted state because the stack's config had none (run `npm run secrets -- init`). */
        generatedSecrets: secrets.generatedKeys,
        /** IngressClass the app's Ingress uses. */
        ingressClassName: app.ingress?.className,
        /** ClusterIssuers created by the cert-manager add-on (empty when the cluster brings its own). */
        clusterIssuers: addons.clusterIssuerNames,
        /** Namespace of kube-prometheus-stack (Prometheus, Grafana, Alertmanager), when this stack installs it. */
        monitoringNamespace: addons.kubePrometheusStack?.namespace,
    };
    // Absent rather than undefined: the engine warns about every undefined output.
    return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined));
}
