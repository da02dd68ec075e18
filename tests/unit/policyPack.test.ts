// The policy pack as the Pulumi engine runs it: policy/index.ts started as its own process (the
// CrossGuard analyzer gRPC server of @pulumi/policy), then called over gRPC with the engine's
// requests: its policies are mandatory, a compliant stack passes, and bad resources are rejected
// with the rule's message.

import * as assert from "assert/strict";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { K8sObject, OBJECT_RULES, STACK_RULES } from "../../policy/rules";
import { renderConfig } from "../../scripts/render";
import { ROOT, renderCommittedStack, stackConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;

function typeOf(o: K8sObject): string {
    const [group, version] = String(o.apiVersion).includes("/") ? String(o.apiVersion).split("/") : ["core", o.apiVersion];
    return `kubernetes:${group}/${version}:${o.kind}`;
}

function call<T>(client: Client, method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

function analyzeRequest(o: K8sObject): analyzerpb.AnalyzeRequest {
    const req = new analyzerpb.AnalyzeRequest();
    req.setType(typeOf(o));
    req.setName(String(o.metadata.name));
    req.setUrn(`urn:pulumi:prod::platform::${typeOf(o)}::${o.metadata.name}`);
    req.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(o))));
    // The engine always sends options; the runtime refuses resources without them.
    req.setOptions(new analyzerpb.AnalyzerResourceOptions());
    return req;
}

function stackRequest(objs: K8sObject[]): analyzerpb.AnalyzeStackRequest {
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList(objs.map((o) => {
        const r = new analyzerpb.AnalyzerResource();
        const a = analyzeRequest(o);
        r.setType(a.getType());
        r.setName(a.getName());
        r.setUrn(`${a.getUrn()}-${o.metadata.namespace ?? ""}`);
        r.setProperties(a.getProperties());
        r.setOptions(a.getOptions());
        return r;
    }));
    return req;
}

/** The engine's diagnostic is the policy's description, then the violation on the next line. */
function detail(message: string): string {
    return message.split("\n").slice(1).join("\n").trim();
}

function messages(res: analyzerpb.AnalyzeResponse): [string, string, number][] {
    return res.getDiagnosticsList().map((d) => [d.getPolicyname(), d.getMessage(), d.getEnforcementlevel()]);
}

describe("policy pack served by the CrossGuard runtime", function () {
    this.timeout(60_000);
    let pack: ChildProcess;
    let client: Client;
    let prod: K8sObject[];

    before(async () => {
        prod = (await renderCommittedStack("prod")).objects as K8sObject[];
        pack = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "policy", "index.ts")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
        const port = await new Promise<string>((resolve, reject) => {
            pack.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
            pack.once("exit", (code) => reject(new Error(`policy pack exited ${code}`)));
        });
        const Ctor = grpc.makeGenericClientConstructor(analyzerrpc.AnalyzerService as unknown as grpc.ServiceDefinition, "Analyzer");
        client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        pack?.kill();
    });

    it("declares every rule as a mandatory policy", async () => {
        const info = await call<analyzerpb.AnalyzerInfo>(client, "getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), "platform-checklist");
        const policies = info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]);
        assert.deepEqual(policies.map((p) => p[0]).sort(), [...OBJECT_RULES, ...STACK_RULES].map((r) => r.name).sort());
        assert.ok(policies.every((p) => p[1] === analyzerpb.EnforcementLevel.MANDATORY));
    });

    it("passes every resource and the whole prod stack", async () => {
        for (const o of prod) {
            assert.deepEqual(messages(await call(client, "analyze", analyzeRequest(o))), [], `${o.kind} ${o.metadata.name}`);
        }
        assert.deepEqual(messages(await call(client, "analyzeStack", stackRequest(prod))), []);
    });

    it("passes a migration Job, its NetworkPolicy, and the whole prod stack with them", async () => {
        const c = stackConfig("prod");
        (c.services as Record<string, Record<string, unknown>>).backend.migration = { command: ["alembic", "upgrade", "head"] };
        const objs = (await renderConfig("prod", c)).objects as K8sObject[];
        const added = objs.filter((o) => o.kind === "Job" || o.metadata.name === "backend-migration");
        assert.deepEqual(added.map((o) => o.kind).sort(), ["Job", "NetworkPolicy"]);
        for (const o of added) {
            assert.deepEqual(messages(await call(client, "analyze", analyzeRequest(o))), [], `${o.kind} ${o.metadata.name}`);
        }
        assert.deepEqual(messages(await call(client, "analyzeStack", stackRequest(objs))), []);
    });

    it("rejects a privileged, root, unpinned container with each rule's message", async () => {
        const bad = JSON.parse(JSON.stringify(prod.find((o) => o.kind === "Deployment" && o.metadata.name === "backend")));
        const c = bad.spec.template.spec.containers[0];
        c.image = "registry.yourdomain.com/kaizen-studio-backend:latest";
        c.securityContext = { privileged: true, allowPrivilegeEscalation: true };
        delete bad.spec.template.spec.securityContext;
        const got = messages(await call(client, "analyze", analyzeRequest(bad)));
        const where = "Deployment kaizen-studio/backend container 'backend'";
        assert.deepEqual(got.map((m) => [m[0], detail(m[1])]).sort(), [
            ["drop-all-capabilities", `${where}: set securityContext.capabilities.drop: [ALL] and add none`],
            ["no-privilege-escalation", `${where}: set securityContext.allowPrivilegeEscalation: false (and never privileged: true)`],
            ["pinned-images", `${where}: pin image 'registry.yourdomain.com/kaizen-studio-backend:latest' to a version tag or digest (not 'latest', not untagged)`],
            ["read-only-root-filesystem", `${where}: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes`],
            ["run-as-non-root", `${where}: set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser`],
            ["seccomp-runtime-default", `${where}: set securityContext.seccompProfile.type: RuntimeDefault (pod or container)`],
        ]);
        assert.ok(got.every((m) => m[2] === analyzerpb.EnforcementLevel.MANDATORY));
    });

    it("passes a pod that mounts its token when a Role of the stack is bound to its ServiceAccount, and rejects it without the binding", async () => {
        const c = stackConfig("dev");
        c.network = { apiServerCidrs: ["10.96.0.1/32"] };
        (c.services as Record<string, Record<string, unknown>>).backend.rbac = [{ resources: ["configmaps"], verbs: ["get"] }];
        const objs = (await renderConfig("dev", c)).objects as K8sObject[];
        assert.deepEqual(messages(await call(client, "analyzeStack", stackRequest(objs))), []);
        const unbound = objs.filter((o) => o.kind !== "RoleBinding");
        const got = messages(await call(client, "analyzeStack", stackRequest(unbound)));
        assert.deepEqual(got.map((m) => [m[0], detail(m[1])]), [[
            "no-service-account-token",
            "Deployment kaizen-studio-dev/backend: set automountServiceAccountToken: false on the pod template (a pod mounts its token only when a Role of the stack is bound to its ServiceAccount: services.<name>.rbac)",
        ]]);
    });

    it("rejects a stack whose replicated workload has no PodDisruptionBudget", async () => {
        const objs = prod.filter((o) => !(o.kind === "PodDisruptionBudget" && o.metadata.name === "backend"));
        const got = messages(await call(client, "analyzeStack", stackRequest(objs)));
        assert.deepEqual(got.map((m) => [m[0], detail(m[1])]), [[
            "pdb-for-replicated-workloads",
            "Deployment kaizen-studio/backend runs 3 replicas: add a PodDisruptionBudget selecting its pods (e.g. services.<name>.pdbMinAvailable)",
        ]]);
    });
});
