// What every data service shares (PostgreSQL, Redis, and the data services of other stacks later):
// a credentials Secret, a ClusterIP Service with the client port and, with monitoring on, the
// exporter's metrics port, the NetworkPolicy that admits only its clients, and the outputs clients
// need. A subclass adds its workload (StatefulSet or Deployment) after calling this constructor.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { objectMeta, selectorLabels, serviceClusterHost } from "./podSpec";

export interface DataServiceArgs {
    readonly namespace: pulumi.Input<string>;
    readonly appName: string;
    readonly labels: Readonly<Record<string, string>>;
    /** Key of the `checksum/secret` HMAC (the stack's checksumKey secret). */
    readonly checksumKey: pulumi.Input<string>;
    /** Run the exporter sidecar and expose its metrics port (monitoring on). */
    readonly exporter: boolean;
    readonly networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
}

/** The fixed facts of one kind of data service. */
export interface DataServiceShape {
    /** Object name prefix and `app.kubernetes.io/component`: "postgres", "redis". */
    readonly name: string;
    /** Client port name and number (the container port has the same name). */
    readonly port: { readonly name: string; readonly number: number };
    readonly metricsPort: number;
    /** The credentials Secret's data; a secret Output. */
    readonly credentials: pulumi.Output<Record<string, string>>;
}

export abstract class DataService extends pulumi.ComponentResource {
    /** ClusterIP Service name (host for clients in the namespace). */
    readonly serviceName: pulumi.Output<string>;
    /** Name of the credentials Secret. */
    readonly credentialsSecretName: pulumi.Output<string>;
    /** In-cluster host of the ClusterIP Service. */
    readonly host: pulumi.Output<string>;
    readonly port: number;

    protected readonly credentials: k8s.core.v1.Secret;
    protected readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
    /** Selector labels of the workload's pods. */
    protected readonly selector: Record<string, string>;
    /** Metadata of one of this data service's objects. */
    protected readonly meta: (objectName: string) => ReturnType<typeof objectMeta>;

    constructor(type: string, name: string, args: DataServiceArgs, shape: DataServiceShape, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        const parent = { parent: this };
        this.selector = selectorLabels(args.appName, shape.name);
        const labels = { ...args.labels, ...this.selector };
        this.meta = (objectName: string) => objectMeta(objectName, args.namespace, labels);

        this.credentials = new k8s.core.v1.Secret(`${name}-credentials`, {
            metadata: this.meta(`${shape.name}-credentials`),
            type: "Opaque",
            stringData: pulumi.secret(shape.credentials),
        }, parent);
        const svc = new k8s.core.v1.Service(name, {
            metadata: this.meta(shape.name),
            spec: {
                type: "ClusterIP",
                selector: this.selector,
                ports: [
                    { name: shape.port.name, port: shape.port.number, targetPort: shape.port.name, protocol: "TCP" },
                    ...(args.exporter ? [{ name: "metrics", port: shape.metricsPort, targetPort: "metrics", protocol: "TCP" }] : []),
                ],
            },
        }, parent);
        this.networkPolicy = new k8s.networking.v1.NetworkPolicy(name, { metadata: this.meta(shape.name), spec: args.networkPolicy }, parent);

        this.serviceName = svc.metadata.name;
        this.credentialsSecretName = this.credentials.metadata.name;
        this.host = serviceClusterHost(svc);
        this.port = shape.port.number;
    }

    protected done(extra: Record<string, unknown> = {}): void {
        this.registerOutputs({ serviceName: this.serviceName, credentialsSecretName: this.credentialsSecretName, host: this.host, port: this.port, ...extra });
    }
}
