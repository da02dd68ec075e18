// Config of the cluster add-ons (Helm releases): where each chart comes from, its pinned version,
// release name and namespace, its switch, and per-stack value overrides.

import { DNS1123_LABEL, DNS1123_SUBDOMAIN, Rule } from "./k8sRules";
import { ConfigErrors, Read, anyObject, bool, int, object, quantity, text, textList } from "./reader";
import { AddonName, AddonSpec, AddonsConfig, Environment, KubePrometheusStackSpec } from "./types";


interface AddonDefaults {
    readonly chart: string;
    readonly repository: string;
    readonly version: string;
    readonly releaseName: string;
    readonly namespace: string;
    readonly timeoutSeconds: number;
}

/** Upstream charts and the versions this program is tested with. */
export const ADDON_DEFAULTS: Readonly<Record<AddonName, AddonDefaults>> = {
    ingressNginx: {
        chart: "ingress-nginx", repository: "https://kubernetes.github.io/ingress-nginx", version: "4.13.3",
        releaseName: "ingress-nginx", namespace: "ingress-nginx", timeoutSeconds: 600,
    },
    certManager: {
        chart: "cert-manager", repository: "https://charts.jetstack.io", version: "v1.18.2",
        releaseName: "cert-manager", namespace: "cert-manager", timeoutSeconds: 600,
    },
    metricsServer: {
        chart: "metrics-server", repository: "https://kubernetes-sigs.github.io/metrics-server/", version: "3.13.0",
        releaseName: "metrics-server", namespace: "kube-system", timeoutSeconds: 300,
    },
    kubePrometheusStack: {
        chart: "kube-prometheus-stack", repository: "https://prometheus-community.github.io/helm-charts", version: "77.5.0",
        releaseName: "kube-prometheus-stack", namespace: "monitoring", timeoutSeconds: 900,
    },
    prometheusAdapter: {
        chart: "prometheus-adapter", repository: "https://prometheus-community.github.io/helm-charts", version: "5.3.0",
        releaseName: "prometheus-adapter", namespace: "monitoring", timeoutSeconds: 300,
    },
};

/** A local chart (folder or archive) is referenced by path. */
export function isLocalChart(chart: string): boolean {
    return /^(\.\.?\/|\/)/.test(chart);
}

/** The fields every add-on has. */
const ADDON_FIELDS = {
    enabled: bool().describe("install the add-on"),
    chart: text().describe("chart name, an oci:// reference, or a local chart folder/archive"),
    repository: text({ rule: { re: /^(https?|oci):\/\/\S+$/, maxLength: Infinity, text: "an http(s):// or oci:// URL" } })
        .describe("chart repository URL; ignored for OCI and local charts"),
    // Always pinned: an empty version means the tested default, never "latest".
    version: text({ rule: { re: /^v?\d+\.\d+\.\d+([-+][\w.]+)?$/, maxLength: 64, text: "an exact chart version such as 4.13.3 (ranges would let the chart upgrade itself)" } })
        .describe("exact chart version"),
    releaseName: text({ rule: DNS1123_LABEL }).describe("Helm release name"),
    namespace: text({ rule: DNS1123_LABEL }).describe("namespace of the release"),
    timeoutSeconds: int({ min: 30, max: 3600 }).describe("seconds Helm waits for the release"),
    values: anyObject().describe("chart values merged over the program's"),
};

type AddonInput = Read<ReturnType<typeof object<typeof ADDON_FIELDS>>>;

function readAddon(a: AddonInput = {}, def: AddonDefaults): AddonSpec {
    const chart = a.chart ?? def.chart;
    return {
        enabled: a.enabled ?? false,
        chart,
        repository: a.repository ?? (isLocalChart(chart) || chart.startsWith("oci://") ? "" : def.repository),
        version: a.version ?? def.version,
        releaseName: a.releaseName ?? def.releaseName,
        namespace: a.namespace ?? def.namespace,
        timeoutSeconds: a.timeoutSeconds ?? def.timeoutSeconds,
        values: a.values ?? {},
    };
}

/** TLS versions the controller may offer; older ones have known attacks and no browser needs them. */
export const SSL_PROTOCOLS = ["TLSv1.2", "TLSv1.3"] as const;

function readSslProtocols(errors: ConfigErrors, list: string[] = [...SSL_PROTOCOLS]): string[] {
    const bad = list.filter((p) => !(SSL_PROTOCOLS as readonly string[]).includes(p));
    if (bad.length > 0 || list.length === 0 || new Set(list).size !== list.length) {
        errors.add("addons.ingressNginx.sslProtocols", list, `must list one or both of ${SSL_PROTOCOLS.join(", ")}, each once (TLS 1.0 and 1.1 are not offered)`);
        return [...SSL_PROTOCOLS];
    }
    return list;
}

const INGRESS_NGINX = object({
    ...ADDON_FIELDS,
    replicas: int({ min: 1 }).describe("controller replicas"),
    sslProtocols: textList().describe("TLS versions offered"),
}).describe("ingress-nginx, the Ingress controller");

const CERT_MANAGER = object({
    ...ADDON_FIELDS,
    acmeEmail: text({ rule: { re: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, maxLength: 254, text: "an email address" } }).describe("ACME account email of the Let's Encrypt ClusterIssuers"),
    clusterIssuers: bool().describe("create the Let's Encrypt ClusterIssuers"),
}).describe("cert-manager, the certificates");

const METRICS_SERVER = object({
    ...ADDON_FIELDS,
    kubeletInsecureTls: bool().describe("skip verifying kubelet serving certificates (never in prod)"),
    verifyApiServiceTls: bool().describe("verify the metrics APIService's certificate"),
}).describe("metrics-server, the resource metrics of HPAs");

const KUBE_PROMETHEUS_STACK = object({
    ...ADDON_FIELDS,
    retention: text({ rule: { re: /^\d+[hdwy]$/, maxLength: 8, text: "a Prometheus retention such as 15d" } }).describe("how long Prometheus keeps data"),
    storageSize: quantity({ positive: true }).describe("Prometheus volume size"),
    storageClass: text({ rule: DNS1123_SUBDOMAIN }).describe("StorageClass of the Prometheus and Alertmanager volumes"),
    routeAlerts: bool().describe("send alerts to the alertWebhookUrl secret"),
    controlPlaneMonitoring: bool().describe("scrape the control plane's components"),
    alertmanagerReplicas: int({ min: 1, max: 5 }).describe("Alertmanager replicas"),
    alertmanagerStorageSize: quantity({ positive: true }).describe("Alertmanager volume size"),
}).describe("kube-prometheus-stack: Prometheus, Alertmanager, Grafana");

/** An http(s) URL without credentials, query or fragment: the chart splits it into url, port and path. */
const PROMETHEUS_URL: Rule = {
    re: { test: (v: string) => /^https?:\/\/[^\s/?#@{}]+(\/[^\s?#{}]*)?$/.test(v) && URL.canParse(v) },
    maxLength: 2048,
    text: "an http(s) URL of Prometheus such as http://prometheus-operated.monitoring.svc:9090 (no credentials, query or fragment)",
};

const PROMETHEUS_ADAPTER = object({
    ...ADDON_FIELDS,
    prometheusUrl: text({ rule: PROMETHEUS_URL }).describe("the Prometheus the adapter queries; the kube-prometheus-stack add-on's unless set"),
    fromCluster: bool().describe("the cluster already serves the custom metrics API from an adapter outside this stack"),
}).describe("prometheus-adapter, the custom metrics API of the services' podsMetrics");

export const ADDONS = object({
    ingressNginx: INGRESS_NGINX,
    certManager: CERT_MANAGER,
    metricsServer: METRICS_SERVER,
    kubePrometheusStack: KUBE_PROMETHEUS_STACK,
    prometheusAdapter: PROMETHEUS_ADAPTER,
}).describe("Cluster add-ons as Helm releases");

/**
 * The in-cluster URL of the kube-prometheus-stack add-on's Prometheus. The chart names its Service
 * `<fullname>-prometheus` (port 9090), fullname by its `kube-prometheus-stack.fullname` helper: the
 * release name if it contains the chart's name, else `<release>-<chart>`, cut to 26 characters
 * either way; `fullnameOverride` and `nameOverride` in the add-on's values take part as they do there.
 */
export function kubePrometheusStackPrometheusUrl(spec: Pick<KubePrometheusStackSpec, "releaseName" | "namespace" | "values">): string {
    const override = (key: string) => (typeof spec.values[key] === "string" ? spec.values[key] as string : "");
    const name = override("nameOverride") || ADDON_DEFAULTS.kubePrometheusStack.chart;
    const full = override("fullnameOverride") || (spec.releaseName.includes(name) ? spec.releaseName : `${spec.releaseName}-${name}`);
    return `http://${full.slice(0, 26).replace(/-$/, "")}-prometheus.${spec.namespace}.svc:9090`;
}

export function readAddons(errors: ConfigErrors, a: Read<typeof ADDONS> = {}, env: Environment): AddonsConfig {
    const prod = env === "prod";
    const nginx = a.ingressNginx ?? {};
    const cm = a.certManager ?? {};
    const ms = a.metricsServer ?? {};
    const kps = a.kubePrometheusStack ?? {};
    const adapter = a.prometheusAdapter ?? {};
    const kubePrometheusStack = readAddon(kps, ADDON_DEFAULTS.kubePrometheusStack);
    const addons: AddonsConfig = {
        ingressNginx: {
            ...readAddon(nginx, ADDON_DEFAULTS.ingressNginx),
            replicas: nginx.replicas ?? (prod ? 2 : 1),
            sslProtocols: readSslProtocols(errors, nginx.sslProtocols),
        },
        certManager: {
            ...readAddon(cm, ADDON_DEFAULTS.certManager),
            acmeEmail: cm.acmeEmail ?? "",
            clusterIssuers: cm.clusterIssuers ?? true,
        },
        metricsServer: {
            ...readAddon(ms, ADDON_DEFAULTS.metricsServer),
            kubeletInsecureTls: ms.kubeletInsecureTls ?? false,
            verifyApiServiceTls: ms.verifyApiServiceTls ?? env !== "dev",
        },
        kubePrometheusStack: {
            ...kubePrometheusStack,
            retention: kps.retention ?? (prod ? "30d" : "7d"),
            storageSize: kps.storageSize ?? (prod ? "100Gi" : "20Gi"),
            storageClass: kps.storageClass ?? "",
            routeAlerts: kps.routeAlerts ?? prod,
            controlPlaneMonitoring: kps.controlPlaneMonitoring ?? false,
            // Two replicas in prod: silences and notification state are gossiped, so one can restart.
            alertmanagerReplicas: kps.alertmanagerReplicas ?? (prod ? 2 : 1),
            alertmanagerStorageSize: kps.alertmanagerStorageSize ?? (prod ? "10Gi" : "2Gi"),
        },
        prometheusAdapter: {
            ...readAddon(adapter, ADDON_DEFAULTS.prometheusAdapter),
            prometheusUrl: adapter.prometheusUrl ?? (kubePrometheusStack.enabled ? kubePrometheusStackPrometheusUrl(kubePrometheusStack) : ""),
            fromCluster: adapter.fromCluster ?? false,
        },
    };
    const certManager = addons.certManager;
    if (certManager.enabled && certManager.clusterIssuers && !certManager.acmeEmail) {
        errors.missing("addons.certManager.acmeEmail", "an ACME account email for the Let's Encrypt ClusterIssuers (or certManager.clusterIssuers: false)");
    }
    if (prod && addons.metricsServer.kubeletInsecureTls) {
        errors.add("addons.metricsServer.kubeletInsecureTls", true, "must be false in prod: it disables verification of kubelet serving certificates");
    }
    if (prod && addons.kubePrometheusStack.enabled && !addons.kubePrometheusStack.routeAlerts) {
        errors.add("addons.kubePrometheusStack.routeAlerts", false, "must be true in prod: the chart's default sends every alert to a null receiver");
    }
    const adapterSpec = addons.prometheusAdapter;
    if (adapterSpec.enabled && !adapterSpec.prometheusUrl && !errors.has("addons.prometheusAdapter.prometheusUrl")) {
        errors.missing("addons.prometheusAdapter.prometheusUrl", "the URL of the Prometheus the adapter queries, such as http://prometheus-operated.monitoring.svc:9090, " +
            "or addons.kubePrometheusStack.enabled: true, whose Prometheus it queries by default");
    }
    // The custom metrics API has one server per cluster (the APIService v1beta1.custom.metrics.k8s.io).
    if (adapterSpec.enabled && adapterSpec.fromCluster) {
        errors.add("addons.prometheusAdapter.fromCluster", true, "must not be set with addons.prometheusAdapter.enabled: true: the custom metrics API (APIService v1beta1.custom.metrics.k8s.io) " +
            "has one server per cluster, so either this stack installs the adapter or the cluster already serves the API");
    }
    return addons;
}
