// The program's objects against a live API server (the local control plane, kwok nodes): every
// object of the dev and prod stacks, rendered by the program, is applied with server-side apply and
// must be admitted, with the namespace enforcing Pod Security `restricted`; workloads become ready;
// a second apply changes nothing. This stands in for `pulumi up` while the Pulumi Kubernetes
// provider cannot be built on these machines (README: "Live runs"): it proves the manifests, not
// the engine.
//
// Needs KUBECONFIG for the local cluster and kubectl on PATH (.ci/e2e and `npm run test:e2e` set
// them up from toolchain/cluster.sh).

import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { manifest, renderStack } from "../../scripts/render";
import { ROOT } from "./workspace";

function kubectl(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("kubectl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    if (r.error) {
        throw new Error(`kubectl: ${r.error.message}`);
    }
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string): string {
    const r = kubectl(args, input);
    assert.equal(r.status, 0, `kubectl ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

const STACKS = { dev: "kaizen-studio-dev", prod: "kaizen-studio" } as const;

describe("objects against a live API server", function () {
    this.timeout(600_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-apply-"));
    const files: Record<string, string> = {};

    before(async function () {
        if (!process.env.KUBECONFIG || kubectl(["get", "--raw", "/readyz"]).status !== 0) {
            throw new Error("no local cluster: run 'npm run cluster:up' and 'eval \"$(bash toolchain/cluster.sh env)\"' first");
        }
        ok(["apply", "--server-side", "-f", path.join(ROOT, "tests", "fixtures", "crds")]);
        ok(["wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com",
            "crd/prometheusrules.monitoring.coreos.com", "crd/clusterissuers.cert-manager.io"]);
        for (const stack of Object.keys(STACKS)) {
            files[stack] = path.join(dir, `${stack}.yaml`);
            fs.writeFileSync(files[stack], manifest((await renderStack(stack)).objects));
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const [stack, ns] of Object.entries(STACKS)) {
        describe(`stack ${stack}`, () => {
            it("is admitted in full by server-side apply", () => {
                const out = ok(["apply", "--server-side", "--field-manager=platform-e2e", "-f", files[stack]]);
                assert.doesNotMatch(out, /Warning|violate/i);
            });

            it("enforces Pod Security restricted in the namespace", () => {
                const labels = JSON.parse(ok(["get", "namespace", ns, "-o", "json"])).metadata.labels;
                assert.equal(labels["pod-security.kubernetes.io/enforce"], "restricted");
                const bad = kubectl(["run", "psa-probe", "-n", ns, "--image=busybox:1.36.1", "--restart=Never",
                    "--overrides", JSON.stringify({ spec: { containers: [{ name: "psa-probe", image: "busybox:1.36.1", securityContext: { privileged: true } }] } })]);
                assert.notEqual(bad.status, 0, "a privileged pod must be refused");
                assert.match(bad.stderr, /violates PodSecurity "restricted:latest"/);
            });

            it("brings every workload to ready, with every pod admitted", () => {
                for (const d of ["frontend", "backend", "redis"]) {
                    ok(["rollout", "status", `deployment/${d}`, "-n", ns, "--timeout=180s"]);
                }
                ok(["rollout", "status", "statefulset/postgres", "-n", ns, "--timeout=180s"]);
                const pvc = JSON.parse(ok(["get", "pvc", "data-postgres-0", "-n", ns, "-o", "json"]));
                assert.equal(pvc.status.phase, "Bound");
                assert.equal(pvc.spec.resources.requests.storage, stack === "prod" ? "100Gi" : "50Gi");
                const events = ok(["get", "events", "-n", ns, "--field-selector", "reason=FailedCreate", "-o", "name"]);
                assert.equal(events.trim(), "", "no pod was refused");
            });

            it("has the NetworkPolicies the program declared", () => {
                const names = JSON.parse(ok(["get", "networkpolicy", "-n", ns, "-o", "json"])).items.map((i: { metadata: { name: string } }) => i.metadata.name).sort();
                assert.deepEqual(names, ["allow-dns-egress", "backend", "default-deny-all", "frontend", "postgres", "redis"]);
            });

            it("is idempotent: a second apply is a no-op", () => {
                const diff = kubectl(["diff", "--server-side", "--field-manager=platform-e2e", "-f", files[stack]]);
                assert.equal(diff.status, 0, `kubectl diff found changes:\n${diff.stdout}`);
            });
        });
    }
});
