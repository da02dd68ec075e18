// The namespace and its guard-rails: Pod Security `restricted`, quota, default container limits,
// and a default-deny NetworkPolicy (both directions) with DNS egress as the only exception.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NetworkSpec, QuotaSpec } from "../stacks/types";
import { peerInNamespace } from "./networkGraph";
import { objectMeta } from "./podSpec";

export interface NamespaceGuardrailsArgs {
    /** Namespace name (an explicit name: other stacks and kubectl users refer to it). */
    readonly name: string;
    /** `app.kubernetes.io/*` and environment labels for the namespace. */
    readonly labels: Readonly<Record<string, string>>;
    readonly quota: QuotaSpec;
    /** Where cluster DNS runs, for the DNS egress rule. */
    readonly network: NetworkSpec;
    /**
     * The namespace holds data volumes that must outlive `pulumi destroy`. Default false. Deleting a
     * Namespace deletes every PersistentVolumeClaim in it, whatever `retainOnDelete` or the PV's
     * reclaim policy say, so such a namespace is left in place (and adopted again by the next up).
     */
    readonly holdsData?: boolean;
}

/** Namespace labels: the given labels plus Pod Security Admission enforcing `restricted`. */
export function namespaceLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
    return {
        ...labels,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    };
}

export function resourceQuotaSpec(q: QuotaSpec): k8s.types.input.core.v1.ResourceQuotaSpec {
    return {
        hard: {
            "requests.cpu": q.requestsCpu,
            "requests.memory": q.requestsMemory,
            "limits.cpu": q.limitsCpu,
            "limits.memory": q.limitsMemory,
            pods: String(q.pods),
            persistentvolumeclaims: String(q.persistentVolumeClaims),
            "requests.storage": q.requestsStorage,
        },
    };
}

export function limitRangeSpec(q: QuotaSpec): k8s.types.input.core.v1.LimitRangeSpec {
    return {
        limits: [{
            type: "Container",
            defaultRequest: { cpu: q.defaultRequest.cpu, memory: q.defaultRequest.memory },
            default: { cpu: q.defaultLimit.cpu, memory: q.defaultLimit.memory },
        }],
    };
}

export function dnsEgressSpec(net: NetworkSpec): k8s.types.input.networking.v1.NetworkPolicySpec {
    return {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{
            to: [peerInNamespace(net.dnsNamespace, net.dnsPodLabels)],
            ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
        }],
    };
}

export class NamespaceGuardrails extends pulumi.ComponentResource {
    /** The namespace name, known once the Namespace exists. */
    readonly namespaceName: pulumi.Output<string>;

    constructor(name: string, args: NamespaceGuardrailsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:NamespaceGuardrails", name, {}, opts);
        const parent = { parent: this };

        const ns = new k8s.core.v1.Namespace(name, {
            metadata: { name: args.name, labels: namespaceLabels(args.labels) },
        }, { ...parent, retainOnDelete: args.holdsData ?? false });
        const meta = (objectName: string) => objectMeta(objectName, ns.metadata.name, args.labels);

        new k8s.core.v1.ResourceQuota(`${name}-quota`, { metadata: meta(`${args.name}-quota`), spec: resourceQuotaSpec(args.quota) }, parent);
        new k8s.core.v1.LimitRange(`${name}-limits`, { metadata: meta(`${args.name}-limits`), spec: limitRangeSpec(args.quota) }, parent);
        new k8s.networking.v1.NetworkPolicy(`${name}-default-deny`, {
            metadata: meta("default-deny-all"),
            spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        }, parent);
        new k8s.networking.v1.NetworkPolicy(`${name}-allow-dns`, {
            metadata: meta("allow-dns-egress"),
            spec: dnsEgressSpec(args.network),
        }, parent);

        this.namespaceName = ns.metadata.name;
        this.registerOutputs({ namespaceName: this.namespaceName });
    }
}
