// The security and availability checklist of the reference system as pure rules over Kubernetes
// objects (the inputs the program sends to the provider). policy/index.ts runs them as a CrossGuard
// policy pack; the unit tests run them over every committed stack and over bad fixtures. Each
// message says what to change.

/* eslint-disable @typescript-eslint/no-explicit-any */
export type K8sObject = Record<string, any>;

export interface ObjectRule {
    readonly name: string;
    readonly description: string;
    /** Violation messages for one object (empty when it complies or the rule does not apply). */
    readonly check: (obj: K8sObject) => string[];
}

export interface StackRule {
    readonly name: string;
    readonly description: string;
    readonly check: (objs: readonly K8sObject[]) => string[];
}

const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"];
/** Kinds whose pods run to completion: no probes to ask for. */
const RUN_TO_COMPLETION_KINDS = ["Job", "CronJob"];

/** The pod template (metadata and spec) of a workload, or a Pod itself. */
function podTemplateOf(obj: K8sObject): K8sObject | undefined {
    if (obj.kind === "Pod") {
        return obj;
    }
    if (obj.kind === "CronJob") {
        return obj.spec?.jobTemplate?.spec?.template;
    }
    return WORKLOAD_KINDS.includes(obj.kind) ? obj.spec?.template : undefined;
}

function podSpecOf(obj: K8sObject): K8sObject | undefined {
    return podTemplateOf(obj)?.spec;
}

function id(obj: K8sObject): string {
    return `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ""}${obj.metadata?.name}`;
}

interface ContainerRef {
    readonly c: K8sObject;
    readonly init: boolean;
}

function containers(spec: K8sObject): ContainerRef[] {
    return [
        ...(spec.initContainers ?? []).map((c: K8sObject) => ({ c, init: true })),
        ...(spec.containers ?? []).map((c: K8sObject) => ({ c, init: false })),
    ];
}

/** A rule over every container of every pod template; `runsToCompletion`: the container is an init container or a Job's. */
function containerRule(name: string, description: string, bad: (c: K8sObject, pod: K8sObject, runsToCompletion: boolean) => string | undefined): ObjectRule {
    return {
        name,
        description,
        check(obj) {
            const spec = podSpecOf(obj);
            if (!spec) {
                return [];
            }
            return containers(spec).flatMap(({ c, init }) => {
                const fix = bad(c, spec, init || RUN_TO_COMPLETION_KINDS.includes(obj.kind));
                return fix ? [`${id(obj)} container '${c.name}': ${fix}`] : [];
            });
        },
    };
}

export const OBJECT_RULES: readonly ObjectRule[] = [
    containerRule("run-as-non-root", "Containers run as a non-root user.", (c, pod) =>
        (c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) === true ? undefined
            : "set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser"),
    containerRule("no-privilege-escalation", "Containers cannot gain privileges.", (c) =>
        c.securityContext?.allowPrivilegeEscalation === false && c.securityContext?.privileged !== true ? undefined
            : "set securityContext.allowPrivilegeEscalation: false (and never privileged: true)"),
    containerRule("drop-all-capabilities", "Containers drop every Linux capability.", (c) =>
        (c.securityContext?.capabilities?.drop ?? []).includes("ALL") && (c.securityContext?.capabilities?.add ?? []).length === 0 ? undefined
            : "set securityContext.capabilities.drop: [ALL] and add none"),
    containerRule("read-only-root-filesystem", "Containers have a read-only root filesystem.", (c) =>
        c.securityContext?.readOnlyRootFilesystem === true ? undefined
            : "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes"),
    containerRule("seccomp-runtime-default", "Containers use the RuntimeDefault seccomp profile.", (c, pod) =>
        (c.securityContext?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type) === "RuntimeDefault" ? undefined
            : "set securityContext.seccompProfile.type: RuntimeDefault (pod or container)"),
    containerRule("resource-limits", "Containers request and limit CPU and memory.", (c) => {
        const r = c.resources ?? {};
        const missing = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]
            .filter((k) => { const [a, b] = k.split("."); return r[a]?.[b] === undefined; });
        return missing.length ? `set resources ${missing.join(", ")}` : undefined;
    }),
    containerRule("health-probes", "Long-running containers have liveness and readiness probes.", (c, _pod, runsToCompletion) =>
        runsToCompletion || (c.livenessProbe && c.readinessProbe) ? undefined : "add a livenessProbe and a readinessProbe"),
    containerRule("pinned-images", "Images are pinned to a version tag or a digest.", (c) => {
        const image = String(c.image ?? "");
        const last = image.split("@")[0].split("/").pop() ?? "";
        if (image.includes("@sha256:")) {
            return undefined;
        }
        return last.includes(":") && !last.endsWith(":latest") ? undefined
            : `pin image '${image}' to a version tag or digest (not 'latest', not untagged)`;
    }),
    {
        name: "ingress-tls",
        description: "Every Ingress host is served over TLS.",
        check(obj) {
            if (obj.kind !== "Ingress") {
                return [];
            }
            const tlsHosts = new Set((obj.spec?.tls ?? []).flatMap((t: K8sObject) => t.hosts ?? []));
            const hosts: string[] = (obj.spec?.rules ?? []).map((r: K8sObject) => r.host).filter(Boolean);
            const uncovered = hosts.filter((h) => !tlsHosts.has(h));
            const noHost = (obj.spec?.rules ?? []).some((r: K8sObject) => !r.host);
            return uncovered.length || noHost || hosts.length === 0
                ? [`${id(obj)}: add spec.tls entries (with a secretName) covering every rule host${uncovered.length ? `: ${uncovered.join(", ")}` : ""}`] : [];
        },
    },
];

function replicasOf(objs: readonly K8sObject[], w: K8sObject): number {
    const hpa = objs.find((o) => o.kind === "HorizontalPodAutoscaler" && o.metadata?.namespace === w.metadata?.namespace
        && o.spec?.scaleTargetRef?.kind === w.kind && o.spec?.scaleTargetRef?.name === w.metadata?.name);
    return hpa ? hpa.spec.minReplicas ?? 1 : w.spec?.replicas ?? 1;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
    return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/**
 * Whether a Role of the stack, with rules, is bound to the pod template's ServiceAccount in its
 * namespace: the only case in which its token grants something the program decided on. ClusterRoles
 * and objects from outside the stack do not count.
 */
function boundToRole(objs: readonly K8sObject[], w: K8sObject, spec: K8sObject): boolean {
    const ns = w.metadata?.namespace;
    const account = spec.serviceAccountName ?? "default";
    return objs.some((b) => b.kind === "RoleBinding" && b.metadata?.namespace === ns
        && b.roleRef?.apiGroup === "rbac.authorization.k8s.io" && b.roleRef?.kind === "Role"
        && (b.subjects ?? []).some((s: K8sObject) => s.kind === "ServiceAccount" && s.name === account && (s.namespace ?? ns) === ns)
        && objs.some((r) => r.kind === "Role" && r.metadata?.namespace === ns && r.metadata?.name === b.roleRef.name && (r.rules ?? []).length > 0));
}

export const STACK_RULES: readonly StackRule[] = [
    {
        name: "no-service-account-token",
        description: "Pods mount a service account token only when a Role of the stack is bound to their ServiceAccount.",
        check(objs) {
            return objs.filter((w) => { const spec = podSpecOf(w); return spec && spec.automountServiceAccountToken !== false && !boundToRole(objs, w, spec); })
                .map((w) => `${id(w)}: set automountServiceAccountToken: false on the pod template (a pod mounts its token only when a Role of the stack is bound to its ServiceAccount: services.<name>.rbac)`);
        },
    },
    {
        name: "pdb-for-replicated-workloads",
        description: "Workloads that run more than one replica have a PodDisruptionBudget.",
        check(objs) {
            return objs.filter((o) => (o.kind === "Deployment" || o.kind === "StatefulSet") && replicasOf(objs, o) > 1)
                .filter((w) => !objs.some((p) => p.kind === "PodDisruptionBudget" && p.metadata?.namespace === w.metadata?.namespace
                    && selects(p.spec?.selector?.matchLabels, w.spec?.template?.metadata?.labels)))
                .map((w) => `${id(w)} runs ${replicasOf(objs, w)} replicas: add a PodDisruptionBudget selecting its pods (e.g. services.<name>.pdbMinAvailable)`);
        },
    },
    {
        name: "default-deny-network-policy",
        description: "Every namespace with workloads denies ingress and egress by default.",
        check(objs) {
            const namespaces = new Set(objs.filter((o) => podSpecOf(o)).map((o) => o.metadata?.namespace));
            return [...namespaces].filter((ns) => !objs.some((p) => p.kind === "NetworkPolicy" && p.metadata?.namespace === ns
                && Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0
                && ["Ingress", "Egress"].every((t) => (p.spec?.policyTypes ?? []).includes(t))
                && (p.spec?.ingress ?? []).length === 0 && (p.spec?.egress ?? []).length === 0))
                .map((ns) => `namespace ${ns}: add a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress], no rules)`);
        },
    },
    {
        name: "workload-network-policy",
        description: "Every workload is selected by a NetworkPolicy of its own, for both directions, that lists who may reach it and what it may reach.",
        check(objs) {
            // Both directions: an ingress-only policy (such as the edge's controller admission) says nothing about egress.
            return objs.filter((o) => podSpecOf(o))
                .filter((w) => !objs.some((p) => p.kind === "NetworkPolicy" && p.metadata?.namespace === w.metadata?.namespace
                    && Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length > 0
                    && ["Ingress", "Egress"].every((t) => (p.spec?.policyTypes ?? []).includes(t))
                    && selects(p.spec?.podSelector?.matchLabels, podTemplateOf(w)?.metadata?.labels)))
                .map((w) => `${id(w)}: add a NetworkPolicy selecting its pods that allows only its clients`);
        },
    },
];

/** Every violation of every rule over a set of objects, as `<rule>: <message>`. */
export function violations(objs: readonly K8sObject[]): string[] {
    return [
        ...objs.flatMap((o) => OBJECT_RULES.flatMap((r) => r.check(o).map((m) => `${r.name}: ${m}`))),
        ...STACK_RULES.flatMap((r) => r.check(objs).map((m) => `${r.name}: ${m}`)),
    ];
}
