// Who may reach whom in a rendered stack, by the independent NetworkPolicy evaluator
// (networkPolicyEvaluator.ts): the app's workloads placed among the pods and addresses around them.

import { Endpoint, Namespace, NetworkPolicy, allowed } from "./networkPolicyEvaluator";

export type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Pods and addresses around the app, where the committed stacks say they are. */
function surroundings(appNs: string): Endpoint[] {
    return [
        { kind: "pod", name: "ingress-controller", namespace: "ingress-nginx", labels: { "app.kubernetes.io/name": "ingress-nginx" }, ip: "10.0.2.1" },
        { kind: "pod", name: "prometheus", namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" }, ip: "10.0.2.2" },
        { kind: "pod", name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.0.2.3", namedPorts: { dns: 53 } },
        // cert-manager starts these in the app's namespace during an HTTP-01 challenge.
        { kind: "pod", name: "acme-solver", namespace: appNs, labels: { "acme.cert-manager.io/http01-solver": "true" }, ip: "10.0.1.99" },
        // Anything else: a debug pod in the namespace, a pod of another team, outside addresses.
        { kind: "pod", name: "debug-pod", namespace: appNs, labels: { run: "debug" }, ip: "10.0.1.98" },
        { kind: "pod", name: "other-namespace-pod", namespace: "other", labels: { "app.kubernetes.io/name": "ingress-nginx" }, ip: "10.0.3.1" },
        { kind: "external", name: "internet", ip: "203.0.113.10" },
        { kind: "external", name: "private-network", ip: "10.200.0.5" },
        { kind: "external", name: "cloud-metadata", ip: "169.254.169.254" },
    ];
}

/** Every allowed connection touching the app's namespace, as `from -> to:port/PROTO`. */
export function reachability(objects: readonly Obj[]): string[] {
    const appNs = (objects.find((o) => o.kind === "Namespace" && o.metadata.labels?.["app.kubernetes.io/part-of"]) as Obj).metadata.name;
    const policies = objects.filter((o) => o.kind === "NetworkPolicy") as unknown as NetworkPolicy[];
    const namespaces: Namespace[] = objects.filter((o) => o.kind === "Namespace").map((o) => ({ name: o.metadata.name, labels: o.metadata.labels ?? {} }));
    // A Job's pod is named after the Job (a CronJob's after the CronJob).
    const workloads: Endpoint[] = objects.filter((o) => ["Deployment", "StatefulSet", "CronJob", "Job"].includes(o.kind) && o.metadata.namespace === appNs).map((o, i) => {
        const template = o.kind === "CronJob" ? o.spec.jobTemplate.spec.template : o.spec.template;
        const containers = template.spec.containers as { ports?: { name?: string; containerPort: number }[] }[];
        const ports = containers.flatMap((c) => c.ports ?? []);
        return {
            kind: "pod", name: o.metadata.name, namespace: appNs, labels: template.metadata.labels, ip: `10.0.1.${i + 1}`,
            namedPorts: Object.fromEntries(ports.filter((p) => p.name).map((p) => [p.name as string, p.containerPort])),
        };
    });
    const endpoints = [...workloads, ...surroundings(appNs)];
    const ports = new Set<number>([53, 80, 443, 8089, 12345]);
    for (const w of workloads) {
        Object.values((w as { namedPorts: Record<string, number> }).namedPorts).forEach((p) => ports.add(p));
    }
    const inApp = (e: Endpoint) => e.kind === "pod" && e.namespace === appNs;
    const out: string[] = [];
    for (const from of endpoints) {
        for (const to of endpoints) {
            if (from === to || (!inApp(from) && !inApp(to))) {
                continue;
            }
            for (const port of ports) {
                for (const protocol of ["TCP", "UDP"] as const) {
                    if (allowed(policies, namespaces, from, to, port, protocol)) {
                        out.push(`${from.name} -> ${to.name}:${port}/${protocol}`);
                    }
                }
            }
        }
    }
    return out.sort();
}

