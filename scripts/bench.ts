// Benchmark (not a test): times, per stack, on the local cluster, with medians of several runs:
//   - program evaluation: index.ts under mocks up to the rendered objects (what `render` does);
//   - kubectl apply --server-side of those objects from an empty namespace until every workload is ready;
//   - a no-op kubectl apply --server-side of the same objects.
// `pulumi preview`/`pulumi up` timings need the Pulumi Kubernetes provider, which cannot be built on
// these machines (README: "Live runs"); the script says so rather than print a number.
//
//   eval "$(bash toolchain/cluster.sh env)"; npm run bench -- [--runs 5] [--stacks dev,prod]

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { manifest, renderStack } from "./render";
import { ROOT } from "./lib/mockRun";

function kubectl(args: string[]): void {
    const r = spawnSync("kubectl", args, { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`kubectl ${args.join(" ")}: ${r.stderr || r.error?.message}`);
    }
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed(fn: () => unknown | Promise<unknown>): Promise<number> {
    const start = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string, def: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
    const runs = Number(arg("--runs", "5"));
    const stacks = arg("--stacks", "dev,prod").split(",");
    const cpus = os.cpus();
    console.log(`machine: ${cpus.length} x ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, node ${process.version}`);
    kubectl(["apply", "--server-side", "-f", path.join(ROOT, "tests", "fixtures", "crds")]);
    kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-bench-"));
    for (const stack of stacks) {
        const evalTimes: number[] = [];
        const applyTimes: number[] = [];
        const noopTimes: number[] = [];
        let file = "";
        let namespace = "";
        let workloads: string[] = [];
        for (let i = 0; i < runs; i++) {
            evalTimes.push(await timed(async () => {
                const { objects } = await renderStack(stack);
                file = path.join(dir, `${stack}.yaml`);
                fs.writeFileSync(file, manifest(objects));
                const ws = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet") as { kind: string; metadata: { name: string; namespace: string } }[];
                workloads = ws.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
                namespace = ws[0].metadata.namespace;
            }));
        }
        for (let i = 0; i < runs; i++) {
            kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=300s"]);
            applyTimes.push(await timed(() => {
                kubectl(["apply", "--server-side", "--field-manager=platform-bench", "--force-conflicts", "-f", file]);
                for (const w of workloads) {
                    kubectl(["rollout", "status", w, "-n", namespace, "--timeout=300s"]);
                }
            }));
            noopTimes.push(await timed(() => kubectl(["apply", "--server-side", "--field-manager=platform-bench", "--force-conflicts", "-f", file])));
        }
        kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=300s"]);
        const fmt = (xs: number[]) => `median ${median(xs).toFixed(2)}s (min ${Math.min(...xs).toFixed(2)}s, max ${Math.max(...xs).toFixed(2)}s, ${xs.length} runs)`;
        console.log(`${stack}: program evaluation (mocks, render)        ${fmt(evalTimes)}`);
        console.log(`${stack}: kubectl apply --server-side, empty -> ready ${fmt(applyTimes)}`);
        console.log(`${stack}: kubectl apply --server-side, no-op          ${fmt(noopTimes)}`);
        console.log(`${stack}: pulumi preview / up                          not measured: the Pulumi Kubernetes provider cannot be built here`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exitCode = 1;
});
