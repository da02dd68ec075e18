// The example stacks of the other seed systems (stacks/examples/), each brought up on the local
// cluster by the real CLI and provider exactly as a user's stack would be: preview, up with every
// workload ready, a clean second preview, destroy. Add-ons come from the stand-in charts (live.ts).

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { LiveWorkspace, createLiveWorkspace, everyWorkloadReady, kubectlJson, kubectlOk, removeLeftovers } from "./live";
import { ROOT } from "./workspace";

const EXAMPLES = fs.readdirSync(path.join(ROOT, "stacks", "examples")).filter((f) => f.endsWith(".yaml")).map((f) => f.replace(/\.yaml$/, "")).sort();

/** What each example must run once up, by the seed (kind/name in its namespace). */
const EXPECTED: Record<string, { namespace: string; workloads: string[]; hpas: Record<string, [number, number]>; claims: string[] }> = {
    "ai-imutis": {
        namespace: "ai-imutis",
        workloads: ["deployment.apps/api", "deployment.apps/redis", "statefulset.apps/postgres"],
        hpas: { api: [3, 10] },
        claims: ["data-postgres-0", "postgres-backups", "redis-data"],
    },
    "disney-ai-plus": {
        namespace: "disney-ai-plus",
        workloads: ["deployment.apps/api", "deployment.apps/web", "statefulset.apps/postgres"],
        hpas: { api: [3, 20], web: [3, 20] },
        claims: ["data-postgres-0", "postgres-backups"],
    },
};

describe("live: the example stacks of the other seed systems", function () {
    this.timeout(900_000);
    let ws: LiveWorkspace;
    before(() => { ws = createLiveWorkspace(); });
    after(() => ws?.dispose());

    it("covers every example file", () => {
        assert.deepEqual(EXAMPLES, Object.keys(EXPECTED).sort());
    });

    for (const name of EXAMPLES) {
        describe(name, () => {
            const expected = EXPECTED[name];
            after(() => {
                ws.pulumi(["state", "unprotect", "--all", "--yes", "--stack", name], { ok: false });
                ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", name], { ok: false });
                removeLeftovers([expected.namespace]);
            });

            it("previews and comes up with every workload ready, the HPAs at the seed's ranges", () => {
                ws.initStack(name, `stacks/examples/${name}.yaml`);
                ws.pulumi(["preview", "--stack", name]);
                ws.pulumi(["up", "--yes", "--skip-preview", "--stack", name]);
                assert.deepEqual(everyWorkloadReady(expected.namespace), expected.workloads);
                const hpas = kubectlJson(["get", "hpa", "-n", expected.namespace]).items as { metadata: { name: string }; spec: { minReplicas: number; maxReplicas: number } }[];
                assert.deepEqual(Object.fromEntries(hpas.map((h) => [h.metadata.name, [h.spec.minReplicas, h.spec.maxReplicas]])), expected.hpas);
                const releases = kubectlOk(["get", "secrets", "-A", "-l", "owner=helm,status=deployed", "-o", "jsonpath={range .items[*]}{.metadata.labels.name} {end}"]).trim().split(" ").sort();
                const addons = Object.entries((parse(fs.readFileSync(path.join(ROOT, "stacks", "examples", `${name}.yaml`), "utf8")).config["platform:addons"] ?? {}) as Record<string, { enabled?: boolean }>)
                    .filter(([, a]) => a.enabled).length;
                assert.equal(releases.length, addons, releases.join(" "));
            });

            it("previews no change right after up (--expect-no-changes)", () => {
                ws.pulumi(["preview", "--expect-no-changes", "--stack", name]);
            });

            it("is destroyed after an explicit unprotect, keeping only its data claims", () => {
                ws.pulumi(["state", "unprotect", "--all", "--yes", "--stack", name]);
                ws.pulumi(["destroy", "--yes", "--skip-preview", "--stack", name]);
                const left = kubectlOk(["get", "all,configmaps,secrets,networkpolicies,ingresses,pvc", "-n", expected.namespace, "-o", "name"]).split("\n")
                    .filter((l) => l && !l.startsWith("configmap/kube-root-ca.crt")).sort();
                assert.deepEqual(left, expected.claims.map((c) => `persistentvolumeclaim/${c}`));
            });
        });
    }
});
