// Config of the cluster add-ons (Helm releases): where each chart comes from, its pinned version,
// release name and namespace, its switch, and per-stack value overrides.

import { ObjectReader, patterns } from "./reader";
import { AddonName, AddonSpec, AddonsConfig, Environment } from "./types";


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
};

/** A local chart (folder or archive) is referenced by path. */
export function isLocalChart(chart: string): boolean {
    return /^(\.\.?\/|\/)/.test(chart);
}

function readAddon(r: ObjectReader, def: AddonDefaults, enabledByDefault: boolean): AddonSpec {
    const chart = r.string("chart", { default: def.chart });
    const repository = r.string("repository", { default: isLocalChart(chart) || chart.startsWith("oci://") ? "" : def.repository });
    if (repository && !/^(https?|oci):\/\/\S+$/.test(repository)) {
        r.errors.add(r.key("repository"), repository, "must be an http(s):// or oci:// URL");
    }
    // Always pinned: an empty version means the tested default, never "latest".
    const version = r.string("version", { default: def.version, pattern: { re: /^v?\d+\.\d+\.\d+([-+][\w.]+)?$/, maxLength: 64, text: "an exact chart version such as 4.13.3 (ranges would let the chart upgrade itself)" } });
    return {
        enabled: r.bool("enabled", enabledByDefault),
        chart,
        repository,
        version,
        releaseName: r.string("releaseName", { default: def.releaseName, pattern: patterns.dnsLabel }),
        namespace: r.string("namespace", { default: def.namespace, pattern: patterns.dnsLabel }),
        timeoutSeconds: r.int("timeoutSeconds", { default: def.timeoutSeconds, min: 30, max: 3600 }),
        values: r.object("values").raw,
    };
}

/** TLS versions the controller may offer; older ones have known attacks and no browser needs them. */
export const SSL_PROTOCOLS = ["TLSv1.2", "TLSv1.3"] as const;

function readSslProtocols(a: ObjectReader): string[] {
    const list = a.stringList("sslProtocols", SSL_PROTOCOLS);
    const bad = list.filter((p) => !(SSL_PROTOCOLS as readonly string[]).includes(p));
    if (bad.length > 0 || list.length === 0 || new Set(list).size !== list.length) {
        a.errors.add(a.key("sslProtocols"), list, `must list one or both of ${SSL_PROTOCOLS.join(", ")}, each once (TLS 1.0 and 1.1 are not offered)`);
        return [...SSL_PROTOCOLS];
    }
    return list;
}

export function readAddons(r: ObjectReader, env: Environment): AddonsConfig {
    const read = <T extends object>(name: AddonName, extra: (a: ObjectReader) => T): AddonSpec & T => {
        const a = r.object(name);
        const spec = { ...readAddon(a, ADDON_DEFAULTS[name], false), ...extra(a) };
        a.done();
        return spec;
    };
    const addons: AddonsConfig = {
        ingressNginx: read("ingressNginx", (a) => ({
            replicas: a.int("replicas", { default: env === "prod" ? 2 : 1, min: 1 }),
            sslProtocols: readSslProtocols(a),
        })),
        certManager: read("certManager", (a) => ({
            acmeEmail: a.string("acmeEmail", { pattern: { re: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, maxLength: 254, text: "an email address" } }),
            clusterIssuers: a.bool("clusterIssuers", true),
        })),
        metricsServer: read("metricsServer", (a) => ({
            kubeletInsecureTls: a.bool("kubeletInsecureTls", false),
            verifyApiServiceTls: a.bool("verifyApiServiceTls", env !== "dev"),
        })),
        kubePrometheusStack: read("kubePrometheusStack", (a) => ({
            retention: a.string("retention", { default: env === "prod" ? "30d" : "7d", pattern: { re: /^\d+[hdwy]$/, maxLength: 8, text: "a Prometheus retention such as 15d" } }),
            storageSize: a.quantity("storageSize", env === "prod" ? "100Gi" : "20Gi", { positive: true }),
            storageClass: a.string("storageClass", { pattern: patterns.storageClass }),
            routeAlerts: a.bool("routeAlerts", env === "prod"),
            controlPlaneMonitoring: a.bool("controlPlaneMonitoring", false),
            // Two replicas in prod: silences and notification state are gossiped, so one can restart.
            alertmanagerReplicas: a.int("alertmanagerReplicas", { default: env === "prod" ? 2 : 1, min: 1, max: 5 }),
            alertmanagerStorageSize: a.quantity("alertmanagerStorageSize", env === "prod" ? "10Gi" : "2Gi", { positive: true }),
        })),
    };
    r.done();
    const cm = addons.certManager;
    if (cm.enabled && cm.clusterIssuers && !cm.acmeEmail) {
        r.errors.missing(r.key("certManager.acmeEmail"), "an ACME account email for the Let's Encrypt ClusterIssuers (or certManager.clusterIssuers: false)");
    }
    if (env === "prod" && addons.metricsServer.kubeletInsecureTls) {
        r.errors.add(r.key("metricsServer.kubeletInsecureTls"), true, "must be false in prod: it disables verification of kubelet serving certificates");
    }
    if (env === "prod" && addons.kubePrometheusStack.enabled && !addons.kubePrometheusStack.routeAlerts) {
        r.errors.add(r.key("kubePrometheusStack.routeAlerts"), false, "must be true in prod: the chart's default sends every alert to a null receiver");
    }
    return addons;
}
