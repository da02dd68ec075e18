// Benchmark (not a test): the same objects brought up three ways on the local cluster, side by side
// in one run, with medians:
//   pulumi  preview (empty), up (empty -> every workload ready), preview (no-op), up (no-op), destroy
//   kubectl diff --server-side (empty namespace), apply --server-side + rollout status (empty -> ready),
//           diff --server-side (no-op), apply (no-op), delete --wait
//   helm    upgrade --install --wait (empty -> ready), upgrade --wait (no-op), uninstall --wait
//           of the same objects packaged as one chart
// Cases: the `local` stack (Kaizen Studio) and generated stacks of N services (--scale), so the
// output shows how each figure grows with the stack, and the marginal cost per added service.
//
//   npm run bench -- [--runs 3] [--scale 10,50,200] [--scale-runs 1]
// Needs the toolchain and the local cluster (it loads their environment itself, like the e2e suite).

import "../tests/e2e/env";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { createLiveWorkspace } from "../tests/e2e/live";
import { ROOT, stackConfig } from "./lib/mockRun";
import { manifest, renderConfig } from "./render";

type Times = Record<string, number[]>;

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; okCodes?: number[] } = {}): void {
    const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.error || !(opts.okCodes ?? [0]).includes(r.status ?? -1)) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout || r.error?.message || "").slice(-2000)}`);
    }
}

function timed(fn: () => void): number {
    const start = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The local stack's config with its services replaced by `n` small generated ones and no data services. */
function generatedConfig(n: number): Record<string, unknown> {
    const c = stackConfig("local");
    c.namespace = `bench-${n}`;
    c.postgres = { enabled: false };
    c.redis = { enabled: false };
    c.ingress = { enabled: false };
    c.appEnv = {};
    c.services = Object.fromEntries(Array.from({ length: n }, (_, i) => [`svc-${i}`, {
        image: "registry.yourdomain.com/bench:v1.0.0", port: 8080, replicas: 1,
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "50m", memory: "32Mi" } },
    }]));
    c.quota = {
        requestsCpu: "100", requestsMemory: "200Gi", limitsCpu: "200", limitsMemory: "400Gi",
        pods: 4 * n + 10, persistentVolumeClaims: 10, requestsStorage: "100Gi",
    };
    return c;
}

interface Case { name: string; config: Record<string, unknown>; runs: number }

function namespaceOf(config: Record<string, unknown>): string {
    return String(config.namespace ?? `${config.appName}-${config.environment}`);
}

function deleteNamespace(ns: string): void {
    run("kubectl", ["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=600s"]);
}

async function benchCase(c: Case, times: Times): Promise<void> {
    const ns = namespaceOf(c.config);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-bench-"));
    const { objects } = await renderConfig(c.name, c.config);
    const file = path.join(dir, "objects.yaml");
    fs.writeFileSync(file, manifest(objects));
    const workloads = (objects as { kind: string; metadata: { name: string } }[])
        .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
        .map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
    const t = (key: string, fn: () => void) => (times[`${c.name} ${key}`] ??= []).push(timed(fn));

    // Pulumi: a stack of the project pointed at the local cluster, secrets set by `secrets init`.
    const ws = createLiveWorkspace();
    const stackFile = path.join(dir, "stack.yaml");
    fs.writeFileSync(stackFile, stringify({ config: Object.fromEntries(Object.entries(c.config).map(([k, v]) => [`platform:${k}`, v])) }));
    ws.initStack("bench", stackFile);
    const pulumi = (args: string[]) => run("pulumi", [...args, "--non-interactive", "--stack", "bench"], { cwd: ws.dir, env: ws.env });
    // Helm: the same objects as one chart; .Files.Get keeps any `{{` in them literal.
    const chart = path.join(dir, "chart");
    fs.mkdirSync(path.join(chart, "templates"), { recursive: true });
    fs.mkdirSync(path.join(chart, "files"));
    fs.writeFileSync(path.join(chart, "Chart.yaml"), stringify({ apiVersion: "v2", name: "bench", version: "1.0.0" }));
    fs.copyFileSync(file, path.join(chart, "files", "objects.yaml"));
    fs.writeFileSync(path.join(chart, "templates", "objects.yaml"), "{{ .Files.Get \"files/objects.yaml\" }}\n");
    const helm = (args: string[]) => run("helm", [...args, "--namespace", "default"]);
    const kubectlWait = () => workloads.forEach((w) => run("kubectl", ["rollout", "status", w, "-n", ns, "--timeout=600s"]));

    try {
        for (let i = 0; i < c.runs; i++) {
            deleteNamespace(ns);
            t("pulumi preview, empty", () => pulumi(["preview"]));
            t("pulumi up, empty -> ready", () => pulumi(["up", "--yes", "--skip-preview"]));
            t("pulumi preview, no-op", () => pulumi(["preview", "--expect-no-changes"]));
            t("pulumi up, no-op", () => pulumi(["up", "--yes", "--skip-preview"]));
            t("pulumi destroy", () => pulumi(["destroy", "--yes", "--skip-preview"]));
            deleteNamespace(ns);
            // kubectl cannot diff objects of a namespace that does not exist: create it (untimed)
            // first. Exit 1 = "differences found", as expected.
            run("kubectl", ["create", "namespace", ns]);
            t("kubectl diff, empty", () => run("kubectl", ["diff", "--server-side", "-f", file], { okCodes: [0, 1] }));
            t("kubectl apply + rollout status, empty -> ready", () => {
                run("kubectl", ["apply", "--server-side", "--field-manager=platform-bench", "-f", file]);
                kubectlWait();
            });
            t("kubectl diff, no-op", () => run("kubectl", ["diff", "--server-side", "--field-manager=platform-bench", "-f", file]));
            t("kubectl apply, no-op", () => run("kubectl", ["apply", "--server-side", "--field-manager=platform-bench", "-f", file]));
            t("kubectl delete --wait", () => run("kubectl", ["delete", "--wait=true", "-f", file]));
            deleteNamespace(ns);
            t("helm upgrade --install --wait, empty -> ready", () => helm(["upgrade", "--install", "bench", chart, "--wait", "--timeout", "10m"]));
            t("helm upgrade --wait, no-op", () => helm(["upgrade", "bench", chart, "--wait", "--timeout", "10m"]));
            t("helm uninstall --wait", () => helm(["uninstall", "bench", "--wait", "--timeout", "10m"]));
        }
    } finally {
        deleteNamespace(ns);
        ws.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const PAIRS: [string, string, string | undefined][] = [
    ["pulumi preview, empty", "kubectl diff, empty", undefined],
    ["pulumi up, empty -> ready", "kubectl apply + rollout status, empty -> ready", "helm upgrade --install --wait, empty -> ready"],
    ["pulumi preview, no-op", "kubectl diff, no-op", undefined],
    ["pulumi up, no-op", "kubectl apply, no-op", "helm upgrade --wait, no-op"],
    ["pulumi destroy", "kubectl delete --wait", "helm uninstall --wait"],
];

const median3 = (times: Times, c: string, k: string) => median(times[`${c} ${k}`] ?? [NaN]);
const secs = (x: number) => `${x.toFixed(2)}s`;

/** One case's medians and ratios, printed as soon as the case is done. */
function printCase(c: Case, times: Times): void {
    const m = (k: string) => median3(times, c.name, k);
    console.log(`\n${c.name} (${c.runs} run${c.runs > 1 ? "s" : ""}, medians)`);
    for (const [p, k, h] of PAIRS) {
        const line = [`  ${p.padEnd(28)} ${secs(m(p)).padStart(8)}`, `${k.padEnd(46)} ${secs(m(k)).padStart(8)}  pulumi/kubectl ${(m(p) / m(k)).toFixed(1)}x`];
        if (h) {
            line.push(`${h.padEnd(44)} ${secs(m(h)).padStart(8)}  pulumi/helm ${(m(p) / m(h)).toFixed(1)}x`);
        }
        console.log(line.join(" | "));
    }
}

/** Each tool's cost per added service, between the smallest and the largest generated stack. */
function printMarginal(times: Times, scaled: number[]): void {
    const [lo, hi] = [scaled[0], scaled[scaled.length - 1]];
    console.log(`\nmarginal cost per added service (services-${lo} -> services-${hi})`);
    for (const [p, k, h] of PAIRS) {
        const per = (key: string) => (median3(times, `services-${hi}`, key) - median3(times, `services-${lo}`, key)) / (hi - lo);
        const parts = [`  ${p.padEnd(28)} ${(per(p) * 1000).toFixed(0).padStart(5)} ms`, `${k} ${(per(k) * 1000).toFixed(0)} ms (${(per(p) / per(k)).toFixed(1)}x)`];
        if (h) {
            parts.push(`${h} ${(per(h) * 1000).toFixed(0)} ms (${(per(p) / per(h)).toFixed(1)}x)`);
        }
        console.log(parts.join(" | "));
    }
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string, def: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
    const runs = Number(arg("--runs", "3"));
    const scaleRuns = Number(arg("--scale-runs", "1"));
    const scaled = arg("--scale", "10,50,200").split(",").filter(Boolean).map(Number);
    const cpus = os.cpus();
    console.log(`machine: ${cpus.length} x ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, node ${process.version}`);
    const local = parse(fs.readFileSync(path.join(ROOT, "stacks", "local.yaml"), "utf8")) as { config: Record<string, unknown> };
    const cases: Case[] = [
        { name: "local", config: Object.fromEntries(Object.entries(local.config).map(([k, v]) => [k.replace(/^platform:/, ""), v])), runs },
        ...scaled.map((n) => ({ name: `services-${n}`, config: generatedConfig(n), runs: scaleRuns })),
    ];
    const times: Times = {};
    for (const c of cases) {
        console.error(`bench: ${c.name} ...`);
        await benchCase(c, times);
        printCase(c, times);
    }
    if (scaled.length >= 2) {
        printMarginal(times, scaled);
    }
}

main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exitCode = 1;
});
