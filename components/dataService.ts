// What every data service shares (PostgreSQL, Redis, Kafka, MinIO): a credentials Secret for those
// that take credentials, a ClusterIP Service with the client port and, with monitoring on, the
// exporter's metrics port, the NetworkPolicy that admits only its clients, and the outputs clients
// need; for those that run as a StatefulSet, the StatefulSet on one retained claim and its headless
// Service. A subclass adds its workload after calling this constructor.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DataServiceSpec } from "../stacks/types";
import { objectMeta, restrictedPodSecurityContext, selectorLabels, serviceClusterHost, volumeClaimSpec } from "./podSpec";

export interface DataServiceArgs {
    readonly namespace: pulumi.Input<string>;
    readonly appName: string;
    readonly labels: Readonly<Record<string, string>>;
    /** Key of the `checksum/secret` HMAC (the stack's checksumKey secret). */
    readonly checksumKey: pulumi.Input<string>;
    /** Monitoring is on: run the exporter sidecar and expose its metrics port (MinIO: serve its own metrics to Prometheus). */
    readonly exporter: boolean;
    readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
}

/** The fixed facts of one kind of data service. */
export interface DataServiceShape {
    /** Object name prefix and `app.kubernetes.io/component`: "postgres", "redis", "kafka", "minio". */
    readonly name: string;
    /** Client port name and number (the container port has the same name). */
    readonly port: { readonly name: string; readonly number: number };
    /** The exporter sidecar's port; absent when the server serves its own metrics on the client port (MinIO). */
    readonly metricsPort?: number;
    /** The credentials Secret's data, a secret Output; absent for a service that takes no credentials (Kafka here). */
    readonly credentials?: pulumi.Output<Record<string, string>>;
}

export interface DataStatefulSetArgs {
    /** The data service's name ("postgres", "kafka", "minio"). */
    readonly name: string;
    readonly appName: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly spec: DataServiceSpec;
    /** Pod template annotations: the checksums that roll the pod when its config or secret changes. */
    readonly annotations: Readonly<Record<string, pulumi.Input<string>>>;
    /** The pod spec beyond what every data service's pod has (no service account token, the restricted pod context). */
    readonly pod: k8s.types.input.core.v1.PodSpec;
}

/**
 * A data service's StatefulSet: one pod, as its image's non-root user, on one claim named `data`
 * that outlives the StatefulSet.
 */
export function dataStatefulSetSpec(a: DataStatefulSetArgs): k8s.types.input.apps.v1.StatefulSetSpec {
    const selector = selectorLabels(a.appName, a.name);
    const labels = { ...a.labels, ...selector };
    return {
        serviceName: `${a.name}-headless`,
        replicas: 1,
        selector: { matchLabels: selector },
        updateStrategy: { type: "RollingUpdate" },
        // Deleting or scaling down the StatefulSet never deletes the data volume.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: {
            metadata: { labels, annotations: { ...a.annotations } },
            spec: { automountServiceAccountToken: false, securityContext: restrictedPodSecurityContext(a.spec.runAsUser), ...a.pod },
        },
        volumeClaimTemplates: [{ metadata: { name: "data", labels }, spec: volumeClaimSpec(a.spec.storageSize, a.spec.storageClass) }],
    };
}

export abstract class DataService extends pulumi.ComponentResource {
    /** ClusterIP Service name (host for clients in the namespace). */
    readonly serviceName: pulumi.Output<string>;
    /** Name of the credentials Secret; absent for a service without credentials. */
    readonly credentialsSecretName?: pulumi.Output<string>;
    /** In-cluster host of the ClusterIP Service. */
    readonly host: pulumi.Output<string>;
    readonly port: number;

    protected readonly credentials?: k8s.core.v1.Secret;
    protected readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
    /** Selector labels of the workload's pods. */
    protected readonly selector: Record<string, string>;
    /** Metadata of one of this data service's objects. */
    protected readonly meta: (objectName: string) => ReturnType<typeof objectMeta>;
    private readonly shape: DataServiceShape;

    constructor(type: string, name: string, args: DataServiceArgs, shape: DataServiceShape, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        const parent = { parent: this };
        this.shape = shape;
        this.selector = selectorLabels(args.appName, shape.name);
        const labels = { ...args.labels, ...this.selector };
        this.meta = (objectName: string) => objectMeta(objectName, args.namespace, labels);

        if (shape.credentials) {
            this.credentials = new k8s.core.v1.Secret(`${name}-credentials`, {
                metadata: this.meta(`${shape.name}-credentials`),
                type: "Opaque",
                stringData: pulumi.secret(shape.credentials),
            }, parent);
        }
        const metrics = args.exporter && shape.metricsPort !== undefined
            ? [{ name: "metrics", port: shape.metricsPort, targetPort: "metrics", protocol: "TCP" }] : [];
        const svc = new k8s.core.v1.Service(name, {
            metadata: this.meta(shape.name),
            spec: { type: "ClusterIP", selector: this.selector, ports: [this.clientPort(), ...metrics] },
        }, parent);
        this.networkPolicy = new k8s.networking.v1.NetworkPolicy(name, { metadata: this.meta(shape.name), spec: args.networkPolicy }, parent);

        this.serviceName = svc.metadata.name;
        this.credentialsSecretName = this.credentials?.metadata.name;
        this.host = serviceClusterHost(svc);
        this.port = shape.port.number;
    }

    private clientPort() {
        return { name: this.shape.port.name, port: this.shape.port.number, targetPort: this.shape.port.name, protocol: "TCP" };
    }

    /**
     * What the workload waits for: its credentials Secret, then `extra` (in order), then the
     * NetworkPolicy, without which its clients could not reach it under the namespace's default-deny.
     */
    protected before(...extra: pulumi.Resource[]): pulumi.Resource[] {
        return [...(this.credentials ? [this.credentials] : []), ...extra, this.networkPolicy];
    }

    /**
     * The StatefulSet, after its governing headless Service and `extra`, protected from `pulumi
     * destroy` when the data is. The headless Service has only the client port: both Services carry
     * the same labels, so a metrics port on both would make the ServiceMonitor scrape twice.
     */
    protected statefulSet(name: string, spec: k8s.types.input.apps.v1.StatefulSetSpec, protect: boolean, extra: pulumi.Resource[] = []): k8s.apps.v1.StatefulSet {
        const headless = new k8s.core.v1.Service(`${name}-headless`, {
            metadata: this.meta(`${this.shape.name}-headless`),
            spec: { clusterIP: "None", selector: this.selector, ports: [this.clientPort()], publishNotReadyAddresses: true },
        }, { parent: this });
        return new k8s.apps.v1.StatefulSet(name, {
            metadata: this.meta(this.shape.name),
            spec,
        }, { parent: this, dependsOn: this.before(...extra, headless), protect });
    }

    protected done(extra: Record<string, unknown> = {}): void {
        this.registerOutputs({ serviceName: this.serviceName, credentialsSecretName: this.credentialsSecretName, host: this.host, port: this.port, ...extra });
    }
}
