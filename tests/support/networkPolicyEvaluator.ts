// An evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), written from the
// Kubernetes documentation and independent of the program's own code (it imports nothing from
// components/ or stacks/), so tests can check rendered policies without trusting the program's graph.
// https://kubernetes.io/docs/concepts/services-networking/network-policies/

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}
export interface PolicyPort { protocol?: string; port?: number | string; endPort?: number }
export interface PolicyPeer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr: string; except?: string[] } }
export interface NetworkPolicy {
    metadata: { name: string; namespace: string };
    spec: {
        podSelector: LabelSelector;
        policyTypes?: ("Ingress" | "Egress")[];
        ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
        egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
    };
}
export interface Namespace { name: string; labels: Record<string, string> }
/** A pod (with its namespace, labels, IP and named container ports) or an address outside the cluster. */
export type Endpoint =
    | { kind: "pod"; name: string; namespace: string; labels: Record<string, string>; ip: string; namedPorts?: Record<string, number> }
    | { kind: "external"; name: string; ip: string };
type Pod = Extract<Endpoint, { kind: "pod" }>;
type Direction = "Ingress" | "Egress";

/** matchLabels AND matchExpressions; an empty or absent selector matches everything. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
    const s = selector ?? {};
    const byLabel = Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const byExpression = (s.matchExpressions ?? []).every((e) => {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        switch (e.operator) {
            case "In": return has && (e.values ?? []).includes(labels[e.key]);
            case "NotIn": return !has || !(e.values ?? []).includes(labels[e.key]);
            case "Exists": return has;
            case "DoesNotExist": return !has;
        }
    });
    return byLabel && byExpression;
}

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function ipInCidr(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(ipToNumber(base) / size) * size;
    const n = ipToNumber(ip);
    return n >= start && n < start + size;
}

/** The namespace's labels, always with the automatic `kubernetes.io/metadata.name`. */
function namespaceLabels(namespaces: readonly Namespace[], name: string): Record<string, string> {
    return { ...(namespaces.find((n) => n.name === name)?.labels ?? {}), "kubernetes.io/metadata.name": name };
}

/** The policy types a policy has: Ingress always when unset; Egress when unset only if it has egress rules. */
function policyTypes(p: NetworkPolicy): Direction[] {
    return p.spec.policyTypes ?? (p.spec.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"]);
}

/** A peer element: ipBlock alone; else podSelector and namespaceSelector ANDed within the element. */
function peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint, namespaces: readonly Namespace[]): boolean {
    if (peer.ipBlock) {
        return ipInCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => ipInCidr(other.ip, c));
    }
    if (other.kind !== "pod") {
        return false;
    }
    const inNamespace = peer.namespaceSelector
        ? selectorMatches(peer.namespaceSelector, namespaceLabels(namespaces, other.namespace))
        : other.namespace === policyNamespace;
    return inNamespace && (peer.podSelector === undefined || selectorMatches(peer.podSelector, other.labels));
}

/** A port entry; named ports resolve against the destination pod's container ports. */
function portMatches(entry: PolicyPort, destination: Endpoint, port: number, protocol: string): boolean {
    if ((entry.protocol ?? "TCP") !== protocol) {
        return false;
    }
    if (entry.port === undefined) {
        return true;
    }
    if (typeof entry.port === "string") {
        return destination.kind === "pod" && destination.namedPorts?.[entry.port] === port;
    }
    return entry.endPort !== undefined ? port >= entry.port && port <= entry.endPort : port === entry.port;
}

/** Whether `pod`'s policies of one direction admit the connection with `peer` (true when none isolates it). */
function admits(direction: Direction, pod: Pod, peer: Endpoint, destination: Endpoint, port: number, protocol: string,
    policies: readonly NetworkPolicy[], namespaces: readonly Namespace[]): boolean {
    const selecting = policies.filter((p) => p.metadata.namespace === pod.namespace && policyTypes(p).includes(direction)
        && selectorMatches(p.spec.podSelector, pod.labels));
    if (selecting.length === 0) {
        return true;
    }
    return selecting.some((p) => {
        const rules = direction === "Ingress"
            ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
            : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
        return rules.some((r) =>
            (r.peers === undefined || r.peers.length === 0 || r.peers.some((x) => peerMatches(x, p.metadata.namespace, peer, namespaces)))
            && (r.ports === undefined || r.ports.length === 0 || r.ports.some((x) => portMatches(x, destination, port, protocol))));
    });
}

/** Whether `from` may open a connection to `to` on `port`: the sender's egress AND the receiver's ingress allow it. */
export function allowed(policies: readonly NetworkPolicy[], namespaces: readonly Namespace[], from: Endpoint, to: Endpoint,
    port: number, protocol: "TCP" | "UDP" | "SCTP"): boolean {
    const egress = from.kind !== "pod" || admits("Egress", from, to, to, port, protocol, policies, namespaces);
    const ingress = to.kind !== "pod" || admits("Ingress", to, from, to, port, protocol, policies, namespaces);
    return egress && ingress;
}
