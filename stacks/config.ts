// Turns one stack's raw config into a validated PlatformConfig, or fails with every problem at once.
// Pure: tests call resolveConfig with tables of raw values; stacks/load.ts feeds it pulumi.Config.

import { AddonsConfig, readAddons } from "./addons";
import { PROFILES } from "./environments";
import { ConfigErrors, ObjectReader, parseQuantity, patterns } from "./reader";
import { SECRET_KEYS, customSecretKeys, missingSecrets, readSecretSettings, secretDefs } from "./secrets";
import { CONFIG_MAP_KEY, DNS1035_LABEL, IMAGE, LABEL_KEY_TEXT, LABEL_VALUE, follows, hasControlCharacter, isLabelKey } from "./k8sRules";
import { INGRESS_HEADER_NAMES, ingressSecurityHeaders } from "./securityHeaders";
import {
    AlertThresholds, ClusterSpec, DATA_SERVICES, ENVIRONMENTS, EXPORTER_RESOURCES, Environment, IngressControllerSpec, IngressSpec, MonitoringSpec, NetworkSpec,
    PlatformConfig, PostgresSpec, ProbeSpec, QuotaSpec, RedisSpec, ResourceSpec, ServiceSpec,
} from "./types";

/** Top-level config keys other than secrets (Pulumi.yaml declares the same; a unit test keeps them equal). */
export const SETTING_KEYS: readonly string[] = [
    "environment", "appName", "namespace", "domain", "debug", "jwtAlgorithm", "initImage", "cluster", "services",
    "postgres", "redis", "ingress", "monitoring", "network", "quota", "appEnv", "secrets", "addons",
];

/** The project's config namespace (`<namespace>:<key>` in Pulumi.<stack>.yaml). */
export const CONFIG_NAMESPACE = "platform";

export class ConfigValidationError extends Error {
    constructor(readonly stackName: string, readonly problems: readonly string[]) {
        super(
            `Stack '${stackName}' has ${problems.length} config problem${problems.length === 1 ? "" : "s"} ` +
            `(keys are under '${CONFIG_NAMESPACE}:'):\n` + problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigValidationError";
        // The engine prints `stack` for a failed program: the problem list, without a JavaScript trace.
        this.stack = `${this.name}: ${this.message}`;
        // Not enumerable, so Node's error printout does not list the problems a second time.
        Object.defineProperties(this, { stackName: { enumerable: false }, problems: { enumerable: false } });
    }
}


/** Splits an image reference into its tag and digest; the tag is what follows the last ':' after the last '/'. */
export function imageTag(image: string): { tag?: string; digest?: string } {
    const [name, digest] = image.split("@");
    const lastPart = name.slice(name.lastIndexOf("/") + 1);
    const colon = lastPart.lastIndexOf(":");
    return { tag: colon >= 0 ? lastPart.slice(colon + 1) : undefined, digest };
}

function readImage(r: ObjectReader, name: string, def: string, pinned: boolean, required = false): string {
    const value = r.string(name, required ? { required: "an image reference such as registry.example.com/app:v1.2.3" } : { default: def });
    if (!value) {
        return value;
    }
    if (!follows(IMAGE, value)) {
        r.errors.add(r.key(name), value, `must be ${IMAGE.text}`);
        return value;
    }
    const { tag, digest } = imageTag(value);
    if (pinned && !digest && (tag === undefined || tag === "latest")) {
        r.errors.add(r.key(name), value, "must be pinned to a version tag or digest in this environment (not 'latest', not untagged)");
    }
    return value;
}

/** Numeric parts of the version a tag starts with: "15.10-alpine" -> 2, "7.2-alpine" -> 2, "v1.0.0" -> 3, "alpine" -> 0. */
export function versionParts(tag: string): number {
    const m = /^v?(\d+(?:\.\d+)*)/.exec(tag);
    return m ? m[1].split(".").length : 0;
}

/**
 * A data service's image where images must be pinned: the official images' short tags
 * (`postgres:15-alpine`, `redis:7.2-alpine`) move to every new patch release, so a restart can
 * change the database server under the data. An exact release (`parts` numeric parts: PostgreSQL
 * numbers its patch releases MAJOR.MINOR, Redis MAJOR.MINOR.PATCH) or a digest is required.
 */
function readDataImage(r: ObjectReader, defaults: { floating: string; exact: string }, parts: number, pinned: boolean, what: string): string {
    const image = readImage(r, "image", pinned ? defaults.exact : defaults.floating, pinned);
    const { tag, digest } = imageTag(image);
    if (pinned && !digest && tag !== undefined && tag !== "latest" && versionParts(tag) < parts) {
        r.errors.add(r.key("image"), image, `must name an exact ${what} release in this environment (a tag such as ${defaults.exact.slice(defaults.exact.indexOf(":") + 1)}, or a digest): '${tag}' moves to every new release`);
    }
    return image;
}

/** A service's plain env becomes ConfigMap keys; values are any text. */
const ENV_MAP_RULES = { keys: { ok: (k: string) => follows(CONFIG_MAP_KEY, k), text: CONFIG_MAP_KEY.text } };

/** Pod labels of peers: Kubernetes label keys and values. */
const LABEL_RULES = {
    keys: { ok: isLabelKey, text: LABEL_KEY_TEXT },
    values: { ok: (v: string) => follows(LABEL_VALUE, v), text: LABEL_VALUE.text },
};

/** postgresql.conf lines: a setting name, and a value that cannot start another line. */
const POSTGRES_SETTING_RULES = {
    keys: { ok: (k: string) => /^[a-z_][a-z0-9_.]*$/.test(k), text: "PostgreSQL setting names (lower-case letters, digits, '_' and '.')" },
    values: { ok: (v: string) => !hasControlCharacter(v), text: "a single-line postgresql.conf value" },
};

function readResources(r: ObjectReader, def: ResourceSpec): ResourceSpec {
    const req = r.object("requests");
    const lim = r.object("limits");
    const out = {
        requests: { cpu: req.quantity("cpu", def.requests.cpu), memory: req.quantity("memory", def.requests.memory) },
        limits: { cpu: lim.quantity("cpu", def.limits.cpu), memory: lim.quantity("memory", def.limits.memory) },
    };
    req.done();
    lim.done();
    r.done();
    for (const kind of ["cpu", "memory"] as const) {
        const request = parseQuantity(out.requests[kind]) ?? 0;
        const limit = parseQuantity(out.limits[kind]) ?? 0;
        if (request > limit) {
            r.errors.add(`${r.key("requests")}.${kind}`, out.requests[kind], `must not exceed limits.${kind} (${out.limits[kind]})`);
            // Cross-checks (the quota) go on with the limit, so the one mistake is not reported twice.
            out.requests[kind] = out.limits[kind];
        }
    }
    return out;
}

/** An HTTP path for probes and metrics: starts with '/', no spaces or control characters. */
const HTTP_PATH = { re: /^\/[^\s\u0000-\u001f\u007f]*$/, maxLength: 1024, text: "an HTTP path starting with '/'" };

function readProbe(r: ObjectReader, def: ProbeSpec): ProbeSpec {
    // The default comes from healthPath, which is checked where it is set.
    const path = r.string("path", { default: def.path, pattern: HTTP_PATH });
    const probe = {
        path,
        initialDelaySeconds: r.int("initialDelaySeconds", { default: def.initialDelaySeconds, min: 0 }),
        periodSeconds: r.int("periodSeconds", { default: def.periodSeconds, min: 1 }),
        timeoutSeconds: r.int("timeoutSeconds", { default: def.timeoutSeconds, min: 1 }),
        failureThreshold: r.int("failureThreshold", { default: def.failureThreshold, min: 1 }),
    };
    r.done();
    return probe;
}

const SERVICE_DEFAULT_RESOURCES: ResourceSpec = {
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { cpu: "500m", memory: "512Mi" },
};

function readService(name: string, r: ObjectReader, env: Environment, secretNames: ReadonlySet<string>): ServiceSpec {
    const problemsBefore = r.errors.problems.length;
    // Services need DNS-1035 names; 50 leaves room for the suffixes of the objects named after them.
    if (!DNS1035_LABEL.re.test(name) || name.length > 50) {
        r.errors.add(r.path, name, "service names must be DNS-1035 labels (a lower-case letter, then lower-case letters, digits and '-') of at most 50 characters: they name Services, Deployments and ConfigMaps");
    }
    const image = readImage(r, "image", "", PROFILES[env].requirePinnedImages, true);
    const port = r.int("port", { default: 8080, min: 1, max: 65535 });
    const probes = r.object("probes");
    const healthPath = r.string("healthPath", { default: "/health", pattern: HTTP_PATH });
    const probeDefault: ProbeSpec = { path: healthPath, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 };
    const spec = {
        name,
        image,
        port,
        servicePort: r.int("servicePort", { default: port, min: 1, max: 65535 }),
        replicas: r.int("replicas", { default: 1, min: 0 }),
        autoscaling: r.optional("autoscaling", readAutoscaling),
        resources: readResources(r.object("resources"), SERVICE_DEFAULT_RESOURCES),
        probes: {
            liveness: readProbe(probes.object("liveness"), probeDefault),
            readiness: readProbe(probes.object("readiness"), { ...probeDefault, periodSeconds: 5 }),
            // Startup allows 5 minutes (30 x 10s) before liveness takes over, for slow migrations.
            startup: readProbe(probes.object("startup"), { ...probeDefault, failureThreshold: 30 }),
        },
        ingressPath: r.string("ingressPath") || undefined,
        uses: r.stringList("uses"),
        egressHttps: r.bool("egressHttps", false),
        env: r.stringMap("env", {}, ENV_MAP_RULES),
        secretEnv: readSecretEnv(r, secretNames),
        writablePaths: r.stringList("writablePaths", ["/tmp"]),
        runAsUser: r.int("runAsUser", { default: 10001, min: 1 }),
        pdbMinAvailable: r.has("pdbMinAvailable") ? r.int("pdbMinAvailable", { default: 1, min: 1 }) : r.skip("pdbMinAvailable"),
        metricsPath: r.string("metricsPath", { pattern: HTTP_PATH }) || undefined,
        command: r.stringList("command"),
        args: r.stringList("args"),
    };
    probes.done();
    r.done();

    // ingress-nginx refuses paths that are not normalised ('//', '.' or '..' segments) at admission.
    if (spec.ingressPath !== undefined && (!/^\/[A-Za-z0-9/._~-]*$/.test(spec.ingressPath) || /\/\/|\/\.\.?(\/|$)/.test(spec.ingressPath))) {
        r.errors.add(r.key("ingressPath"), spec.ingressPath, "must be a normalised URL path prefix starting with '/' (letters, digits, '/', '.', '_', '~', '-'; no '//', '.' or '..' segments)");
    }
    for (const p of spec.writablePaths) {
        if (!p.startsWith("/")) {
            r.errors.add(r.key("writablePaths"), p, "must be absolute paths");
        }
    }
    // Cross-field checks only on the fields they read, when those were valid, so one mistake is reported once.
    const minReplicas = spec.autoscaling?.minReplicas ?? spec.replicas;
    const replicaKeys = ["replicas", "autoscaling", "pdbMinAvailable"].map((k) => r.key(k));
    const replicasValid = !r.errors.problems.slice(problemsBefore).some((p) => replicaKeys.some((k) => p.startsWith(k)));
    if (replicasValid && spec.pdbMinAvailable !== undefined && spec.pdbMinAvailable >= minReplicas) {
        r.errors.add(r.key("pdbMinAvailable"), spec.pdbMinAvailable,
            `must be less than the minimum replica count (${minReplicas}), or no pod could ever be evicted and node drains would hang`);
    }
    return spec;
}

const ENV_NAME = { re: /^[A-Za-z_][A-Za-z0-9_]*$/, maxLength: 128, text: "an environment variable name such as JWT_SECRET_KEY" };

/**
 * `secretEnv: [{name: VARIABLE, from: <secret key>}]`, as a map of variable -> secret key. A list of
 * name/from pairs rather than a map keeps lines such as `JWT_SECRET_KEY: jwtSecret` out of the stack
 * files, where they read like plain-text secrets to people and scanners.
 */
function readSecretEnv(r: ObjectReader, secretNames: ReadonlySet<string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of r.objectList("secretEnv")) {
        const name = e.string("name", { required: "an environment variable name", pattern: ENV_NAME });
        const from = e.string("from", { required: `the app secret to read: ${[...secretNames].join(", ")}`, oneOf: [...secretNames] });
        e.done();
        if (name in out) {
            e.errors.add(e.key("name"), name, "must be unique in secretEnv");
        }
        out[name] = from;
    }
    return out;
}

function readAutoscaling(r: ObjectReader): ServiceSpec["autoscaling"] {
    const spec = {
        minReplicas: r.int("minReplicas", { default: 1, min: 1 }),
        maxReplicas: r.int("maxReplicas", { default: 3, min: 1 }),
        cpuUtilization: r.int("cpuUtilization", { default: 70, min: 1, max: 100 }),
        memoryUtilization: r.int("memoryUtilization", { default: 80, min: 0, max: 100 }),
        scaleDownStabilizationSeconds: r.int("scaleDownStabilizationSeconds", { default: 300, min: 0, max: 3600 }),
    };
    r.done();
    if (spec.minReplicas > spec.maxReplicas) {
        r.errors.add(r.key("minReplicas"), spec.minReplicas, `must not exceed maxReplicas (${spec.maxReplicas})`);
    }
    return spec;
}

const SQL_IDENTIFIER = { re: /^[a-z_][a-z0-9_]*$/, maxLength: 63, text: "a lower-case SQL identifier" };

function readPostgres(r: ObjectReader, env: Environment): PostgresSpec {
    const profile = PROFILES[env];
    const spec: PostgresSpec = {
        enabled: r.bool("enabled", false),
        image: readDataImage(r, { floating: "postgres:15-alpine", exact: "postgres:15.10-alpine" }, 2, profile.requirePinnedImages, "PostgreSQL"),
        exporterImage: readImage(r, "exporterImage", "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", profile.requirePinnedImages),
        database: r.string("database", { default: "app", pattern: SQL_IDENTIFIER }),
        user: r.string("user", { default: "app", pattern: SQL_IDENTIFIER }),
        storageSize: r.quantity("storageSize", profile.postgresStorage, { positive: true }),
        storageClass: r.string("storageClass", { pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2000m", memory: "4Gi" } }),
        settings: r.stringMap("settings", {
            max_connections: "200",
            shared_buffers: "1GB",
            effective_cache_size: "3GB",
            work_mem: "8MB",
            maintenance_work_mem: "256MB",
            wal_buffers: "16MB",
            checkpoint_completion_target: "0.9",
            random_page_cost: "1.1",
        }, POSTGRES_SETTING_RULES),
        protect: r.bool("protect", profile.protectData),
        // 70 is the postgres user of the official alpine image.
        runAsUser: r.int("runAsUser", { default: 70, min: 1 }),
    };
    r.done();
    return spec;
}

function readRedis(r: ObjectReader, env: Environment): RedisSpec {
    const profile = PROFILES[env];
    const spec: RedisSpec = {
        enabled: r.bool("enabled", false),
        image: readDataImage(r, { floating: "redis:7.2-alpine", exact: "redis:7.2.7-alpine" }, 3, profile.requirePinnedImages, "Redis"),
        exporterImage: readImage(r, "exporterImage", "oliver006/redis_exporter:v1.62.0", profile.requirePinnedImages),
        storageSize: r.quantity("storageSize", "10Gi", { positive: true }),
        storageClass: r.string("storageClass", { pattern: patterns.storageClass }),
        resources: readResources(r.object("resources"), { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } }),
        // Redis reads sizes case-insensitively, with or without the trailing b.
        maxmemory: r.string("maxmemory", { default: "768mb", pattern: { re: /^\d+(b|kb?|mb?|gb?)?$/i, maxLength: 20, text: "a Redis size such as 768mb, 1gb or 512m" } }),
        maxmemoryPolicy: r.string("maxmemoryPolicy", {
            default: "allkeys-lru",
            oneOf: ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"],
        }),
        protect: r.bool("protect", profile.protectData),
        // 999 is the redis user of the official alpine image.
        runAsUser: r.int("runAsUser", { default: 999, min: 1 }),
    };
    r.done();
    return spec;
}

function readIngress(r: ObjectReader, domain: string, appName: string, addons: AddonsConfig): IngressSpec {
    const spec: IngressSpec = {
        enabled: r.bool("enabled", true),
        host: r.string("host", { default: domain, pattern: patterns.hostname }),
        className: r.string("className", { default: "nginx", pattern: patterns.dnsLabel }),
        clusterIssuer: r.string("clusterIssuer", { default: "letsencrypt-prod", pattern: patterns.dnsLabel }),
        tlsSecretName: r.string("tlsSecretName", { default: `${appName}-tls`, pattern: patterns.dnsLabel }),
        rateLimitRps: r.int("rateLimitRps", { default: 100, min: 1 }),
        proxyTimeoutSeconds: r.int("proxyTimeoutSeconds", { default: 3600, min: 1 }),
        proxyBodySize: r.string("proxyBodySize", { default: "10m", pattern: { re: /^\d+[kmg]?$/i, maxLength: 10, text: "an nginx size such as 10m or 1G" } }),
        contentSecurityPolicy: r.string("contentSecurityPolicy", {
            // It becomes a response header in the controller's config: no line breaks, quotes or backslashes.
            pattern: { re: /^[^"\\\u0000-\u001f\u007f]*$/, maxLength: 4096, text: "a header value without quotes, backslashes or line breaks" },
            default: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' wss:; frame-ancestors 'none'",
        }),
        hstsMaxAgeSeconds: r.int("hstsMaxAgeSeconds", { default: 31536000, min: 0 }),
        securityHeaders: r.bool("securityHeaders", true),
        controller: readIngressController(r.object("controller"), addons),
        waitForAddress: r.bool("waitForAddress", true),
    };
    r.done();
    if (spec.enabled) {
        checkControllerHeaders(r, spec);
    }
    if (spec.enabled && !spec.host) {
        r.errors.missing(r.key("host"), "a hostname for the Ingress (set 'domain' or 'ingress.host'), or ingress.enabled: false");
    }
    return spec;
}

/**
 * The controller behind the IngressClass. Managed means this stack's ingress-nginx add-on, whose
 * allow-list and HSTS the program sets itself; an external controller's are whatever the stack states.
 */
function readIngressController(r: ObjectReader, addons: AddonsConfig): IngressControllerSpec {
    const managedAddon = addons.ingressNginx.enabled;
    const mode = r.string("mode", { default: managedAddon ? "managed" : "external", oneOf: ["managed", "external"] }) as IngressControllerSpec["mode"];
    if (mode === "managed" && !managedAddon) {
        r.errors.add(r.key("mode"), mode, "needs addons.ingressNginx.enabled: true (the controller this stack installs); use mode: external for a controller installed outside this stack");
    }
    if (mode === "external" && managedAddon) {
        r.errors.add(r.key("mode"), mode, "contradicts addons.ingressNginx.enabled: true, whose controller serves this stack's IngressClass; turn the add-on off or use mode: managed");
    }
    if (mode === "managed") {
        for (const key of ["allowedResponseHeaders", "sendsHsts"]) {
            if (r.has(key)) {
                r.errors.add(r.key(key), r.raw[key], "is set by the program for the managed controller; only mode: external takes it");
            }
            r.skip(key);
        }
        r.done();
        return { mode, allowedResponseHeaders: INGRESS_HEADER_NAMES, sendsHsts: true };
    }
    const spec: IngressControllerSpec = {
        mode,
        allowedResponseHeaders: r.stringList("allowedResponseHeaders"),
        // ingress-nginx's own default (`hsts: "true"`).
        sendsHsts: r.bool("sendsHsts", true),
    };
    r.done();
    return spec;
}

/**
 * Refuses a stack whose Ingress would set a header its controller does not allow: ingress-nginx then
 * answers 503 on every path of the Ingress. Header names compare case-insensitively, as in HTTP.
 */
function checkControllerHeaders(r: ObjectReader, spec: IngressSpec): void {
    if (!spec.securityHeaders || spec.controller.mode === "managed") {
        return;
    }
    const allowed = new Set(spec.controller.allowedResponseHeaders.map((h) => h.toLowerCase()));
    const set = Object.keys(ingressSecurityHeaders(spec.contentSecurityPolicy, spec.hstsMaxAgeSeconds, spec.controller.sendsHsts));
    const missing = set.filter((h) => !allowed.has(h.toLowerCase()));
    if (missing.length > 0) {
        r.errors.add(r.key("controller.allowedResponseHeaders"), spec.controller.allowedResponseHeaders,
            `must list ${missing.join(", ")}: the Ingress sets them through the custom-headers annotation, and ingress-nginx answers 503 ` +
            "on every path of an Ingress that sets a header missing from its global-allowed-response-headers. Add them to the " +
            "controller's ConfigMap and list them here, or set ingress.securityHeaders: false to leave the headers to the app");
    }
}

function readMonitoring(r: ObjectReader): MonitoringSpec {
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

/** Peers default to where this stack's own add-ons run, so moving an add-on moves the policies with it. */
function readNetwork(r: ObjectReader, addons: AddonsConfig): NetworkSpec {
    const spec: NetworkSpec = {
        ingressControllerNamespace: r.string("ingressControllerNamespace", { default: addons.ingressNginx.namespace, pattern: patterns.dnsLabel }),
        ingressControllerPodLabels: r.stringMap("ingressControllerPodLabels", { "app.kubernetes.io/name": "ingress-nginx" }, LABEL_RULES),
        monitoringNamespace: r.string("monitoringNamespace", { default: addons.kubePrometheusStack.namespace, pattern: patterns.dnsLabel }),
        prometheusPodLabels: r.stringMap("prometheusPodLabels", { "app.kubernetes.io/name": "prometheus" }, LABEL_RULES),
        dnsNamespace: r.string("dnsNamespace", { default: "kube-system", pattern: patterns.dnsLabel }),
        dnsPodLabels: r.stringMap("dnsPodLabels", { "k8s-app": "kube-dns" }, LABEL_RULES),
    };
    r.done();
    return spec;
}

function readQuota(r: ObjectReader, env: Environment): QuotaSpec {
    const def = PROFILES[env].quota;
    const dr = r.object("defaultRequest");
    const dl = r.object("defaultLimit");
    const spec: QuotaSpec = {
        requestsCpu: r.quantity("requestsCpu", def.requestsCpu),
        requestsMemory: r.quantity("requestsMemory", def.requestsMemory),
        limitsCpu: r.quantity("limitsCpu", def.limitsCpu),
        limitsMemory: r.quantity("limitsMemory", def.limitsMemory),
        pods: r.int("pods", { default: def.pods, min: 1 }),
        persistentVolumeClaims: r.int("persistentVolumeClaims", { default: def.persistentVolumeClaims, min: 0 }),
        requestsStorage: r.quantity("requestsStorage", def.requestsStorage),
        defaultRequest: { cpu: dr.quantity("cpu", def.defaultRequest.cpu), memory: dr.quantity("memory", def.defaultRequest.memory) },
        defaultLimit: { cpu: dl.quantity("cpu", def.defaultLimit.cpu), memory: dl.quantity("memory", def.defaultLimit.memory) },
    };
    dr.done();
    dl.done();
    r.done();
    return spec;
}

function readCluster(r: ObjectReader): ClusterSpec {
    const spec = { kubeconfig: r.string("kubeconfig"), context: r.string("context") };
    r.done();
    return spec;
}

/** Cross-checks that need the whole config: references between services and data services. */
function checkReferences(cfg: PlatformConfig, errors: ConfigErrors): void {
    const names = new Set(cfg.services.map((s) => s.name));
    for (const s of cfg.services) {
        for (const target of s.uses) {
            const key = `services.${s.name}.uses`;
            if (target === s.name) {
                errors.add(key, target, "a service cannot use itself");
            } else if ((DATA_SERVICES as readonly string[]).includes(target)) {
                const dataService = target === "postgres" ? cfg.postgres : cfg.redis;
                if (!dataService.enabled) {
                    errors.add(key, target, `needs ${target}.enabled: true`);
                }
            } else if (!names.has(target)) {
                errors.add(key, target, `must name a data service (${DATA_SERVICES.join(", ")}) or another service (${[...names].join(", ")})`);
            }
        }
        if ((DATA_SERVICES as readonly string[]).includes(s.name)) {
            errors.add(`services.${s.name}`, s.name, "'postgres' and 'redis' are reserved for the data services");
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
    if (cfg.ingress.enabled && paths.size === 0) {
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
    }
    for (const [enabled, name, extra] of [[cfg.postgres.enabled, "postgres", ["postgres-headless"]], [cfg.redis.enabled, "redis", []]] as const) {
        if (enabled) {
            add("Service", name, program);
            extra.forEach((n) => add("Service", n, program));
            add("NetworkPolicy", name, program);
            add("ConfigMap", `${name}-config`, program);
            add("Secret", `${name}-credentials`, program);
        }
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
        ...([a.ingressNginx, a.certManager, a.metricsServer, a.kubePrometheusStack] as const)
            .filter((x) => x.enabled).map((x): [string, string] => [x.namespace, `the ${x.releaseName} add-on's namespace`]),
    ];
    // The first description of a namespace is the most telling one.
    const owner = taken.find(([ns]) => ns === cfg.namespace)?.[1];
    if (owner !== undefined) {
        errors.add("namespace", cfg.namespace, `must be the app's own namespace, not ${owner}`);
    }
}

/** Which secret keys a stack has set; values never reach validation. */
export interface SecretKeyState {
    readonly set: readonly string[];
    /** Set without `--secret`, i.e. in plain text in Pulumi.<stack>.yaml. */
    readonly plaintext: readonly string[];
}

/** One workload's worst case: pods at full scale (plus one surge pod) and each pod's containers. */
interface Footprint {
    readonly name: string;
    readonly pods: number;
    readonly containers: readonly ResourceSpec[];
}

function footprints(cfg: PlatformConfig): Footprint[] {
    const exporter = cfg.monitoring.enabled ? [EXPORTER_RESOURCES] : [];
    const out: Footprint[] = cfg.services.map((s) => ({
        name: s.name,
        // A rolling update runs one extra pod (maxSurge 1) at full scale.
        pods: (s.autoscaling?.maxReplicas ?? s.replicas) + 1,
        containers: [s.resources],
    }));
    if (cfg.postgres.enabled) {
        out.push({ name: "postgres", pods: 1, containers: [cfg.postgres.resources, ...exporter] });
    }
    if (cfg.redis.enabled) {
        out.push({ name: "redis", pods: 1, containers: [cfg.redis.resources, ...exporter] });
    }
    return out;
}

/**
 * The namespace quota must hold every workload at full scale, or autoscaling and rollouts stall on
 * "exceeded quota" when they are needed most.
 */
function checkQuota(cfg: PlatformConfig, errors: ConfigErrors): void {
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
    const claims = [cfg.postgres.enabled ? cfg.postgres.storageSize : "", cfg.redis.enabled ? cfg.redis.storageSize : ""].filter(Boolean);
    if (claims.length > cfg.quota.persistentVolumeClaims) {
        errors.add("quota.persistentVolumeClaims", cfg.quota.persistentVolumeClaims, `must hold the stack's ${claims.length} volume claims (PostgreSQL and Redis data)`);
    }
    const storage = claims.reduce((t, c) => t + (parseQuantity(c) ?? 0), 0);
    const storageQuota = parseQuantity(cfg.quota.requestsStorage);
    if (storageQuota !== undefined && storage > storageQuota) {
        errors.add("quota.requestsStorage", cfg.quota.requestsStorage, `must hold the stack's volume claims (${Math.ceil(storage / 2 ** 30)}Gi: ${claims.join(" + ")})`);
    }
}

/** One config entry as Pulumi reports it: the full key, its parsed value (absent for a hidden secret) and whether it is stored encrypted. */
export interface ConfigEntry {
    readonly key: string;
    readonly value?: unknown;
    readonly secret: boolean;
}

/**
 * Splits a stack's config entries into the raw values to validate and which secret keys are set.
 * A secret key's value never enters `raw`, so no validation message can echo it; any other encrypted
 * value (e.g. a misspelt secret key) is validated as an unknown key without its value. A secret key
 * whose value is "" (the Pulumi.yaml default) is unset.
 */
export function splitConfig(entries: readonly ConfigEntry[]): { raw: Record<string, unknown>; secretKeys: SecretKeyState } {
    const prefix = `${CONFIG_NAMESPACE}:`;
    // The stack's own secrets are declared in `secrets.custom`; their values must never reach validation.
    const secretKeys = new Set([...SECRET_KEYS, ...customSecretKeys(entries.find((e) => e.key === `${prefix}secrets`)?.value)]);
    const raw: Record<string, unknown> = {};
    const set: string[] = [];
    const plaintext: string[] = [];
    for (const entry of entries) {
        if (!entry.key.startsWith(prefix)) {
            continue;
        }
        const key = entry.key.slice(prefix.length);
        if (secretKeys.has(key)) {
            if (entry.value === undefined ? entry.secret : entry.value !== "") {
                set.push(key);
                if (!entry.secret) {
                    plaintext.push(key);
                }
            }
        } else {
            raw[key] = entry.secret ? "[secret]" : entry.value;
        }
    }
    return { raw, secretKeys: { set, plaintext } };
}

/** What a stack's last update deployed, from its own outputs; fields are undefined before its first update. */
export interface PreviousDeployment {
    readonly namespace?: string;
    readonly appName?: string;
}

const MOVE_DATA = "or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";

/**
 * Changes of identity a stack that holds data may not make in place. A new namespace would start
 * PostgreSQL and Redis on new, empty volumes while the data stays in the old one (kept there,
 * because a namespace holding data outlives the stack's resources). A new appName changes the
 * PostgreSQL StatefulSet's selector, which Kubernetes refuses to update; replacing the StatefulSet
 * would keep its claim, but the Kubernetes provider cannot preview that replacement
 * (pulumi/pulumi-kubernetes#3984), so every preview of the stack would fail.
 */
export function identityChangeProblems(cfg: PlatformConfig, previous: PreviousDeployment): string[] {
    const problems: string[] = [];
    const data = [cfg.postgres.enabled ? "PostgreSQL" : "", cfg.redis.enabled ? "Redis" : ""].filter(Boolean);
    if (previous.namespace !== undefined && previous.namespace !== cfg.namespace && data.length > 0) {
        problems.push(`namespace: ${JSON.stringify(cfg.namespace)} is not allowed: this stack's ${data.join(" and ")} data is in namespace ` +
            `${JSON.stringify(previous.namespace)}, and moving would start ${data.length > 1 ? "them" : "it"} on new, empty volumes while the data stays behind. ` +
            `Keep namespace ${JSON.stringify(previous.namespace)} (set it explicitly when renaming appName, which derives the default), ${MOVE_DATA}`);
    }
    if (previous.appName !== undefined && previous.appName !== cfg.appName && cfg.postgres.enabled) {
        problems.push(`appName: ${JSON.stringify(cfg.appName)} is not allowed: the PostgreSQL StatefulSet selects its pods by appName ` +
            `(${JSON.stringify(previous.appName)}), a field Kubernetes does not let change, and the Kubernetes provider cannot preview ` +
            `the StatefulSet's replacement (pulumi/pulumi-kubernetes#3984). Keep appName ${JSON.stringify(previous.appName)}, ${MOVE_DATA}`);
    }
    return problems;
}

/**
 * Validates one stack's raw config (keys without the namespace prefix, values JSON-parsed, secret
 * values left out) and applies defaults.
 */
export function resolveConfig(stack: string, raw: Record<string, unknown>, secretKeys: SecretKeyState = { set: [], plaintext: [] }): PlatformConfig {
    const errors = new ConfigErrors();
    const r = new ObjectReader("", raw, errors);
    const environment = r.string("environment", { required: `one of ${ENVIRONMENTS.join(", ")}`, oneOf: ENVIRONMENTS }) as Environment;
    // With no valid environment, read the rest with the most lenient profile so the one real problem
    // is not buried under follow-on ones.
    const env: Environment = ENVIRONMENTS.includes(environment) ? environment : "dev";
    const appName = r.string("appName", { default: "app", pattern: patterns.dnsLabel });
    const domain = r.string("domain", { pattern: patterns.hostname });
    const secrets = readSecretSettings(r.object("secrets"), env, SETTING_KEYS);
    const secretNames = new Set<string>([...SECRET_KEYS, ...Object.keys(secrets.custom)]);
    const addons = readAddons(r.object("addons"), env);
    const cfg: PlatformConfig = {
        stack,
        environment: env,
        appName,
        namespace: r.string("namespace", { default: env === "prod" ? appName : `${appName}-${env}`, pattern: patterns.dnsLabel }),
        domain,
        debug: r.bool("debug", false),
        jwtAlgorithm: r.string("jwtAlgorithm", { default: "HS256", oneOf: ["HS256", "RS256"] }) as "HS256" | "RS256",
        initImage: readImage(r, "initImage", "busybox:1.36.1", PROFILES[env].requirePinnedImages),
        cluster: readCluster(r.object("cluster")),
        services: r.entries("services").map(([name, sr]) => readService(name, sr, env, secretNames)),
        postgres: readPostgres(r.object("postgres"), env),
        redis: readRedis(r.object("redis"), env),
        ingress: readIngress(r.object("ingress"), domain, appName, addons),
        monitoring: readMonitoring(r.object("monitoring")),
        network: readNetwork(r.object("network"), addons),
        quota: readQuota(r.object("quota"), env),
        appEnv: r.stringMap("appEnv", {}, ENV_MAP_RULES),
        secrets,
        addons,
    };
    // Secret values are read by stacks/load.ts and never pass through here; they only count as known keys.
    for (const key of secretNames) {
        r.skip(key);
    }
    r.done();
    for (const key of secretKeys.plaintext) {
        errors.problems.push(`${key}: is stored in plain text: secrets must be set with 'pulumi config set --secret ${key} <value>' (or 'npm run secrets')`);
    }
    // Cross-checks run on whatever is valid: every problem is reported at once.
    checkReferences(cfg, errors);
    checkQuota(cfg, errors);
    errors.problems.push(...missingSecrets(cfg, new Set(secretKeys.set)));
    if (errors.problems.length > 0) {
        throw new ConfigValidationError(stack, errors.problems);
    }
    return cfg;
}

