// The app's web services: image, ports, replicas, autoscaling, resources, probes, routing, env, RBAC, scheduling,
// migrations.

import {
    CONFIG_MAP_KEY, DNS1035_LABEL, DNS1123_LABEL, HPA_BEHAVIOR_LIMITS, LABEL_KEY, LABEL_RULES, LABEL_VALUE, METRIC_NAME, RBAC_API_GROUP, RBAC_RESOURCE, RBAC_VERBS,
    follows, volumeNameForPath,
} from "../k8sRules";
import { ObjectReader, parseQuantity } from "../reader";
import {
    AutoscalingSpec, Environment, MIGRATION_JOB_HASH_LENGTH, MIGRATION_MODES, MigrationSpec, PodsMetricSpec, ProbeSpec, RbacRuleSpec, ResourceSpec,
    ScalingPolicySpec, ScalingRulesSpec, ServiceSpec, TolerationSpec, migrationName,
} from "../types";
import { PROFILES } from "../environments";
import { readImage } from "./images";

/** A service's plain env becomes ConfigMap keys; values are any text. */
export const ENV_MAP_RULES = { keys: { ok: (k: string) => follows(CONFIG_MAP_KEY, k), text: CONFIG_MAP_KEY.text } };

export function readResources(r: ObjectReader, def: ResourceSpec): ResourceSpec {
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

export function readService(name: string, r: ObjectReader, env: Environment, secretNames: ReadonlySet<string>): ServiceSpec {
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
        rbac: r.objectList("rbac").map(readRbacRule),
        nodeSelector: r.stringMap("nodeSelector", {}, LABEL_RULES),
        tolerations: r.objectList("tolerations").map(readToleration),
        // Not an object: reported as such, not also as a migration without a command.
        migration: r.optional("migration", (m) => readMigration(m, isObject(r.raw.migration))),
    };
    probes.done();
    r.done();

    // The Job controller labels the Job's pods with its name, and a label value is at most 63 characters.
    const longestJobName = migrationName(name).length + 1 + MIGRATION_JOB_HASH_LENGTH;
    if (spec.migration?.mode === "job" && name.length <= 50 && longestJobName > DNS1123_LABEL.maxLength) {
        const max = DNS1123_LABEL.maxLength - (longestJobName - name.length);
        r.errors.add(r.path, name, `must be at most ${max} characters with a migration in mode job: its Job is named '${migrationName(name)}-<${MIGRATION_JOB_HASH_LENGTH} hex digits>', ` +
            `and a Job's name is at most ${DNS1123_LABEL.maxLength} characters; shorten the name or use mode initContainer`);
    }

    // ingress-nginx refuses paths that are not normalised ('//', '.' or '..' segments) at admission.
    if (spec.ingressPath !== undefined && (!/^\/[A-Za-z0-9/._~-]*$/.test(spec.ingressPath) || /\/\/|\/\.\.?(\/|$)/.test(spec.ingressPath))) {
        r.errors.add(r.key("ingressPath"), spec.ingressPath, "must be a normalised URL path prefix starting with '/' (letters, digits, '/', '.', '_', '~', '-'; no '//', '.' or '..' segments)");
    }
    // Each path becomes an emptyDir volume named after it (volumeNameForPath):
    // the API server refuses two volumes or mounts of the same name or path.
    const volumes = new Map<string, string>();
    for (const p of spec.writablePaths) {
        if (!p.startsWith("/")) {
            r.errors.add(r.key("writablePaths"), p, "must be absolute paths");
            continue;
        }
        const other = volumes.get(volumeNameForPath(p));
        if (other !== undefined) {
            r.errors.add(r.key("writablePaths"), p, other === p ? "must be listed once" : `must not name the same volume as ${JSON.stringify(other)} (${volumeNameForPath(p)}); list one of them`);
        }
        volumes.set(volumeNameForPath(p), p);
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

const MIGRATION_COMMAND = "a non-empty list of non-empty strings, such as [alembic, upgrade, head]";

function isObject(value: unknown): boolean {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `migration: {command, args, mode, activeDeadlineSeconds, backoffLimit}` (stacks/types.ts MigrationSpec). */
function readMigration(r: ObjectReader, isObjectValue: boolean): MigrationSpec {
    const problemsBefore = r.errors.problems.length;
    const command = r.stringList("command");
    if (!r.has("command")) {
        if (isObjectValue) {
            r.errors.missing(r.key("command"), MIGRATION_COMMAND);
        }
    } else if (r.errors.problems.length === problemsBefore && (command.length === 0 || command.includes(""))) {
        r.errors.add(r.key("command"), command, `must be ${MIGRATION_COMMAND}`);
    }
    const spec = {
        command,
        args: r.stringList("args"),
        mode: r.string("mode", { default: "job", oneOf: MIGRATION_MODES }) as MigrationSpec["mode"],
        activeDeadlineSeconds: r.int("activeDeadlineSeconds", { default: 600, min: 1, max: 86400 }),
        backoffLimit: r.int("backoffLimit", { default: 0, min: 0, max: 10 }),
    };
    r.done();
    // Settings that would do nothing are refused rather than ignored.
    if (spec.mode === "initContainer") {
        const jobOnly: [string, string][] = [
            ["activeDeadlineSeconds", "an init container has no deadline; the app container starts once it succeeds"],
            ["backoffLimit", "the kubelet restarts a failed init container, with back-off, until it succeeds"],
        ];
        for (const [key, why] of jobOnly.filter(([k]) => r.has(k))) {
            r.errors.add(r.key(key), r.raw[key], `applies to mode job only: ${why}`);
        }
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

function readAutoscaling(r: ObjectReader): AutoscalingSpec {
    const problemsBefore = r.errors.problems.length;
    // The shorthand of behavior.scaleDown.stabilizationWindowSeconds, kept for existing stacks.
    const scaleDownWindow = r.int("scaleDownStabilizationSeconds", { default: 300, min: 0, max: HPA_BEHAVIOR_LIMITS.stabilizationWindowSeconds });
    const shorthandSet = r.has("scaleDownStabilizationSeconds") && r.errors.problems.length === problemsBefore;
    const behavior = r.object("behavior");
    const scaleDown = behavior.object("scaleDown");
    const spec = {
        minReplicas: r.int("minReplicas", { default: 1, min: 1 }),
        maxReplicas: r.int("maxReplicas", { default: 3, min: 1 }),
        cpuUtilization: r.int("cpuUtilization", { default: 70, min: 1, max: 100 }),
        memoryUtilization: r.int("memoryUtilization", { default: 80, min: 0, max: 100 }),
        podsMetrics: readPodsMetrics(r),
        behavior: {
            scaleUp: readScalingRules(behavior.object("scaleUp"), { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 30 }] }),
            // Down slowly (one pod a minute after the window) so a brief lull does not drop capacity.
            scaleDown: readScalingRules(scaleDown, { stabilizationWindowSeconds: scaleDownWindow, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] }),
        },
    };
    behavior.done();
    r.done();
    if (spec.minReplicas > spec.maxReplicas) {
        r.errors.add(r.key("minReplicas"), spec.minReplicas, `must not exceed maxReplicas (${spec.maxReplicas})`);
    }
    // An invalid window reads as its default, the shorthand's value, so it is not reported twice.
    const window = spec.behavior.scaleDown.stabilizationWindowSeconds;
    if (shorthandSet && scaleDown.has("stabilizationWindowSeconds") && window !== scaleDownWindow) {
        r.errors.add(scaleDown.key("stabilizationWindowSeconds"), window,
            `must equal scaleDownStabilizationSeconds (${scaleDownWindow}), which sets the same field; set one of them`);
    }
    return spec;
}

function readScalingRules(r: ObjectReader, def: ScalingRulesSpec): ScalingRulesSpec {
    const rules = {
        stabilizationWindowSeconds: r.int("stabilizationWindowSeconds", { default: def.stabilizationWindowSeconds, min: 0, max: HPA_BEHAVIOR_LIMITS.stabilizationWindowSeconds }),
        selectPolicy: (r.string("selectPolicy", { oneOf: ["Max", "Min", "Disabled"] }) || undefined) as ScalingRulesSpec["selectPolicy"],
        policies: r.has("policies") ? r.objectList("policies").map(readScalingPolicy) : (r.skip("policies"), def.policies),
    };
    r.done();
    if (Array.isArray(r.raw.policies) && rules.policies.length === 0) {
        r.errors.add(r.key("policies"), [], "must list at least one policy {type, value, periodSeconds}: the API server refuses an empty list");
    }
    return rules;
}

function readScalingPolicy(r: ObjectReader): ScalingPolicySpec {
    const policy = {
        type: r.string("type", { required: "Pods or Percent", oneOf: ["Pods", "Percent"] }) as ScalingPolicySpec["type"],
        value: r.int("value", { default: 1, min: 1, required: "an integer above 0: the most pods, or percent of the current replicas, to change by per period" }),
        periodSeconds: r.int("periodSeconds", { default: 60, min: 1, max: HPA_BEHAVIOR_LIMITS.periodSeconds, required: `the period in seconds, 1 to ${HPA_BEHAVIOR_LIMITS.periodSeconds}` }),
    };
    r.done();
    return policy;
}

function readPodsMetrics(r: ObjectReader): PodsMetricSpec[] {
    const out: PodsMetricSpec[] = [];
    for (const m of r.objectList("podsMetrics")) {
        const metric = {
            name: m.string("name", { required: "a metric name such as http_requests_per_second", pattern: METRIC_NAME }),
            averageValue: m.quantity("averageValue", "1", { positive: true, example: "1000 or 500m", required: "the target average per pod, a quantity such as 1000 or 500m" }),
        };
        m.done();
        // The HPA would follow whichever target is lower, which is rarely what the second entry meant.
        if (out.some((o) => o.name === metric.name)) {
            m.errors.add(m.key("name"), metric.name, "must be unique in podsMetrics");
        }
        out.push(metric);
    }
    return out;
}

/** `rbac: [{apiGroups, resources, verbs, resourceNames}]`: one rule of the service's Role. */
function readRbacRule(r: ObjectReader): RbacRuleSpec {
    const rule = {
        apiGroups: r.stringList("apiGroups", [""]),
        resources: r.stringList("resources"),
        verbs: r.stringList("verbs"),
        resourceNames: r.stringList("resourceNames"),
    };
    r.done();
    // Absent or []: a list of the wrong type is reported by stringList already.
    const empty = (name: string) => !r.has(name) || (Array.isArray(r.raw[name]) && (r.raw[name] as unknown[]).length === 0);
    if (r.has("apiGroups") && empty("apiGroups")) {
        r.errors.add(r.key("apiGroups"), [], "must list at least one API group (\"\" is the core group), or be left out for [\"\"]");
    }
    if (empty("resources")) {
        r.errors.missing(r.key("resources"), "the resource types the service may use, such as [configmaps] or [pods, pods/log]");
    }
    if (empty("verbs")) {
        r.errors.missing(r.key("verbs"), `what the service may do with them: ${RBAC_VERBS.join(", ")}`);
    }
    for (const [name, list, ok, text] of [
        ["apiGroups", rule.apiGroups, (v: string) => follows(RBAC_API_GROUP, v), `must be ${RBAC_API_GROUP.text}`],
        ["resources", rule.resources, (v: string) => follows(RBAC_RESOURCE, v), `must be ${RBAC_RESOURCE.text}`],
        ["verbs", rule.verbs, (v: string) => RBAC_VERBS.includes(v), `must be one of ${RBAC_VERBS.join(", ")}`],
        ["resourceNames", rule.resourceNames, (v: string) => v !== "", "must be object names, not empty"],
    ] as const) {
        list.filter((v) => !ok(v)).forEach((v) => r.errors.add(r.key(name), v, text));
    }
    if (rule.resources.includes("*") && rule.verbs.includes("*")) {
        r.errors.add(r.key("resources"), rule.resources,
            "must not be \"*\" together with verbs \"*\": that is namespace admin over those API groups (in the core group: every Secret, exec into every pod); list the resources the service needs");
    }
    return rule;
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** `tolerations: [{key, operator, value, effect, tolerationSeconds}]`, by the API server's rules for tolerations. */
function readToleration(r: ObjectReader): TolerationSpec {
    const key = r.string("key", {
        required: "the taint key to tolerate, such as spot (an empty key with operator Exists would tolerate every taint, a failed node's included, so pods would never leave it)",
        pattern: LABEL_KEY,
    });
    const operator = r.string("operator", { default: "Equal", oneOf: ["Equal", "Exists"] }) as TolerationSpec["operator"];
    // A YAML `value: true` arrives as a boolean: read scalars as their text, as label maps do.
    const rawValue = r.raw.value;
    const value = typeof rawValue === "boolean" || typeof rawValue === "number" ? (r.skip("value"), String(rawValue)) : r.string("value") || undefined;
    const effect = r.string("effect", { oneOf: TAINT_EFFECTS }) as TolerationSpec["effect"] | "";
    const seconds = r.has("tolerationSeconds") ? r.int("tolerationSeconds", { default: 0, min: 0 }) : r.skip("tolerationSeconds");
    r.done();
    if (value !== undefined && operator === "Exists") {
        r.errors.add(r.key("value"), value, "must be left out with operator Exists, which matches every value of the key");
    } else if (value !== undefined && !follows(LABEL_VALUE, value)) {
        r.errors.add(r.key("value"), value, `must be ${LABEL_VALUE.text}`);
    }
    if (seconds !== undefined && effect !== "NoExecute") {
        r.errors.add(r.key("tolerationSeconds"), seconds, "must be set only with effect NoExecute: it is how long the pod stays on a node after a NoExecute taint appears");
    }
    return {
        key,
        operator,
        ...(value !== undefined ? { value } : {}),
        ...(effect ? { effect } : {}),
        ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
    };
}
