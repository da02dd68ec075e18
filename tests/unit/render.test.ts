// The render command: every stack renders to parseable Kubernetes YAML with the expected kinds and
// counts, Secrets redacted, and it refuses to write inside the repository.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { REDACTED, main, redact } from "../../scripts/render";
import { FAKE_SECRETS, runCommittedStack } from "./harness";

function kindsIn(dir: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const f of fs.readdirSync(dir)) {
        const o = parse(fs.readFileSync(path.join(dir, f), "utf8"));
        assert.equal(typeof o.apiVersion, "string", f);
        assert.equal(typeof o.metadata.name, "string", f);
        counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    }
    return counts;
}

const EXPECTED_KINDS = {
    Namespace: 2, Secret: 5, ResourceQuota: 1, LimitRange: 1, NetworkPolicy: 9, ConfigMap: 5, Service: 5,
    PersistentVolumeClaim: 1, ServiceAccount: 2, PodDisruptionBudget: 2, PrometheusRule: 1, ServiceMonitor: 3,
    Deployment: 3, StatefulSet: 1, ClusterIssuer: 2, Ingress: 1, HorizontalPodAutoscaler: 1,
};

describe("render command", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-test-"));
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    for (const stack of ["dev", "staging", "prod"]) {
        it(`renders ${stack} as Kubernetes YAML with the expected kinds and counts, Secrets redacted`, async () => {
            assert.equal(await main(["--stack", stack, "--out", out]), 0);
            const objects = path.join(out, stack, "objects");
            // Dev has no PDBs; only prod routes alerts (the Alertmanager config Secret) and backs up PostgreSQL.
            const want = {
                ...EXPECTED_KINDS,
                ...(stack === "dev" ? { PodDisruptionBudget: 0 } : {}),
                ...(stack === "prod" ? { CronJob: 1, NetworkPolicy: 10, PersistentVolumeClaim: 2 } : { Secret: 4 }),
            };
            assert.deepEqual(kindsIn(objects), Object.fromEntries(Object.entries(want).filter(([, n]) => n > 0)));
            for (const f of fs.readdirSync(objects).filter((n) => n.includes("-secret-"))) {
                const s = parse(fs.readFileSync(path.join(objects, f), "utf8"));
                assert.ok(Object.values(s.stringData).every((v) => v === REDACTED), f);
            }
            const releases = fs.readdirSync(path.join(out, stack, "releases")).sort();
            assert.deepEqual(releases, ["cert-manager.yaml", "ingress-nginx.yaml", "kube-prometheus-stack.yaml", "metrics-server.yaml"]);
        });
    }

    it("writes YAML that YAML 1.1 parsers (kubectl) read back as the same strings", async () => {
        const file = fs.readdirSync(path.join(out, "dev", "objects")).find((f) => f.endsWith("deployment-kaizen-studio-dev-redis.yaml"));
        assert.ok(file);
        const redis = parse(fs.readFileSync(path.join(out, "dev", "objects", file), "utf8"), { version: "1.1" });
        assert.deepEqual(redis.spec.template.spec.containers[0].args.slice(0, 2), ["--appendonly", "yes"]);
    });

    it("redacts every value the program marks secret", async () => {
        const p = await runCommittedStack("prod");
        const text = JSON.stringify(p.resources.map((r) => redact(r.inputs)));
        for (const v of Object.values(FAKE_SECRETS)) {
            assert.equal(text.includes(v), false);
        }
        assert.ok(text.includes(REDACTED));
    });

    it("refuses to write inside the repository unless told to", async () => {
        const inside = path.join(__dirname, "..", "..", "rendered-test");
        assert.equal(await main(["--stack", "dev", "--out", inside]), 2);
        assert.equal(fs.existsSync(inside), false);
    });
});
