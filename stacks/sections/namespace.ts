// The namespace's guard-rails and surroundings: network peers, quota and limits, the cluster connection.

import { PROFILES } from "../environments";
import { LABEL_RULES, isCidr } from "../k8sRules";
import { ObjectReader, patterns } from "../reader";
import { AddonsConfig, ClusterSpec, Environment, NetworkSpec, QuotaSpec } from "../types";

/** Peers default to where this stack's own add-ons run, so moving an add-on moves the policies with it. */
export function readNetwork(r: ObjectReader, addons: AddonsConfig): NetworkSpec {
    const spec: NetworkSpec = {
        ingressControllerNamespace: r.string("ingressControllerNamespace", { default: addons.ingressNginx.namespace, pattern: patterns.dnsLabel }),
        ingressControllerPodLabels: r.stringMap("ingressControllerPodLabels", { "app.kubernetes.io/name": "ingress-nginx" }, LABEL_RULES),
        monitoringNamespace: r.string("monitoringNamespace", { default: addons.kubePrometheusStack.namespace, pattern: patterns.dnsLabel }),
        prometheusPodLabels: r.stringMap("prometheusPodLabels", { "app.kubernetes.io/name": "prometheus" }, LABEL_RULES),
        dnsNamespace: r.string("dnsNamespace", { default: "kube-system", pattern: patterns.dnsLabel }),
        dnsPodLabels: r.stringMap("dnsPodLabels", { "k8s-app": "kube-dns" }, LABEL_RULES),
        apiServerCidrs: r.stringList("apiServerCidrs"),
        apiServerPorts: readPorts(r, "apiServerPorts", [443, 6443]),
    };
    spec.apiServerCidrs.filter((c) => !isCidr(c)).forEach((c) => r.errors.add(r.key("apiServerCidrs"), c, "must be a CIDR such as 10.0.0.10/32 or fd00::1/128"));
    r.done();
    return spec;
}

function readPorts(r: ObjectReader, name: string, def: number[]): number[] {
    const raw = r.raw[name];
    r.skip(name);
    if (raw === undefined || raw === null) {
        return def;
    }
    if (!Array.isArray(raw) || raw.length === 0 || raw.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        r.errors.add(r.key(name), raw, "must be a non-empty list of TCP ports (1-65535)");
        return def;
    }
    return raw as number[];
}

export function readQuota(r: ObjectReader, env: Environment): QuotaSpec {
    const def = PROFILES[env].quota;
    const dr = r.object("defaultRequest");
    const dl = r.object("defaultLimit");
    const spec: QuotaSpec = {
        requestsCpu: r.quantity("requestsCpu", def.requestsCpu),
        requestsMemory: r.quantity("requestsMemory", def.requestsMemory),
        limitsCpu: r.quantity("limitsCpu", def.limitsCpu),
        limitsMemory: r.quantity("limitsMemory", def.limitsMemory),
        pods: r.int("pods", { default: def.pods, min: 1 }),
        persistentVolumeClaims: r.int("persistentVolumeClaims", { default: def.persistentVolumeClaims, min: 0 }),
        requestsStorage: r.quantity("requestsStorage", def.requestsStorage),
        defaultRequest: { cpu: dr.quantity("cpu", def.defaultRequest.cpu), memory: dr.quantity("memory", def.defaultRequest.memory) },
        defaultLimit: { cpu: dl.quantity("cpu", def.defaultLimit.cpu), memory: dl.quantity("memory", def.defaultLimit.memory) },
    };
    dr.done();
    dl.done();
    r.done();
    return spec;
}

export function readCluster(r: ObjectReader): ClusterSpec {
    const spec = { kubeconfig: r.string("kubeconfig"), context: r.string("context") };
    r.done();
    return spec;
}
