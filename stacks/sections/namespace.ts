// The namespace's guard-rails and surroundings: network peers, quota and limits, the cluster connection.

import { PROFILES } from "../environments";
import { DNS1123_LABEL, LABEL_RULES, isCidr } from "../k8sRules";
import { ConfigErrors, Read, checkMap, int, listOf, object, quantity, text, textList, textMap } from "../reader";
import { AddonsConfig, ClusterSpec, Environment, NetworkSpec, QuotaSpec } from "../types";
import { cpuAndMemory } from "./services";

const namespace = (what: string) => text({ rule: DNS1123_LABEL }).describe(what);

export const NETWORK = object({
    ingressControllerNamespace: namespace("namespace of the ingress controller, allowed into routed services"),
    ingressControllerPodLabels: textMap().describe("labels of the ingress controller's pods"),
    monitoringNamespace: namespace("namespace of Prometheus, allowed to scrape"),
    prometheusPodLabels: textMap().describe("labels of Prometheus's pods"),
    dnsNamespace: namespace("namespace of cluster DNS, reachable from every pod"),
    dnsPodLabels: textMap().describe("labels of cluster DNS's pods"),
    apiServerCidrs: textList().describe("the API server's endpoint addresses, for services with rbac"),
    apiServerPorts: listOf(int({ min: 1, max: 65535 }), { nonEmpty: "TCP ports (1-65535)" }).describe("the API server's ports"),
}).describe("Where the ingress controller, Prometheus and cluster DNS run, for NetworkPolicy peers");

/** Peers default to where this stack's own add-ons run, so moving an add-on moves the policies with it. */
export function readNetwork(errors: ConfigErrors, n: Read<typeof NETWORK> = {}, addons: AddonsConfig): NetworkSpec {
    const labels = (name: "ingressControllerPodLabels" | "prometheusPodLabels" | "dnsPodLabels", def: Record<string, string>) =>
        checkMap(errors, `network.${name}`, n[name] ?? def, LABEL_RULES);
    const spec: NetworkSpec = {
        ingressControllerNamespace: n.ingressControllerNamespace ?? addons.ingressNginx.namespace,
        ingressControllerPodLabels: labels("ingressControllerPodLabels", { "app.kubernetes.io/name": "ingress-nginx" }),
        monitoringNamespace: n.monitoringNamespace ?? addons.kubePrometheusStack.namespace,
        prometheusPodLabels: labels("prometheusPodLabels", { "app.kubernetes.io/name": "prometheus" }),
        dnsNamespace: n.dnsNamespace ?? "kube-system",
        dnsPodLabels: labels("dnsPodLabels", { "k8s-app": "kube-dns" }),
        apiServerCidrs: n.apiServerCidrs ?? [],
        apiServerPorts: n.apiServerPorts ?? [443, 6443],
    };
    spec.apiServerCidrs.filter((c) => !isCidr(c)).forEach((c) => errors.add("network.apiServerCidrs", c, "must be a CIDR such as 10.0.0.10/32 or fd00::1/128"));
    return spec;
}

export const QUOTA = object({
    requestsCpu: quantity().describe("ResourceQuota: total CPU requests"),
    requestsMemory: quantity().describe("ResourceQuota: total memory requests"),
    limitsCpu: quantity().describe("ResourceQuota: total CPU limits"),
    limitsMemory: quantity().describe("ResourceQuota: total memory limits"),
    pods: int({ min: 1 }).describe("ResourceQuota: pods"),
    persistentVolumeClaims: int({ min: 0 }).describe("ResourceQuota: volume claims"),
    requestsStorage: quantity().describe("ResourceQuota: total storage requests"),
    defaultRequest: cpuAndMemory("LimitRange: a container's default request"),
    defaultLimit: cpuAndMemory("LimitRange: a container's default limit"),
}).describe("ResourceQuota and LimitRange of the namespace; defaults per environment");

export function readQuota(q: Read<typeof QUOTA> = {}, env: Environment): QuotaSpec {
    const def = PROFILES[env].quota;
    return {
        requestsCpu: q.requestsCpu ?? def.requestsCpu,
        requestsMemory: q.requestsMemory ?? def.requestsMemory,
        limitsCpu: q.limitsCpu ?? def.limitsCpu,
        limitsMemory: q.limitsMemory ?? def.limitsMemory,
        pods: q.pods ?? def.pods,
        persistentVolumeClaims: q.persistentVolumeClaims ?? def.persistentVolumeClaims,
        requestsStorage: q.requestsStorage ?? def.requestsStorage,
        defaultRequest: { cpu: q.defaultRequest?.cpu ?? def.defaultRequest.cpu, memory: q.defaultRequest?.memory ?? def.defaultRequest.memory },
        defaultLimit: { cpu: q.defaultLimit?.cpu ?? def.defaultLimit.cpu, memory: q.defaultLimit?.memory ?? def.defaultLimit.memory },
    };
}

export const CLUSTER = object({
    kubeconfig: text().describe("path of the kubeconfig; empty: the ambient one"),
    context: text().describe("kubeconfig context; empty: its current context"),
}).describe("Cluster connection; empty fields use the ambient kubeconfig and its current context");

export function readCluster(c: Read<typeof CLUSTER> = {}): ClusterSpec {
    return { kubeconfig: c.kubeconfig ?? "", context: c.context ?? "" };
}
