// The verify command without a cluster: its arguments, what it reads from the stack's outputs (the
// real program's, under mocks), how each service is reached, kubectl's failures and events in one
// line each, the report and the exit code. tests/e2e/verify.e2e.ts runs the network part on loopback.

import * as assert from "assert/strict";
import {
    HealthResult, KubeEvent, RolloutResult, formatReport, healthTargets, main, parseArgs, parseResolve, planFromOutputs, rolloutFailure, workloadEvents,
} from "../../scripts/verify";
import { runCommittedStack, valueOf } from "./harness";

/** The dev stack's outputs as `pulumi stack output --json` prints them. */
async function devOutputs(): Promise<Record<string, unknown>> {
    const p = await runCommittedStack("dev");
    const entries = await Promise.all(Object.entries(p.exports).map(async ([k, v]) => [k, await valueOf(v)] as const));
    return JSON.parse(JSON.stringify(Object.fromEntries(entries)));
}

describe("verify command", () => {
    describe("arguments", () => {
        it("defaults to a 300 s rollout wait, port-forward, 5 s per GET and 3 tries", () => {
            assert.deepEqual(parseArgs(["--stack", "dev"]), {
                stack: "dev", via: "port-forward", resolve: [], timeoutSeconds: 300, requestTimeoutSeconds: 5, attempts: 3,
            });
        });

        it("takes every option, --resolve repeated, IPv6 in brackets", () => {
            assert.deepEqual(parseArgs(["--via", "ingress", "--stack", "prod", "--timeout", "600", "--resolve", "Studio.Example.com:203.0.113.10:443",
                "--resolve", "api.example.com:[::1]:8443", "--request-timeout", "2.5", "--attempts", "5"]), {
                stack: "prod", via: "ingress", timeoutSeconds: 600, requestTimeoutSeconds: 2.5, attempts: 5,
                resolve: [{ host: "studio.example.com", address: "203.0.113.10", port: 443 }, { host: "api.example.com", address: "::1", port: 8443 }],
            });
        });

        for (const [argv, message] of [
            [[], "--stack is required"],
            [["--stack"], "--stack needs a value"],
            [["--stack", "--via"], "--stack needs a value"],
            [["--stack", "dev", "--stack", "prod"], "--stack given twice"],
            [["--stack=dev"], "unknown argument --stack=dev"],
            [["--stack", "dev", "--timeout", "0"], "--timeout 0: expected a positive whole number"],
            [["--stack", "dev", "--timeout", "1.5"], "--timeout 1.5: expected a positive whole number"],
            [["--stack", "dev", "--request-timeout", "soon"], "--request-timeout soon: expected a positive number"],
            [["--stack", "dev", "--attempts", "0"], "--attempts 0: expected a positive whole number"],
            [["--stack", "dev", "--via", "dns"], "--via dns: expected port-forward or ingress"],
            [["--stack", "dev", "--resolve", "a.example:127.0.0.1:443"], "--resolve applies to --via ingress only"],
            [["--stack", "dev", "--via", "ingress", "--resolve", "a.example:127.0.0.1"], "--resolve a.example:127.0.0.1: expected <host>:<ip>:<port>, e.g. studio.example.com:203.0.113.10:443"],
        ] as const) {
            it(`refuses ${JSON.stringify(argv)}: ${message}`, () => {
                assert.throws(() => parseArgs(argv), { message });
            });
        }

        it("takes an IP address only, on a real port", () => {
            for (const bad of ["a.example:ingress.local:443", "a.example:127.0.0.1:0", "a.example:127.0.0.1:65536", "a.example:[::1:443", ":127.0.0.1:443"]) {
                assert.throws(() => parseResolve(bad), /expected <host>:<ip>:<port>/, bad);
            }
        });

        it("exits 2 with the usage line on a usage error, before reading the stack", async () => {
            const errors: string[] = [];
            const original = console.error;
            console.error = (m: string) => errors.push(m);
            try {
                assert.equal(await main(["--stack", "dev", "--via", "dns"]), 2);
            } finally {
                console.error = original;
            }
            assert.match(errors.join("\n"), /^verify: --via dns: expected port-forward or ingress\nusage: npm run verify -- --stack <name> /);
        });
    });

    describe("what to check, from the stack's outputs", () => {
        it("reads the namespace and every service's check from the dev stack's real outputs", async () => {
            assert.deepEqual(planFromOutputs("dev", await devOutputs()), {
                namespace: "kaizen-studio-dev",
                checks: [
                    { service: "backend", namespace: "kaizen-studio-dev", port: 8000, healthPath: "/health" },
                    { service: "frontend", namespace: "kaizen-studio-dev", port: 80, healthPath: "/", publicUrl: "https://dev.yourdomain.com" },
                ],
            });
        });

        it("refuses outputs it cannot check from, saying what to do", async () => {
            const outputs = await devOutputs();
            assert.throws(() => planFromOutputs("dev", {}), { message: "stack dev has no namespace output: has it been deployed ('pulumi up')?" });
            assert.throws(() => planFromOutputs("dev", { ...outputs, healthChecks: undefined }),
                { message: "stack dev has no healthChecks output: its last update ran a version of the program without it; run 'pulumi up' first" });
            assert.throws(() => planFromOutputs("dev", { ...outputs, healthChecks: "[secret]" }), { message: "stack dev: the healthChecks output is \"[secret]\", not a list" });
            assert.throws(() => planFromOutputs("dev", { ...outputs, healthChecks: [{ service: "api", namespace: "ns", port: "80", healthPath: "/health" }] }),
                { message: "stack dev: healthChecks[0] is {\"service\":\"api\",\"namespace\":\"ns\",\"port\":\"80\",\"healthPath\":\"/health\"}: expected {service, namespace, port, healthPath, publicUrl?}" });
        });

        it("reaches every service through a port-forward, and through the Ingress only those it sends their health path to", async () => {
            const plan = planFromOutputs("dev", await devOutputs());
            assert.deepEqual(healthTargets(plan, "port-forward").map((t) => [t.check.service, t.target, t.skipped]), [
                ["backend", "svc/backend:8000/health (port-forward)", undefined],
                ["frontend", "svc/frontend:80/ (port-forward)", undefined],
            ]);
            assert.deepEqual(healthTargets(plan, "ingress").map((t) => [t.check.service, t.target, t.skipped]), [
                ["backend", "/health", "the Ingress does not send /health to it (check it with --via port-forward)"],
                ["frontend", "https://dev.yourdomain.com/", undefined],
            ]);
            const internal = { ...plan, checks: plan.checks.map(({ publicUrl: _, ...c }) => c) }; // eslint-disable-line @typescript-eslint/no-unused-vars
            assert.throws(() => healthTargets(internal, "ingress"),
                { message: "--via ingress: the stack's Ingress sends no service's health path to that service; check with --via port-forward" });
        });
    });

    describe("rollouts", () => {
        it("says in one line why a rollout did not finish", () => {
            const waiting = "Waiting for deployment \"frontend\" rollout to finish: 0 of 1 updated replicas are available...\n";
            assert.equal(rolloutFailure(waiting.repeat(3), "error: timed out waiting for the condition\n", 300),
                "not rolled out in 300 s: Waiting for deployment \"frontend\" rollout to finish: 0 of 1 updated replicas are available...");
            assert.equal(rolloutFailure("", "error: deployment \"frontend\" exceeded its progress deadline\n", 300), "deployment \"frontend\" exceeded its progress deadline");
            assert.equal(rolloutFailure("", "", 300), "kubectl rollout status failed");
        });

        const event = (name: string, kind: string, reason: string, at: string, type = "Warning", count = 1): KubeEvent =>
            ({ type, reason, count, message: `${reason} of ${name}\n`, involvedObject: { kind, name }, lastTimestamp: at });
        const events = [
            event("frontend-7d9cbf5b4", "ReplicaSet", "FailedCreate", "2026-11-30T10:00:03Z", "Warning", 4),
            event("frontend", "Deployment", "ScalingReplicaSet", "2026-11-30T10:00:00Z", "Normal"),
            event("frontend-7d9cbf5b4-x2k9p", "Pod", "FailedScheduling", "2026-11-30T10:00:02Z"),
            event("frontend-worker-6c8d7-abcde", "Pod", "BackOff", "2026-11-30T10:00:04Z"),
            event("frontend-admin", "Deployment", "ScalingReplicaSet", "2026-11-30T10:00:05Z"),
            event("postgres-0", "Pod", "FailedScheduling", "2026-11-30T10:00:01Z"),
            event("postgres", "StatefulSet", "SuccessfulCreate", "2026-11-30T10:00:00Z", "Normal"),
        ];

        it("shows the warnings of a Deployment, its ReplicaSets and pods, oldest first, and no other workload's", () => {
            assert.deepEqual(workloadEvents("deployment/frontend", events), [
                "Warning FailedScheduling pod/frontend-7d9cbf5b4-x2k9p: FailedScheduling of frontend-7d9cbf5b4-x2k9p",
                "Warning FailedCreate replicaset/frontend-7d9cbf5b4: FailedCreate of frontend-7d9cbf5b4 (x4)",
            ]);
            assert.deepEqual(workloadEvents("deployment/frontend", events, 1), ["Warning FailedCreate replicaset/frontend-7d9cbf5b4: FailedCreate of frontend-7d9cbf5b4 (x4)"]);
        });

        it("shows a StatefulSet's pods' events, and every event when none is a warning", () => {
            assert.deepEqual(workloadEvents("statefulset/postgres", events), ["Warning FailedScheduling pod/postgres-0: FailedScheduling of postgres-0"]);
            assert.deepEqual(workloadEvents("statefulset/postgres", events.slice(6)), ["Normal SuccessfulCreate statefulset/postgres: SuccessfulCreate of postgres"]);
            assert.deepEqual(workloadEvents("deployment/backend", events), []);
        });
    });

    describe("report", () => {
        const rolled: RolloutResult[] = [
            { workload: "deployment/backend", ok: true, detail: "", events: [] },
            { workload: "statefulset/postgres", ok: true, detail: "", events: [] },
        ];
        const healthy: HealthResult[] = [
            { service: "backend", target: "svc/backend:8000/health (port-forward)", outcome: { ok: true, answer: { status: 200 }, attempts: 1, ms: 12 } },
            { service: "frontend", target: "https://dev.yourdomain.com/", outcome: { ok: true, answer: { status: 204 }, attempts: 2, ms: 7 } },
        ];

        it("all healthy: a line per workload and per service, exit 0", () => {
            assert.deepEqual(formatReport("dev", rolled, healthy), {
                exitCode: 0,
                lines: [
                    "rollout deployment/backend: ok",
                    "rollout statefulset/postgres: ok",
                    "health backend: ok, GET svc/backend:8000/health (port-forward): HTTP 200 in 12 ms",
                    "health frontend: ok, GET https://dev.yourdomain.com/: HTTP 204 after 2 tries in 7 ms",
                    "verify dev: healthy (2 rollouts finished, 2 services answered 2xx)",
                ],
            });
        });

        it("names every unhealthy workload and service, with events and answers, exit 1; a skipped service is no failure", () => {
            const report = formatReport("dev", [
                rolled[0],
                { workload: "deployment/frontend", ok: false, detail: "not rolled out in 300 s: Waiting for deployment \"frontend\" rollout to finish: 0 of 1 updated replicas are available...",
                    events: ["Warning FailedScheduling pod/frontend-7d9cbf5b4-x2k9p: 0/3 nodes are available"] },
            ], [
                { service: "backend", target: "/health", skipped: "the Ingress does not send /health to it (check it with --via port-forward)" },
                { service: "frontend", target: "https://dev.yourdomain.com/", outcome: { ok: false, answer: { status: 503 }, attempts: 3, ms: 4 } },
                { service: "admin", target: "https://dev.yourdomain.com/admin/health", outcome: { ok: false, answer: { error: "no answer in 5 s" }, attempts: 1, ms: 5000 } },
            ]);
            assert.deepEqual(report, {
                exitCode: 1,
                lines: [
                    "rollout deployment/backend: ok",
                    "rollout deployment/frontend: FAILED, not rolled out in 300 s: Waiting for deployment \"frontend\" rollout to finish: 0 of 1 updated replicas are available...",
                    "    Warning FailedScheduling pod/frontend-7d9cbf5b4-x2k9p: 0/3 nodes are available",
                    "health backend: skipped, the Ingress does not send /health to it (check it with --via port-forward)",
                    "health frontend: FAILED, GET https://dev.yourdomain.com/: HTTP 503 after 3 tries",
                    "health admin: FAILED, GET https://dev.yourdomain.com/admin/health: no answer in 5 s",
                    "verify dev: UNHEALTHY: deployment/frontend (not rolled out in 300 s), frontend (HTTP 503 after 3 tries), admin (no answer in 5 s)",
                ],
            });
        });
    });
});
