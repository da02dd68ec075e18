// Redis with password auth, AOF persistence on a retained volume, maxmemory with an eviction
// policy, an optional exporter sidecar and a NetworkPolicy admitting only its clients.
//
// `workload: deployment` (default), as in the reference system: a Deployment with the Recreate
// strategy (the volume is ReadWriteOnce, so the old pod must let go of it before the new one
// starts) on a standalone claim kept on `pulumi destroy` (retainOnDelete). `workload: statefulset`
// runs it like the other data services: a StatefulSet with a headless Service, its claim from the
// StatefulSet's template and kept by the StatefulSet's retention policy. For one replica the two
// behave alike; the choice is which claim holds the data, so a running stack cannot switch in place
// (stacks/sections/identity.ts).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RedisSpec, RedisWorkload } from "../stacks/types";
import { DataService, DataServiceArgs, dataStatefulSetSpec } from "./dataService";
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

/** The pod's containers: Redis, and its exporter with monitoring on. */
function containers(args: RedisArgs): k8s.types.input.core.v1.Container[] {
    const s = args.spec;
    // redis-cli reads REDISCLI_AUTH, so the probe needs no password on its command line.
    const ping = ["sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -q PONG"];
    return [
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
    ];
}

/** `workload: deployment`: one pod, replaced with Recreate, on the standalone claim `redis-data`. */
export function deploymentSpec(args: RedisArgs, secretChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.DeploymentSpec {
    const selector = selectorLabels(args.appName, REDIS_NAME);
    return {
        replicas: 1,
        selector: { matchLabels: selector },
        strategy: { type: "Recreate" },
        template: {
            metadata: { labels: { ...args.labels, ...selector }, annotations: { "checksum/secret": secretChecksum } },
            spec: {
                automountServiceAccountToken: false,
                securityContext: restrictedPodSecurityContext(args.spec.runAsUser),
                containers: containers(args),
                volumes: [{ name: "data", persistentVolumeClaim: { claimName: `${REDIS_NAME}-data` } }],
            },
        },
    };
}

/** `workload: statefulset`: the data services' StatefulSet, on the claim `data-redis-0` from its template. */
export function statefulSetSpec(args: RedisArgs, secretChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.StatefulSetSpec {
    return dataStatefulSetSpec({
        name: REDIS_NAME, appName: args.appName, labels: args.labels, spec: args.spec,
        annotations: { "checksum/secret": secretChecksum },
        pod: { containers: containers(args) },
    });
}

/** The Redis connection URL (password URL-encoded). */
export function connectionUrl(password: string, host: string): string {
    return `redis://:${encodeURIComponent(password)}@${host}:${REDIS_PORT}/0`;
}

export class Redis extends DataService {
    readonly workload: RedisWorkload;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        const s = args.spec;
        super("platform:app:Redis", name, args, {
            name: REDIS_NAME,
            port: { name: "redis", number: REDIS_PORT },
            metricsPort: REDIS_EXPORTER_PORT,
            credentials: pulumi.output(args.password).apply((password): Record<string, string> => ({ REDIS_PASSWORD: password })),
        }, opts);
        const checksum = secretChecksum({ REDIS_PASSWORD: args.password }, args.checksumKey);
        if (s.workload === "statefulset") {
            this.statefulSet(name, statefulSetSpec(args, checksum), s.protect);
        } else {
            const pvc = new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, {
                metadata: this.meta(`${REDIS_NAME}-data`),
                spec: volumeClaimSpec(s.storageSize, s.storageClass),
            }, { parent: this, retainOnDelete: true, protect: s.protect });
            new k8s.apps.v1.Deployment(name, {
                metadata: this.meta(REDIS_NAME),
                spec: deploymentSpec(args, checksum),
            }, { parent: this, dependsOn: this.before(pvc) });
        }
        this.workload = s.workload;
        this.done({ workload: this.workload });
    }
}
