// Checks that need the whole config; each runs on whatever parts are valid, so every problem is reported at once.

import { kubePrometheusStackPrometheusUrl } from "../addons";
import { ConfigErrors, inWords, parseQuantity } from "../reader";
import { secretDefs } from "../secrets";
import { DATA_SERVICES, DATA_SERVICE_FACTS, DataServiceName, EXPORTER_RESOURCES, PlatformConfig, QuotaSpec, ResourceSpec, migrationName } from "../types";

function isDataService(name: string): name is DataServiceName {
    return (DATA_SERVICES as readonly string[]).includes(name);
}

/** The data services this stack runs, in DATA_SERVICES order. */
export function enabledDataServices(cfg: Pick<PlatformConfig, DataServiceName>): DataServiceName[] {
    return DATA_SERVICES.filter((n) => cfg[n].enabled);
}

/** The enabled data services that run as a StatefulSet, with a headless Service and `appName` in its immutable selector. */
export function dataStatefulSets(cfg: Pick<PlatformConfig, DataServiceName>): DataServiceName[] {
    return enabledDataServices(cfg).filter((n) => n !== "redis" || cfg.redis.workload === "statefulset");
}

/** Cross-checks that need the whole config: references between services and data services. */
export function checkReferences(cfg: PlatformConfig, errors: ConfigErrors): void {
    const names = new Set(cfg.services.map((s) => s.name));
    for (const s of cfg.services) {
        for (const target of s.uses) {
            const key = `services.${s.name}.uses`;
            if (target === s.name) {
                errors.add(key, target, "a service cannot use itself");
            } else if (isDataService(target)) {
                if (!cfg[target].enabled) {
                    errors.add(key, target, `needs ${target}.enabled: true`);
                }
            } else if (!names.has(target)) {
                errors.add(key, target, `must name a data service (${DATA_SERVICES.join(", ")}) or another service (${[...names].join(", ")})`);
            }
        }
        if (isDataService(s.name)) {
            errors.add(`services.${s.name}`, s.name, `${inWords(DATA_SERVICES.map((n) => `'${n}'`))} are reserved for the data services`);
        }
    }
    for (const s of cfg.services) {
        Object.values(s.secretEnv).forEach((key, i) => {
            const def = secretDefs(cfg.secrets).find((d) => d.key === key);
            if (def && !def.neededBy(cfg)) {
                errors.add(`services.${s.name}.secretEnv[${i}].from`, key, `must be a secret this stack has; ${key} is the ${def.description}`);
            }
        });
    }
    const paths = new Map<string, string>();
    for (const s of cfg.services) {
        if (s.ingressPath === undefined) {
            continue;
        }
        const other = paths.get(s.ingressPath);
        if (other !== undefined) {
            errors.add(`services.${s.name}.ingressPath`, s.ingressPath, `must be unique; '${other}' already routes it`);
        }
        paths.set(s.ingressPath, s.name);
    }
    // A ServiceMonitor or PrometheusRule whose CRD nothing installs fails halfway through `pulumi up`.
    if (cfg.monitoring.enabled && !cfg.addons.kubePrometheusStack.enabled && !cfg.monitoring.crdsFromCluster) {
        errors.add("monitoring.enabled", true, "needs the prometheus-operator CRDs (ServiceMonitor, PrometheusRule): set addons.kubePrometheusStack.enabled: true, or monitoring.crdsFromCluster: true where the cluster already has them, or monitoring.enabled: false");
    }
    checkCustomMetrics(cfg, errors);
    // The namespace denies all egress: without the API server's addresses a Role would be unusable.
    for (const s of cfg.services.filter((x) => x.rbac.length > 0 && cfg.network.apiServerCidrs.length === 0)) {
        errors.add(`services.${s.name}.rbac`, `${s.rbac.length} rule(s)`, "needs network.apiServerCidrs, the API server's endpoint addresses its pods may reach " +
            "(kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes), because the namespace denies all other egress");
    }
    // An ingressPath reported as invalid is still the user's intent: no follow-on problem for it.
    if (cfg.ingress.enabled && paths.size === 0 && !cfg.services.some((s) => errors.has(`services.${s.name}.ingressPath`))) {
        errors.add("ingress.enabled", true, "needs at least one service with an ingressPath, or ingress.enabled: false");
    }
    if (cfg.services.length === 0) {
        errors.missing("services", "at least one service (a map of service name to its settings)");
    }
    checkGeneratedNames(cfg, errors);
    checkNamespace(cfg, errors);
    for (const kind of ["cpu", "memory"] as const) {
        const request = parseQuantity(cfg.quota.defaultRequest[kind]);
        const limit = parseQuantity(cfg.quota.defaultLimit[kind]);
        if (request !== undefined && limit !== undefined && request > limit) {
            errors.add(`quota.defaultRequest.${kind}`, cfg.quota.defaultRequest[kind], `must not exceed quota.defaultLimit.${kind} (${cfg.quota.defaultLimit[kind]}): the API server refuses such a LimitRange`);
        }
    }
}

/** A Prometheus metric name: what the prometheus-adapter add-on can serve, and safe to put into its PromQL. */
const PROMETHEUS_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * An HPA reads `podsMetrics` from the custom metrics API; with no server for it the HPA reports
 * FailedGetPodsMetric and, by Kubernetes' rule, never scales down while a metric is missing.
 */
function checkCustomMetrics(cfg: PlatformConfig, errors: ConfigErrors): void {
    const adapter = cfg.addons.prometheusAdapter;
    for (const s of cfg.services) {
        const key = `services.${s.name}.autoscaling.podsMetrics`;
        const metrics = s.autoscaling?.podsMetrics ?? [];
        if (metrics.length > 0 && !adapter.enabled && !adapter.fromCluster) {
            errors.add(key, metrics.map((m) => m.name), "needs a server of the custom metrics API (custom.metrics.k8s.io) to read them from: set addons.prometheusAdapter.enabled: true, " +
                "or addons.prometheusAdapter.fromCluster: true where the cluster already serves that API; without one the HPA never scales down (FailedGetPodsMetric)");
        }
        // This stack's adapter reads what this stack's Prometheus scrapes: only services with a metricsPath, with monitoring on.
        const ownPrometheus = adapter.enabled && adapter.prometheusUrl === kubePrometheusStackPrometheusUrl(cfg.addons.kubePrometheusStack) && cfg.addons.kubePrometheusStack.enabled;
        if (metrics.length > 0 && ownPrometheus && (s.metricsPath === undefined || !cfg.monitoring.enabled)) {
            errors.add(key, metrics.map((m) => m.name), `needs services.${s.name}.metricsPath and monitoring.enabled: true: the prometheus-adapter add-on reads ` +
                "the metrics from the stack's Prometheus, which scrapes only services with a metricsPath; without them the HPA never scales down (FailedGetPodsMetric)");
        }
        metrics.forEach((m, i) => {
            if (adapter.enabled && !PROMETHEUS_METRIC_NAME.test(m.name) && !errors.has(`${key}[${i}]`)) {
                errors.add(`${key}[${i}].name`, m.name, "must be a Prometheus metric name (letters, digits, '_' and ':', not starting with a digit) for the prometheus-adapter add-on to serve it");
            }
        });
    }
}

/**
 * Objects the program names after services must not collide with each other or with the fixed
 * names of the objects it adds (e.g. a service called `default-deny-all` would overwrite the
 * namespace's default-deny NetworkPolicy). Names per kind, as the components create them.
 */
export function generatedNames(cfg: PlatformConfig): Map<string, { name: string; owner: string }[]> {
    const byKind = new Map<string, { name: string; owner: string }[]>();
    const add = (kind: string, name: string, owner: string) => byKind.set(kind, [...(byKind.get(kind) ?? []), { name, owner }]);
    const program = "the program";
    add("NetworkPolicy", "default-deny-all", program);
    add("NetworkPolicy", "allow-dns-egress", program);
    for (const s of cfg.services) {
        add("Deployment", s.name, s.name);
        add("Service", s.name, s.name);
        add("NetworkPolicy", s.name, s.name);
        add("ConfigMap", `${s.name}-config`, s.name);
        add("Secret", `${s.name}-secrets`, s.name);
        if (cfg.ingress.enabled && s.ingressPath !== undefined) {
            add("NetworkPolicy", `${s.name}-from-ingress`, s.name);
        }
        // Its pods' component label is the same name: a service of that name would select them too.
        if (s.migration?.mode === "job") {
            add("NetworkPolicy", migrationName(s.name), s.name);
        }
    }
    for (const name of enabledDataServices(cfg)) {
        add("Service", name, program);
        if (dataStatefulSets(cfg).includes(name)) {
            add("Service", `${name}-headless`, program);
        }
        add("NetworkPolicy", name, program);
        add("ConfigMap", `${name}-config`, program);
        add("Secret", `${name}-credentials`, program);
    }
    if (cfg.postgres.backup.enabled) {
        add("NetworkPolicy", "postgres-backup", program);
    }
    if (cfg.ingress.enabled) {
        add("NetworkPolicy", "acme-http01-solver", program);
        add("ConfigMap", `${cfg.appName}-security-headers`, program);
        add("Secret", cfg.ingress.tlsSecretName, "ingress.tlsSecretName");
    }
    return byKind;
}

function checkGeneratedNames(cfg: PlatformConfig, errors: ConfigErrors): void {
    const program = "the program";
    // Data-service names are refused on their own; each service is blamed once, for its first collision.
    const reported = new Set<string>(DATA_SERVICES);
    for (const [kind, entries] of generatedNames(cfg)) {
        const owners = new Map<string, string[]>();
        entries.forEach(({ name, owner }) => owners.set(name, [...(owners.get(name) ?? []), owner]));
        for (const [name, list] of owners) {
            if (list.length < 2) {
                continue;
            }
            // Blame the configured side: a service (or the TLS Secret name), never the program's own object.
            const blamed = list.includes(program) ? list.filter((o) => o !== program) : list.slice(1);
            const other = list.includes(program) ? "the program uses for its own object" : `service '${list[0]}' already produces`;
            for (const owner of blamed.filter((o) => !reported.has(o))) {
                reported.add(owner);
                const key = owner === "ingress.tlsSecretName" ? owner : `services.${owner}`;
                errors.add(key, owner === "ingress.tlsSecretName" ? name : owner, `must not produce the ${kind} name '${name}', which ${other}`);
            }
        }
    }
}

/** Namespaces of the cluster and its add-ons: an app there would share their quota, policies and Pod Security level. */
function checkNamespace(cfg: PlatformConfig, errors: ConfigErrors): void {
    const a = cfg.addons;
    const taken: [string, string][] = [
        ["default", "the cluster's default namespace"], ["kube-system", "the cluster's system namespace"],
        ["kube-public", "a cluster namespace"], ["kube-node-lease", "a cluster namespace"],
        [cfg.network.ingressControllerNamespace, "the ingress controller's namespace"],
        [cfg.network.monitoringNamespace, "Prometheus's namespace"],
        [cfg.network.dnsNamespace, "cluster DNS's namespace"],
        ...([a.ingressNginx, a.certManager, a.metricsServer, a.kubePrometheusStack, a.prometheusAdapter] as const)
            .filter((x) => x.enabled).map((x): [string, string] => [x.namespace, `the ${x.releaseName} add-on's namespace`]),
    ];
    // The first description of a namespace is the most telling one.
    const owner = taken.find(([ns]) => ns === cfg.namespace)?.[1];
    if (owner !== undefined) {
        errors.add("namespace", cfg.namespace, `must be the app's own namespace, not ${owner}`);
    }
}

/** One workload's worst case: pods at full scale (plus one surge pod) and each pod's containers. */
interface Footprint {
    readonly name: string;
    readonly pods: number;
    readonly containers: readonly ResourceSpec[];
}

function footprints(cfg: PlatformConfig): Footprint[] {
    const exporter = cfg.monitoring.enabled ? [EXPORTER_RESOURCES] : [];
    // A migration Job's pod is not counted: it runs (with the resources of one of the service's pods)
    // before the Deployment changes, and is done before the rollout's surge pod starts.
    const out: Footprint[] = cfg.services.map((s) => ({
        name: s.name,
        // A rolling update runs one extra pod (maxSurge 1) at full scale.
        pods: (s.autoscaling?.maxReplicas ?? s.replicas) + 1,
        containers: [s.resources],
    }));
    for (const name of enabledDataServices(cfg)) {
        out.push({ name, pods: 1, containers: [cfg[name].resources, ...(DATA_SERVICE_FACTS[name].exporterSidecar ? exporter : [])] });
    }
    // One backup pod at a time: its CronJob forbids overlapping runs.
    if (cfg.postgres.backup.enabled) {
        out.push({ name: "postgres-backup", pods: 1, containers: [cfg.postgres.backup.resources] });
    }
    return out;
}

/**
 * The namespace quota must hold every workload at full scale, or autoscaling and rollouts stall on
 * "exceeded quota" when they are needed most.
 */
export function checkQuota(cfg: PlatformConfig, errors: ConfigErrors): void {
    const fp = footprints(cfg);
    const sum = (pick: (r: ResourceSpec) => string) =>
        fp.reduce((total, w) => total + w.pods * w.containers.reduce((t, c) => t + (parseQuantity(pick(c)) ?? 0), 0), 0);
    const checks: [keyof QuotaSpec, (r: ResourceSpec) => string, string][] = [
        ["requestsCpu", (r) => r.requests.cpu, "CPU requests"],
        ["requestsMemory", (r) => r.requests.memory, "memory requests"],
        ["limitsCpu", (r) => r.limits.cpu, "CPU limits"],
        ["limitsMemory", (r) => r.limits.memory, "memory limits"],
    ];
    const isMemory = (k: string) => k.endsWith("Memory");
    const show = (n: number, memory: boolean) => memory ? `${Math.ceil(n / 2 ** 20)}Mi` : `${Math.round(n * 1000)}m`;
    for (const [key, pick, what] of checks) {
        const need = sum(pick);
        const have = parseQuantity(cfg.quota[key] as string);
        // An invalid quota value is reported where it is read.
        if (have !== undefined && need > have) {
            errors.add(`quota.${key}`, cfg.quota[key], `must hold the workloads' ${what} at full scale plus one rollout surge pod each ` +
                `(${show(need, isMemory(key))}: ${fp.map((w) => `${w.name} ${w.pods} pods`).join(", ")}); raise it or lower replicas/maxReplicas`);
        }
    }
    const pods = fp.reduce((t, w) => t + w.pods, 0);
    if (pods > cfg.quota.pods) {
        errors.add("quota.pods", cfg.quota.pods, `must hold ${pods} pods (every workload at full scale plus one rollout surge pod each)`);
    }
    // One claim per data service, and PostgreSQL's backup volume.
    const data = enabledDataServices(cfg);
    const backups = cfg.postgres.backup.enabled;
    const claims = [...data.map((n) => cfg[n].storageSize), ...(backups ? [cfg.postgres.backup.storageSize] : [])];
    if (claims.length > cfg.quota.persistentVolumeClaims) {
        errors.add("quota.persistentVolumeClaims", cfg.quota.persistentVolumeClaims,
            `must hold the stack's ${claims.length} volume claims (${inWords(data.map((n) => DATA_SERVICE_FACTS[n].what))} data${backups ? ", PostgreSQL backups" : ""})`);
    }
    const storage = claims.reduce((t, c) => t + (parseQuantity(c) ?? 0), 0);
    const storageQuota = parseQuantity(cfg.quota.requestsStorage);
    if (storageQuota !== undefined && storage > storageQuota) {
        errors.add("quota.requestsStorage", cfg.quota.requestsStorage, `must hold the stack's volume claims (${Math.ceil(storage / 2 ** 30)}Gi: ${claims.join(" + ")})`);
    }
}
