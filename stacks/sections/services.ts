// The app's web services: image, ports, replicas, autoscaling, resources, probes, routing, env, RBAC, scheduling,
// migrations.

import {
    CONFIG_MAP_KEY, DNS1035_LABEL, DNS1123_LABEL, HPA_BEHAVIOR_LIMITS, LABEL_KEY, LABEL_RULES, LABEL_VALUE, METRIC_NAME, RBAC_API_GROUP, RBAC_RESOURCE, RBAC_VERBS,
    Rule, follows, volumeNameForPath,
} from "../k8sRules";
import { ConfigErrors, Read, MapRules, bool, checkMap, int, listOf, object, oneOf, parseQuantity, quantity, text, textList, textMap } from "../reader";
import {
    AutoscalingSpec, Environment, MIGRATION_JOB_HASH_LENGTH, MIGRATION_MODES, MigrationSpec, PodsMetricSpec, ProbeSpec, RbacRuleSpec, ResourceSpec,
    ScalingRulesSpec, ServiceSpec, TolerationSpec, migrationName,
} from "../types";
import { PROFILES } from "../environments";
import { checkPinned, image } from "./images";

/** A service's plain env becomes ConfigMap keys; values are any text. */
export const ENV_MAP_RULES: MapRules = { keys: { ok: (k: string) => follows(CONFIG_MAP_KEY, k), text: CONFIG_MAP_KEY.text } };

export const cpuAndMemory = (what: string) => object({ cpu: quantity().describe(`${what}: CPU`), memory: quantity().describe(`${what}: memory`) }).describe(what);

export const RESOURCES = object({
    requests: cpuAndMemory("what the scheduler reserves per container"),
    limits: cpuAndMemory("the most a container may use"),
}).describe("requests and limits of the containers");

/** Applies `def` and refuses requests above limits (the API server does). */
export function readResources(errors: ConfigErrors, key: string, r: Read<typeof RESOURCES> = {}, def: ResourceSpec): ResourceSpec {
    const out = {
        requests: { cpu: r.requests?.cpu ?? def.requests.cpu, memory: r.requests?.memory ?? def.requests.memory },
        limits: { cpu: r.limits?.cpu ?? def.limits.cpu, memory: r.limits?.memory ?? def.limits.memory },
    };
    for (const kind of ["cpu", "memory"] as const) {
        const request = parseQuantity(out.requests[kind]) ?? 0;
        const limit = parseQuantity(out.limits[kind]) ?? 0;
        if (request > limit) {
            errors.add(`${key}.requests.${kind}`, out.requests[kind], `must not exceed limits.${kind} (${out.limits[kind]})`);
            // Cross-checks (the quota) go on with the limit, so the one mistake is not reported twice.
            out.requests[kind] = out.limits[kind];
        }
    }
    return out;
}

/** An HTTP path for probes and metrics: starts with '/', no spaces or control characters. */
const HTTP_PATH: Rule = { re: /^\/[^\s\u0000-\u001f\u007f]*$/, maxLength: 1024, text: "an HTTP path starting with '/'" };

/** ingress-nginx refuses paths that are not normalised ('//', '.' or '..' segments) at admission. */
const INGRESS_PATH: Rule = {
    re: { test: (v: string) => /^\/[A-Za-z0-9/._~-]*$/.test(v) && !/\/\/|\/\.\.?(\/|$)/.test(v) },
    maxLength: Infinity,
    text: "a normalised URL path prefix starting with '/' (letters, digits, '/', '.', '_', '~', '-'; no '//', '.' or '..' segments)",
};

const PROBE = object({
    path: text({ rule: HTTP_PATH }).describe("HTTP path probed; healthPath unless set"),
    initialDelaySeconds: int({ min: 0 }).describe("seconds before the first probe"),
    periodSeconds: int({ min: 1 }).describe("seconds between probes"),
    timeoutSeconds: int({ min: 1 }).describe("seconds a probe may take"),
    failureThreshold: int({ min: 1 }).describe("failures in a row that count"),
});

function readProbe(p: Read<typeof PROBE> = {}, def: ProbeSpec): ProbeSpec {
    return {
        path: p.path ?? def.path,
        initialDelaySeconds: p.initialDelaySeconds ?? def.initialDelaySeconds,
        periodSeconds: p.periodSeconds ?? def.periodSeconds,
        timeoutSeconds: p.timeoutSeconds ?? def.timeoutSeconds,
        failureThreshold: p.failureThreshold ?? def.failureThreshold,
    };
}

const windowSeconds = int({ min: 0, max: HPA_BEHAVIOR_LIMITS.stabilizationWindowSeconds });

const SCALING_RULES = object({
    stabilizationWindowSeconds: windowSeconds.describe("seconds of recommendations the HPA looks back over"),
    selectPolicy: oneOf(["Max", "Min", "Disabled"]).describe("which policy wins when several apply"),
    policies: listOf(object({
        type: oneOf(["Pods", "Percent"], { required: "Pods or Percent" }).describe("whether value counts pods or percent of the replicas"),
        value: int({ min: 1, required: "an integer above 0: the most pods, or percent of the current replicas, to change by per period" })
            .describe("the most pods, or percent, to change by per period"),
        periodSeconds: int({ min: 1, max: HPA_BEHAVIOR_LIMITS.periodSeconds, required: `the period in seconds, 1 to ${HPA_BEHAVIOR_LIMITS.periodSeconds}` })
            .describe("the period the value applies to"),
    })).describe("how fast to scale: {type, value, periodSeconds}"),
});

const AUTOSCALING = object({
    minReplicas: int({ min: 1 }).describe("fewest replicas"),
    maxReplicas: int({ min: 1 }).describe("most replicas"),
    cpuUtilization: int({ min: 1, max: 100 }).describe("target CPU utilization, percent of requests"),
    memoryUtilization: int({ min: 0, max: 100 }).describe("target memory utilization, percent of requests; 0: off"),
    scaleDownStabilizationSeconds: windowSeconds.describe("shorthand of behavior.scaleDown.stabilizationWindowSeconds"),
    podsMetrics: listOf(object({
        name: text({ required: "a metric name such as http_requests_per_second", rule: METRIC_NAME }).describe("custom metric name"),
        averageValue: quantity({ positive: true, example: "1000 or 500m", required: "the target average per pod, a quantity such as 1000 or 500m" })
            .describe("target average per pod"),
    })).describe("custom per-pod metrics to scale on"),
    behavior: object({
        scaleUp: SCALING_RULES.describe("scaling up"),
        scaleDown: SCALING_RULES.describe("scaling down"),
    }).describe("the HPA's scaling behavior"),
});

const RBAC_RULE = object({
    apiGroups: textList().describe("API groups; \"\" is the core group"),
    resources: textList().describe("resource types, such as configmaps or pods/log"),
    verbs: textList().describe("what the service may do with them"),
    resourceNames: textList().describe("the objects, by name; all when empty"),
});

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

const TOLERATION = object({
    key: text({
        required: "the taint key to tolerate, such as spot (an empty key with operator Exists would tolerate every taint, a failed node's included, so pods would never leave it)",
        rule: LABEL_KEY,
    }).describe("taint key"),
    operator: oneOf(["Equal", "Exists"]).describe("Equal: the value must match; Exists: any value"),
    value: text({ scalars: true }).describe("taint value, with operator Equal"),
    effect: oneOf(TAINT_EFFECTS).describe("taint effect tolerated; all when absent"),
    tolerationSeconds: int({ min: 0 }).describe("with effect NoExecute: how long the pod stays after the taint appears"),
});

const MIGRATION_COMMAND = "a non-empty list of non-empty strings, such as [alembic, upgrade, head]";

const MIGRATION = object({
    command: textList({ required: MIGRATION_COMMAND }).describe("migration command, from the service's image"),
    args: textList().describe("its arguments"),
    mode: oneOf(MIGRATION_MODES).describe("job: a Job before the rollout; initContainer: in every pod"),
    activeDeadlineSeconds: int({ min: 1, max: 86400 }).describe("mode job: seconds the Job may run"),
    backoffLimit: int({ min: 0, max: 10 }).describe("mode job: retries"),
});

const ENV_NAME: Rule = { re: /^[A-Za-z_][A-Za-z0-9_]*$/, maxLength: 128, text: "an environment variable name such as JWT_SECRET_KEY" };

const HTTP_PORT = int({ min: 1, max: 65535 });

export const SERVICE = object({
    image: image("container image", { required: true }),
    port: HTTP_PORT.describe("container port (named http)"),
    servicePort: HTTP_PORT.describe("ClusterIP Service port; port unless set"),
    replicas: int({ min: 0 }).describe("replicas without autoscaling"),
    autoscaling: AUTOSCALING.describe("an autoscaling/v2 HPA"),
    resources: RESOURCES,
    healthPath: text({ rule: HTTP_PATH }).describe("path of all three probes unless probes overrides"),
    probes: object({
        liveness: PROBE.describe("liveness probe"),
        readiness: PROBE.describe("readiness probe"),
        startup: PROBE.describe("startup probe"),
    }).describe("the probes, each {path, initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold}"),
    ingressPath: text({ rule: INGRESS_PATH }).describe("path prefix the Ingress routes here; absent keeps it internal"),
    uses: textList().describe("data services and other services it talks to"),
    egressHttps: bool().describe("allow TCP 443 outside the private ranges"),
    env: textMap().describe("plain environment (ConfigMap)"),
    secretEnv: listOf(object({
        name: text({ required: "an environment variable name", rule: ENV_NAME }).describe("environment variable"),
        from: text().describe("the stack secret it reads"),
    })).describe("environment from the stack's secrets: [{name, from}]"),
    writablePaths: textList().describe("emptyDir mounts under the read-only root filesystem"),
    runAsUser: int({ min: 1 }).describe("UID of the containers"),
    pdbMinAvailable: int({ min: 1 }).describe("a PodDisruptionBudget's minAvailable"),
    metricsPath: text({ rule: HTTP_PATH }).describe("Prometheus scrape path on port"),
    command: textList().describe("container command"),
    args: textList().describe("container arguments"),
    rbac: listOf(RBAC_RULE).describe("rules of the service's own Role"),
    nodeSelector: textMap().describe("node labels the pods must run on"),
    tolerations: listOf(TOLERATION).describe("taints the pods tolerate"),
    migration: MIGRATION.describe("a database migration before the new version serves"),
}).describe("one web service");

const SERVICE_DEFAULT_RESOURCES: ResourceSpec = {
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { cpu: "500m", memory: "512Mi" },
};

export function readService(errors: ConfigErrors, name: string, s: Read<typeof SERVICE> = {}, env: Environment, secretNames: ReadonlySet<string>): ServiceSpec {
    const key = `services.${name}`;
    // Services need DNS-1035 names; 50 leaves room for the suffixes of the objects named after them.
    if (!DNS1035_LABEL.re.test(name) || name.length > 50) {
        errors.add(key, name, "service names must be DNS-1035 labels (a lower-case letter, then lower-case letters, digits and '-') of at most 50 characters: they name Services, Deployments and ConfigMaps");
    }
    const port = s.port ?? 8080;
    const healthPath = s.healthPath ?? "/health";
    const probeDefault: ProbeSpec = { path: healthPath, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 };
    const spec: ServiceSpec = {
        name,
        image: checkPinned(errors, `${key}.image`, s.image ?? "", PROFILES[env].requirePinnedImages),
        port,
        servicePort: s.servicePort ?? port,
        replicas: s.replicas ?? 1,
        autoscaling: s.autoscaling && readAutoscaling(errors, `${key}.autoscaling`, s.autoscaling),
        resources: readResources(errors, `${key}.resources`, s.resources, SERVICE_DEFAULT_RESOURCES),
        probes: {
            liveness: readProbe(s.probes?.liveness, probeDefault),
            readiness: readProbe(s.probes?.readiness, { ...probeDefault, periodSeconds: 5 }),
            // Startup allows 5 minutes (30 x 10s) before liveness takes over, for slow migrations.
            startup: readProbe(s.probes?.startup, { ...probeDefault, failureThreshold: 30 }),
        },
        ingressPath: s.ingressPath,
        uses: s.uses ?? [],
        egressHttps: s.egressHttps ?? false,
        env: checkMap(errors, `${key}.env`, s.env ?? {}, ENV_MAP_RULES),
        secretEnv: readSecretEnv(errors, `${key}.secretEnv`, s.secretEnv ?? [], secretNames),
        writablePaths: s.writablePaths ?? ["/tmp"],
        runAsUser: s.runAsUser ?? 10001,
        pdbMinAvailable: s.pdbMinAvailable,
        metricsPath: s.metricsPath,
        command: s.command ?? [],
        args: s.args ?? [],
        rbac: (s.rbac ?? []).map((r, i) => readRbacRule(errors, `${key}.rbac[${i}]`, r)),
        nodeSelector: checkMap(errors, `${key}.nodeSelector`, s.nodeSelector ?? {}, LABEL_RULES),
        tolerations: (s.tolerations ?? []).map((t, i) => readToleration(errors, `${key}.tolerations[${i}]`, t)),
        migration: s.migration && readMigration(errors, `${key}.migration`, s.migration),
    };

    // The Job controller labels the Job's pods with its name, and a label value is at most 63 characters.
    const longestJobName = migrationName(name).length + 1 + MIGRATION_JOB_HASH_LENGTH;
    if (spec.migration?.mode === "job" && name.length <= 50 && longestJobName > DNS1123_LABEL.maxLength) {
        const max = DNS1123_LABEL.maxLength - (longestJobName - name.length);
        errors.add(key, name, `must be at most ${max} characters with a migration in mode job: its Job is named '${migrationName(name)}-<${MIGRATION_JOB_HASH_LENGTH} hex digits>', ` +
            `and a Job's name is at most ${DNS1123_LABEL.maxLength} characters; shorten the name or use mode initContainer`);
    }
    // Each path becomes an emptyDir volume named after it (volumeNameForPath):
    // the API server refuses two volumes or mounts of the same name or path.
    const volumes = new Map<string, string>();
    for (const p of spec.writablePaths) {
        if (!p.startsWith("/")) {
            errors.add(`${key}.writablePaths`, p, "must be absolute paths");
            continue;
        }
        const other = volumes.get(volumeNameForPath(p));
        if (other !== undefined) {
            errors.add(`${key}.writablePaths`, p, other === p ? "must be listed once" : `must not name the same volume as ${JSON.stringify(other)} (${volumeNameForPath(p)}); list one of them`);
        }
        volumes.set(volumeNameForPath(p), p);
    }
    // Cross-field checks only on the fields they read, when those were valid, so one mistake is reported once.
    const minReplicas = spec.autoscaling?.minReplicas ?? spec.replicas;
    const replicasValid = !["replicas", "autoscaling", "pdbMinAvailable"].some((k) => errors.has(`${key}.${k}`));
    if (replicasValid && spec.pdbMinAvailable !== undefined && spec.pdbMinAvailable >= minReplicas) {
        errors.add(`${key}.pdbMinAvailable`, spec.pdbMinAvailable,
            `must be less than the minimum replica count (${minReplicas}), or no pod could ever be evicted and node drains would hang`);
    }
    return spec;
}

function readMigration(errors: ConfigErrors, key: string, m: Read<typeof MIGRATION>): MigrationSpec {
    const command = m.command ?? [];
    if (m.command !== undefined && (command.length === 0 || command.includes(""))) {
        errors.add(`${key}.command`, command, `must be ${MIGRATION_COMMAND}`);
    }
    // Settings that would do nothing are refused rather than ignored.
    if (m.mode === "initContainer") {
        const jobOnly = [
            ["activeDeadlineSeconds", "an init container has no deadline; the app container starts once it succeeds"],
            ["backoffLimit", "the kubelet restarts a failed init container, with back-off, until it succeeds"],
        ] as const;
        for (const [name, why] of jobOnly.filter(([k]) => m[k] !== undefined)) {
            errors.add(`${key}.${name}`, m[name], `applies to mode job only: ${why}`);
        }
    }
    return {
        command,
        args: m.args ?? [],
        mode: m.mode ?? "job",
        activeDeadlineSeconds: m.activeDeadlineSeconds ?? 600,
        backoffLimit: m.backoffLimit ?? 0,
    };
}

/**
 * `secretEnv: [{name: VARIABLE, from: <secret key>}]`, as a map of variable -> secret key. A list of
 * name/from pairs rather than a map keeps lines such as `JWT_SECRET_KEY: jwtSecret` out of the stack
 * files, where they read like plain-text secrets to people and scanners.
 */
function readSecretEnv(errors: ConfigErrors, key: string, list: NonNullable<Read<typeof SERVICE>["secretEnv"]>, secretNames: ReadonlySet<string>): Record<string, string> {
    const out: Record<string, string> = {};
    list.forEach((e, i) => {
        const name = e.name ?? "";
        const from = e.from ?? "";
        // The secrets are the stack's own (secrets.custom), so `from` is checked here rather than by the shape.
        if (e.from === undefined) {
            errors.missing(`${key}[${i}].from`, `the app secret to read: ${[...secretNames].join(", ")}`);
        } else if (!secretNames.has(from)) {
            errors.add(`${key}[${i}].from`, from, `must be one of ${[...secretNames].join(", ")}`);
        }
        if (name in out) {
            errors.add(`${key}[${i}].name`, name, "must be unique in secretEnv");
        }
        out[name] = from;
    });
    return out;
}

function readAutoscaling(errors: ConfigErrors, key: string, a: Read<typeof AUTOSCALING>): AutoscalingSpec {
    // The shorthand of behavior.scaleDown.stabilizationWindowSeconds, kept for existing stacks.
    const scaleDownWindow = a.scaleDownStabilizationSeconds ?? 300;
    const spec = {
        minReplicas: a.minReplicas ?? 1,
        maxReplicas: a.maxReplicas ?? 3,
        cpuUtilization: a.cpuUtilization ?? 70,
        memoryUtilization: a.memoryUtilization ?? 80,
        podsMetrics: readPodsMetrics(errors, `${key}.podsMetrics`, a.podsMetrics ?? []),
        behavior: {
            scaleUp: readScalingRules(errors, `${key}.behavior.scaleUp`, a.behavior?.scaleUp, { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 30 }] }),
            // Down slowly (one pod a minute after the window) so a brief lull does not drop capacity.
            scaleDown: readScalingRules(errors, `${key}.behavior.scaleDown`, a.behavior?.scaleDown, { stabilizationWindowSeconds: scaleDownWindow, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] }),
        },
    };
    if (spec.minReplicas > spec.maxReplicas) {
        errors.add(`${key}.minReplicas`, spec.minReplicas, `must not exceed maxReplicas (${spec.maxReplicas})`);
    }
    const window = a.behavior?.scaleDown?.stabilizationWindowSeconds;
    if (a.scaleDownStabilizationSeconds !== undefined && window !== undefined && window !== scaleDownWindow) {
        errors.add(`${key}.behavior.scaleDown.stabilizationWindowSeconds`, window,
            `must equal scaleDownStabilizationSeconds (${scaleDownWindow}), which sets the same field; set one of them`);
    }
    return spec;
}

function readScalingRules(errors: ConfigErrors, key: string, r: Read<typeof SCALING_RULES> = {}, def: ScalingRulesSpec): ScalingRulesSpec {
    if (r.policies?.length === 0) {
        errors.add(`${key}.policies`, [], "must list at least one policy {type, value, periodSeconds}: the API server refuses an empty list");
    }
    return {
        stabilizationWindowSeconds: r.stabilizationWindowSeconds ?? def.stabilizationWindowSeconds,
        selectPolicy: r.selectPolicy,
        // A policy missing a required field is reported; it reads as the field's default.
        policies: r.policies?.map((p) => ({ type: p.type ?? "Pods", value: p.value ?? 1, periodSeconds: p.periodSeconds ?? 60 })) ?? def.policies,
    };
}

function readPodsMetrics(errors: ConfigErrors, key: string, list: NonNullable<Read<typeof AUTOSCALING>["podsMetrics"]>): PodsMetricSpec[] {
    const out: PodsMetricSpec[] = [];
    list.forEach((m, i) => {
        const metric = { name: m.name ?? "", averageValue: m.averageValue ?? "1" };
        // The HPA would follow whichever target is lower, which is rarely what the second entry meant.
        // A name reported as invalid (and so read as empty) is no second listing of another.
        if (!errors.has(`${key}[${i}].name`) && out.some((o) => o.name === metric.name)) {
            errors.add(`${key}[${i}].name`, metric.name, "must be unique in podsMetrics");
        }
        out.push(metric);
    });
    return out;
}

/** `rbac: [{apiGroups, resources, verbs, resourceNames}]`: one rule of the service's Role. */
function readRbacRule(errors: ConfigErrors, key: string, r: Read<typeof RBAC_RULE> = {}): RbacRuleSpec {
    const rule = {
        apiGroups: r.apiGroups ?? [""],
        resources: r.resources ?? [],
        verbs: r.verbs ?? [],
        resourceNames: r.resourceNames ?? [],
    };
    if (r.apiGroups?.length === 0) {
        errors.add(`${key}.apiGroups`, [], "must list at least one API group (\"\" is the core group), or be left out for [\"\"]");
    }
    if (rule.resources.length === 0) {
        errors.missing(`${key}.resources`, "the resource types the service may use, such as [configmaps] or [pods, pods/log]");
    }
    if (rule.verbs.length === 0) {
        errors.missing(`${key}.verbs`, `what the service may do with them: ${RBAC_VERBS.join(", ")}`);
    }
    for (const [name, list, ok, allowed] of [
        ["apiGroups", rule.apiGroups, (v: string) => follows(RBAC_API_GROUP, v), `must be ${RBAC_API_GROUP.text}`],
        ["resources", rule.resources, (v: string) => follows(RBAC_RESOURCE, v), `must be ${RBAC_RESOURCE.text}`],
        ["verbs", rule.verbs, (v: string) => RBAC_VERBS.includes(v), `must be one of ${RBAC_VERBS.join(", ")}`],
        ["resourceNames", rule.resourceNames, (v: string) => v !== "", "must be object names, not empty"],
    ] as const) {
        list.filter((v) => !ok(v)).forEach((v) => errors.add(`${key}.${name}`, v, allowed));
    }
    if (rule.resources.includes("*") && rule.verbs.includes("*")) {
        errors.add(`${key}.resources`, rule.resources,
            "must not be \"*\" together with verbs \"*\": that is namespace admin over those API groups (in the core group: every Secret, exec into every pod); list the resources the service needs");
    }
    return rule;
}

/** `tolerations: [{key, operator, value, effect, tolerationSeconds}]`, by the API server's rules for tolerations. */
function readToleration(errors: ConfigErrors, key: string, t: Read<typeof TOLERATION> = {}): TolerationSpec {
    const operator = t.operator ?? "Equal";
    const { value, effect, tolerationSeconds } = t;
    if (value !== undefined && operator === "Exists") {
        errors.add(`${key}.value`, value, "must be left out with operator Exists, which matches every value of the key");
    } else if (value !== undefined && !follows(LABEL_VALUE, value)) {
        errors.add(`${key}.value`, value, `must be ${LABEL_VALUE.text}`);
    }
    if (tolerationSeconds !== undefined && effect !== "NoExecute") {
        errors.add(`${key}.tolerationSeconds`, tolerationSeconds, "must be set only with effect NoExecute: it is how long the pod stays on a node after a NoExecute taint appears");
    }
    return {
        key: t.key ?? "",
        operator,
        ...(value !== undefined ? { value } : {}),
        ...(effect ? { effect } : {}),
        ...(tolerationSeconds !== undefined ? { tolerationSeconds } : {}),
    };
}
