// Test helpers over scripts/lib/mockRun.ts: fake secrets and committed-stack runs.

import { Program, runProgram, stackConfig } from "../../scripts/lib/mockRun";
import { Rendered, renderStack } from "../../scripts/render";

export * from "../../scripts/lib/mockRun";

/** Test-only stand-ins for secrets a stack requires (prod requires configured secrets). */
export const FAKE_SECRETS: Readonly<Record<string, string>> = {
    postgresPassword: "pg-test-password-0123456789abcdef",
    redisPassword: "redis-test-password-0123456789abcd",
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

const committedRuns = new Map<string, Promise<Program>>();

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
