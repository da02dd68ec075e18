// The rollback command's plan, without a CLI: which update it goes back to, and which config keys
// and image tags it changes (secrets never).

import * as assert from "assert/strict";
import { HistoryEntry, rollbackPlan, targetUpdate } from "../../scripts/rollback";

const services = (backend: string) => ({ backend: { image: `registry.example/backend:${backend}`, port: 8000 }, frontend: { image: "registry.example/web:v1.0.0" } });
const entry = (backend: string, extra: HistoryEntry["config"] = {}, result = "succeeded"): HistoryEntry => ({
    kind: "update", result, startTime: `t-${backend}`,
    config: {
        "platform:environment": { value: "dev" },
        "platform:debug": { value: "true", objectValue: true },
        "platform:services": { value: JSON.stringify(services(backend)), objectValue: services(backend) },
        "platform:redisPassword": { secret: true },
        "platform:alertWebhookUrl": { value: "" },
        ...extra,
    },
});

describe("rollback plan", () => {
    const history: HistoryEntry[] = [
        { kind: "refresh", result: "succeeded" },
        entry("v3"),
        entry("v2-broken", {}, "failed"),
        entry("v2"),
        { kind: "preview", result: "succeeded" },
        entry("v1"),
    ];

    it("goes back over successful updates only, newest first", () => {
        assert.equal(targetUpdate(history, 1).startTime, "t-v2");
        assert.equal(targetUpdate(history, 2).startTime, "t-v1");
        assert.throws(() => targetUpdate(history, 3), /the stack has 3 successful update\(s\): nothing to roll back 3 update\(s\) to/);
    });

    it("restores the image tags and settings of the target, keeping secrets and defaults out", () => {
        const current = {
            "platform:environment": "dev",
            "platform:debug": true,
            "platform:services": services("v3"),
            "platform:redisPassword": { secure: "v1:abc" },
            "platform:monitoring": { enabled: false },
        };
        const plan = rollbackPlan(current, targetUpdate(history, 1), { alertWebhookUrl: "", environment: "" });
        assert.deepEqual(plan.set, { "platform:services": services("v2") });
        assert.deepEqual(plan.remove, ["platform:monitoring"], "a key the target did not have goes");
        assert.deepEqual(plan.images, ["backend: registry.example/backend:v3 -> registry.example/backend:v2"]);
    });

    it("changes nothing when the target's config is the current one, whatever the key order", () => {
        const s = services("v2");
        const reordered = { frontend: s.frontend, backend: { port: s.backend.port, image: s.backend.image } };
        const current = { "platform:environment": "dev", "platform:debug": true, "platform:services": reordered };
        assert.deepEqual(rollbackPlan(current, entry("v2"), { alertWebhookUrl: "" }), { set: {}, remove: [], images: [] });
    });
});
