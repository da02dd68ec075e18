// Who may reach whom, checked without trusting the program's own graph: every committed stack is
// rendered, and an independent NetworkPolicy evaluator (tests/support/networkPolicyEvaluator.ts,
// tested on the Kubernetes documentation's examples) computes every allowed connection between the
// app's pods and the pods and addresses around them. The result must equal, line for line, the
// reachability list in the README, and nothing else may be reachable.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Obj, reachability } from "../support/reachability";
import { ROOT, renderCommittedStack } from "./harness";

/** The README's reachability list: the lines of the fenced block after the marker. */
export function readmeReachability(): string[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const block = /<!-- reachability -->\s*```text\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, "README.md has a reachability block");
    return block[1].split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).sort();
}

describe("reachability (independent NetworkPolicy evaluator vs the README)", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: every allowed connection is in the README's list, and every listed one is allowed`, async () => {
            const { objects } = await renderCommittedStack(stack);
            assert.deepEqual(reachability(objects as unknown as Obj[]), readmeReachability());
        });
    }

    it("would notice a policy that lets more through", async () => {
        const { objects } = await renderCommittedStack("dev");
        // The frontend's policy opened to all egress: it could reach the cloud metadata endpoint.
        const loosened = (objects as unknown as Obj[]).map((o) => o.kind === "NetworkPolicy" && o.metadata.name === "frontend"
            ? { ...o, spec: { ...o.spec, egress: [{}] } } : o);
        const extra = reachability(loosened).filter((l) => !readmeReachability().includes(l));
        assert.ok(extra.includes("frontend -> cloud-metadata:80/TCP"), extra.join("\n"));
        assert.equal(extra.some((l) => l.startsWith("frontend -> postgres:")), false, "PostgreSQL's own policy still admits only the backend");
    });
});
