// Test helpers over scripts/lib/mockRun.ts: fake secrets and committed-stack runs.

import { Program, runProgram, stackConfig } from "../../scripts/lib/mockRun";
import { Rendered, renderStack } from "../../scripts/render";

export * from "../../scripts/lib/mockRun";

/** Test-only stand-ins for secrets a stack requires (prod requires configured secrets). */
export const FAKE_SECRETS: Readonly<Record<string, string>> = {
    postgresPassword: "pg-test-password-0123456789abcdef",
    redisPassword: "redis-test-password-0123456789abcd",
    minioRootPassword: "minio-test-password-0123456789abc",
    jwtSecret: "jwt-test-secret-0123456789abcdef0123456789abcdef",
    jwtPrivateKey: "-----BEGIN PRIVATE KEY-----\ntest-private\n-----END PRIVATE KEY-----\n",
    jwtPublicKey: "-----BEGIN PUBLIC KEY-----\ntest-public\n-----END PUBLIC KEY-----\n",
    encryptionKey: "enc-test-key-0123456789abcdef0123456789abcdef",
    checksumKey: "checksum-test-key-0123456789abcdef0123456789abcdef",
    grafanaAdminPassword: "grafana-test-password-0123456789",
    alertWebhookUrl: "https://alerts.example.test/hook-secret-token",
    azureAdClientId: "azure-client-id-test",
    azureAdClientSecret: "azure-client-secret-test",
};

/**
 * The prod stack with Kafka and MinIO on, as seed 003 (DreamSeed) runs them beside PostgreSQL and
 * Redis: the backend uses all four, a `worker` only Kafka, the frontend none.
 */
export function withKafkaAndMinio(): Record<string, unknown> {
    const c = stackConfig("prod");
    c.kafka = { enabled: true };
    c.minio = { enabled: true, buckets: ["uploads"] };
    const services = c.services as Record<string, Record<string, unknown>>;
    services.backend.uses = ["postgres", "redis", "kafka", "minio"];
    services.worker = { image: "registry.yourdomain.com/kaizen-studio-worker:v1.0.0", port: 8000, uses: ["kafka"] };
    return c;
}

const committedRuns = new Map<string, Promise<Program>>();
const kafkaAndMinioRuns = new Map<string, Promise<Program>>();

/** The prod stack of `withKafkaAndMinio` run with `secrets`, evaluated once per test process for the same secrets. */
export function runWithKafkaAndMinio(secrets: Record<string, string> = FAKE_SECRETS): Promise<Program> {
    const key = JSON.stringify(secrets);
    if (!kafkaAndMinioRuns.has(key)) {
        kafkaAndMinioRuns.set(key, runProgram("prod", withKafkaAndMinio(), secrets));
    }
    return kafkaAndMinioRuns.get(key) as Promise<Program>;
}

/**
 * Runs a committed stack, with the fake secrets it requires. The program is deterministic for the
 * same config and secrets, so each pair is evaluated once per test process; tests only read the result.
 */
export function runCommittedStack(stack: string, secrets: Record<string, string> = FAKE_SECRETS): Promise<Program> {
    const key = JSON.stringify([stack, secrets]);
    if (!committedRuns.has(key)) {
        committedRuns.set(key, runProgram(stack, stackConfig(stack), secrets));
    }
    return committedRuns.get(key) as Promise<Program>;
}


const renders = new Map<string, Promise<Rendered>>();

/** What `npm run render` writes for a committed stack, evaluated once per test process. */
export function renderCommittedStack(stack: string): Promise<Rendered> {
    if (!renders.has(stack)) {
        renders.set(stack, renderStack(stack));
    }
    return renders.get(stack) as Promise<Rendered>;
}

const runs = new Map<string, Promise<Program>>();

/**
 * `runProgram` for tests that only read the result: the same stack, config and secrets are evaluated
 * once per test process, whichever test file asks first.
 */
export function runOnce(stack: string, config: Record<string, unknown>, secrets: Record<string, string> = FAKE_SECRETS): Promise<Program> {
    const key = JSON.stringify([stack, config, secrets]);
    if (!runs.has(key)) {
        runs.set(key, runProgram(stack, config, secrets));
    }
    return runs.get(key) as Promise<Program>;
}
