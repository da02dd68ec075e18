// Monitoring objects: alert thresholds, scrape interval, dashboard label.

import { LABEL_KEY } from "../k8sRules";
import { Read, bool, int, number, object, text } from "../reader";
import { MonitoringSpec } from "../types";

const ratio = (what: string) => number({ above: 0, max: 1, allowed: "a ratio greater than 0 and at most 1" }).describe(what);
const minutes = (what: string) => int({ min: 1 }).describe(what);

export const MONITORING = object({
    enabled: bool().describe("ServiceMonitors and the PrometheusRule"),
    scrapeInterval: text({ rule: { re: /^\d+(s|m)$/, maxLength: 6, text: "a Prometheus duration such as 30s" } }).describe("how often Prometheus scrapes"),
    alerts: object({
        errorRateRatio: ratio("share of 5xx responses that alerts"),
        latencyP95Seconds: number({ above: 0, allowed: "a number of seconds greater than 0" }).describe("p95 latency that alerts, seconds"),
        serviceDownMinutes: minutes("minutes a service is down before it alerts"),
        postgresDownMinutes: minutes("minutes PostgreSQL is down before it alerts"),
        postgresConnectionsRatio: ratio("share of max_connections in use that alerts"),
        redisDownMinutes: minutes("minutes Redis is down before it alerts"),
        redisMemoryRatio: ratio("share of maxmemory in use that alerts"),
        kafkaDownMinutes: minutes("minutes Kafka is down before it alerts"),
        minioDownMinutes: minutes("minutes MinIO is down before it alerts"),
        podNotReadyMinutes: minutes("minutes a pod is not ready before it alerts"),
    }).describe("alert thresholds"),
    dashboardLabel: text({ rule: LABEL_KEY }).describe("label that marks the Grafana dashboard ConfigMap"),
    crdsFromCluster: bool().describe("the cluster already has the prometheus-operator CRDs"),
}).describe("Monitoring objects: ServiceMonitors, alert rules, dashboard");

export function readMonitoring(m: Read<typeof MONITORING> = {}): MonitoringSpec {
    const a = m.alerts ?? {};
    return {
        enabled: m.enabled ?? false,
        scrapeInterval: m.scrapeInterval ?? "30s",
        alerts: {
            errorRateRatio: a.errorRateRatio ?? 0.05,
            latencyP95Seconds: a.latencyP95Seconds ?? 1,
            serviceDownMinutes: a.serviceDownMinutes ?? 2,
            postgresDownMinutes: a.postgresDownMinutes ?? 1,
            postgresConnectionsRatio: a.postgresConnectionsRatio ?? 0.8,
            redisDownMinutes: a.redisDownMinutes ?? 1,
            redisMemoryRatio: a.redisMemoryRatio ?? 0.9,
            kafkaDownMinutes: a.kafkaDownMinutes ?? 1,
            minioDownMinutes: a.minioDownMinutes ?? 1,
            podNotReadyMinutes: a.podNotReadyMinutes ?? 5,
        },
        dashboardLabel: m.dashboardLabel ?? "grafana_dashboard",
        crdsFromCluster: m.crdsFromCluster ?? false,
    };
}
