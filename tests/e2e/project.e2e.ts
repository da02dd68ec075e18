// The project file against the real Pulumi CLI: a wrongly typed value is refused by the CLI's
// validation against the types declared in Pulumi.yaml, before the program runs. (That every
// committed stack's config passes that validation is shown by the live suite's previews.)

import * as assert from "assert/strict";
import { Workspace, createWorkspace } from "./workspace";

describe("Pulumi.yaml config declarations (real Pulumi CLI)", function () {
    this.timeout(120_000);
    let ws: Workspace;
    before(() => {
        ws = createWorkspace();
    });
    after(() => ws?.dispose());

    it("refuses a value of the wrong type before running the program", () => {
        ws.run("pulumi", ["stack", "init", "dev", "--secrets-provider", "passphrase"]);
        ws.run("pulumi", ["config", "set", "platform:debug", "notabool", "--stack", "dev"]);
        const r = ws.tryRun("pulumi", ["preview", "--stack", "dev", "--non-interactive"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /Stack 'dev' with configuration key 'debug' must be of type 'boolean'/);
        assert.doesNotMatch(r.stdout, /to create/, "the program never ran");
    });
});
