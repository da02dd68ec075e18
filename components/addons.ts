// Cluster add-ons as Helm releases: ingress-nginx, cert-manager (+ Let's Encrypt ClusterIssuers),
// metrics-server, kube-prometheus-stack and prometheus-adapter. helm.v3.Release, not Chart v4:
// ingress-nginx and kube-prometheus-stack rely on Helm hooks (admission-webhook certificate Jobs),
// which Chart v4 drops.
//
// Every release: pinned version, explicit name and namespace, atomic (a failed install or upgrade
// rolls back instead of leaving a half-applied release), cleanupOnFail, waitForJobs, and a timeout
// per add-on. Secrets never go into `values`: the program creates the Secrets and points the charts
// at them (existingSecret-style values).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { isLocalChart } from "../stacks/addons";
import { parseQuantity } from "../stacks/reader";
import { AddonSpec, AddonsConfig, IngressNginxSpec, KubePrometheusStackSpec, MetricsServerSpec, PrometheusAdapterSpec, ServiceSpec } from "../stacks/types";
import { BASE_SECURITY_HEADERS, INGRESS_HEADER_NAMES } from "../stacks/securityHeaders";
import { volumeClaimSpec } from "./podSpec";

type Values = Record<string, unknown>;

function isPlainObject(v: unknown): v is Values {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of Helm values: objects merge key by key, anything else (arrays included) is replaced. */
export function mergeValues(base: Values, override: Readonly<Values>): Values {
    const out: Values = { ...base };
    for (const [k, v] of Object.entries(override)) {
        out[k] = isPlainObject(out[k]) && isPlainObject(v) ? mergeValues(out[k] as Values, v) : v;
    }
    return out;
}

/**
 * The controller sends HSTS (with the stack's max-age) and the base security headers for every host,
 * and allows exactly the headers the app's Ingress sets (stacks/securityHeaders.ts).
 */
export function ingressNginxValues(spec: IngressNginxSpec, className: string, hstsMaxAgeSeconds: number, serviceMonitor: boolean): Values {
    return {
        controller: {
            replicaCount: spec.replicas,
            ingressClass: className,
            ingressClassResource: { name: className, enabled: true, default: false, controllerValue: "k8s.io/ingress-nginx" },
            config: {
                "ssl-protocols": spec.sslProtocols.join(" "),
                hsts: "true",
                "hsts-max-age": String(hstsMaxAgeSeconds),
                "hsts-include-subdomains": "true",
                "server-tokens": "false",
                "allow-snippet-annotations": "false",
                // Lets Ingresses set these through the custom-headers annotation (no snippets needed).
                "global-allowed-response-headers": INGRESS_HEADER_NAMES.join(","),
            },
            addHeaders: { ...BASE_SECURITY_HEADERS },
            admissionWebhooks: { enabled: true },
            metrics: { enabled: true, serviceMonitor: { enabled: serviceMonitor } },
            minAvailable: 1,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        },
    };
}

const SMALL_RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } };

export function certManagerValues(serviceMonitor: boolean): Values {
    return {
        // The chart installs the CRDs and keeps them on uninstall: deleting a CRD deletes every
        // Certificate and Issuer with it.
        crds: { enabled: true, keep: true },
        prometheus: { enabled: true, servicemonitor: { enabled: serviceMonitor } },
        // `resources` reaches the controller only; each other component has its own key.
        resources: SMALL_RESOURCES,
        webhook: { resources: SMALL_RESOURCES },
        cainjector: { resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } } },
        startupapicheck: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } } },
    };
}

export function metricsServerValues(spec: MetricsServerSpec): Values {
    return {
        args: spec.kubeletInsecureTls ? ["--kubelet-insecure-tls"] : [],
        resources: SMALL_RESOURCES,
        // `tls.type: helm`: the chart generates the serving certificate (kept across upgrades by
        // lookup) and puts its CA in the APIService's caBundle, so the API server can verify it.
        ...(spec.verifyApiServiceTls ? { tls: { type: "helm" }, apiService: { insecureSkipTLSVerify: false } } : {}),
    };
}

export const GRAFANA_ADMIN_SECRET = "grafana-admin";
export const ALERTMANAGER_CONFIG_SECRET = "alertmanager-platform-config";

/** Prometheus's `retentionSize`: 85 % of its volume, so it prunes old blocks before the volume fills and the WAL has room. */
export function retentionSize(storageSize: string): string {
    const bytes = parseQuantity(storageSize) ?? 0;
    // Prometheus's size units are powers of 2 (1MB = 2^20 bytes).
    return `${Math.floor((bytes * 0.85) / 2 ** 20)}MB`;
}

/** The chart's control-plane components, which controlPlaneMonitoring switches together with their alert groups. */
const CONTROL_PLANE = ["kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy"] as const;
const CONTROL_PLANE_RULES = ["etcd", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeControllerManager", "kubeProxy"] as const;

export function kubePrometheusStackValues(spec: KubePrometheusStackSpec, dashboardLabel: string): Values {
    const claim = (size: string) => ({
        volumeClaimTemplate: { spec: volumeClaimSpec(size, spec.storageClass) },
    });
    return {
        prometheus: {
            prometheusSpec: {
                // Select every ServiceMonitor/PodMonitor/PrometheusRule/Probe, not only those labelled
                // `release: <release name>`; the app's objects carry no such label.
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                ruleSelectorNilUsesHelmValues: false,
                probeSelectorNilUsesHelmValues: false,
                retention: spec.retention,
                retentionSize: retentionSize(spec.storageSize),
                storageSpec: claim(spec.storageSize),
                resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
            },
        },
        grafana: {
            admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
            sidecar: { dashboards: { enabled: true, label: dashboardLabel, labelValue: "1", searchNamespace: "ALL" } },
        },
        alertmanager: {
            alertmanagerSpec: {
                replicas: spec.alertmanagerReplicas,
                storage: claim(spec.alertmanagerStorageSize),
                ...(spec.routeAlerts ? { useExistingSecret: true, configSecret: ALERTMANAGER_CONFIG_SECRET } : {}),
            },
        },
        ...Object.fromEntries(CONTROL_PLANE.map((c) => [c, { enabled: spec.controlPlaneMonitoring }])),
        defaultRules: { rules: Object.fromEntries(CONTROL_PLANE_RULES.map((r) => [r, spec.controlPlaneMonitoring])) },
    };
}

/**
 * Alertmanager configuration routing every alert to one webhook receiver, with the chart's own
 * routing of the always-firing Watchdog and of InfoInhibitor to a null receiver, and its inhibit
 * rules (a critical alert silences the warning and info alerts of the same name and namespace, a
 * warning the info ones, and InfoInhibitor the info alerts of its namespace).
 */
export function alertmanagerConfig(webhookUrl: string): string {
    return JSON.stringify({
        route: {
            receiver: "webhook", group_by: ["alertname", "namespace"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h",
            routes: [{ receiver: "null", matchers: ['alertname =~ "InfoInhibitor|Watchdog"'] }],
        },
        inhibit_rules: [
            { source_matchers: ["severity = critical"], target_matchers: ["severity =~ warning|info"], equal: ["namespace", "alertname"] },
            { source_matchers: ["severity = warning"], target_matchers: ["severity = info"], equal: ["namespace", "alertname"] },
            { source_matchers: ["alertname = InfoInhibitor"], target_matchers: ["severity = info"], equal: ["namespace"] },
            { target_matchers: ["alertname = InfoInhibitor"] },
        ],
        receivers: [{ name: "null" }, { name: "webhook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
    });
}

/** The distinct custom metric names of the services' HPAs, sorted: the prometheus-adapter add-on serves each. */
export function podsMetricNames(services: readonly ServiceSpec[]): string[] {
    return [...new Set(services.flatMap((s) => (s.autoscaling?.podsMetrics ?? []).map((m) => m.name)))].sort();
}

/**
 * The window of a counter's rate: four scrapes, so two samples are in it even after a missed scrape
 * (rate needs two), and at least 2m. A window shorter than two scrapes would have no value at all.
 */
export function rateWindow(scrapeInterval: string): string {
    const m = /^(\d+)(s|m)$/.exec(scrapeInterval);
    const seconds = Math.max(120, 4 * Number(m?.[1] ?? 30) * (m?.[2] === "m" ? 60 : 1));
    return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/**
 * The adapter rule of one podsMetrics name (README: Autoscaling): `X_per_second` is the per-second
 * rate of the counter `X_total` over `window`; any other name is the gauge of that name, averaged per pod.
 */
export function customMetricRule(name: string, window = "2m"): Values {
    const perSecond = /^(.+)_per_second$/.exec(name);
    const series = perSecond ? `${perSecond[1]}_total` : name;
    return {
        seriesQuery: `${series}{namespace!="",pod!=""}`,
        // The labels a ServiceMonitor's targets carry name the pod each value belongs to.
        resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
        name: { matches: `^${series}$`, as: name },
        metricsQuery: perSecond ? `sum(rate(${series}{<<.LabelMatchers>>}[${window}])) by (<<.GroupBy>>)` : `avg(${series}{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
    };
}

/** The chart's `prometheus` values: it joins them as `<url>:<port><path>`, so a URL is split into the three. */
export function prometheusEndpoint(url: string): Values {
    const u = new URL(url);
    return { url: `${u.protocol}//${u.hostname}`, port: Number(u.port || (u.protocol === "https:" ? 443 : 80)), path: u.pathname === "/" ? "" : u.pathname };
}

export function prometheusAdapterValues(spec: PrometheusAdapterSpec, metricNames: readonly string[], scrapeInterval = "30s"): Values {
    return {
        prometheus: prometheusEndpoint(spec.prometheusUrl),
        // Only the stack's own metrics: the chart's default rules would serve every series of every
        // namespace under names derived from the series, and register the APIService with no podsMetrics at all.
        rules: { default: false, custom: metricNames.map((n) => customMetricRule(n, rateWindow(scrapeInterval))) },
        resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        // Stated rather than left to the chart's defaults, so a chart upgrade cannot loosen them.
        podSecurityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
        securityContext: {
            runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
        },
    };
}

/** Release arguments for an add-on: chart source (repository, OCI or local), version, name, behaviour. */
export function releaseArgs(spec: AddonSpec, values: Values, createNamespace: boolean): k8s.helm.v3.ReleaseArgs {
    const local = isLocalChart(spec.chart);
    return {
        name: spec.releaseName,
        namespace: spec.namespace,
        createNamespace,
        chart: spec.chart,
        ...(local ? {} : { version: spec.version }),
        ...(spec.repository && !local ? { repositoryOpts: { repo: spec.repository } } : {}),
        values: mergeValues(values, spec.values),
        atomic: true,
        cleanupOnFail: true,
        waitForJobs: true,
        timeout: spec.timeoutSeconds,
        maxHistory: 10,
    };
}

export const LETSENCRYPT = {
    "letsencrypt-prod": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

export function clusterIssuerSpec(server: string, email: string, issuerName: string, ingressClass: string): Values {
    return {
        acme: {
            server,
            email,
            privateKeySecretRef: { name: `${issuerName}-account-key` },
            solvers: [{ http01: { ingress: { ingressClassName: ingressClass } } }],
        },
    };
}

export interface ClusterAddonsArgs {
    readonly addons: AddonsConfig;
    /** IngressClass name the app's Ingress uses. */
    readonly ingressClassName: string;
    /** HSTS max-age the managed controller sends (the stack's ingress.hstsMaxAgeSeconds). */
    readonly hstsMaxAgeSeconds: number;
    readonly dashboardLabel: string;
    /** The custom metric names of the services' HPAs (podsMetricNames), which the prometheus-adapter add-on serves. */
    readonly podsMetricNames: readonly string[];
    /** How often Prometheus scrapes the services (monitoring.scrapeInterval): the adapter's rate window follows it. */
    readonly scrapeInterval: string;
    /** Needed when kube-prometheus-stack is enabled. */
    readonly grafanaAdminPassword?: pulumi.Input<string>;
    /** Needed when kube-prometheus-stack routes alerts. */
    readonly alertWebhookUrl?: pulumi.Input<string>;
}

export class ClusterAddons extends pulumi.ComponentResource {
    readonly ingressNginx?: k8s.helm.v3.Release;
    readonly certManager?: k8s.helm.v3.Release;
    readonly metricsServer?: k8s.helm.v3.Release;
    readonly kubePrometheusStack?: k8s.helm.v3.Release;
    readonly prometheusAdapter?: k8s.helm.v3.Release;
    /** Names of the ClusterIssuers this component created. */
    readonly clusterIssuerNames: string[] = [];
    /** Resources an app Ingress must wait for (ingress-nginx webhook, ClusterIssuers). */
    readonly ingressReady: pulumi.Resource[] = [];
    /** Resources that install the monitoring.coreos.com CRDs. */
    readonly monitoringCrds: pulumi.Resource[] = [];

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:cluster:ClusterAddons", name, {}, opts);
        const a = args.addons;
        const kps = a.kubePrometheusStack;
        const serviceMonitors = kps.enabled;

        if (kps.enabled) {
            // Created here rather than by Helm, because the Grafana and Alertmanager Secrets must
            // exist in it before the release starts.
            const ns = new k8s.core.v1.Namespace(`${name}-${kps.namespace}`, { metadata: { name: kps.namespace } }, { parent: this });
            const inNs = (objectName: string) => ({ name: objectName, namespace: ns.metadata.name });
            const secrets: pulumi.Resource[] = [
                new k8s.core.v1.Secret(`${name}-grafana-admin`, {
                    metadata: inNs(GRAFANA_ADMIN_SECRET),
                    stringData: pulumi.secret(pulumi.output(args.grafanaAdminPassword ?? "").apply((p) => ({ "admin-user": "admin", "admin-password": p }))),
                }, { parent: this }),
            ];
            if (kps.routeAlerts) {
                secrets.push(new k8s.core.v1.Secret(`${name}-alertmanager-config`, {
                    metadata: inNs(ALERTMANAGER_CONFIG_SECRET),
                    stringData: pulumi.secret(pulumi.output(args.alertWebhookUrl ?? "").apply((url) => ({ "alertmanager.yaml": alertmanagerConfig(url) }))),
                }, { parent: this }));
            }
            this.kubePrometheusStack = new k8s.helm.v3.Release(`${name}-kube-prometheus-stack`,
                releaseArgs(kps, kubePrometheusStackValues(kps, args.dashboardLabel), false),
                { parent: this, dependsOn: secrets });
            this.monitoringCrds.push(this.kubePrometheusStack);
        }
        // Charts that create ServiceMonitors need the CRDs first.
        const afterCrds = { parent: this, dependsOn: this.monitoringCrds };

        if (a.ingressNginx.enabled) {
            this.ingressNginx = new k8s.helm.v3.Release(`${name}-ingress-nginx`,
                releaseArgs(a.ingressNginx, ingressNginxValues(a.ingressNginx, args.ingressClassName, args.hstsMaxAgeSeconds, serviceMonitors), true), afterCrds);
            this.ingressReady.push(this.ingressNginx);
        }
        if (a.certManager.enabled) {
            this.certManager = new k8s.helm.v3.Release(`${name}-cert-manager`,
                releaseArgs(a.certManager, certManagerValues(serviceMonitors), true), afterCrds);
            if (a.certManager.clusterIssuers) {
                for (const [issuer, server] of Object.entries(LETSENCRYPT)) {
                    // Typed custom resource depending on the release: the CRD and the webhook that
                    // validates ClusterIssuers exist only once the release is ready.
                    this.ingressReady.push(new k8s.apiextensions.CustomResource(`${name}-${issuer}`, {
                        apiVersion: "cert-manager.io/v1",
                        kind: "ClusterIssuer",
                        metadata: { name: issuer },
                        spec: clusterIssuerSpec(server, a.certManager.acmeEmail, issuer, args.ingressClassName),
                    }, { parent: this, dependsOn: [this.certManager] }));
                    this.clusterIssuerNames.push(issuer);
                }
            }
        }
        if (a.metricsServer.enabled) {
            this.metricsServer = new k8s.helm.v3.Release(`${name}-metrics-server`,
                releaseArgs(a.metricsServer, metricsServerValues(a.metricsServer), false), { parent: this });
        }
        if (a.prometheusAdapter.enabled) {
            // After kube-prometheus-stack: the adapter queries its Prometheus, and by default shares the
            // namespace the program creates for it (created first by Helm, that Namespace would fail).
            this.prometheusAdapter = new k8s.helm.v3.Release(`${name}-prometheus-adapter`,
                releaseArgs(a.prometheusAdapter, prometheusAdapterValues(a.prometheusAdapter, args.podsMetricNames, args.scrapeInterval), true),
                { parent: this, dependsOn: this.kubePrometheusStack ? [this.kubePrometheusStack] : [] });
        }
        this.registerOutputs({});
    }
}
