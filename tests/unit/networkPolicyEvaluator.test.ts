// The NetworkPolicy evaluator on the Kubernetes documentation's examples
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/), each with the allowed
// cases and the denied ones a permissive implementation would let through.

import * as assert from "assert/strict";
import { Endpoint, Namespace, NetworkPolicy, allowed, ipInCidr, selectorMatches } from "../support/networkPolicyEvaluator";

const pod = (name: string, namespace: string, labels: Record<string, string>, ip: string, namedPorts?: Record<string, number>): Endpoint =>
    ({ kind: "pod", name, namespace, labels, ip, namedPorts });
const external = (ip: string): Endpoint => ({ kind: "external", name: ip, ip });
const policy = (namespace: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ metadata: { name: "p", namespace }, spec });

const NAMESPACES: Namespace[] = [
    { name: "default", labels: {} },
    { name: "myproject", labels: { project: "myproject" } },
    { name: "other", labels: { project: "other" } },
];

describe("NetworkPolicy evaluator (Kubernetes documentation examples)", () => {
    describe("test-network-policy", () => {
        const p = policy("default", {
            podSelector: { matchLabels: { role: "db" } },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{
                from: [
                    { ipBlock: { cidr: "172.17.0.0/16", except: ["172.17.1.0/24"] } },
                    { namespaceSelector: { matchLabels: { project: "myproject" } } },
                    { podSelector: { matchLabels: { role: "frontend" } } },
                ],
                ports: [{ protocol: "TCP", port: 6379 }],
            }],
            egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/24" } }], ports: [{ protocol: "TCP", port: 5978 }] }],
        });
        const db = pod("db", "default", { role: "db" }, "10.1.0.1");
        const ok = (from: Endpoint, to: Endpoint, port: number) => allowed([p], NAMESPACES, from, to, port, "TCP");

        it("admits the three kinds of peer on 6379", () => {
            assert.equal(ok(external("172.17.2.5"), db, 6379), true, "ipBlock");
            assert.equal(ok(pod("any", "myproject", { role: "anything" }, "10.1.1.1"), db, 6379), true, "any pod of a namespace with project=myproject");
            assert.equal(ok(pod("fe", "default", { role: "frontend" }, "10.1.0.2"), db, 6379), true, "role=frontend in the policy's namespace");
        });

        it("denies the except range, other ports, frontends of other namespaces and unlabelled pods", () => {
            assert.equal(ok(external("172.17.1.9"), db, 6379), false, "in the except block");
            assert.equal(ok(pod("fe", "default", { role: "frontend" }, "10.1.0.2"), db, 6380), false, "wrong port");
            assert.equal(ok(pod("fe", "other", { role: "frontend" }, "10.1.2.2"), db, 6379), false, "podSelector alone means the policy's namespace");
            assert.equal(ok(pod("x", "default", {}, "10.1.0.3"), db, 6379), false);
            assert.equal(allowed([p], NAMESPACES, pod("fe", "default", { role: "frontend" }, "10.1.0.2"), db, 6379, "UDP"), false, "protocol defaults and must match");
        });

        it("lets db reach only 10.0.0.0/24 on 5978", () => {
            assert.equal(ok(db, external("10.0.0.7"), 5978), true);
            assert.equal(ok(db, external("10.0.1.7"), 5978), false);
            assert.equal(ok(db, external("10.0.0.7"), 5979), false);
        });

        it("leaves pods it does not select alone", () => {
            const web = pod("web", "default", { role: "web" }, "10.1.0.9");
            assert.equal(ok(pod("x", "other", {}, "10.1.2.9"), web, 1234), true);
            assert.equal(ok(web, external("8.8.8.8"), 53), true);
        });
    });

    describe("namespaceSelector and podSelector: AND in one element, OR in two", () => {
        const target = pod("t", "default", { app: "t" }, "10.1.0.1");
        const and = policy("default", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { user: "alice" } }, podSelector: { matchLabels: { role: "client" } } }] }] });
        const or = policy("default", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { user: "alice" } } }, { podSelector: { matchLabels: { role: "client" } } }] }] });
        const ns: Namespace[] = [{ name: "alice", labels: { user: "alice" } }, { name: "default", labels: {} }];
        const aliceClient = pod("c", "alice", { role: "client" }, "10.2.0.1");
        const aliceOther = pod("o", "alice", { role: "other" }, "10.2.0.2");
        const localClient = pod("l", "default", { role: "client" }, "10.1.0.2");

        it("AND: only clients in alice's namespaces", () => {
            assert.equal(allowed([and], ns, aliceClient, target, 80, "TCP"), true);
            assert.equal(allowed([and], ns, aliceOther, target, 80, "TCP"), false);
            assert.equal(allowed([and], ns, localClient, target, 80, "TCP"), false);
        });

        it("OR: any pod in alice's namespaces, or clients in the policy's own namespace", () => {
            assert.equal(allowed([or], ns, aliceOther, target, 80, "TCP"), true);
            assert.equal(allowed([or], ns, localClient, target, 80, "TCP"), true);
            assert.equal(allowed([or], ns, pod("x", "default", {}, "10.1.0.3"), target, 80, "TCP"), false);
        });

        it("matches namespaces by their automatic kubernetes.io/metadata.name label", () => {
            const byName = policy("default", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "alice" } } }] }] });
            assert.equal(allowed([byName], [], aliceOther, target, 80, "TCP"), true);
            assert.equal(allowed([byName], [], localClient, target, 80, "TCP"), false);
        });
    });

    describe("defaults", () => {
        const a = pod("a", "default", { app: "a" }, "10.1.0.1");
        const b = pod("b", "default", { app: "b" }, "10.1.0.2");

        it("default deny all ingress: nothing in, everything out", () => {
            const deny = policy("default", { podSelector: {}, policyTypes: ["Ingress"] });
            assert.equal(allowed([deny], NAMESPACES, a, b, 80, "TCP"), false);
            assert.equal(allowed([deny], NAMESPACES, a, external("8.8.8.8"), 443, "TCP"), true);
        });

        it("allow all ingress: an empty rule admits every peer on every port", () => {
            const all = policy("default", { podSelector: {}, ingress: [{}], policyTypes: ["Ingress"] });
            assert.equal(allowed([all], NAMESPACES, external("203.0.113.1"), b, 31337, "UDP"), true);
        });

        it("default deny all egress: nothing out, ingress untouched", () => {
            const deny = policy("default", { podSelector: {}, policyTypes: ["Egress"] });
            assert.equal(allowed([deny], NAMESPACES, a, external("8.8.8.8"), 53, "UDP"), false);
            assert.equal(allowed([deny], NAMESPACES, external("8.8.8.8"), a, 80, "TCP"), true);
            assert.equal(allowed([deny], NAMESPACES, a, b, 80, "TCP"), false, "a pod's egress applies within the namespace too");
        });

        it("default deny both: the namespace is closed, other namespaces are not", () => {
            const deny = policy("default", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            const x = pod("x", "other", {}, "10.3.0.1");
            const y = pod("y", "other", {}, "10.3.0.2");
            assert.equal(allowed([deny], NAMESPACES, a, b, 80, "TCP"), false);
            assert.equal(allowed([deny], NAMESPACES, x, y, 80, "TCP"), true);
            assert.equal(allowed([deny], NAMESPACES, x, a, 80, "TCP"), false);
        });

        it("policyTypes unset: Ingress always, Egress only with an egress section", () => {
            const ingressOnly = policy("default", { podSelector: {}, ingress: [] });
            assert.equal(allowed([ingressOnly], NAMESPACES, a, external("8.8.8.8"), 443, "TCP"), true, "egress not isolated");
            assert.equal(allowed([ingressOnly], NAMESPACES, b, a, 80, "TCP"), false, "ingress isolated, no rule");
            const withEgress = policy("default", { podSelector: {}, egress: [] });
            assert.equal(allowed([withEgress], NAMESPACES, a, external("8.8.8.8"), 443, "TCP"), false);
        });

        it("policies add up: either one admitting is enough", () => {
            const p1 = policy("default", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: 80 }] }] });
            const p2 = policy("default", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "c" } } }], ports: [{ port: 81 }] }] });
            const c = pod("c", "default", { app: "c" }, "10.1.0.3");
            assert.equal(allowed([p1, p2], NAMESPACES, a, b, 80, "TCP"), true);
            assert.equal(allowed([p1, p2], NAMESPACES, c, b, 81, "TCP"), true);
            assert.equal(allowed([p1, p2], NAMESPACES, a, b, 81, "TCP"), false, "rules do not mix peers and ports across policies");
        });
    });

    describe("ports", () => {
        const db = pod("db", "default", { role: "db" }, "10.1.0.1", { metrics: 9187 });
        const client = pod("c", "default", { role: "client" }, "10.1.0.2");

        it("a port range: 32000 to 32768 (the documentation's endPort example)", () => {
            const range = policy("default", { podSelector: { matchLabels: { role: "client" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/24" } }], ports: [{ protocol: "TCP", port: 32000, endPort: 32768 }] }] });
            assert.equal(allowed([range], NAMESPACES, client, external("10.0.0.5"), 32000, "TCP"), true);
            assert.equal(allowed([range], NAMESPACES, client, external("10.0.0.5"), 32768, "TCP"), true);
            assert.equal(allowed([range], NAMESPACES, client, external("10.0.0.5"), 32769, "TCP"), false);
            assert.equal(allowed([range], NAMESPACES, client, external("10.0.0.5"), 31999, "TCP"), false);
        });

        it("a named port resolves against the destination pod", () => {
            const named = policy("default", { podSelector: { matchLabels: { role: "db" } }, ingress: [{ ports: [{ port: "metrics" }] }] });
            assert.equal(allowed([named], NAMESPACES, client, db, 9187, "TCP"), true);
            assert.equal(allowed([named], NAMESPACES, client, db, 5432, "TCP"), false);
        });
    });

    it("selectors: matchLabels and matchExpressions together", () => {
        const s = { matchLabels: { app: "x" }, matchExpressions: [{ key: "tier", operator: "In" as const, values: ["web", "api"] }, { key: "canary", operator: "DoesNotExist" as const }] };
        assert.equal(selectorMatches(s, { app: "x", tier: "api" }), true);
        assert.equal(selectorMatches(s, { app: "x", tier: "db" }), false);
        assert.equal(selectorMatches(s, { app: "x", tier: "web", canary: "1" }), false);
        assert.equal(selectorMatches(s, { app: "y", tier: "web" }), false);
        assert.equal(selectorMatches({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, {}), true);
        assert.equal(selectorMatches({ matchExpressions: [{ key: "env", operator: "Exists" }] }, {}), false);
        assert.equal(selectorMatches({}, { anything: "at-all" }), true);
    });

    it("CIDR arithmetic", () => {
        assert.equal(ipInCidr("169.254.169.254", "169.254.0.0/16"), true);
        assert.equal(ipInCidr("172.32.0.1", "172.16.0.0/12"), false);
        assert.equal(ipInCidr("172.31.255.255", "172.16.0.0/12"), true);
        assert.equal(ipInCidr("1.2.3.4", "0.0.0.0/0"), true);
    });
});
