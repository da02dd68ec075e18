// The secrets command against the real Pulumi CLI, a file backend and a passphrase provider: what
// `init` fills, what `rotate` changes, that `list` shows no values, and that no generated value
// appears in plain text in the stack file, the command's output or `pulumi config`.

import * as assert from "assert/strict";
import * as crypto from "crypto";
import { Workspace, createWorkspace } from "./workspace";

const SECRETS_CMD = ["-r", "ts-node/register/transpile-only", "scripts/secrets.ts"];

describe("secrets command (real Pulumi CLI)", function () {
    this.timeout(120_000);
    let ws: Workspace;
    const outputs: string[] = [];
    const secrets = (...args: string[]) => {
        const r = ws.tryRun("node", [...SECRETS_CMD, ...args]);
        outputs.push(r.stdout, r.stderr);
        return r;
    };
    // `pulumi config get` ends its output with a newline of its own.
    const get = (stack: string, key: string) => ws.run("pulumi", ["config", "get", `platform:${key}`, "--stack", stack]).stdout.replace(/\n$/, "");

    before(() => {
        ws = createWorkspace();
        ws.run("pulumi", ["stack", "init", "dev", "--secrets-provider", "passphrase"]);
        ws.run("pulumi", ["stack", "init", "prod", "--secrets-provider", "passphrase"]);
    });
    after(() => ws?.dispose());

    it("init fills every needed secret of dev, encrypted", () => {
        const r = secrets("init", "--stack", "dev");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /generating postgresPassword, redisPassword, jwtSecret, encryptionKey, checksumKey, grafanaAdminPassword/);
        for (const key of ["postgresPassword", "redisPassword", "grafanaAdminPassword"]) {
            assert.match(get("dev", key), /^[A-Za-z0-9_-]{32}$/, key);
        }
        for (const key of ["jwtSecret", "encryptionKey", "checksumKey"]) {
            assert.match(get("dev", key), /^[A-Za-z0-9_-]{64}$/, key);
        }
        const file = ws.read("Pulumi.dev.yaml");
        for (const key of ["postgresPassword", "redisPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword"]) {
            assert.match(file, new RegExp(`platform:${key}:\\n\\s+secure: v1:`), key);
        }
        assert.equal(/platform:jwtPrivateKey/.test(file), false, "dev uses HS256: no RSA key");
    });

    it("init again changes nothing", () => {
        const before = get("dev", "redisPassword");
        const r = secrets("init", "--stack", "dev");
        assert.match(r.stdout, /generating nothing \(all set\)/);
        assert.equal(get("dev", "redisPassword"), before);
    });

    it("rotate replaces exactly one secret", () => {
        const keys = ["postgresPassword", "redisPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword"];
        const before = Object.fromEntries(keys.map((k) => [k, get("dev", k)]));
        const r = secrets("rotate", "redisPassword", "--stack", "dev");
        assert.equal(r.status, 0, r.stderr);
        for (const k of keys) {
            assert.equal(get("dev", k) !== before[k], k === "redisPassword", k);
        }
    });

    it("refuses to rotate a secret supplied by a person", () => {
        const r = secrets("rotate", "alertWebhookUrl", "--stack", "prod");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /supplied by a person/);
    });

    it("init on prod generates a matching RS256 pair and reports the missing webhook", () => {
        const r = secrets("init", "--stack", "prod");
        assert.equal(r.status, 1, "a missing external secret is reported with a non-zero exit");
        assert.match(r.stdout, /still missing alertWebhookUrl/);
        const priv = get("prod", "jwtPrivateKey");
        const pub = get("prod", "jwtPublicKey");
        const sig = crypto.sign("sha256", Buffer.from("probe"), priv);
        assert.equal(crypto.verify("sha256", Buffer.from("probe"), pub, sig), true);
        assert.equal(/platform:jwtSecret/.test(ws.read("Pulumi.prod.yaml")), false, "prod uses RS256: no HS256 secret");
    });

    it("list shows names and states, never values", () => {
        const r = secrets("list", "--stack", "prod");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /jwtPrivateKey\s+needed\s+rsaPrivateKey\s+set/);
        assert.match(r.stdout, /alertWebhookUrl\s+needed\s+external\s+not set/);
        assert.match(r.stdout, /jwtSecret\s+unused/);
    });

    it("handles the stack's own secrets: init generates a declared password, reports a declared external one", () => {
        ws.run("pulumi", ["config", "set", "--path", "platform:secrets.custom.sessionSecret", "password", "--stack", "dev"]);
        ws.run("pulumi", ["config", "set", "--path", "platform:secrets.custom.stripeApiKey", "external", "--stack", "dev"]);
        const r = secrets("init", "--stack", "dev");
        assert.equal(r.status, 1, "the external one is still missing");
        assert.match(r.stdout, /generating sessionSecret\n/);
        assert.match(r.stdout, /still missing stripeApiKey/);
        assert.match(get("dev", "sessionSecret"), /^[A-Za-z0-9_-]{32}$/);
        assert.match(ws.read("Pulumi.dev.yaml"), /platform:sessionSecret:\n\s+secure: v1:/);
        ws.run("pulumi", ["config", "set", "--secret", "platform:stripeApiKey", "--stack", "dev"], "sk_test_e2e-custom-secret");
        const list = secrets("list", "--stack", "dev");
        assert.match(list.stdout, /sessionSecret\s+needed\s+password\s+set/);
        assert.match(list.stdout, /stripeApiKey\s+needed\s+external\s+set/);
        assert.equal(list.stdout.includes("sk_test_e2e-custom-secret"), false);
        assert.equal(ws.read("Pulumi.dev.yaml").includes("sk_test_e2e-custom-secret"), false);
    });

    it("leaves no generated value in plain text anywhere it looked", () => {
        const values: string[] = [];
        for (const [stack, keys] of [["dev", ["postgresPassword", "redisPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword", "sessionSecret", "stripeApiKey"]],
            ["prod", ["postgresPassword", "redisPassword", "encryptionKey", "checksumKey", "grafanaAdminPassword", "jwtPrivateKey"]]] as const) {
            values.push(...keys.map((k) => get(stack, k)));
        }
        const haystacks = [
            ws.read("Pulumi.dev.yaml"),
            ws.read("Pulumi.prod.yaml"),
            ws.run("pulumi", ["config", "--json", "--stack", "dev"]).stdout,
            ws.run("pulumi", ["config", "--json", "--stack", "prod"]).stdout,
            ...outputs,
        ];
        for (const v of values) {
            // PEM bodies: look for a distinctive line rather than the whole block.
            const needle = v.includes("-----BEGIN") ? v.split("\n")[2] : v;
            for (const h of haystacks) {
                assert.equal(h.includes(needle), false, "a generated secret appears in plain text");
            }
        }
    });
});
