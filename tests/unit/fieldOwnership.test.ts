// Field ownership: every Kubernetes object the program declares carries the patch-force annotation,
// so `pulumi up` reverts hand edits instead of stopping on a server-side-apply conflict.

import * as assert from "assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PATCH_FORCE_ANNOTATION, ownsFields, withOwnedAnnotations } from "../../components/fieldOwnership";
import { runCommittedStack, runProgram, stackConfig, valueOf } from "./harness";

describe("field ownership", () => {
    it("annotates every Kubernetes object of the dev stack, and nothing else", async () => {
        const p = await runCommittedStack("dev");
        const objects = p.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/"));
        assert.ok(objects.length >= 39, `expected the whole stack, got ${objects.length} objects`);
        for (const r of objects) {
            assert.equal(r.inputs.metadata?.annotations?.[PATCH_FORCE_ANNOTATION], "true", `${r.type} ${r.name}`);
            const skip = r.inputs.metadata?.annotations?.["pulumi.com/skipAwait"];
            assert.equal(skip, r.type === "kubernetes:core/v1:Service" ? "true" : undefined, `${r.type} ${r.name}: only Services skip the await`);
        }
        assert.deepEqual(p.all("kubernetes:core/v1:Service").map((r) => r.inputs.metadata.name).sort(), ["backend", "frontend", "postgres", "postgres-headless", "redis"]);
        for (const r of p.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
            assert.equal(r.inputs.metadata, undefined, `${r.name}: a Release has no metadata`);
        }
        const ingress = p.get("kubernetes:networking.k8s.io/v1:Ingress", "ingress").inputs.metadata.annotations;
        assert.equal(ingress["cert-manager.io/cluster-issuer"], "letsencrypt-prod", "existing annotations are kept");
    });

    it("applies to Kubernetes objects only", () => {
        assert.equal(ownsFields("kubernetes:apps/v1:Deployment"), true);
        assert.equal(ownsFields("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"), true);
        assert.equal(ownsFields("kubernetes:helm.sh/v3:Release"), false);
        assert.equal(ownsFields("pulumi:providers:kubernetes"), false);
        assert.equal(ownsFields("random:index/randomPassword:RandomPassword"), false);
    });

    it("keeps names known and eventual annotations eventual", async () => {
        const plain = withOwnedAnnotations({ metadata: { name: "web", annotations: { a: "1" } }, spec: { x: 1 } });
        assert.deepEqual(plain, { metadata: { name: "web", annotations: { a: "1", [PATCH_FORCE_ANNOTATION]: "true" } }, spec: { x: 1 } });
        const eventual = withOwnedAnnotations({ metadata: { name: "db", annotations: pulumi.secret({ b: "2" }) } });
        assert.equal(eventual.metadata.name, "db");
        assert.deepEqual(await valueOf(eventual.metadata.annotations), { b: "2", [PATCH_FORCE_ANNOTATION]: "true" });
        const none = withOwnedAnnotations({ metadata: pulumi.output({ name: "ns" }) });
        assert.deepEqual(await valueOf(none.metadata), { name: "ns", annotations: { [PATCH_FORCE_ANNOTATION]: "true" } });
    });
});

describe("cluster provider", () => {
    it("updates changed Secrets and ConfigMaps in place, on the configured cluster", async () => {
        const c = stackConfig("dev");
        c.cluster = { kubeconfig: "/etc/platform/kubeconfig", context: "dev-admin" };
        const p = await runProgram("dev", c);
        assert.deepEqual(p.get("pulumi:providers:kubernetes", "cluster").inputs, {
            kubeconfig: "/etc/platform/kubeconfig",
            context: "dev-admin",
            enableSecretMutable: "true",
            enableConfigMapMutable: "true",
        });
    });
});
