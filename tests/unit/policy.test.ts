// The policy pack's rules: every committed stack passes; each rule rejects a deliberately bad
// resource (fixture) with its own message, and only that rule fires.

import * as assert from "assert/strict";
import { K8sObject, OBJECT_RULES, STACK_RULES, violations } from "../../policy/rules";
import { Rendered, renderConfig } from "../../scripts/render";
import { renderCommittedStack, runProgram, stackConfig } from "./harness";

type Mutate = (objs: K8sObject[]) => K8sObject[];

function find(objs: K8sObject[], kind: string, name: string): K8sObject {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o, `${kind} ${name}`);
    return o;
}
const backendPod = (objs: K8sObject[]) => find(objs, "Deployment", "backend").spec.template.spec;
const backend = (objs: K8sObject[]) => backendPod(objs).containers[0];
const without = (kind: string, name: string): Mutate => (objs) => objs.filter((o) => !(o.kind === kind && o.metadata.name === name));
const edit = (fn: (objs: K8sObject[]) => void): Mutate => (objs) => { fn(objs); return objs; };

const FIXTURES: { rule: string; mutate: Mutate; message: string }[] = [
    {
        rule: "run-as-non-root",
        mutate: edit((o) => { backendPod(o).securityContext.runAsNonRoot = false; delete backend(o).securityContext.runAsNonRoot; }),
        message: "run-as-non-root: Deployment kaizen-studio/backend container 'backend': set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser",
    },
    {
        rule: "no-privilege-escalation",
        mutate: edit((o) => { backend(o).securityContext.allowPrivilegeEscalation = true; }),
        message: "no-privilege-escalation: Deployment kaizen-studio/backend container 'backend': set securityContext.allowPrivilegeEscalation: false (and never privileged: true)",
    },
    {
        rule: "drop-all-capabilities",
        mutate: edit((o) => { backend(o).securityContext.capabilities = { drop: ["NET_RAW"] }; }),
        message: "drop-all-capabilities: Deployment kaizen-studio/backend container 'backend': set securityContext.capabilities.drop: [ALL] and add none",
    },
    {
        rule: "read-only-root-filesystem",
        mutate: edit((o) => { backend(o).securityContext.readOnlyRootFilesystem = false; }),
        message: "read-only-root-filesystem: Deployment kaizen-studio/backend container 'backend': set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes",
    },
    {
        rule: "seccomp-runtime-default",
        mutate: edit((o) => { delete backendPod(o).securityContext.seccompProfile; delete backend(o).securityContext.seccompProfile; }),
        message: "seccomp-runtime-default: Deployment kaizen-studio/backend container 'backend': set securityContext.seccompProfile.type: RuntimeDefault (pod or container)",
    },
    {
        rule: "resource-limits",
        mutate: edit((o) => { delete backend(o).resources.limits; }),
        message: "resource-limits: Deployment kaizen-studio/backend container 'backend': set resources limits.cpu, limits.memory",
    },
    {
        rule: "health-probes",
        mutate: edit((o) => { delete backend(o).readinessProbe; }),
        message: "health-probes: Deployment kaizen-studio/backend container 'backend': add a livenessProbe and a readinessProbe",
    },
    {
        rule: "pinned-images",
        mutate: edit((o) => { backend(o).image = "registry.yourdomain.com/kaizen-studio-backend:latest"; }),
        message: "pinned-images: Deployment kaizen-studio/backend container 'backend': pin image 'registry.yourdomain.com/kaizen-studio-backend:latest' to a version tag or digest (not 'latest', not untagged)",
    },
    {
        rule: "no-service-account-token",
        mutate: edit((o) => { backendPod(o).automountServiceAccountToken = true; }),
        message: "no-service-account-token: Deployment kaizen-studio/backend: set automountServiceAccountToken: false on the pod template (a pod mounts its token only when a Role of the stack is bound to its ServiceAccount: services.<name>.rbac)",
    },
    {
        rule: "ingress-tls",
        mutate: edit((o) => { find(o, "Ingress", "kaizen-studio").spec.tls = []; }),
        message: "ingress-tls: Ingress kaizen-studio/kaizen-studio: add spec.tls entries (with a secretName) covering every rule host: studio.yourdomain.com",
    },
    {
        rule: "pdb-for-replicated-workloads",
        mutate: without("PodDisruptionBudget", "backend"),
        message: "pdb-for-replicated-workloads: Deployment kaizen-studio/backend runs 3 replicas: add a PodDisruptionBudget selecting its pods (e.g. services.<name>.pdbMinAvailable)",
    },
    {
        rule: "default-deny-network-policy",
        mutate: without("NetworkPolicy", "default-deny-all"),
        message: "default-deny-network-policy: namespace kaizen-studio: add a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress], no rules)",
    },
    {
        rule: "workload-network-policy",
        mutate: without("NetworkPolicy", "backend"),
        message: "workload-network-policy: Deployment kaizen-studio/backend: add a NetworkPolicy selecting its pods that allows only its clients",
    },
];

describe("policy pack rules", () => {
    let prod: K8sObject[];
    before(async () => {
        prod = (await renderCommittedStack("prod")).objects as K8sObject[];
    });

    for (const stack of ["dev", "staging", "prod"]) {
        it(`passes on the committed ${stack} stack`, async () => {
            assert.deepEqual(violations((await renderCommittedStack(stack)).objects as K8sObject[]), []);
        });
    }

    it("has a fixture for every rule", () => {
        assert.deepEqual(FIXTURES.map((f) => f.rule).sort(), [...OBJECT_RULES, ...STACK_RULES].map((r) => r.name).sort());
    });

    for (const f of FIXTURES) {
        it(`rejects a fixture that breaks ${f.rule}`, () => {
            const objs = f.mutate(JSON.parse(JSON.stringify(prod)));
            assert.deepEqual(violations(objs), [f.message]);
        });
    }

    describe("a pod's service account token", () => {
        const TOKEN = (w: string) => `no-service-account-token: Deployment kaizen-studio-dev/${w}: set automountServiceAccountToken: false on the pod template (a pod mounts its token only when a Role of the stack is bound to its ServiceAccount: services.<name>.rbac)`;
        let withRole: K8sObject[];
        before(async () => {
            const c = stackConfig("dev");
            c.network = { apiServerCidrs: ["10.96.0.1/32"] };
            (c.services as Record<string, Record<string, unknown>>).backend.rbac = [{ resources: ["configmaps"], verbs: ["get", "list", "watch"] }];
            withRole = (await runProgram("dev", c)).resources.filter((r) => r.inputs?.kind).map((r) => r.inputs);
        });
        const binding = (objs: K8sObject[]) => find(objs, "RoleBinding", "backend");

        it("is allowed where a Role of the stack is bound to the pod's ServiceAccount (services.<name>.rbac)", () => {
            assert.equal(backendPod(withRole).automountServiceAccountToken, true);
            assert.deepEqual(violations(withRole), []);
        });

        for (const [what, mutate] of [
            ["without the RoleBinding", without("RoleBinding", "backend")],
            ["when the binding names another ServiceAccount", edit((o) => { binding(o).subjects[0].name = "frontend"; })],
            ["when the binding's ServiceAccount is in another namespace", edit((o) => { binding(o).subjects[0].namespace = "kube-system"; })],
            ["when the binding refers to a ClusterRole", edit((o) => { binding(o).roleRef.kind = "ClusterRole"; })],
            ["when the bound Role is not in the stack", without("Role", "backend")],
            ["when the bound Role grants nothing", edit((o) => { find(o, "Role", "backend").rules = []; })],
        ] as const) {
            it(`is refused ${what}`, () => {
                assert.deepEqual(violations(mutate(JSON.parse(JSON.stringify(withRole)))), [TOKEN("backend")]);
            });
        }

        it("is refused for a pod whose ServiceAccount no Role is bound to, in the same stack", () => {
            const objs = edit((o) => { find(o, "Deployment", "frontend").spec.template.spec.automountServiceAccountToken = true; })(JSON.parse(JSON.stringify(withRole)));
            assert.deepEqual(violations(objs), [TOKEN("frontend")]);
        });
    });

    describe("with a migration", () => {
        const rendered = new Map<string, Promise<Rendered>>();
        // A fresh copy of the render per test (tests edit objects), one evaluation per mode.
        const prodMigrating = async (mode: string) => {
            if (!rendered.has(mode)) {
                const c = stackConfig("prod");
                (c.services as Record<string, Record<string, unknown>>).backend.migration = { command: ["alembic", "upgrade", "head"], mode };
                rendered.set(mode, renderConfig("prod", c));
            }
            return structuredClone((await rendered.get(mode) as Rendered).objects) as K8sObject[];
        };

        it("passes with a migration Job and with a migration init container", async () => {
            for (const mode of ["job", "initContainer"]) {
                assert.deepEqual(violations(await prodMigrating(mode)), [], mode);
            }
        });

        it("holds the Job to every rule but the probes of long-running containers, and to its own NetworkPolicy", async () => {
            const objs = await prodMigrating("job");
            const job = objs.find((o) => o.kind === "Job") as K8sObject;
            const c = job.spec.template.spec.containers[0];
            assert.equal(c.livenessProbe ?? c.readinessProbe, undefined, "a Job's container runs to completion: no probes");
            c.securityContext.readOnlyRootFilesystem = false;
            const where = `Job kaizen-studio/${job.metadata.name}`;
            assert.deepEqual(violations(objs.filter((o) => !(o.kind === "NetworkPolicy" && o.metadata.name === "backend-migration"))), [
                `read-only-root-filesystem: ${where} container 'backend-migration': set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes`,
                `workload-network-policy: ${where}: add a NetworkPolicy selecting its pods that allows only its clients`,
            ]);
            // The backend's policy would not do: it selects the backend's pods, not the Job's.
            assert.equal(job.spec.template.metadata.labels["app.kubernetes.io/component"], "backend-migration");
        });
    });

    describe("the backup CronJob (prod)", () => {
        const backupPod = (objs: K8sObject[]) => find(objs, "CronJob", "postgres-backup").spec.jobTemplate.spec.template.spec;

        it("passes without probes: its pods run to completion", () => {
            assert.equal("livenessProbe" in backupPod(prod).containers[0], false);
            assert.deepEqual(violations(prod).filter((v) => v.includes("CronJob")), []);
        });

        it("is held to the container rules and to its own NetworkPolicy, through its job template", () => {
            const root = edit((o) => { backupPod(o).securityContext.runAsNonRoot = false; delete backupPod(o).containers[0].securityContext.runAsNonRoot; });
            assert.deepEqual(violations(root(JSON.parse(JSON.stringify(prod)))), [
                "run-as-non-root: CronJob kaizen-studio/postgres-backup container 'backup': set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser",
            ]);
            assert.deepEqual(violations(without("NetworkPolicy", "postgres-backup")(JSON.parse(JSON.stringify(prod)))), [
                "workload-network-policy: CronJob kaizen-studio/postgres-backup: add a NetworkPolicy selecting its pods that allows only its clients",
            ]);
        });
    });

    it("catches a bad stack config that config validation allows in dev (an unpinned image)", async () => {
        const c = stackConfig("dev");
        (c.services as Record<string, { image: string }>).frontend.image = "registry.yourdomain.com/kaizen-studio-web";
        const p = await runProgram("dev", c);
        const objs = p.resources.filter((r) => r.inputs?.kind).map((r) => r.inputs);
        assert.deepEqual(violations(objs), [
            "pinned-images: Deployment kaizen-studio-dev/frontend container 'frontend': pin image 'registry.yourdomain.com/kaizen-studio-web' to a version tag or digest (not 'latest', not untagged)",
        ]);
    });
});
