// The namespace's guard-rails and surroundings: network peers, quota and limits, the cluster connection.

import { PROFILES } from "../environments";
import { LABEL_RULES } from "../k8sRules";
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
    };
    r.done();
    return spec;
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
