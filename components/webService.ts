// One stateless HTTP service (frontend, backend, or any other): ServiceAccount, ConfigMap, Secret,
// Deployment, Service, and optionally HPA, PDB and a Role for its ServiceAccount, plus its NetworkPolicy;
// with a migration, a Job (and its NetworkPolicy) that the Deployment waits for, or an init container
// in every pod.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MIGRATION_JOB_HASH_LENGTH, MigrationSpec, ScalingRulesSpec, ServiceSpec, migrationName } from "../stacks/types";
import {
    Dependency, checksum, httpProbe, secretChecksum, resources, restrictedContainerSecurityContext, restrictedPodSecurityContext,
    objectMeta, selectorLabels, serviceClusterHost, valueChecksum, waitForContainer, writableDirs,
} from "./podSpec";

export interface WebServiceArgs {
    readonly namespace: pulumi.Input<string>;
    readonly appName: string;
    readonly service: ServiceSpec;
    /** Labels for every object (selector labels are added). */
    readonly labels: Readonly<Record<string, string>>;
    /** Plain environment for the ConfigMap (shared app settings, data-service addresses, service env). */
    readonly env: Readonly<Record<string, string>>;
    /** Secret environment: variable name -> value. Stored in the service's Secret. */
    readonly secretEnv: Readonly<Record<string, pulumi.Input<string>>>;
    /** Key of the `checksum/secret` HMAC (the stack's checksumKey secret). */
    readonly checksumKey: pulumi.Input<string>;
    /** Services to wait for in init containers before the app starts. */
    readonly dependencies: readonly Dependency[];
    /** Image for the wait-for init containers. */
    readonly initImage: string;
    readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
    /** What the migration Job needs from the rest of the app: required with `migration.mode: job`, unused otherwise. */
    readonly migrationJob?: {
        /** Waits of its pod: the data services the service uses (not other services, which may wait for this one). */
        readonly dependencies: readonly Dependency[];
        /** Its pods' NetworkPolicy: the service's egress, and no ingress. */
        readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
    };
}

/** Checksums of a service's env, as pod annotations: a changed setting or a rotated secret rolls its pods. */
export interface EnvChecksums {
    readonly config: string;
    /** HMAC keyed with the stack's checksumKey (secretChecksum), never a plain hash of a secret. */
    readonly secret: pulumi.Input<string>;
}

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;

const HTTP = "http";

/** One entry of the `healthChecks` stack output: what `npm run verify` checks for a service. */
export interface HealthCheck {
    /** The Service's name. */
    readonly service: string;
    readonly namespace: string;
    /** The Service's port. */
    readonly port: number;
    /** The path the pods' readiness probe calls. */
    readonly healthPath: string;
    /** Origin of the Ingress (`https://<host>`), present when the Ingress sends `healthPath` to this service. */
    readonly publicUrl?: string;
}

/** A service with no secret environment gets no Secret (and no secretRef). */
export function hasSecretEnv(args: Pick<WebServiceArgs, "secretEnv">): boolean {
    return Object.keys(args.secretEnv).length > 0;
}

function envAnnotations(checksums: EnvChecksums): Record<string, pulumi.Input<string>> {
    return { "checksum/config": checksums.config, "checksum/secret": checksums.secret };
}

/**
 * A container of the service's image as every pod of the service runs it: the service's env (its
 * ConfigMap and Secret), resources, the restricted security context and its writable dirs. Empty
 * `command`/`commandArgs` keep the image's own; `serving` adds the app container's port and probes.
 */
function serviceContainer(args: WebServiceArgs, name: string, command: readonly string[], commandArgs: readonly string[],
    serving: Pick<Container, "ports" | "startupProbe" | "livenessProbe" | "readinessProbe"> = {}): Container {
    const s = args.service;
    const dirs = writableDirs(s.writablePaths);
    const { ports, ...probes } = serving;
    return {
        name,
        image: s.image,
        ...(command.length ? { command: [...command] } : {}),
        ...(commandArgs.length ? { args: [...commandArgs] } : {}),
        ...(ports ? { ports } : {}),
        envFrom: [
            { configMapRef: { name: `${s.name}-config` } },
            ...(hasSecretEnv(args) ? [{ secretRef: { name: `${s.name}-secrets` } }] : []),
        ],
        resources: resources(s.resources, dirs.volumes.length),
        securityContext: restrictedContainerSecurityContext(),
        ...probes,
        volumeMounts: dirs.mounts,
    };
}

/**
 * What every pod of the service has, the Deployment's and the migration Job's alike: the service's
 * ServiceAccount (its token only where `token`), the restricted pod security context, the service's
 * nodes (nodeSelector, tolerations), the writable dirs.
 */
function servicePodSpec(args: WebServiceArgs, serviceAccountName: pulumi.Input<string>, token: boolean,
    spec: Pick<PodSpec, "affinity" | "topologySpreadConstraints" | "restartPolicy"> & { initContainers: Container[]; containers: Container[] }): PodSpec {
    const s = args.service;
    const { initContainers, containers, ...placement } = spec;
    return {
        serviceAccountName,
        automountServiceAccountToken: token,
        securityContext: restrictedPodSecurityContext(s.runAsUser),
        ...placement,
        ...(Object.keys(s.nodeSelector).length ? { nodeSelector: { ...s.nodeSelector } } : {}),
        ...(s.tolerations.length ? { tolerations: s.tolerations.map((t) => ({ ...t })) } : {}),
        initContainers,
        containers,
        volumes: writableDirs(s.writablePaths).volumes,
    };
}

/** The container that runs the service's migration (in the Job's pod, or as the app pods' last init container). */
function migrationContainer(args: WebServiceArgs, m: MigrationSpec): Container {
    return serviceContainer(args, migrationName(args.service.name), m.command, m.args);
}

/** The Deployment spec. `replicas` is left off when an HPA owns the scale subresource. */
export function deploymentSpec(args: WebServiceArgs, serviceAccountName: pulumi.Input<string>, checksums: EnvChecksums): k8s.types.input.apps.v1.DeploymentSpec {
    const s = args.service;
    const selector = selectorLabels(args.appName, s.name);
    const m = s.migration;
    return {
        ...(s.autoscaling ? {} : { replicas: s.replicas }),
        revisionHistoryLimit: 10,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
            metadata: {
                labels: { ...args.labels, ...selector },
                annotations: envAnnotations(checksums),
            },
            // Only a service with a Role gets its token: without permissions it is a credential to steal and nothing else.
            spec: servicePodSpec(args, serviceAccountName, s.rbac.length > 0, {
                affinity: {
                    podAntiAffinity: {
                        preferredDuringSchedulingIgnoredDuringExecution: [{
                            weight: 100,
                            podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } },
                        }],
                    },
                },
                topologySpreadConstraints: [
                    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                ],
                initContainers: [
                    ...args.dependencies.map((d) => waitForContainer(d, args.initImage)),
                    // After the waits: the migration needs what the service uses.
                    ...(m?.mode === "initContainer" ? [migrationContainer(args, m)] : []),
                ],
                containers: [serviceContainer(args, s.name, s.command, s.args, {
                    ports: [{ name: HTTP, containerPort: s.port, protocol: "TCP" }],
                    startupProbe: httpProbe(s.probes.startup, HTTP),
                    livenessProbe: httpProbe(s.probes.liveness, HTTP),
                    readinessProbe: httpProbe(s.probes.readiness, HTTP),
                })],
            }),
        },
    };
}

/** Labels of the migration Job and its pods: the service's, with the migration's component. */
export function migrationLabels(args: Pick<WebServiceArgs, "appName" | "labels" | "service">): Record<string, string> {
    return { ...args.labels, ...selectorLabels(args.appName, migrationName(args.service.name)) };
}

/**
 * The migration Job's spec (`migration.mode: job`), or undefined without one: one pod like the
 * service's (image, env, ServiceAccount, security contexts, resources, nodes, writable dirs) that waits for
 * the data services the service uses, then runs the migration once (`backoffLimit` retries), and
 * fails after `activeDeadlineSeconds`. Its pods carry the migration's component label, not the
 * service's: the service's Service, PodDisruptionBudget and NetworkPolicy select that label and must
 * not count them.
 */
export function migrationJobSpec(args: WebServiceArgs, serviceAccountName: pulumi.Input<string>, checksums: EnvChecksums): k8s.types.input.batch.v1.JobSpec | undefined {
    const m = args.service.migration;
    if (m?.mode !== "job") {
        return undefined;
    }
    if (!args.migrationJob) {
        throw new Error(`services.${args.service.name}.migration: a migration Job needs migrationJob (its waits and NetworkPolicy)`);
    }
    return {
        backoffLimit: m.backoffLimit,
        activeDeadlineSeconds: m.activeDeadlineSeconds,
        // No ttlSecondsAfterFinished: a Job the cluster deletes is drift to Pulumi. A refresh would drop
        // it from the state and the next `up` create it again (rerunning the migration), so every
        // preview after a refresh would show a change. Jobs do not pile up without it: a changed
        // migration is a new Job, and Pulumi deletes the old one once the update succeeds. The one kept
        // per service keeps its pod, and the logs of a failed run, readable.
        template: {
            metadata: { labels: migrationLabels(args), annotations: envAnnotations(checksums) },
            // No token even where the service has a Role: a migration talks to its database, not to Kubernetes.
            spec: servicePodSpec(args, serviceAccountName, false, {
                restartPolicy: "Never",
                initContainers: args.migrationJob.dependencies.map((d) => waitForContainer(d, args.initImage)),
                containers: [migrationContainer(args, m)],
            }),
        },
    };
}

/**
 * The migration Job's name, `<service>-migration-<hash>`: the hash of the Job's whole spec (image,
 * command, args, resources, ..., and the env checksums in its pod annotations, the secret one an
 * HMAC). A Job's pod template cannot change, so a changed migration must be a new Job: its new name
 * makes Pulumi create it and wait for it before the Deployment changes, and delete the old one after.
 * An unchanged migration keeps its name and is not run again.
 */
export function migrationJobName(service: string, spec: unknown): string {
    return `${migrationName(service)}-${valueChecksum(spec).slice(0, MIGRATION_JOB_HASH_LENGTH)}`;
}

/**
 * The provider waits for a Job to complete, and fails the update when it fails. Its default wait (10
 * minutes) could end before the Job's deadline, leaving the Job running after `up` gave up: it waits
 * until a minute after, when the Job has failed on its own. `replaceUnready`: the next `up` after a
 * failed run replaces the Job (runs it again, under the same name: the provider deletes the old one
 * first) instead of waiting on the failed one again.
 */
export function migrationJobAnnotations(m: MigrationSpec): Record<string, string> {
    return { "pulumi.com/timeoutSeconds": String(m.activeDeadlineSeconds + 60), "pulumi.com/replaceUnready": "true" };
}

export function hpaSpec(s: ServiceSpec, deploymentName: pulumi.Input<string>): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec | undefined {
    const a = s.autoscaling;
    if (!a) {
        return undefined;
    }
    const utilization = (name: string, averageUtilization: number) =>
        ({ type: "Resource", resource: { name, target: { type: "Utilization", averageUtilization } } });
    const rules = (r: ScalingRulesSpec) => ({
        stabilizationWindowSeconds: r.stabilizationWindowSeconds,
        ...(r.selectPolicy ? { selectPolicy: r.selectPolicy } : {}),
        policies: r.policies.map((p) => ({ type: p.type, value: p.value, periodSeconds: p.periodSeconds })),
    });
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [
            utilization("cpu", a.cpuUtilization),
            ...(a.memoryUtilization > 0 ? [utilization("memory", a.memoryUtilization)] : []),
            ...a.podsMetrics.map((m) => ({ type: "Pods", pods: { metric: { name: m.name }, target: { type: "AverageValue", averageValue: m.averageValue } } })),
        ],
        behavior: { scaleDown: rules(a.behavior.scaleDown), scaleUp: rules(a.behavior.scaleUp) },
    };
}

/** The rules of the service's Role (none: the service gets no Role). */
export function roleRules(s: ServiceSpec): k8s.types.input.rbac.v1.PolicyRule[] {
    return s.rbac.map((r) => ({
        apiGroups: [...r.apiGroups],
        resources: [...r.resources],
        verbs: [...r.verbs],
        ...(r.resourceNames.length ? { resourceNames: [...r.resourceNames] } : {}),
    }));
}

export class WebService extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    /** In-cluster address, `http://<service>.<namespace>.svc.cluster.local:<port>`. */
    readonly url: pulumi.Output<string>;
    /** What `npm run verify` checks, without the public URL (the Ingress adds it). */
    readonly healthCheck: pulumi.Output<HealthCheck>;

    constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:WebService", name, {}, opts);
        const parent = { parent: this };
        const s = args.service;
        const labels = { ...args.labels, ...selectorLabels(args.appName, s.name) };
        const meta = (objectName: string) => objectMeta(objectName, args.namespace, labels);

        const sa = new k8s.core.v1.ServiceAccount(name, { metadata: meta(s.name), automountServiceAccountToken: false }, parent);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta(`${s.name}-config`), data: { ...args.env } }, parent);
        // The pods' NetworkPolicy first: under the namespace's default-deny, pods started before it
        // could not reach what their init containers wait for.
        const networkPolicy = new k8s.networking.v1.NetworkPolicy(name, { metadata: meta(s.name), spec: args.networkPolicy }, parent);
        const secret = hasSecretEnv(args) ? new k8s.core.v1.Secret(`${name}-secrets`, {
            metadata: meta(`${s.name}-secrets`),
            type: "Opaque",
            stringData: pulumi.secret(pulumi.output(args.secretEnv)) as pulumi.Output<Record<string, string>>,
        }, parent) : undefined;
        // envFrom refers to the ConfigMap and Secret by name.
        const envSources: pulumi.Resource[] = secret ? [configMap, secret] : [configMap];
        const before: pulumi.Resource[] = [configMap, networkPolicy, ...(secret ? [secret] : [])];
        const checksums = { config: checksum(args.env), secret: secretChecksum(args.secretEnv, args.checksumKey) };

        if (s.rbac.length > 0) {
            const role = new k8s.rbac.v1.Role(name, { metadata: meta(s.name), rules: roleRules(s) }, parent);
            // Before the pods, so an app that calls the API at start-up is not refused.
            before.push(new k8s.rbac.v1.RoleBinding(name, {
                metadata: meta(s.name),
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: args.namespace }],
            }, parent));
        }

        // The Deployment waits for the migration Job: a new version rolls out only after its migration
        // completed, and a failed one fails the update before the Deployment changes.
        const jobSpec = migrationJobSpec(args, sa.metadata.name, checksums);
        if (jobSpec && s.migration && args.migrationJob) {
            const migration = migrationName(s.name);
            const jobLabels = migrationLabels(args);
            const policy = new k8s.networking.v1.NetworkPolicy(`${name}-migration`, {
                metadata: objectMeta(migration, args.namespace, jobLabels),
                spec: args.migrationJob.networkPolicy,
            }, parent);
            before.push(new k8s.batch.v1.Job(`${name}-migration`, {
                metadata: {
                    name: pulumi.output(jobSpec).apply((spec) => migrationJobName(s.name, spec)),
                    namespace: args.namespace,
                    labels: jobLabels,
                    annotations: migrationJobAnnotations(s.migration),
                },
                spec: jobSpec,
            }, { parent: this, dependsOn: [...envSources, policy] }));
        }

        const deployment = new k8s.apps.v1.Deployment(name, {
            metadata: meta(s.name),
            spec: deploymentSpec(args, sa.metadata.name, checksums),
        }, { parent: this, dependsOn: before });

        const svc = new k8s.core.v1.Service(name, {
            metadata: meta(s.name),
            spec: {
                type: "ClusterIP",
                selector: selectorLabels(args.appName, s.name),
                ports: [{ name: HTTP, port: s.servicePort, targetPort: HTTP, protocol: "TCP" }],
            },
        }, parent);

        const hpa = hpaSpec(s, deployment.metadata.name);
        if (hpa) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(name, { metadata: meta(s.name), spec: hpa }, parent);
        }
        if (s.pdbMinAvailable !== undefined) {
            new k8s.policy.v1.PodDisruptionBudget(name, {
                metadata: meta(s.name),
                // AlwaysAllow: a pod that is not ready protects nothing, and must not block node drains.
                spec: { minAvailable: s.pdbMinAvailable, selector: { matchLabels: selectorLabels(args.appName, s.name) }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
            }, parent);
        }
        this.serviceName = svc.metadata.name;
        this.url = pulumi.interpolate`http://${serviceClusterHost(svc)}:${s.servicePort}`;
        // From the created objects: the port the Service exposes and the path the cluster probes.
        this.healthCheck = pulumi.all([svc.metadata, svc.spec, deployment.spec]).apply(([m, spec, d]) => ({
            service: m.name, namespace: m.namespace, port: spec.ports[0].port,
            healthPath: d.template.spec.containers.find((c) => c.name === s.name)?.readinessProbe?.httpGet?.path as string,
        }));
        this.registerOutputs({ serviceName: this.serviceName, url: this.url, healthCheck: this.healthCheck });
    }
}
