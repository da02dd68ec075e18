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
import { DataService, DataServiceArgs } from "./dataService";
import { REDIS_EXPORTER_PORT, REDIS_PORT } from "./networkGraph";
import {
    execProbe, exporterContainer, resources, restrictedContainerSecurityContext, restrictedPodSecurityContext,
    secretChecksum, secretEnvVar, selectorLabels, volumeClaimSpec,
} from "./podSpec";

export interface RedisArgs extends DataServiceArgs {
    /** Image, volume, resources, maxmemory, protection (stacks/types.ts RedisSpec). */
    readonly spec: RedisSpec;
    readonly password: pulumi.Input<string>;
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

/** The Redis connection URL (password URL-encoded). */
export function connectionUrl(password: string, host: string): string {
    return `redis://:${encodeURIComponent(password)}@${host}:${REDIS_PORT}/0`;
}

export class Redis extends DataService {
    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        const s = args.spec;
        super("platform:app:Redis", name, args, {
            name: REDIS_NAME,
            port: { name: "redis", number: REDIS_PORT },
            metricsPort: REDIS_EXPORTER_PORT,
            credentials: pulumi.output(args.password).apply((password): Record<string, string> => ({ REDIS_PASSWORD: password })),
        }, opts);
        const pvc = new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, {
            metadata: this.meta(`${REDIS_NAME}-data`),
            spec: volumeClaimSpec(s.storageSize, s.storageClass),
        }, { parent: this, retainOnDelete: true, protect: s.protect });
        new k8s.apps.v1.Deployment(name, {
            metadata: this.meta(REDIS_NAME),
            spec: deploymentSpec(args, secretChecksum({ REDIS_PASSWORD: args.password }, args.checksumKey)),
        }, { parent: this, dependsOn: this.before(pvc) });
        this.done();
    }
}
