// Prometheus Operator objects for the app: ServiceMonitors, the PrometheusRule with the reference
// system's alerts, and a Grafana dashboard ConfigMap for the Grafana sidecar. The ServiceMonitor and
// PrometheusRule kinds come from CRDs that an add-on installs: callers pass that add-on's release in
// `crdsFrom`, and each custom resource depends on it (a component's dependsOn does not reach its
// children), so none is created before its CRD exists.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AlertThresholds } from "../stacks/types";
import { objectMeta } from "./podSpec";

/** monitoring.coreos.com/v1 ServiceMonitor spec (the fields this program sets). */
export interface ServiceMonitorSpec {
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
    readonly namespaceSelector: { readonly matchNames: readonly pulumi.Input<string>[] };
    readonly endpoints: readonly {
        readonly port: string;
        readonly path: string;
        readonly interval: string;
        readonly scrapeTimeout?: string;
        readonly relabelings?: readonly { readonly sourceLabels: readonly string[]; readonly regex: string; readonly action: "keep" }[];
    }[];
}

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: { readonly severity: "critical" | "warning" };
    readonly annotations: { readonly summary: string; readonly description: string };
}

/** monitoring.coreos.com/v1 PrometheusRule spec. */
export interface PrometheusRuleSpec {
    readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

export interface ScrapeTarget {
    /** Workload name (frontend, backend, postgres, redis...). */
    readonly name: string;
    readonly selector: Readonly<Record<string, string>>;
    /** Service port name to scrape. */
    readonly port: string;
    readonly path: string;
    /**
     * Scrape only through this Service. For metrics on a port that the workload's headless Service
     * has too (MinIO's API port): both carry the same labels, so the port alone would scrape twice.
     */
    readonly service?: string;
}

export interface MonitoringArgs {
    readonly namespace: pulumi.Input<string>;
    /** Plain namespace name, for PromQL selectors. */
    readonly namespaceName: string;
    readonly appName: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly scrapeInterval: string;
    readonly targets: readonly ScrapeTarget[];
    /** Services with HTTP metrics, which get error-rate, latency and down alerts. */
    readonly httpServices: readonly string[];
    readonly postgres: boolean;
    readonly redis: boolean;
    readonly kafka: boolean;
    readonly minio: boolean;
    readonly thresholds: AlertThresholds;
    readonly dashboardLabel: string;
    /** Resources that install the monitoring.coreos.com CRDs (the kube-prometheus-stack release). */
    readonly crdsFrom: readonly pulumi.Resource[];
    /** The namespace keeps finished Job pods (the services' migration Jobs); default false. */
    readonly jobPods?: boolean;
}

function pascal(name: string): string {
    return name.split(/[-_]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

function percent(ratio: number): string {
    return `${Math.round(ratio * 1000) / 10}%`;
}

/** The alert rules, thresholds from config (defaults: the reference system's). */
export function alertRules(args: Pick<MonitoringArgs, "namespaceName" | "httpServices" | "postgres" | "redis" | "kafka" | "minio" | "thresholds" | "jobPods">): AlertRule[] {
    const t = args.thresholds;
    const ns = `namespace="${args.namespaceName}"`;
    const rules: AlertRule[] = [];
    for (const svc of args.httpServices) {
        const sel = `${ns},service="${svc}"`;
        const P = pascal(svc);
        rules.push(
            {
                alert: `${P}HighErrorRate`,
                expr: `sum(rate(http_requests_total{${sel},status=~"5.."}[5m])) / sum(rate(http_requests_total{${sel}}[5m])) > ${t.errorRateRatio}`,
                for: "5m",
                labels: { severity: "critical" },
                annotations: { summary: `${svc} 5xx error rate above ${percent(t.errorRateRatio)}`, description: `More than ${percent(t.errorRateRatio)} of ${svc} requests fail with 5xx.` },
            },
            {
                alert: `${P}HighLatency`,
                expr: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[5m]))) > ${t.latencyP95Seconds}`,
                for: "10m",
                labels: { severity: "warning" },
                annotations: { summary: `${svc} P95 latency above ${t.latencyP95Seconds}s`, description: `The 95th percentile of ${svc} request duration is above ${t.latencyP95Seconds}s.` },
            },
            {
                alert: `${P}Down`,
                expr: `absent(up{${sel}} == 1)`,
                for: `${t.serviceDownMinutes}m`,
                labels: { severity: "critical" },
                annotations: { summary: `${svc} is down`, description: `No ${svc} target has been up for ${t.serviceDownMinutes} minutes.` },
            },
        );
    }
    if (args.postgres) {
        rules.push(
            {
                alert: "PostgresDown",
                expr: `pg_up{${ns}} == 0 or absent(pg_up{${ns}})`,
                for: `${t.postgresDownMinutes}m`,
                labels: { severity: "critical" },
                annotations: { summary: "PostgreSQL is down", description: `PostgreSQL has been unreachable for ${t.postgresDownMinutes} minute(s).` },
            },
            {
                alert: "PostgresHighConnections",
                expr: `sum(pg_stat_database_numbackends{${ns}}) / max(pg_settings_max_connections{${ns}}) > ${t.postgresConnectionsRatio}`,
                for: "5m",
                labels: { severity: "warning" },
                annotations: { summary: `PostgreSQL connections above ${percent(t.postgresConnectionsRatio)}`, description: `More than ${percent(t.postgresConnectionsRatio)} of max_connections are in use.` },
            },
        );
    }
    if (args.redis) {
        rules.push(
            {
                alert: "RedisDown",
                expr: `redis_up{${ns}} == 0 or absent(redis_up{${ns}})`,
                for: `${t.redisDownMinutes}m`,
                labels: { severity: "critical" },
                annotations: { summary: "Redis is down", description: `Redis has been unreachable for ${t.redisDownMinutes} minute(s).` },
            },
            {
                alert: "RedisHighMemory",
                expr: `redis_memory_used_bytes{${ns}} / redis_memory_max_bytes{${ns}} > ${t.redisMemoryRatio}`,
                for: "5m",
                labels: { severity: "warning" },
                annotations: { summary: `Redis memory above ${percent(t.redisMemoryRatio)} of maxmemory`, description: `Redis uses more than ${percent(t.redisMemoryRatio)} of maxmemory; keys are being evicted.` },
            },
        );
    }
    if (args.kafka) {
        // The exporter's broker count comes from its client's cache and stays 1 after the broker
        // stops: the broker's readiness (its client port answering, from kube-state-metrics) says
        // down, and a missing exporter series says nothing is scraped at all.
        rules.push({
            alert: "KafkaDown",
            expr: `kube_statefulset_status_replicas_ready{${ns},statefulset="kafka"} < 1 or absent(kafka_brokers{${ns}})`,
            for: `${t.kafkaDownMinutes}m`,
            labels: { severity: "critical" },
            annotations: { summary: "Kafka is down", description: `The Kafka broker has not been ready, or not been scraped, for ${t.kafkaDownMinutes} minute(s).` },
        });
    }
    if (args.minio) {
        rules.push({
            alert: "MinioDown",
            expr: `minio_cluster_nodes_online_total{${ns}} < 1 or absent(minio_cluster_nodes_online_total{${ns}})`,
            for: `${t.minioDownMinutes}m`,
            labels: { severity: "critical" },
            annotations: { summary: "MinIO is down", description: `MinIO has been unreachable for ${t.minioDownMinutes} minute(s).` },
        });
    }
    rules.push(
        {
            alert: "PodCrashLooping",
            expr: `increase(kube_pod_container_status_restarts_total{${ns}}[15m]) > 3`,
            for: "5m",
            labels: { severity: "warning" },
            annotations: { summary: "Pod is crash looping", description: "Container {{ $labels.container }} of pod {{ $labels.pod }} restarted more than 3 times in 15 minutes." },
        },
        {
            alert: "PodNotReady",
            // A finished Job's pod stays not ready for as long as the Job is kept: such pods are left out.
            expr: args.jobPods
                ? `sum by (pod) (kube_pod_status_ready{${ns},condition="false"} * on (namespace, pod) group_left max by (namespace, pod) (kube_pod_owner{${ns},owner_kind!="Job"})) > 0`
                : `sum by (pod) (kube_pod_status_ready{${ns},condition="false"}) > 0`,
            for: `${t.podNotReadyMinutes}m`,
            labels: { severity: "warning" },
            annotations: { summary: "Pod not ready", description: `Pod {{ $labels.pod }} has not been ready for ${t.podNotReadyMinutes} minutes.` },
        },
    );
    return rules;
}

/** A small overview dashboard: request rate, latency, errors, database and cache health. */
export function dashboardJson(appName: string, namespaceName: string, httpServices: readonly string[]): string {
    const ns = `namespace="${namespaceName}"`;
    const panel = (id: number, title: string, expr: string) => ({
        id, title, type: "timeseries", datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w: 12, x: ((id - 1) % 2) * 12, y: Math.floor((id - 1) / 2) * 8 },
        targets: [{ expr, refId: "A" }],
    });
    const svc = httpServices.length ? `,service=~"${httpServices.join("|")}"` : "";
    return JSON.stringify({
        title: `${appName} (${namespaceName})`,
        uid: `${namespaceName}-overview`.slice(0, 40),
        schemaVersion: 39,
        templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus" }] },
        panels: [
            panel(1, "Requests per second", `sum by (service) (rate(http_requests_total{${ns}${svc}}[5m]))`),
            panel(2, "P95 latency (s)", `histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket{${ns}${svc}}[5m])))`),
            panel(3, "5xx ratio", `sum by (service) (rate(http_requests_total{${ns}${svc},status=~"5.."}[5m])) / sum by (service) (rate(http_requests_total{${ns}${svc}}[5m]))`),
            panel(4, "PostgreSQL connections", `sum(pg_stat_database_numbackends{${ns}})`),
            panel(5, "Redis memory used (bytes)", `redis_memory_used_bytes{${ns}}`),
            panel(6, "Pod restarts (15m)", `sum by (pod) (increase(kube_pod_container_status_restarts_total{${ns}}[15m]))`),
        ],
    });
}

export class Monitoring extends pulumi.ComponentResource {
    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:Monitoring", name, {}, opts);
        const parent = { parent: this };
        const afterCrds = { parent: this, dependsOn: [...args.crdsFrom] };
        const meta = (objectName: string) => objectMeta(objectName, args.namespace, args.labels);

        for (const target of args.targets) {
            const spec: ServiceMonitorSpec = {
                selector: { matchLabels: target.selector },
                namespaceSelector: { matchNames: [args.namespace] },
                endpoints: [{
                    port: target.port, path: target.path, interval: args.scrapeInterval,
                    ...(target.service ? { relabelings: [{ sourceLabels: ["__meta_kubernetes_service_name"], regex: target.service, action: "keep" as const }] } : {}),
                }],
            };
            new k8s.apiextensions.CustomResource(`${name}-${target.name}`, {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "ServiceMonitor",
                metadata: meta(target.name),
                spec,
            }, afterCrds);
        }

        const rules: PrometheusRuleSpec = { groups: [{ name: `${args.appName}.rules`, rules: alertRules(args) }] };
        new k8s.apiextensions.CustomResource(`${name}-alerts`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: meta(`${args.appName}-alerts`),
            spec: rules,
        }, afterCrds);

        new k8s.core.v1.ConfigMap(`${name}-dashboard`, {
            metadata: { ...meta(`${args.appName}-dashboard`), labels: { ...args.labels, [args.dashboardLabel]: "1" } },
            data: { [`${args.appName}.json`]: dashboardJson(args.appName, args.namespaceName, args.httpServices) },
        }, parent);

        this.registerOutputs({});
    }
}
