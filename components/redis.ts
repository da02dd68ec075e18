// Redis with password auth, AOF persistence on a retained volume, maxmemory with an eviction
// policy, an optional exporter sidecar and a NetworkPolicy admitting only its clients.
//
// A Deployment, as in the reference system, with the Recreate strategy: the volume is
// ReadWriteOnce, so the old pod must let go of it before the new one starts. A StatefulSet would add
// nothing for one replica with one standalone PVC, and the PVC as its own resource can be kept on
// `pulumi destroy` (retainOnDelete) rather than relying on StatefulSet retention.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RedisSpec } from "../stacks/types";
import { REDIS_EXPORTER_PORT, REDIS_PORT } from "./networkGraph";
import {
    execProbe, exporterContainer, resources, restrictedContainerSecurityContext, restrictedPodSecurityContext,
    secretChecksum, secretEnvVar, selectorLabels,
} from "./podSpec";

export interface RedisArgs {
    readonly namespace: pulumi.Input<string>;
    readonly appName: string;
    readonly spec: RedisSpec;
    readonly labels: Readonly<Record<string, string>>;
    readonly password: pulumi.Input<string>;
    /** Key of the `checksum/secret` HMAC (the stack's checksumKey secret). */
    readonly checksumKey: pulumi.Input<string>;
    readonly exporter: boolean;
    readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
}

export const REDIS_NAME = "redis";
const CREDENTIALS = `${REDIS_NAME}-credentials`;

/** redis-server arguments; the password comes from the environment, expanded by the kubelet. */
export function redisArgs(s: RedisSpec): string[] {
    return [
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--dir", "/data",
        "--maxmemory", s.maxmemory,
        "--maxmemory-policy", s.maxmemoryPolicy,
        "--requirepass", "$(REDIS_PASSWORD)",
    ];
}

export function deploymentSpec(args: RedisArgs, secretChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.DeploymentSpec {
    const s = args.spec;
    const selector = selectorLabels(args.appName, REDIS_NAME);
    // redis-cli reads REDISCLI_AUTH, so the probe needs no password on its command line.
    const ping = ["sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -q PONG"];
    return {
        replicas: 1,
        selector: { matchLabels: selector },
        strategy: { type: "Recreate" },
        template: {
            metadata: { labels: { ...args.labels, ...selector }, annotations: { "checksum/secret": secretChecksum } },
            spec: {
                automountServiceAccountToken: false,
                securityContext: restrictedPodSecurityContext(s.runAsUser),
                containers: [
                    {
                        name: REDIS_NAME,
                        image: s.image,
                        command: ["redis-server"],
                        args: redisArgs(s),
                        ports: [{ name: "redis", containerPort: REDIS_PORT, protocol: "TCP" }],
                        env: [secretEnvVar("REDIS_PASSWORD", CREDENTIALS, "REDIS_PASSWORD"), secretEnvVar("REDISCLI_AUTH", CREDENTIALS, "REDIS_PASSWORD")],
                        resources: resources(s.resources),
                        securityContext: restrictedContainerSecurityContext(),
                        startupProbe: execProbe(ping, 5, 30),
                        livenessProbe: execProbe(ping, 10, 3),
                        readinessProbe: execProbe(ping, 5, 3),
                        volumeMounts: [{ name: "data", mountPath: "/data" }],
                    },
                    ...(args.exporter ? [exporterContainer("redis-exporter", s.exporterImage, REDIS_EXPORTER_PORT, [
                        { name: "REDIS_ADDR", value: `redis://127.0.0.1:${REDIS_PORT}` },
                        secretEnvVar("REDIS_PASSWORD", CREDENTIALS, "REDIS_PASSWORD"),
                    ])] : []),
                ],
                volumes: [{ name: "data", persistentVolumeClaim: { claimName: `${REDIS_NAME}-data` } }],
            },
        },
    };
}

export class Redis extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly credentialsSecretName: pulumi.Output<string>;
    readonly host: pulumi.Output<string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:Redis", name, {}, opts);
        const parent = { parent: this };
        const s = args.spec;
        const selector = selectorLabels(args.appName, REDIS_NAME);
        const labels = { ...args.labels, ...selector };
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels });

        const secret = new k8s.core.v1.Secret(`${name}-credentials`, {
            metadata: meta(CREDENTIALS),
            type: "Opaque",
            stringData: pulumi.secret(pulumi.output(args.password).apply((password) => ({ REDIS_PASSWORD: password }))),
        }, parent);
        const pvc = new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, {
            metadata: meta(`${REDIS_NAME}-data`),
            spec: {
                accessModes: ["ReadWriteOnce"],
                ...(s.storageClass ? { storageClassName: s.storageClass } : {}),
                resources: { requests: { storage: s.storageSize } },
            },
        }, { parent: this, retainOnDelete: true, protect: s.protect });

        const networkPolicy = new k8s.networking.v1.NetworkPolicy(name, { metadata: meta(REDIS_NAME), spec: args.networkPolicy }, parent);
        new k8s.apps.v1.Deployment(name, {
            metadata: meta(REDIS_NAME),
            spec: deploymentSpec(args, secretChecksum({ REDIS_PASSWORD: args.password }, args.checksumKey)),
        }, { parent: this, dependsOn: [secret, pvc, networkPolicy] });

        const svc = new k8s.core.v1.Service(name, {
            metadata: meta(REDIS_NAME),
            spec: {
                type: "ClusterIP",
                selector,
                ports: [
                    { name: "redis", port: REDIS_PORT, targetPort: "redis", protocol: "TCP" },
                    ...(args.exporter ? [{ name: "metrics", port: REDIS_EXPORTER_PORT, targetPort: "metrics", protocol: "TCP" }] : []),
                ],
            },
        }, parent);

        this.serviceName = svc.metadata.name;
        this.credentialsSecretName = secret.metadata.name;
        this.host = pulumi.interpolate`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
        this.registerOutputs({ serviceName: this.serviceName, credentialsSecretName: this.credentialsSecretName, host: this.host });
    }
}
