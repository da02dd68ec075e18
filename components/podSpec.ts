// Pure builders shared by every workload: labels, the Pod Security `restricted` contexts, probes,
// writable emptyDirs, dependency-wait init containers and rollout checksums.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { volumeNameForPath } from "../stacks/k8sRules";
import { EXPORTER_RESOURCES, ProbeSpec, ResourceSpec, WAIT_CONTAINER_RESOURCES } from "../stacks/types";

type Labels = Record<string, string>;

/** Labels that select one workload's pods; stable for the life of the workload (selectors are immutable). */
export function selectorLabels(appName: string, component: string): Labels {
    return { "app.kubernetes.io/name": appName, "app.kubernetes.io/component": component };
}

/** Full labels of an object: selector labels plus ownership and environment. */
export function objectLabels(appName: string, component: string, environment: string): Labels {
    return {
        ...selectorLabels(appName, component),
        "app.kubernetes.io/part-of": appName,
        "app.kubernetes.io/managed-by": "pulumi",
        environment,
    };
}

/** Metadata of a namespaced object the program names itself. */
export function objectMeta(name: string, namespace: pulumi.Input<string>, labels: Readonly<Labels>): { name: string; namespace: pulumi.Input<string>; labels: Labels } {
    return { name, namespace, labels: { ...labels } };
}

/** The in-cluster DNS name of a Service: the one place such host names are written. */
export function clusterHost(service: string, namespace: string): string {
    return `${service}.${namespace}.svc.cluster.local`;
}

/** The in-cluster DNS name of a created Service, from its metadata. */
export function serviceClusterHost(svc: k8s.core.v1.Service): pulumi.Output<string> {
    return pulumi.all([svc.metadata.name, svc.metadata.namespace]).apply(([name, namespace]) => clusterHost(name, namespace));
}

/** Pod-level security context that satisfies Pod Security `restricted`. */
export function restrictedPodSecurityContext(uid: number): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        // Only chown volumes when their root does not already match, so large PVCs mount quickly.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level security context for `restricted`, with a read-only root filesystem. */
export function restrictedContainerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function httpProbe(spec: ProbeSpec, port: string): k8s.types.input.core.v1.Probe {
    return {
        httpGet: { path: spec.path, port },
        initialDelaySeconds: spec.initialDelaySeconds,
        periodSeconds: spec.periodSeconds,
        timeoutSeconds: spec.timeoutSeconds,
        failureThreshold: spec.failureThreshold,
    };
}

export function execProbe(command: string[], periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
    return { exec: { command }, periodSeconds, timeoutSeconds: 5, failureThreshold };
}

/** A probe that passes when the named container port accepts a TCP connection. */
export function tcpProbe(port: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
    return { tcpSocket: { port }, periodSeconds, timeoutSeconds: 5, failureThreshold };
}

/** A probe that passes when an HTTP GET of `path` on the named container port answers 2xx or 3xx. */
export function httpGetProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
    return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 5, failureThreshold };
}

/** Node disk a container reserves for its logs and writable layer (the root filesystem is read-only). */
export const EPHEMERAL_REQUEST_MI = 64;
/** Node disk a container may use for its logs and writable layer before the kubelet evicts the pod. */
export const EPHEMERAL_BASE_LIMIT_MI = 256;

/**
 * CPU and memory from the spec, plus ephemeral storage: without it a pod that fills node disk
 * (logs, scratch files) evicts its neighbours instead of itself. The kubelet sums the containers'
 * limits into the pod's budget, which also covers its emptyDirs, so the container that mounts
 * `writableDirCount` writable dirs carries their size limits on top of its own.
 */
export function resources(spec: ResourceSpec, writableDirCount = 0): k8s.types.input.core.v1.ResourceRequirements {
    const limitMi = EPHEMERAL_BASE_LIMIT_MI + writableDirCount * WRITABLE_DIR_SIZE_LIMIT_MI;
    return {
        requests: { cpu: spec.requests.cpu, memory: spec.requests.memory, "ephemeral-storage": `${EPHEMERAL_REQUEST_MI}Mi` },
        limits: { cpu: spec.limits.cpu, memory: spec.limits.memory, "ephemeral-storage": `${limitMi}Mi` },
    };
}

/**
 * Size limit of each writable emptyDir: node disk is shared, so a runaway writer is evicted rather
 * than filling it for every pod on the node.
 */
export const WRITABLE_DIR_SIZE_LIMIT_MI = 256;
export const WRITABLE_DIR_SIZE_LIMIT = `${WRITABLE_DIR_SIZE_LIMIT_MI}Mi`;

/** emptyDir volumes and their mounts for the paths an app writes under a read-only root filesystem. */
export function writableDirs(paths: readonly string[]): {
    volumes: k8s.types.input.core.v1.Volume[];
    mounts: k8s.types.input.core.v1.VolumeMount[];
} {
    return {
        volumes: paths.map((p) => ({ name: volumeNameForPath(p), emptyDir: { sizeLimit: WRITABLE_DIR_SIZE_LIMIT } })),
        mounts: paths.map((p) => ({ name: volumeNameForPath(p), mountPath: p })),
    };
}

export interface Dependency {
    /** Name used for the init container: `wait-for-<name>`. */
    readonly name: string;
    readonly host: string;
    readonly port: number;
}

/** An init container that blocks until `host:port` accepts TCP connections. */
export function waitForContainer(dep: Dependency, image: string): k8s.types.input.core.v1.Container {
    return {
        name: `wait-for-${dep.name}`,
        image,
        command: ["sh", "-c", `until nc -z -w 2 ${dep.host} ${dep.port}; do echo "waiting for ${dep.host}:${dep.port}"; sleep 2; done`],
        securityContext: restrictedContainerSecurityContext(),
        resources: resources(WAIT_CONTAINER_RESOURCES),
    };
}

/**
 * HMAC-SHA256 of secret values, keyed with the stack's `checksumKey` secret, for a `checksum/secret`
 * annotation. Anyone who may read pods sees the annotation: a plain hash would let them test
 * password guesses offline, a keyed one does not. Unsecreted, so diffs show that the pods will roll.
 */
export function secretChecksum(values: pulumi.Input<Readonly<Record<string, pulumi.Input<string>>>>, key: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.unsecret(pulumi.all([pulumi.output(values), key]).apply(([v, k]) => keyedChecksum(v as Record<string, string>, k)));
}

/** Stable HMAC-SHA256 of a string map (keys sorted). */
export function keyedChecksum(data: Readonly<Record<string, string>>, key: string): string {
    return crypto.createHmac("sha256", key).update(canonicalJson(data)).digest("hex");
}

function canonicalJson(data: Readonly<Record<string, string>>): string {
    return JSON.stringify(Object.keys(data).sort().map((k) => [k, data[k]]));
}

/** Stable sha256 of a string map (keys sorted), for pod-template annotations that roll pods on change. */
export function checksum(data: Readonly<Record<string, string>>): string {
    return crypto.createHash("sha256").update(canonicalJson(data)).digest("hex");
}

/** Stable sha256 of a JSON value (object keys sorted at every level), to name what must change with it. */
export function valueChecksum(value: unknown): string {
    const sorted = (v: unknown): unknown => Array.isArray(v) ? v.map(sorted)
        : v !== null && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
    return crypto.createHash("sha256").update(JSON.stringify(sorted(value))).digest("hex");
}

/** A Prometheus exporter sidecar listening on `port` (named "metrics"). */
export function exporterContainer(
    name: string,
    image: string,
    port: number,
    env: k8s.types.input.core.v1.EnvVar[],
    args: string[] = [],
): k8s.types.input.core.v1.Container {
    return {
        name,
        image,
        ...(args.length ? { args } : {}),
        env,
        ports: [{ name: "metrics", containerPort: port, protocol: "TCP" }],
        securityContext: restrictedContainerSecurityContext(),
        resources: resources(EXPORTER_RESOURCES),
        livenessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 30, timeoutSeconds: 5 },
        readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 15, timeoutSeconds: 5 },
    };
}

/** A ReadWriteOnce claim of `storage` from `storageClass` (empty: the cluster's default class). */
export function volumeClaimSpec(storage: string, storageClass: string): k8s.types.input.core.v1.PersistentVolumeClaimSpec {
    return {
        accessModes: ["ReadWriteOnce"],
        ...(storageClass ? { storageClassName: storageClass } : {}),
        resources: { requests: { storage } },
    };
}

/** An env var read from a key of a Secret. */
export function secretEnvVar(name: string, secretName: string, key: string): k8s.types.input.core.v1.EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
