// The monitoring builders on their own, without mocks: every alert's exact expression, `for` and
// severity at the reference system's thresholds (seed 001: backend error rate > 5 %, P95 > 1 s,
// backend down > 2 min, PostgreSQL down > 1 min, connections > 80 %, Redis down > 1 min, memory
// > 90 %, crash looping, not ready > 5 min), the dashboard's panels and queries, and every
// expression parsed by the Prometheus project's own PromQL grammar.

import * as assert from "assert/strict";
import { parser } from "@prometheus-io/lezer-promql";
import { alertRules, dashboardJson } from "../../components/monitoring";
import { AlertThresholds } from "../../stacks/types";

const REFERENCE: AlertThresholds = {
    errorRateRatio: 0.05, latencyP95Seconds: 1, serviceDownMinutes: 2, postgresDownMinutes: 1,
    postgresConnectionsRatio: 0.8, redisDownMinutes: 1, redisMemoryRatio: 0.9, kafkaDownMinutes: 1, minioDownMinutes: 1, podNotReadyMinutes: 5,
};

/** Syntax errors the PromQL grammar finds in an expression, as positions. */
function promqlErrors(expr: string): number[] {
    const errors: number[] = [];
    parser.parse(expr).iterate({ enter: (n) => { if (n.type.isError) errors.push(n.from); } });
    return errors;
}

describe("alert rules (pure builder)", () => {
    const rules = alertRules({ namespaceName: "kaizen-studio", httpServices: ["backend"], postgres: true, redis: true, kafka: false, minio: false, thresholds: REFERENCE });
    const ns = 'namespace="kaizen-studio"';
    const be = `${ns},service="backend"`;

    it("has the reference system's nine alerts, each with its exact expression, for and severity", () => {
        assert.deepEqual(rules.map((r) => [r.alert, r.expr, r.for, r.labels.severity]), [
            ["BackendHighErrorRate", `sum(rate(http_requests_total{${be},status=~"5.."}[5m])) / sum(rate(http_requests_total{${be}}[5m])) > 0.05`, "5m", "critical"],
            ["BackendHighLatency", `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${be}}[5m]))) > 1`, "10m", "warning"],
            ["BackendDown", `absent(up{${be}} == 1)`, "2m", "critical"],
            ["PostgresDown", `pg_up{${ns}} == 0 or absent(pg_up{${ns}})`, "1m", "critical"],
            ["PostgresHighConnections", `sum(pg_stat_database_numbackends{${ns}}) / max(pg_settings_max_connections{${ns}}) > 0.8`, "5m", "warning"],
            ["RedisDown", `redis_up{${ns}} == 0 or absent(redis_up{${ns}})`, "1m", "critical"],
            ["RedisHighMemory", `redis_memory_used_bytes{${ns}} / redis_memory_max_bytes{${ns}} > 0.9`, "5m", "warning"],
            ["PodCrashLooping", `increase(kube_pod_container_status_restarts_total{${ns}}[15m]) > 3`, "5m", "warning"],
            ["PodNotReady", `sum by (pod) (kube_pod_status_ready{${ns},condition="false"}) > 0`, "5m", "warning"],
        ]);
    });

    it("states each threshold in its summary as people read it", () => {
        const summary = Object.fromEntries(rules.map((r) => [r.alert, r.annotations.summary]));
        assert.equal(summary.BackendHighErrorRate, "backend 5xx error rate above 5%");
        assert.equal(summary.BackendHighLatency, "backend P95 latency above 1s");
        assert.equal(summary.PostgresHighConnections, "PostgreSQL connections above 80%");
        assert.equal(summary.RedisHighMemory, "Redis memory above 90% of maxmemory");
    });

    it("takes thresholds from config, and alerts per HTTP service with a PascalCase name", () => {
        const custom = alertRules({
            namespaceName: "shop", httpServices: ["api", "order-service"], postgres: false, redis: false, kafka: false, minio: false,
            thresholds: { ...REFERENCE, errorRateRatio: 0.01, latencyP95Seconds: 0.25, serviceDownMinutes: 3, podNotReadyMinutes: 10 },
        });
        assert.deepEqual(custom.map((r) => r.alert), [
            "ApiHighErrorRate", "ApiHighLatency", "ApiDown", "OrderServiceHighErrorRate", "OrderServiceHighLatency", "OrderServiceDown",
            "PodCrashLooping", "PodNotReady",
        ]);
        const byName = Object.fromEntries(custom.map((r) => [r.alert, r]));
        assert.equal(byName.OrderServiceHighErrorRate.expr,
            'sum(rate(http_requests_total{namespace="shop",service="order-service",status=~"5.."}[5m])) / sum(rate(http_requests_total{namespace="shop",service="order-service"}[5m])) > 0.01');
        assert.equal(byName.ApiHighLatency.expr.endsWith(") > 0.25"), true);
        assert.equal(byName.ApiDown.for, "3m");
        assert.equal(byName.PodNotReady.for, "10m");
        assert.equal(custom.some((r) => r.alert.startsWith("Postgres") || r.alert.startsWith("Redis")), false, "no data-service alerts without data services");
    });

    it("leaves pods of Jobs out of PodNotReady where the namespace keeps finished Job pods (migration Jobs)", () => {
        const withJobs = alertRules({ namespaceName: "kaizen-studio", httpServices: ["backend"], postgres: true, redis: true, kafka: false, minio: false, thresholds: REFERENCE, jobPods: true });
        assert.deepEqual(withJobs.map((r) => r.alert), rules.map((r) => r.alert));
        const notReady = withJobs.find((r) => r.alert === "PodNotReady");
        assert.equal(notReady?.expr,
            `sum by (pod) (kube_pod_status_ready{${ns},condition="false"} * on (namespace, pod) group_left max by (namespace, pod) (kube_pod_owner{${ns},owner_kind!="Job"})) > 0`);
        assert.deepEqual(promqlErrors(notReady?.expr ?? ""), []);
        assert.deepEqual(withJobs.filter((r) => r.alert !== "PodNotReady"), rules.filter((r) => r.alert !== "PodNotReady"));
    });

    it("alerts when Kafka's broker is not ready or not scraped, and when MinIO is not up, after their own thresholds", () => {
        const data = alertRules({
            namespaceName: "dreamseed", httpServices: [], postgres: false, redis: false, kafka: true, minio: true,
            thresholds: { ...REFERENCE, kafkaDownMinutes: 3, minioDownMinutes: 2 },
        });
        const n = 'namespace="dreamseed"';
        assert.deepEqual(data.map((r) => [r.alert, r.expr, r.for, r.labels.severity]), [
            ["KafkaDown", `kube_statefulset_status_replicas_ready{${n},statefulset="kafka"} < 1 or absent(kafka_brokers{${n}})`, "3m", "critical"],
            ["MinioDown", `minio_cluster_nodes_online_total{${n}} < 1 or absent(minio_cluster_nodes_online_total{${n}})`, "2m", "critical"],
            ["PodCrashLooping", `increase(kube_pod_container_status_restarts_total{${n}}[15m]) > 3`, "5m", "warning"],
            ["PodNotReady", `sum by (pod) (kube_pod_status_ready{${n},condition="false"}) > 0`, "5m", "warning"],
        ]);
        assert.deepEqual(data.slice(0, 2).map((r) => [r.annotations.summary, r.annotations.description]), [
            ["Kafka is down", "The Kafka broker has not been ready, or not been scraped, for 3 minute(s)."],
            ["MinIO is down", "MinIO has been unreachable for 2 minute(s)."],
        ]);
        for (const r of data) {
            assert.deepEqual(promqlErrors(r.expr), [], `${r.alert}: ${r.expr}`);
        }
        assert.equal(rules.some((r) => r.alert === "KafkaDown" || r.alert === "MinioDown"), false, "none without them");
    });

    it("writes only expressions the PromQL grammar parses", () => {
        for (const r of rules) {
            assert.deepEqual(promqlErrors(r.expr), [], `${r.alert}: ${r.expr}`);
        }
        assert.notDeepEqual(promqlErrors("sum(rate(x[5m]) >"), [], "the grammar check itself must catch a broken expression");
    });
});

describe("dashboard (pure builder)", () => {
    const dash = JSON.parse(dashboardJson("kaizen-studio", "kaizen-studio", ["backend"]));
    const q = 'namespace="kaizen-studio",service=~"backend"';

    it("has six panels on a two-column grid, each with its exact query", () => {
        assert.equal(dash.title, "kaizen-studio (kaizen-studio)");
        assert.equal(dash.uid, "kaizen-studio-overview");
        assert.deepEqual(dash.panels.map((p: { id: number; title: string; gridPos: object; targets: { expr: string }[] }) => [p.id, p.title, p.gridPos, p.targets[0].expr]), [
            [1, "Requests per second", { h: 8, w: 12, x: 0, y: 0 }, `sum by (service) (rate(http_requests_total{${q}}[5m]))`],
            [2, "P95 latency (s)", { h: 8, w: 12, x: 12, y: 0 }, `histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket{${q}}[5m])))`],
            [3, "5xx ratio", { h: 8, w: 12, x: 0, y: 8 }, `sum by (service) (rate(http_requests_total{${q},status=~"5.."}[5m])) / sum by (service) (rate(http_requests_total{${q}}[5m]))`],
            [4, "PostgreSQL connections", { h: 8, w: 12, x: 12, y: 8 }, 'sum(pg_stat_database_numbackends{namespace="kaizen-studio"})'],
            [5, "Redis memory used (bytes)", { h: 8, w: 12, x: 0, y: 16 }, 'redis_memory_used_bytes{namespace="kaizen-studio"}'],
            [6, "Pod restarts (15m)", { h: 8, w: 12, x: 12, y: 16 }, 'sum by (pod) (increase(kube_pod_container_status_restarts_total{namespace="kaizen-studio"}[15m]))'],
        ]);
        for (const p of dash.panels) {
            assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" });
            assert.deepEqual(promqlErrors(p.targets[0].expr), [], p.title);
        }
    });

    it("selects every HTTP service, or none when there are none, and keeps the uid within Grafana's 40 characters", () => {
        const two = JSON.parse(dashboardJson("shop", "shop-staging", ["api", "web"]));
        assert.equal(two.panels[0].targets[0].expr, 'sum by (service) (rate(http_requests_total{namespace="shop-staging",service=~"api|web"}[5m]))');
        const none = JSON.parse(dashboardJson("shop", "shop", []));
        assert.equal(none.panels[0].targets[0].expr, 'sum by (service) (rate(http_requests_total{namespace="shop"}[5m]))');
        const long = JSON.parse(dashboardJson("a", "n".repeat(63), []));
        assert.equal(long.uid, "n".repeat(40));
    });
});
