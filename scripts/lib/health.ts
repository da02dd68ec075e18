// The health checks of `npm run verify`: GETs of a health path with a deadline per try and a few
// tries, either through `kubectl port-forward` to a Service or to a public URL, optionally at an
// address given like curl's --resolve (to check an ingress before DNS points at it). Real network
// I/O only; tests/e2e/verify.e2e.ts runs it against servers on loopback.

import { spawn } from "child_process";
import * as http from "http";
import * as https from "https";
import * as net from "net";

/** Connect to `address:port` for requests to `host`, whatever DNS says. */
export interface Resolve {
    readonly host: string;
    readonly address: string;
    readonly port: number;
}

export interface RequestOptions {
    /** Deadline of one GET, in milliseconds. */
    readonly timeoutMs: number;
    readonly resolve?: readonly Resolve[];
    /** CA certificates (PEM) to trust instead of the system's; unset: the system's and NODE_EXTRA_CA_CERTS. */
    readonly ca?: string;
}

export interface CheckOptions extends RequestOptions {
    readonly attempts: number;
    /** Pause between tries, in milliseconds. */
    readonly retryDelayMs: number;
}

/** The status code of a GET, or why there was none. */
export type Answer = { readonly status: number } | { readonly error: string };

export interface Outcome {
    /** A 2xx answer came. */
    readonly ok: boolean;
    /** The last answer. */
    readonly answer: Answer;
    readonly attempts: number;
    /** Time of the last try, in milliseconds. */
    readonly ms: number;
}

/** One GET of `url`; resolves with the status as soon as the headers arrive, or with the error. */
export function get(url: string, opts: RequestOptions): Promise<Answer> {
    const u = new URL(url);
    const to = opts.resolve?.find((r) => r.host === u.hostname);
    const options: https.RequestOptions = {
        method: "GET",
        // A fresh connection per try: a pooled one could reach a pod or address that is gone.
        agent: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
        // Through the given address, the URL's host still names the site: Host header, SNI and the
        // name the certificate must carry.
        ...(to ? { hostname: to.address, port: to.port, headers: { host: u.host }, ...(net.isIP(u.hostname) ? {} : { servername: u.hostname }) } : {}),
    };
    const lib = u.protocol === "https:" ? https : http;
    return new Promise((resolve) => {
        const req = lib.request(u, options, (res) => {
            clearTimeout(timer);
            res.resume();
            resolve({ status: res.statusCode ?? 0 });
        });
        const timer = setTimeout(() => req.destroy(new Error(`no answer in ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
        req.on("error", (e) => {
            clearTimeout(timer);
            resolve({ error: e.message });
        });
        req.end();
    });
}

export function isOk(answer: Answer): boolean {
    return "status" in answer && answer.status >= 200 && answer.status < 300;
}

/** Tries `once` until it answers 2xx or `attempts` tries are spent. */
export async function retry(opts: Pick<CheckOptions, "attempts" | "retryDelayMs">, once: () => Promise<Answer>): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
        const start = Date.now();
        const answer = await once();
        const ms = Date.now() - start;
        if (isOk(answer) || attempt >= opts.attempts) {
            return { ok: isOk(answer), answer, attempts: attempt, ms };
        }
        await new Promise((r) => setTimeout(r, opts.retryDelayMs));
    }
}

/** GETs a public URL (through `opts.resolve` where it names the host) until it answers 2xx. */
export function checkUrl(url: string, opts: CheckOptions): Promise<Outcome> {
    return retry(opts, () => get(url, opts));
}

/** The local port in kubectl port-forward's `Forwarding from 127.0.0.1:NNNN -> PPPP` line. */
export function forwardedPort(output: string): number | undefined {
    const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> \d+/m.exec(output);
    return m ? Number(m[1]) : undefined;
}

export interface ServiceTarget {
    readonly namespace: string;
    readonly service: string;
    /** The Service's port. */
    readonly port: number;
}

interface Forward {
    readonly localPort: number;
    stop(): Promise<void>;
}

/**
 * Starts `kubectl port-forward svc/<service> :<port>` on a free loopback port and resolves once it
 * listens; rejects with kubectl's own error when it exits first, or after `timeoutMs`.
 * `kubectlCommand` is the program and its leading arguments (tests run a stand-in).
 */
export function portForward(target: ServiceTarget, timeoutMs: number, kubectlCommand: readonly string[] = ["kubectl"]): Promise<Forward> {
    const [program, ...lead] = kubectlCommand;
    const child = spawn(program, [...lead, "port-forward", "--namespace", target.namespace, `svc/${target.service}`, `:${target.port}`, "--address", "127.0.0.1"],
        { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<void>((r) => child.on("close", () => r()));
    const stop = () => {
        child.kill();
        return exited;
    };
    let stdout = "";
    let stderr = "";
    return new Promise((resolve, reject) => {
        const fail = (message: string) => {
            clearTimeout(timer);
            void stop();
            reject(new Error(message));
        };
        const timer = setTimeout(() => fail(`port-forward did not start in ${timeoutMs / 1000} s`), timeoutMs);
        child.on("error", (e) => fail(`cannot run ${program} (${e.message})`));
        child.stderr.on("data", (d) => (stderr += d));
        child.stdout.on("data", (d) => {
            stdout += d;
            const localPort = forwardedPort(stdout);
            if (localPort !== undefined) {
                clearTimeout(timer);
                resolve({ localPort, stop });
            }
        });
        child.on("exit", (code) => fail(`port-forward exited (${code}): ${stderr.trim().split("\n").pop() || "no message"}`));
    });
}

export interface ForwardOptions {
    /**
     * Deadline of a port-forward's start, in milliseconds: kubectl's own start, credential plugins
     * included (cloud ones take seconds), is no part of the service's answer time.
     */
    readonly startTimeoutMs: number;
    readonly kubectlCommand?: readonly string[];
}

/**
 * GETs `healthPath` of a Service through a port-forward until it answers 2xx; each try forwards
 * anew, so a retry can reach another pod.
 */
export function checkService(target: ServiceTarget, healthPath: string, opts: CheckOptions & ForwardOptions): Promise<Outcome> {
    return retry(opts, async () => {
        let forward: Forward;
        try {
            forward = await portForward(target, opts.startTimeoutMs, opts.kubectlCommand);
        } catch (e) {
            return { error: (e as Error).message };
        }
        try {
            return await get(`http://127.0.0.1:${forward.localPort}${healthPath}`, opts);
        } finally {
            await forward.stop();
        }
    });
}
