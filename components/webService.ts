// One stateless HTTP service (frontend, backend, or any other): ServiceAccount, ConfigMap, Secret,
// Deployment, Service, and optionally HPA, PDB and a Role for its ServiceAccount, plus its NetworkPolicy.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ScalingRulesSpec, ServiceSpec } from "../stacks/types";
import {
    Dependency, checksum, httpProbe, secretChecksum, resources, restrictedContainerSecurityContext, restrictedPodSecurityContext,
    objectMeta, selectorLabels, serviceClusterHost, waitForContainer, writableDirs,
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
}

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

/** The Deployment spec. `replicas` is left off when an HPA owns the scale subresource. */
export function deploymentSpec(args: WebServiceArgs, serviceAccountName: pulumi.Input<string>, checksums: {
    config: string;
    secret: pulumi.Input<string>;
}): k8s.types.input.apps.v1.DeploymentSpec {
    const s = args.service;
    const selector = selectorLabels(args.appName, s.name);
    const dirs = writableDirs(s.writablePaths);
    return {
        ...(s.autoscaling ? {} : { replicas: s.replicas }),
        revisionHistoryLimit: 10,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
            metadata: {
                labels: { ...args.labels, ...selector },
                annotations: { "checksum/config": checksums.config, "checksum/secret": checksums.secret },
            },
            spec: {
                serviceAccountName,
                // Only a service with a Role gets its token: without permissions it is a credential to steal and nothing else.
                automountServiceAccountToken: s.rbac.length > 0,
                securityContext: restrictedPodSecurityContext(s.runAsUser),
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
                ...(Object.keys(s.nodeSelector).length ? { nodeSelector: { ...s.nodeSelector } } : {}),
                ...(s.tolerations.length ? { tolerations: s.tolerations.map((t) => ({ ...t })) } : {}),
                initContainers: args.dependencies.map((d) => waitForContainer(d, args.initImage)),
                containers: [{
                    name: s.name,
                    image: s.image,
                    ...(s.command.length ? { command: [...s.command] } : {}),
                    ...(s.args.length ? { args: [...s.args] } : {}),
                    ports: [{ name: HTTP, containerPort: s.port, protocol: "TCP" }],
                    envFrom: [
                        { configMapRef: { name: `${s.name}-config` } },
                        ...(hasSecretEnv(args) ? [{ secretRef: { name: `${s.name}-secrets` } }] : []),
                    ],
                    resources: resources(s.resources, dirs.volumes.length),
                    securityContext: restrictedContainerSecurityContext(),
                    startupProbe: httpProbe(s.probes.startup, HTTP),
                    livenessProbe: httpProbe(s.probes.liveness, HTTP),
                    readinessProbe: httpProbe(s.probes.readiness, HTTP),
                    volumeMounts: dirs.mounts,
                }],
                volumes: dirs.volumes,
            },
        },
    };
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
        const before: pulumi.Resource[] = [configMap, networkPolicy];
        if (hasSecretEnv(args)) {
            before.push(new k8s.core.v1.Secret(`${name}-secrets`, {
                metadata: meta(`${s.name}-secrets`),
                type: "Opaque",
                stringData: pulumi.secret(pulumi.output(args.secretEnv)) as pulumi.Output<Record<string, string>>,
            }, parent));
        }
        if (s.rbac.length > 0) {
            const role = new k8s.rbac.v1.Role(name, { metadata: meta(s.name), rules: roleRules(s) }, parent);
            // Before the pods, so an app that calls the API at start-up is not refused.
            before.push(new k8s.rbac.v1.RoleBinding(name, {
                metadata: meta(s.name),
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: args.namespace }],
            }, parent));
        }

        const deployment = new k8s.apps.v1.Deployment(name, {
            metadata: meta(s.name),
            spec: deploymentSpec(args, sa.metadata.name, { config: checksum(args.env), secret: secretChecksum(args.secretEnv, args.checksumKey) }),
        }, { parent: this, dependsOn: before }); // envFrom refers to the ConfigMap and Secret by name

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
