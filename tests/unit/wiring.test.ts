// Wiring of every committed stack, from one evaluation each: every Kubernetes object belongs to a
// component of the program (never to the stack directly) and goes through the stack's one
// `cluster` provider, never the ambient default provider.

import * as assert from "assert/strict";
import { FAKE_SECRETS, Program, Recorded, runCommittedStack, runOnce, runProgram, stackConfig } from "./harness";

const PROVIDER = "pulumi:providers:kubernetes";

function parentOf(p: Program, r: Recorded): Recorded | undefined {
    return p.resources.find((c) => c.resource !== undefined && c.resource === r.opts.parent);
}

/** prod with a migration Job, whose objects are not in any committed stack. */
function prodWithMigration(): Promise<Program> {
    const c = stackConfig("prod");
    (c.services as Record<string, Record<string, unknown>>).backend.migration = { command: ["alembic", "upgrade", "head"] };
    return runOnce("prod", c, FAKE_SECRETS);
}

for (const [label, stack, run] of [
    ...["dev", "staging", "prod"].map((s) => [`stack ${s}`, s, () => runCommittedStack(s)] as const),
    ["prod with a migration Job", "prod", prodWithMigration] as const,
]) {
    describe(`wiring of ${label}`, () => {
        let p: Program;
        before(async () => {
            p = await run();
        });

        it("gives every Kubernetes object a component of the program as parent", () => {
            const objects = p.resources.filter((r) => r.type.startsWith("kubernetes:"));
            assert.ok(objects.length > 30, `only ${objects.length} objects`);
            const orphans = objects.filter((r) => !parentOf(p, r)?.type.startsWith("platform:")).map((r) => `${r.type} ${r.name} (parent ${parentOf(p, r)?.type ?? "none"})`);
            assert.deepEqual(orphans, []);
        });

        it("sends every Kubernetes object through the stack's cluster provider", () => {
            const providers = p.all(PROVIDER);
            assert.deepEqual(providers.map((r) => r.name), ["cluster"]);
            const elsewhere = p.resources.filter((r) => r.type.startsWith("kubernetes:"))
                .filter((r) => !r.provider?.startsWith(`urn:pulumi:${stack}::platform::pulumi:pulumi:Stack$${PROVIDER}::cluster::`))
                .map((r) => `${r.type} ${r.name}: ${r.provider ?? "default provider"}`);
            assert.deepEqual(elsewhere, []);
        });

        it("nests the components as designed: app tier under App, add-ons under ClusterAddons", () => {
            const typeOfParent = (type: string, name: string) => parentOf(p, p.get(type, name))?.type;
            assert.equal(typeOfParent("platform:app:Postgres", "postgres"), "platform:app:App");
            assert.equal(typeOfParent("platform:app:WebService", "backend"), "platform:app:App");
            assert.equal(typeOfParent("kubernetes:apps/v1:StatefulSet", "postgres"), "platform:app:Postgres");
            assert.equal(typeOfParent("kubernetes:networking.k8s.io/v1:Ingress", "ingress"), "platform:app:AppIngress");
            if (stack === "prod") {
                assert.equal(typeOfParent("platform:app:PostgresBackup", "postgres-backup"), "platform:app:App");
                for (const [type, name] of [["batch/v1:CronJob", "postgres-backup"], ["core/v1:PersistentVolumeClaim", "postgres-backups"], ["networking.k8s.io/v1:NetworkPolicy", "postgres-backup"]]) {
                    assert.equal(typeOfParent(`kubernetes:${type}`, name), "platform:app:PostgresBackup", name);
                }
            }
            for (const release of p.all("kubernetes:helm.sh/v3:Release")) {
                assert.equal(parentOf(p, release)?.type, "platform:cluster:ClusterAddons", release.name);
            }
            for (const type of ["kubernetes:batch/v1:Job", "kubernetes:networking.k8s.io/v1:NetworkPolicy"]) {
                const migration = p.find(type, "backend-migration");
                assert.equal(migration === undefined, label !== "prod with a migration Job", type);
                if (migration) {
                    assert.equal(parentOf(p, migration)?.resource, p.get("platform:app:WebService", "backend").resource, type);
                }
            }
        });
    });
}

describe("wiring of a service's Role and RoleBinding", () => {
    it("gives them the service's component as parent and the stack's cluster provider", async () => {
        const c = stackConfig("dev");
        c.network = { apiServerCidrs: ["10.96.0.1/32"] };
        (c.services as Record<string, Record<string, unknown>>).backend.rbac = [{ resources: ["configmaps"], verbs: ["get"] }];
        const p = await runProgram("dev", c);
        const service = p.get("platform:app:WebService", "backend");
        for (const type of ["kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]) {
            const r = p.get(type, "backend");
            assert.equal(parentOf(p, r), service, type);
            assert.ok(r.provider?.startsWith(`urn:pulumi:dev::platform::pulumi:pulumi:Stack$${PROVIDER}::cluster::`), `${type}: ${r.provider ?? "default provider"}`);
        }
    });
});
