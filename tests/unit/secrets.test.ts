// Secrets: secret-ness of every Secret and derived output, the generated fallback, the rollout on
// rotation, and the logic of the secrets command.

import * as assert from "assert/strict";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { checksum, keyedChecksum } from "../../components/podSpec";
import { resolveConfig } from "../../stacks/config";
import { SECRET_DEFS, SECRET_KEYS, generateSecret, planInit, planRotate, secretStatus } from "../../stacks/secrets";
import { FAKE_SECRETS, Program, Recorded, runCommittedStack, runProgram, runWithKafkaAndMinio, stackConfig, unwrap } from "./harness";

/** Every string in `value` outside secret-wrapped subtrees. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plainStrings(value: any, out: string[] = []): string[] {
    const u = unwrap(value);
    if (u.secret) {
        return out;
    }
    if (typeof value === "string") {
        out.push(value);
    } else if (value && typeof value === "object") {
        Object.values(value).forEach((v) => plainStrings(v, out));
    }
    return out;
}

function secretChecksum(r: Recorded): string {
    return r.inputs.spec.template.metadata.annotations["checksum/secret"];
}

describe("secrets", () => {
    let prod: Program;
    before(async () => {
        prod = await runCommittedStack("prod");
    });

    it("registers every Kubernetes Secret's data as a secret", () => {
        const secrets = prod.all("kubernetes:core/v1:Secret");
        assert.deepEqual(secrets.map((s) => s.name).sort(), [
            "addons-alertmanager-config", "addons-grafana-admin", "backend-secrets", "postgres-credentials", "redis-credentials",
        ]);
        for (const s of secrets) {
            assert.equal(unwrap(s.inputs.stringData).secret, true, s.name);
        }
    });

    it("keeps every secret value out of every non-secret input, annotation and label", () => {
        const values = Object.values(FAKE_SECRETS);
        for (const r of prod.resources) {
            for (const text of plainStrings(r.inputs)) {
                for (const v of values) {
                    assert.equal(text.includes(v), false, `${r.type} ${r.name} carries a secret in plain text`);
                }
            }
        }
    });

    it("marks the derived outputs secret and the addresses not", async () => {
        assert.equal(await pulumi.isSecret(prod.exports.databaseUrl), true);
        assert.equal(await pulumi.isSecret(pulumi.output(prod.exports.postgresCredentialsSecret)), false);
    });

    it("uses configured secrets without generating any", () => {
        assert.equal(prod.all("random:index/randomPassword:RandomPassword").length, 0);
        assert.deepEqual(prod.exports.generatedSecrets, []);
    });

    it("generates what an un-initialised dev stack needs into encrypted state", async () => {
        const dev = await runCommittedStack("dev", {});
        const generated = dev.all("random:index/randomPassword:RandomPassword");
        assert.deepEqual(generated.map((r) => [r.name, r.inputs.length, r.inputs.special]), [
            ["secrets-postgresPassword", 32, false],
            ["secrets-redisPassword", 32, false],
            ["secrets-jwtSecret", 64, false],
            ["secrets-encryptionKey", 64, false],
            ["secrets-checksumKey", 64, false],
            ["secrets-grafanaAdminPassword", 32, false],
        ]);
        assert.deepEqual(dev.exports.generatedSecrets, ["postgresPassword", "redisPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword"]);
        assert.equal(await pulumi.isSecret(dev.exports.databaseUrl), true);
    });

    it("gives a service the stack's own secrets through secretEnv: configured ones as set, passwords generated when unset", async () => {
        const c = stackConfig("dev");
        c.secrets = { custom: { stripeApiKey: "external", sessionSecret: "password" } };
        (c.services as Record<string, { secretEnv: unknown[] }>).backend.secretEnv.push({ name: "STRIPE_API_KEY", from: "stripeApiKey" }, { name: "SESSION_SECRET", from: "sessionSecret" });
        const p = await runProgram("dev", c, { ...FAKE_SECRETS, stripeApiKey: "sk_live_custom-0123456789" });
        const data = unwrap(p.get("kubernetes:core/v1:Secret", "backend-secrets").inputs.stringData);
        assert.equal(data.secret, true);
        assert.equal(data.value.STRIPE_API_KEY, "sk_live_custom-0123456789");
        assert.equal(data.value.SESSION_SECRET, "generated-secrets-sessionSecret");
        assert.deepEqual(p.all("random:index/randomPassword:RandomPassword").map((r) => [r.name, r.inputs.length]), [["secrets-sessionSecret", 32]]);
        assert.deepEqual(p.exports.generatedSecrets, ["sessionSecret"]);
        for (const r of p.resources) {
            assert.equal(plainStrings(r.inputs).some((t) => t.includes("sk_live_custom")), false, `${r.type} ${r.name}`);
        }
    });

    it("rolls the pods that use a rotated secret, and only those", async () => {
        const before = await runCommittedStack("dev", FAKE_SECRETS);
        const after = await runCommittedStack("dev", { ...FAKE_SECRETS, redisPassword: "rotated-redis-password-0123456789" });
        const D = "kubernetes:apps/v1:Deployment";
        assert.notEqual(secretChecksum(after.get(D, "backend")), secretChecksum(before.get(D, "backend")), "backend has REDIS_URL");
        assert.notEqual(secretChecksum(after.get(D, "redis")), secretChecksum(before.get(D, "redis")));
        const S = "kubernetes:apps/v1:StatefulSet";
        assert.equal(secretChecksum(after.get(S, "postgres")), secretChecksum(before.get(S, "postgres")), "postgres does not use Redis");
        assert.deepEqual(after.get(D, "frontend").inputs.spec.template.metadata.annotations, before.get(D, "frontend").inputs.spec.template.metadata.annotations);
    });

    it("rolls MinIO and the services that use it on a rotated MinIO password, and nothing else", async () => {
        const before = await runWithKafkaAndMinio();
        const after = await runWithKafkaAndMinio({ ...FAKE_SECRETS, minioRootPassword: "rotated-minio-password-0123456789" });
        const D = "kubernetes:apps/v1:Deployment";
        const S = "kubernetes:apps/v1:StatefulSet";
        const changed = [...before.all(D), ...before.all(S)]
            .filter((r) => JSON.stringify(after.get(r.type, r.name).inputs.spec.template.metadata.annotations) !== JSON.stringify(r.inputs.spec.template.metadata.annotations))
            .map((r) => r.name);
        assert.deepEqual(changed, ["backend", "minio"]);
        assert.equal(unwrap(after.get("kubernetes:core/v1:Secret", "minio-credentials").inputs.stringData).value.MINIO_ROOT_PASSWORD, "rotated-minio-password-0123456789");
    });

    it("generates the MinIO root password into encrypted state for an un-initialised stack that runs MinIO", async () => {
        const c = stackConfig("dev");
        c.minio = { enabled: true };
        const p = await runProgram("dev", c);
        assert.deepEqual(p.all("random:index/randomPassword:RandomPassword").filter((r) => r.name.includes("minio")).map((r) => [r.name, r.inputs.length, r.inputs.special]),
            [["secrets-minioRootPassword", 32, false]]);
        assert.ok((p.exports.generatedSecrets as string[]).includes("minioRootPassword"));
        assert.equal(unwrap(p.get("kubernetes:core/v1:Secret", "minio-credentials").inputs.stringData).secret, true);
    });

    it("keys the secret checksums with checksumKey: no plain hash of a secret is readable from a pod", async () => {
        const p = await runCommittedStack("dev", FAKE_SECRETS);
        const redis = secretChecksum(p.get("kubernetes:apps/v1:Deployment", "redis"));
        const data = { REDIS_PASSWORD: FAKE_SECRETS.redisPassword };
        assert.equal(redis, keyedChecksum(data, FAKE_SECRETS.checksumKey));
        assert.notEqual(redis, checksum(data), "not the unkeyed sha256 anyone could recompute from a guess");
        const rekeyed = await runCommittedStack("dev", { ...FAKE_SECRETS, checksumKey: "another-key-0123456789abcdef0123456789abcdef01" });
        assert.notEqual(secretChecksum(rekeyed.get("kubernetes:apps/v1:Deployment", "redis")), redis, "rotating the key rolls the pods");
    });
});

describe("secrets command logic", () => {
    const dev = resolveConfig("dev", stackConfig("dev"), { set: SECRET_KEYS, plaintext: [] });
    const prod = resolveConfig("prod", stackConfig("prod"), { set: SECRET_KEYS, plaintext: [] });

    it("init fills only what is needed and missing", () => {
        assert.deepEqual(planInit(dev, new Set()).generate.map((d) => d.key), ["postgresPassword", "redisPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword"]);
        assert.deepEqual(planInit(dev, new Set(["redisPassword", "jwtSecret"])).generate.map((d) => d.key), ["postgresPassword", "encryptionKey", "checksumKey", "grafanaAdminPassword"]);
        const p = planInit(prod, new Set());
        assert.deepEqual(p.generate.map((d) => d.key), ["postgresPassword", "redisPassword", "jwtPrivateKey", "encryptionKey", "checksumKey", "grafanaAdminPassword"]);
        assert.deepEqual(p.external.map((d) => d.key), ["alertWebhookUrl"]);
        assert.deepEqual(planInit(prod, new Set(SECRET_KEYS)).generate, []);
    });

    it("init and rotate know the MinIO root password only where MinIO runs", () => {
        const withMinio = resolveConfig("dev", { ...stackConfig("dev"), minio: { enabled: true } }, { set: SECRET_KEYS, plaintext: [] });
        assert.deepEqual(planInit(withMinio, new Set()).generate.map((d) => d.key),
            ["postgresPassword", "redisPassword", "minioRootPassword", "jwtSecret", "encryptionKey", "checksumKey", "grafanaAdminPassword"]);
        assert.equal(planRotate(withMinio, "minioRootPassword").key, "minioRootPassword");
        assert.deepEqual(secretStatus(dev, new Set()).find((x) => x.key === "minioRootPassword"), { key: "minioRootPassword", kind: "password", needed: false, set: false });
    });

    it("init regenerates the whole RSA pair when only the public half is missing", () => {
        const set = new Set(SECRET_KEYS.filter((k) => k !== "jwtPublicKey"));
        assert.deepEqual(planInit(prod, set).generate.map((d) => d.key), ["jwtPrivateKey"]);
    });

    it("rotate replaces one key, the RSA pair together, and refuses external or unknown keys", () => {
        assert.equal(planRotate(dev, "redisPassword").key, "redisPassword");
        assert.equal(planRotate(dev, "jwtPublicKey").key, "jwtPrivateKey");
        assert.throws(() => planRotate(dev, "azureAdClientSecret"), /supplied by a person/);
        assert.throws(() => planRotate(dev, "nope"), /cannot rotate 'nope': rotatable secrets are postgresPassword, redisPassword, minioRootPassword, jwtSecret, jwtPrivateKey, jwtPublicKey, encryptionKey, checksumKey, grafanaAdminPassword$/);
    });

    it("treats the stack's own secrets like the built-in ones: init generates passwords, asks for external values, rotates", () => {
        const raw = stackConfig("dev");
        raw.secrets = { custom: { sessionSecret: "password", stripeApiKey: "external" } };
        const cfg = resolveConfig("dev", raw, { set: [...SECRET_KEYS, "sessionSecret", "stripeApiKey"], plaintext: [] });
        const plan = planInit(cfg, new Set(SECRET_KEYS));
        assert.deepEqual(plan.generate.map((d) => d.key), ["sessionSecret"]);
        assert.deepEqual(plan.external.map((d) => d.key), ["stripeApiKey"]);
        assert.match(generateSecret(plan.generate[0]).sessionSecret, /^[A-Za-z0-9_-]{32}$/);
        assert.equal(planRotate(cfg, "sessionSecret").key, "sessionSecret");
        assert.throws(() => planRotate(cfg, "stripeApiKey"), /supplied by a person/);
        assert.deepEqual(secretStatus(cfg, new Set(["stripeApiKey"])).slice(-2),
            [{ key: "sessionSecret", kind: "password", needed: true, set: false }, { key: "stripeApiKey", kind: "external", needed: true, set: true }]);
    });

    it("generates URL-safe passwords of the declared length, different each time", () => {
        const def = SECRET_DEFS.find((d) => d.key === "jwtSecret");
        const a = generateSecret(def!).jwtSecret;
        const b = generateSecret(def!).jwtSecret;
        assert.equal(a.length, 64);
        assert.match(a, /^[A-Za-z0-9_-]{64}$/);
        assert.notEqual(a, b);
    });

    it("generates a matching RS256 key pair", () => {
        const pair = generateSecret(SECRET_DEFS.find((d) => d.key === "jwtPrivateKey")!);
        const signature = crypto.sign("sha256", Buffer.from("x"), pair.jwtPrivateKey);
        assert.equal(crypto.verify("sha256", Buffer.from("x"), pair.jwtPublicKey, signature), true);
        assert.match(pair.jwtPrivateKey, /^-----BEGIN PRIVATE KEY-----/);
    });
});
