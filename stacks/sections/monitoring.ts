// Monitoring objects: alert thresholds, scrape interval, dashboard label.

import { LABEL_KEY_TEXT, isLabelKey } from "../k8sRules";
import { ObjectReader } from "../reader";
import { AlertThresholds, MonitoringSpec } from "../types";

export function readMonitoring(r: ObjectReader): MonitoringSpec {
    const a = r.object("alerts");
    const ratio = { above: 0, max: 1, text: "a ratio greater than 0 and at most 1" };
    const alerts: AlertThresholds = {
        errorRateRatio: a.number("errorRateRatio", { default: 0.05, ...ratio }),
        latencyP95Seconds: a.number("latencyP95Seconds", { default: 1, above: 0, text: "a number of seconds greater than 0" }),
        serviceDownMinutes: a.int("serviceDownMinutes", { default: 2, min: 1 }),
        postgresDownMinutes: a.int("postgresDownMinutes", { default: 1, min: 1 }),
        postgresConnectionsRatio: a.number("postgresConnectionsRatio", { default: 0.8, ...ratio }),
        redisDownMinutes: a.int("redisDownMinutes", { default: 1, min: 1 }),
        redisMemoryRatio: a.number("redisMemoryRatio", { default: 0.9, ...ratio }),
        kafkaDownMinutes: a.int("kafkaDownMinutes", { default: 1, min: 1 }),
        minioDownMinutes: a.int("minioDownMinutes", { default: 1, min: 1 }),
        podNotReadyMinutes: a.int("podNotReadyMinutes", { default: 5, min: 1 }),
    };
    a.done();
    const spec: MonitoringSpec = {
        enabled: r.bool("enabled", false),
        scrapeInterval: r.string("scrapeInterval", { default: "30s", pattern: { re: /^\d+(s|m)$/, maxLength: 6, text: "a Prometheus duration such as 30s" } }),
        alerts,
        dashboardLabel: r.string("dashboardLabel", { default: "grafana_dashboard", pattern: { re: { test: isLabelKey }, maxLength: 317, text: LABEL_KEY_TEXT } }),
        crdsFromCluster: r.bool("crdsFromCluster", false),
    };
    r.done();
    return spec;
}
