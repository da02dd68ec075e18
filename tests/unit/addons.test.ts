// Cluster add-ons: each Release's chart, version, namespace, name and the values that carry the
// production defaults; switches; chart sources for air-gapped clusters; ordering edges.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { customMetricRule, mergeValues, podsMetricNames, prometheusAdapterValues, rateWindow, retentionSize } from "../../components/addons";
import { ADDON_DEFAULTS, kubePrometheusStackPrometheusUrl } from "../../stacks/addons";
import { PrometheusAdapterSpec, ServiceSpec } from "../../stacks/types";
import { FAKE_SECRETS, Program, ROOT, runCommittedStack, runProgram, stackConfig, unwrap } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";

describe("cluster add-ons", () => {
    let prod: Program;
    let dev: Program;
    before(async () => {
        prod = await runCommittedStack("prod");
        dev = await runCommittedStack("dev");
    });

    const release = (p: Program, name: string) => p.get(RELEASE, `addons-${name}`).inputs;

    it("installs the four charts, pinned, with explicit names and namespaces", () => {
        const rows = prod.all(RELEASE).map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.namespace, r.inputs.repositoryOpts?.repo])
            .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        assert.deepEqual(rows, [
            ["cert-manager", "cert-manager", "v1.18.2", "cert-manager", "https://charts.jetstack.io"],
            ["ingress-nginx", "ingress-nginx", "4.13.3", "ingress-nginx", "https://kubernetes.github.io/ingress-nginx"],
            ["kube-prometheus-stack", "kube-prometheus-stack", "77.5.0", "monitoring", "https://prometheus-community.github.io/helm-charts"],
            ["metrics-server", "metrics-server", "3.13.0", "kube-system", "https://kubernetes-sigs.github.io/metrics-server/"],
        ]);
    });

    it("makes every release atomic, cleaned up on failure, waiting for hook Jobs, with a timeout", () => {
        for (const r of prod.all(RELEASE)) {
            assert.equal(r.inputs.atomic, true, r.name);
            assert.equal(r.inputs.cleanupOnFail, true, r.name);
            assert.equal(r.inputs.waitForJobs, true, r.name);
            assert.ok(r.inputs.timeout >= 300, r.name);
            assert.equal(r.inputs.skipAwait, undefined, r.name);
        }
        assert.equal(release(prod, "kube-prometheus-stack").timeout, 900);
    });

    it("configures ingress-nginx for TLS 1.2/1.3, HSTS, headers without snippets, and metrics", () => {
        const c = release(prod, "ingress-nginx").values.controller;
        assert.equal(c.config["ssl-protocols"], "TLSv1.2 TLSv1.3");
        assert.equal(c.config.hsts, "true");
        assert.equal(c.config["hsts-max-age"], "31536000");
        assert.equal(c.config["allow-snippet-annotations"], "false");
        assert.equal(c.config["global-allowed-response-headers"], "X-Frame-Options,X-Content-Type-Options,Referrer-Policy,Content-Security-Policy,Strict-Transport-Security");
        assert.deepEqual(c.addHeaders, { "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin" });
        assert.deepEqual(c.metrics, { enabled: true, serviceMonitor: { enabled: true } });
        assert.equal(c.ingressClassResource.name, "nginx");
        assert.equal(c.replicaCount, 2);
        assert.equal(release(dev, "ingress-nginx").values.controller.replicaCount, 1);
    });

    it("has cert-manager manage its CRDs and keep them on uninstall", () => {
        assert.deepEqual(release(prod, "cert-manager").values.crds, { enabled: true, keep: true });
        assert.equal("installCRDs" in release(prod, "cert-manager").values, false);
    });

    it("creates Let's Encrypt production and staging ClusterIssuers after cert-manager", () => {
        for (const [name, server] of [
            ["letsencrypt-prod", "https://acme-v02.api.letsencrypt.org/directory"],
            ["letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"],
        ]) {
            const issuer = prod.get("kubernetes:cert-manager.io/v1:ClusterIssuer", `addons-${name}`);
            assert.deepEqual(issuer.inputs.spec.acme, {
                server, email: "platform-team@yourdomain.com", privateKeySecretRef: { name: `${name}-account-key` },
                solvers: [{ http01: { ingress: { ingressClassName: "nginx" } } }],
            });
            assert.deepEqual(prod.dependsOn(issuer), ["kubernetes:helm.sh/v3:Release addons-cert-manager"]);
        }
    });

    it("passes --kubelet-insecure-tls to metrics-server only where the stack asks", () => {
        assert.deepEqual(release(dev, "metrics-server").values.args, ["--kubelet-insecure-tls"]);
        assert.deepEqual(release(prod, "metrics-server").values.args, []);
    });

    it("has kube-prometheus-stack select all monitors and rules, persist data, and route alerts in prod", () => {
        const v = release(prod, "kube-prometheus-stack").values;
        const ps = v.prometheus.prometheusSpec;
        for (const k of ["serviceMonitor", "podMonitor", "rule", "probe"]) {
            assert.equal(ps[`${k}SelectorNilUsesHelmValues`], false, k);
        }
        assert.equal(ps.retention, "30d");
        assert.equal(ps.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "100Gi");
        assert.deepEqual(v.grafana.admin, { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
        assert.deepEqual(v.grafana.sidecar.dashboards, { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" });
        const amClaim = (size: string) => ({ volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } } });
        assert.deepEqual(v.alertmanager.alertmanagerSpec, { replicas: 2, storage: amClaim("10Gi"), useExistingSecret: true, configSecret: "alertmanager-platform-config" });
        assert.deepEqual(release(dev, "kube-prometheus-stack").values.alertmanager.alertmanagerSpec, { replicas: 1, storage: amClaim("2Gi") });
    });

    it("prunes Prometheus data at 85 % of its volume before the volume fills", () => {
        assert.equal(release(prod, "kube-prometheus-stack").values.prometheus.prometheusSpec.retentionSize, "87040MB");
        assert.equal(release(dev, "kube-prometheus-stack").values.prometheus.prometheusSpec.retentionSize, "17408MB");
        assert.equal(retentionSize("1Gi"), "870MB");
        assert.equal(retentionSize("500M"), "405MB");
    });

    it("leaves control-plane monitors and their alerts off unless the cluster exposes them", async () => {
        const off = release(prod, "kube-prometheus-stack").values;
        for (const c of ["kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy"]) {
            assert.deepEqual(off[c], { enabled: false }, c);
        }
        assert.deepEqual(off.defaultRules, { rules: { etcd: false, kubeSchedulerAlerting: false, kubeSchedulerRecording: false, kubeControllerManager: false, kubeProxy: false } });
        const c = stackConfig("dev");
        c.addons = { ...(c.addons as object), kubePrometheusStack: { ...(c.addons as any).kubePrometheusStack, controlPlaneMonitoring: true } }; // eslint-disable-line @typescript-eslint/no-explicit-any
        const on = release(await runProgram("dev", c, FAKE_SECRETS), "kube-prometheus-stack").values;
        assert.deepEqual(on.kubeEtcd, { enabled: true });
        assert.equal(on.defaultRules.rules.etcd, true);
    });

    it("keeps the chart's Watchdog and InfoInhibitor routing and inhibit rules in the prod Alertmanager config", () => {
        const config = JSON.parse(unwrap(prod.get("kubernetes:core/v1:Secret", "addons-alertmanager-config").inputs.stringData).value["alertmanager.yaml"]);
        assert.equal(config.route.receiver, "webhook");
        assert.deepEqual(config.route.routes, [{ receiver: "null", matchers: ['alertname =~ "InfoInhibitor|Watchdog"'] }]);
        assert.deepEqual(config.receivers.map((r: { name: string }) => r.name), ["null", "webhook"]);
        assert.deepEqual(config.receivers[0], { name: "null" }, "the null receiver sends nothing");
        assert.deepEqual(config.inhibit_rules, [
            { source_matchers: ["severity = critical"], target_matchers: ["severity =~ warning|info"], equal: ["namespace", "alertname"] },
            { source_matchers: ["severity = warning"], target_matchers: ["severity = info"], equal: ["namespace", "alertname"] },
            { source_matchers: ["alertname = InfoInhibitor"], target_matchers: ["severity = info"], equal: ["namespace"] },
            { target_matchers: ["alertname = InfoInhibitor"] },
        ]);
    });

    it("gives every cert-manager component requests and limits", () => {
        const v = release(prod, "cert-manager").values;
        for (const [component, resources] of [[v, v.resources], ["webhook", v.webhook.resources], ["cainjector", v.cainjector.resources], ["startupapicheck", v.startupapicheck.resources]]) {
            assert.ok(resources.requests.cpu && resources.requests.memory && resources.limits.memory, String(component));
        }
        assert.deepEqual(v.cainjector.resources, { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } });
    });

    it("has the API server verify metrics-server's certificate outside dev", () => {
        assert.deepEqual(release(prod, "metrics-server").values.tls, { type: "helm" });
        assert.deepEqual(release(prod, "metrics-server").values.apiService, { insecureSkipTLSVerify: false });
        assert.equal("tls" in release(dev, "metrics-server").values, false);
        assert.equal("apiService" in release(dev, "metrics-server").values, false);
    });

    it("never puts a secret into Release values; the chart reads Secrets the program creates", () => {
        for (const p of [prod, dev]) {
            for (const r of p.all(RELEASE)) {
                const text = JSON.stringify(r.inputs);
                for (const secret of Object.values(FAKE_SECRETS)) {
                    assert.equal(text.includes(secret), false, `${r.name} carries a secret`);
                }
            }
        }
        const grafana = unwrap(prod.get("kubernetes:core/v1:Secret", "addons-grafana-admin").inputs.stringData);
        assert.deepEqual(grafana, { secret: true, value: { "admin-user": "admin", "admin-password": FAKE_SECRETS.grafanaAdminPassword } });
        const am = unwrap(prod.get("kubernetes:core/v1:Secret", "addons-alertmanager-config").inputs.stringData);
        assert.equal(am.secret, true);
        assert.equal(JSON.parse(am.value["alertmanager.yaml"]).receivers[1].webhook_configs[0].url, FAKE_SECRETS.alertWebhookUrl);
        assert.deepEqual(prod.dependsOn(prod.get(RELEASE, "addons-kube-prometheus-stack")).sort(), [
            "kubernetes:core/v1:Secret addons-alertmanager-config", "kubernetes:core/v1:Secret addons-grafana-admin",
        ]);
    });

    it("orders: charts with ServiceMonitors after kube-prometheus-stack, the Ingress after ingress-nginx and the issuers", () => {
        for (const name of ["ingress-nginx", "cert-manager"]) {
            assert.deepEqual(prod.dependsOn(prod.get(RELEASE, `addons-${name}`)), ["kubernetes:helm.sh/v3:Release addons-kube-prometheus-stack"], name);
        }
        assert.deepEqual(prod.dependsOn(prod.get("kubernetes:networking.k8s.io/v1:Ingress", "ingress")), [
            "kubernetes:core/v1:ConfigMap ingress-security-headers",
            "kubernetes:helm.sh/v3:Release addons-ingress-nginx",
            "kubernetes:cert-manager.io/v1:ClusterIssuer addons-letsencrypt-prod",
            "kubernetes:cert-manager.io/v1:ClusterIssuer addons-letsencrypt-staging",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy ingress-to-backend",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy ingress-to-frontend",
        ]);
    });

    it("has the managed controller send HSTS with the stack's max-age, and the Ingress not send it again", async () => {
        const c = stackConfig("dev");
        c.ingress = { hstsMaxAgeSeconds: 86400 };
        const p = await runProgram("dev", c);
        assert.equal(release(p, "ingress-nginx").values.controller.config["hsts-max-age"], "86400");
        const headers = p.get("kubernetes:core/v1:ConfigMap", "ingress-security-headers").inputs.data;
        assert.equal("Strict-Transport-Security" in headers, false);
        assert.equal(headers["X-Frame-Options"], "DENY");
    });

    it("switches each add-on off for clusters that already have it", async () => {
        const c = stackConfig("dev");
        c.addons = { ingressNginx: { enabled: true }, metricsServer: { enabled: false } };
        c.monitoring = { enabled: true, crdsFromCluster: true };
        const p = await runProgram("dev", c);
        assert.deepEqual(p.all(RELEASE).map((r) => r.inputs.name), ["ingress-nginx"]);
        assert.equal(p.all("kubernetes:cert-manager.io/v1:ClusterIssuer").length, 0);
        assert.deepEqual(p.dependsOn(p.get("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-alerts")), []);
        assert.deepEqual(p.exports.clusterIssuers, []);
        assert.equal(p.exports.monitoringNamespace, undefined);
    });

    it("takes charts from a mirror, an OCI registry or a local folder, and merges per-stack values", async () => {
        const c = stackConfig("dev");
        c.addons = {
            ingressNginx: { enabled: true, repository: "https://charts.mirror.internal/ingress-nginx", values: { controller: { replicaCount: 3, config: { "proxy-buffer-size": "16k" } } } },
            certManager: { enabled: true, acmeEmail: "ops@example.com", chart: "oci://registry.internal/charts/cert-manager", version: "v1.18.2" },
            metricsServer: { enabled: true, chart: "./charts/metrics-server" },
        };
        c.monitoring = { enabled: false };
        const p = await runProgram("dev", c, { grafanaAdminPassword: "x" });
        const nginx = p.get(RELEASE, "addons-ingress-nginx").inputs;
        assert.deepEqual(nginx.repositoryOpts, { repo: "https://charts.mirror.internal/ingress-nginx" });
        assert.equal(nginx.values.controller.replicaCount, 3);
        assert.equal(nginx.values.controller.config["proxy-buffer-size"], "16k");
        assert.equal(nginx.values.controller.config["ssl-protocols"], "TLSv1.2 TLSv1.3", "defaults survive a partial override");
        const cm = p.get(RELEASE, "addons-cert-manager").inputs;
        assert.equal(cm.chart, "oci://registry.internal/charts/cert-manager");
        assert.equal(cm.version, "v1.18.2");
        assert.equal(cm.repositoryOpts, undefined);
        const ms = p.get(RELEASE, "addons-metrics-server").inputs;
        assert.equal(ms.chart, "./charts/metrics-server");
        assert.equal(ms.version, undefined);
        assert.equal(ms.repositoryOpts, undefined);
    });

    it("leaves prometheus-adapter off unless the stack turns it on", () => {
        for (const p of [prod, dev]) {
            assert.equal(p.all(RELEASE).some((r) => r.inputs.name === "prometheus-adapter"), false);
        }
    });

    describe("prometheus-adapter", () => {
        const rate = (series: string, as: string) => ({
            seriesQuery: `${series}{namespace!="",pod!=""}`,
            resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
            name: { matches: `^${series}$`, as },
            metricsQuery: `sum(rate(${series}{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)`,
        });

        it("reads X_per_second as the rate of the counter X_total, any other name as the gauge of that name", () => {
            assert.deepEqual(customMetricRule("http_requests_per_second"), rate("http_requests_total", "http_requests_per_second"));
            assert.deepEqual(customMetricRule("queue_depth"), {
                seriesQuery: 'queue_depth{namespace!="",pod!=""}',
                resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
                name: { matches: "^queue_depth$", as: "queue_depth" },
                metricsQuery: "avg(queue_depth{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
            });
        });

        it("takes a counter's rate over four scrapes, at least 2m, so a missed scrape leaves two samples in the window", () => {
            assert.deepEqual(["15s", "30s", "45s", "50s", "1m", "2m"].map(rateWindow), ["2m", "2m", "3m", "200s", "4m", "8m"]);
            const values = prometheusAdapterValues({ prometheusUrl: "http://p.monitoring.svc:9090" } as PrometheusAdapterSpec, ["rps_per_second"], "1m");
            assert.deepEqual((values.rules as { custom: unknown[] }).custom, [{ ...rate("rps_total", "rps_per_second"), metricsQuery: "sum(rate(rps_total{<<.LabelMatchers>>}[4m])) by (<<.GroupBy>>)" }]);
        });

        it("has one rule per distinct podsMetrics name across the services", () => {
            const scaled = (name: string, ...metrics: string[]) => ({ name, autoscaling: { podsMetrics: metrics.map((m) => ({ name: m, averageValue: "1" })) } }) as unknown as ServiceSpec;
            const services = [scaled("api", "queue_depth", "http_requests_per_second"), { name: "web" } as ServiceSpec, scaled("worker", "queue_depth")];
            assert.deepEqual(podsMetricNames(services), ["http_requests_per_second", "queue_depth"]);
        });

        it("sets the Prometheus URL as the chart joins it, only the stack's rules, requests and limits, and a restricted security context", () => {
            const spec = { prometheusUrl: "https://prom.example.com/prometheus" } as PrometheusAdapterSpec;
            assert.deepEqual(prometheusAdapterValues(spec, ["rps_per_second"]), {
                prometheus: { url: "https://prom.example.com", port: 443, path: "/prometheus" },
                rules: { default: false, custom: [rate("rps_total", "rps_per_second")] },
                resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                podSecurityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
                securityContext: {
                    runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
                },
            });
            assert.deepEqual(prometheusAdapterValues({ prometheusUrl: "http://prometheus-operated.monitoring.svc:9090/" } as PrometheusAdapterSpec, []).prometheus,
                { url: "http://prometheus-operated.monitoring.svc", port: 9090, path: "" });
        });

        it("finds kube-prometheus-stack's Prometheus Service as that chart names it (fullname cut to 26 characters)", () => {
            const url = (releaseName: string, values: Record<string, unknown> = {}) => kubePrometheusStackPrometheusUrl({ releaseName, namespace: "monitoring", values });
            // Each as `helm template` renders the chart's helper (77.5.0) for that release name and values.
            assert.equal(url("kube-prometheus-stack"), "http://kube-prometheus-stack-prometheus.monitoring.svc:9090");
            assert.equal(url("prod-kube-prometheus-stack"), "http://prod-kube-prometheus-stack-prometheus.monitoring.svc:9090", "contains the chart's name");
            assert.equal(url("platform-kube-prometheus-stack"), "http://platform-kube-prometheus-s-prometheus.monitoring.svc:9090", "cut to 26");
            assert.equal(url("observability"), "http://observability-kube-prometh-prometheus.monitoring.svc:9090", "<release>-<chart>, cut to 26");
            assert.equal(url("observability-ops-xx"), "http://observability-ops-xx-kube-prometheus.monitoring.svc:9090", "a '-' left at the cut is dropped");
            assert.equal(url("kps"), "http://kps-kube-prometheus-stack-prometheus.monitoring.svc:9090");
            assert.equal(url("monitoring", { nameOverride: "kps" }), "http://monitoring-kps-prometheus.monitoring.svc:9090");
            assert.equal(url("my-kps", { nameOverride: "kps" }), "http://my-kps-prometheus.monitoring.svc:9090");
            assert.equal(url("kube-prometheus-stack", { fullnameOverride: "prom" }), "http://prom-prometheus.monitoring.svc:9090");
        });
    });

    it("has a stand-in chart for the e2e suite and up:local with each add-on's chart name and pinned version", () => {
        for (const def of Object.values(ADDON_DEFAULTS)) {
            const chart = parse(fs.readFileSync(path.join(ROOT, "tests", "fixtures", "charts", def.chart, "Chart.yaml"), "utf8")) as { name: string; version: string };
            assert.deepEqual([chart.name, chart.version], [def.chart, def.version]);
        }
    });

    it("merges values deeply, replacing arrays", () => {
        assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 });
    });
});
