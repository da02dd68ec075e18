// The post-deploy check: after `pulumi up`, wait for every rollout of the stack's namespace, then GET
// each service's health path, and name everything that is not healthy.
//
//   npm run verify -- --stack dev [--timeout 300] [--via port-forward|ingress] [--resolve host:ip:port]
//
// What to check comes from the stack itself (its `namespace` and `healthChecks` outputs), never
// from config. Exit 0: every rollout finished and every checked service answered 2xx; 1: something
// is unhealthy, or the stack or cluster could not be read; 2: a usage error.

import * as net from "net";
import type { HealthCheck } from "../components/webService";
import { kubectl, pulumi, runAsync, runCommand } from "./lib/cli";
import { CheckOptions, Outcome, Resolve, checkService, checkUrl } from "./lib/health";

const USAGE = "usage: npm run verify -- --stack <name> [--timeout <s for the rollouts, default 300>] [--via port-forward|ingress]"
    + " [--resolve <host>:<ip>:<port>]... [--request-timeout <s per GET, default 5>] [--attempts <n, default 3>]";

/** Pause between tries of a health check. */
const RETRY_DELAY_MS = 2000;
/** Deadline of a port-forward's start (see ForwardOptions). */
const FORWARD_START_MS = 30_000;
/** Events shown for a workload that did not roll out. */
const EVENTS_SHOWN = 5;

export type Via = "port-forward" | "ingress";

export interface VerifyOptions {
    readonly stack: string;
    /** Seconds the rollouts may take, together. */
    readonly timeoutSeconds: number;
    readonly via: Via;
    readonly resolve: readonly Resolve[];
    /** Seconds one GET of a health path may take. */
    readonly requestTimeoutSeconds: number;
    readonly attempts: number;
}

export class UsageError extends Error {}

const VALUE_FLAGS = ["--stack", "--timeout", "--via", "--resolve", "--request-timeout", "--attempts"];

/** `host:ip:port` (IPv6 in brackets): where to connect for `host`; unlike curl's, the port is the one to connect to. */
export function parseResolve(text: string): Resolve {
    const m = /^([^:[\]\s]+):(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(text);
    const address = m?.[2].replace(/^\[(.*)\]$/, "$1") ?? "";
    const port = Number(m?.[3]);
    if (!m || !net.isIP(address) || port < 1 || port > 65535) {
        throw new UsageError(`--resolve ${text}: expected <host>:<ip>:<port>, e.g. studio.example.com:203.0.113.10:443`);
    }
    return { host: m[1].toLowerCase(), address, port };
}

export function parseArgs(argv: readonly string[]): VerifyOptions {
    const values = new Map<string, string[]>();
    for (let i = 0; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!VALUE_FLAGS.includes(flag)) {
            throw new UsageError(`unknown argument ${flag}`);
        }
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value`);
        }
        if (values.has(flag) && flag !== "--resolve") {
            throw new UsageError(`${flag} given twice`);
        }
        values.set(flag, [...(values.get(flag) ?? []), value]);
    }
    const one = (flag: string) => values.get(flag)?.[0];
    const number = (flag: string, fallback: number, integer: boolean) => {
        const text = one(flag);
        const n = Number(text ?? fallback);
        if (!(n > 0) || (integer && !Number.isInteger(n))) {
            throw new UsageError(`${flag} ${text}: expected a positive ${integer ? "whole number" : "number"}`);
        }
        return n;
    };
    const stack = one("--stack");
    if (!stack) {
        throw new UsageError("--stack is required");
    }
    const via = one("--via") ?? "port-forward";
    if (via !== "port-forward" && via !== "ingress") {
        throw new UsageError(`--via ${via}: expected port-forward or ingress`);
    }
    const resolve = (values.get("--resolve") ?? []).map(parseResolve);
    if (resolve.length > 0 && via !== "ingress") {
        throw new UsageError("--resolve applies to --via ingress only");
    }
    return {
        stack, via, resolve,
        timeoutSeconds: number("--timeout", 300, true),
        requestTimeoutSeconds: number("--request-timeout", 5, false),
        attempts: number("--attempts", 3, true),
    };
}

/** What to verify, from the stack's outputs (`pulumi stack output --json`). */
export interface Plan {
    readonly namespace: string;
    readonly checks: readonly HealthCheck[];
}

export function planFromOutputs(stack: string, outputs: Readonly<Record<string, unknown>>): Plan {
    const { namespace, healthChecks } = outputs;
    if (typeof namespace !== "string" || namespace === "") {
        throw new Error(`stack ${stack} has no namespace output: has it been deployed ('pulumi up')?`);
    }
    if (healthChecks === undefined) {
        throw new Error(`stack ${stack} has no healthChecks output: its last update ran a version of the program without it; run 'pulumi up' first`);
    }
    if (!Array.isArray(healthChecks)) {
        throw new Error(`stack ${stack}: the healthChecks output is ${JSON.stringify(healthChecks)}, not a list`);
    }
    const checks = healthChecks.map((c: Partial<HealthCheck>, i): HealthCheck => {
        if (typeof c?.service !== "string" || typeof c.namespace !== "string" || !Number.isInteger(c.port)
            || typeof c.healthPath !== "string" || !c.healthPath.startsWith("/") || (c.publicUrl !== undefined && !/^https?:\/\/[^/]+$/.test(c.publicUrl))) {
            throw new Error(`stack ${stack}: healthChecks[${i}] is ${JSON.stringify(c)}: expected {service, namespace, port, healthPath, publicUrl?}`);
        }
        return c as HealthCheck;
    });
    return { namespace, checks };
}

/** A health check of one service: how it is reached and, unless skipped, what it answered. */
export interface HealthResult {
    readonly service: string;
    /** What is requested: `svc/<name>:<port><path> (port-forward)` or the public URL. */
    readonly target: string;
    readonly outcome?: Outcome;
    /** Why the service is not checked this way. */
    readonly skipped?: string;
}

/** How each check is made, `--via ingress` only for services whose health path the Ingress sends to them. */
export function healthTargets(plan: Plan, via: Via): { check: HealthCheck; target: string; skipped?: string }[] {
    const targets = plan.checks.map((check) => {
        if (via === "port-forward") {
            return { check, target: `svc/${check.service}:${check.port}${check.healthPath} (port-forward)` };
        }
        return check.publicUrl
            ? { check, target: `${check.publicUrl}${check.healthPath}` }
            : { check, target: check.healthPath, skipped: `the Ingress does not send ${check.healthPath} to it (check it with --via port-forward)` };
    });
    if (via === "ingress" && targets.every((t) => t.skipped)) {
        throw new Error("--via ingress: the stack's Ingress sends no service's health path to that service; check with --via port-forward");
    }
    return targets;
}

/** A Deployment's or StatefulSet's rollout: finished or not, kubectl's last word, and recent events. */
export interface RolloutResult {
    /** `deployment/<name>` or `statefulset/<name>`. */
    readonly workload: string;
    readonly ok: boolean;
    readonly detail: string;
    readonly events: readonly string[];
}

/** Why `kubectl rollout status` failed, in one line: its last progress line and its error. */
export function rolloutFailure(stdout: string, stderr: string, timeoutSeconds: number): string {
    const progress = stdout.trim().split("\n").filter((l) => l.trim() !== "").pop();
    const error = stderr.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? "";
    const reason = /timed out/.test(error) ? `not rolled out in ${timeoutSeconds} s` : error.replace(/^error: /, "") || "kubectl rollout status failed";
    return progress ? `${reason}: ${progress}` : reason;
}

export interface KubeEvent {
    readonly type?: string;
    readonly reason?: string;
    readonly message?: string;
    readonly count?: number;
    readonly involvedObject?: { readonly kind?: string; readonly name?: string };
    readonly lastTimestamp?: string;
    readonly eventTime?: string;
    readonly metadata?: { readonly creationTimestamp?: string };
}

/** Alphabet Kubernetes draws pod-template hashes and generated name suffixes from (no vowels). */
const GENERATED = "[bcdfghjklmnpqrstvwxz2456789]+";

/**
 * The events of a workload, its ReplicaSets and its pods, newest last, warnings only when there are
 * any: a Deployment's failures (quota, scheduling, images) are reported on its ReplicaSets and pods,
 * whose names only start with its own, so an involvedObject.name selector alone would miss them.
 */
export function workloadEvents(workload: string, events: readonly KubeEvent[], max = EVENTS_SHOWN): string[] {
    const [kind, name] = workload.split("/");
    const escaped = name.replace(/[.]/g, "\\.");
    const own = new RegExp(kind === "statefulset" ? `^${escaped}(-\\d+)?$` : `^${escaped}(-${GENERATED}){0,2}$`);
    const time = (e: KubeEvent) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "") || 0;
    const mine = events.filter((e) => own.test(e.involvedObject?.name ?? "")).sort((a, b) => time(a) - time(b));
    const warnings = mine.filter((e) => e.type === "Warning");
    return (warnings.length > 0 ? warnings : mine).slice(-max).map((e) =>
        `${e.type ?? "?"} ${e.reason ?? "?"} ${(e.involvedObject?.kind ?? "?").toLowerCase()}/${e.involvedObject?.name}: ${(e.message ?? "").trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}`);
}

function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** One line of an outcome: status (or error), tries and time. */
function describe(o: Outcome): string {
    const answer = "status" in o.answer ? `HTTP ${o.answer.status}` : o.answer.error;
    return `${answer}${o.attempts > 1 ? ` after ${o.attempts} tries` : ""}${o.ok ? ` in ${o.ms} ms` : ""}`;
}

/** The report: a line per workload and per service, then the verdict, and the exit code. */
export function formatReport(stack: string, rollouts: readonly RolloutResult[], health: readonly HealthResult[]): { lines: string[]; exitCode: 0 | 1 } {
    const lines: string[] = [];
    const unhealthy: string[] = [];
    for (const r of rollouts) {
        lines.push(`rollout ${r.workload}: ${r.ok ? "ok" : `FAILED, ${r.detail}`}`);
        lines.push(...r.events.map((e) => `    ${e}`));
        if (!r.ok) {
            unhealthy.push(`${r.workload} (${r.detail.split(":")[0]})`);
        }
    }
    for (const h of health) {
        if (h.skipped) {
            lines.push(`health ${h.service}: skipped, ${h.skipped}`);
        } else if (h.outcome?.ok) {
            lines.push(`health ${h.service}: ok, GET ${h.target}: ${describe(h.outcome)}`);
        } else {
            const why = h.outcome ? describe(h.outcome) : "not checked";
            lines.push(`health ${h.service}: FAILED, GET ${h.target}: ${why}`);
            unhealthy.push(`${h.service} (${why})`);
        }
    }
    const checked = health.filter((h) => !h.skipped).length;
    lines.push(unhealthy.length === 0
        ? `verify ${stack}: healthy (${count(rollouts.length, "rollout")} finished, ${count(checked, "service")} answered 2xx)`
        : `verify ${stack}: UNHEALTHY: ${unhealthy.join(", ")}`);
    return { lines, exitCode: unhealthy.length === 0 ? 0 : 1 };
}

/** Waits for every Deployment and StatefulSet of the namespace, all at once, within `timeoutSeconds`. */
async function checkRollouts(namespace: string, timeoutSeconds: number): Promise<RolloutResult[]> {
    // `deployment.apps/backend`: kubectl's own names, given back to it unchanged.
    const names = kubectl(["get", "deployments,statefulsets", "--namespace", namespace, "--output", "name"]).split("\n").filter((n) => n !== "");
    if (names.length === 0) {
        return [{ workload: `namespace/${namespace}`, ok: false, detail: "no Deployment or StatefulSet: is kubectl pointed at the stack's cluster?", events: [] }];
    }
    console.log(`waiting up to ${timeoutSeconds} s for ${count(names.length, "rollout")} in namespace ${namespace}`);
    const results = await Promise.all(names.map(async (n) => {
        const r = await runAsync("kubectl", ["rollout", "status", n, "--namespace", namespace, `--timeout=${timeoutSeconds}s`]);
        return { workload: n.replace(/\.apps\//, "/"), ok: r.status === 0, detail: r.status === 0 ? "" : rolloutFailure(r.stdout, r.stderr, timeoutSeconds) };
    }));
    const events = results.some((r) => !r.ok)
        ? (JSON.parse(kubectl(["get", "events", "--namespace", namespace, "--output", "json"])) as { items: KubeEvent[] }).items
        : [];
    return results.map((r) => ({ ...r, events: r.ok ? [] : workloadEvents(r.workload, events) }));
}

async function checkHealth(targets: ReturnType<typeof healthTargets>, opts: VerifyOptions): Promise<HealthResult[]> {
    const checkOptions: CheckOptions = {
        timeoutMs: opts.requestTimeoutSeconds * 1000, attempts: opts.attempts, retryDelayMs: RETRY_DELAY_MS, resolve: opts.resolve,
    };
    return Promise.all(targets.map(async ({ check, target, skipped }) => {
        if (skipped) {
            return { service: check.service, target, skipped };
        }
        const outcome = opts.via === "ingress"
            ? await checkUrl(target, checkOptions)
            : await checkService(check, check.healthPath, { ...checkOptions, startTimeoutMs: FORWARD_START_MS });
        return { service: check.service, target, outcome };
    }));
}

export async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help")) {
        console.log(USAGE);
        return 0;
    }
    let opts: VerifyOptions;
    try {
        opts = parseArgs(argv);
    } catch (e) {
        if (!(e instanceof UsageError)) {
            throw e;
        }
        console.error(`verify: ${e.message}\n${USAGE}`);
        return 2;
    }
    const outputs = JSON.parse(pulumi(["stack", "output", "--json", "--stack", opts.stack, "--non-interactive"])) as Record<string, unknown>;
    const plan = planFromOutputs(opts.stack, outputs);
    // Before the rollouts: a --via ingress with nothing to check is refused without waiting.
    const targets = healthTargets(plan, opts.via);
    const rollouts = await checkRollouts(plan.namespace, opts.timeoutSeconds);
    const health = await checkHealth(targets, opts);
    const report = formatReport(opts.stack, rollouts, health);
    report.lines.forEach((l) => console.log(l));
    return report.exitCode;
}

runCommand("verify", module, main);
