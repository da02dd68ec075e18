// The project file against the real Pulumi CLI: every committed stack's config passes the CLI's
// validation against the types declared in Pulumi.yaml, and a wrongly typed value is refused there.
// (The CLI validates stack config before it loads the language host; on these machines the run
// then stops at the missing Node.js language host, README: "Live runs".)

import * as assert from "assert/strict";
import { Workspace, createWorkspace } from "./workspace";

describe("Pulumi.yaml config declarations (real Pulumi CLI)", function () {
    this.timeout(120_000);
    let ws: Workspace;
    before(() => {
        ws = createWorkspace();
    });
    after(() => ws?.dispose());

    for (const stack of ["dev", "staging", "prod"]) {
        it(`accepts the committed ${stack} config`, () => {
            ws.run("pulumi", ["stack", "init", stack, "--secrets-provider", "passphrase"]);
            const r = ws.tryRun("pulumi", ["preview", "--stack", stack, "--non-interactive"]);
            const out = `${r.stdout}\n${r.stderr}`;
            assert.doesNotMatch(out, /validating stack config|missing configuration value/, out);
            if (r.status !== 0) {
                assert.match(out, /no language plugin 'pulumi-language-nodejs' found/, `an unexpected failure:\n${out}`);
            }
        });
    }

    it("refuses a value of the wrong type before running the program", () => {
        ws.run("pulumi", ["config", "set", "platform:debug", "notabool", "--stack", "dev"]);
        const r = ws.tryRun("pulumi", ["preview", "--stack", "dev", "--non-interactive"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /Stack 'dev' with configuration key 'debug' must be of type 'boolean'/);
    });
});
