// Times the unit suite (`npm test`'s mocha run) several times and prints each run and the median,
// with the machine it ran on, so the suite's time budget (10 s on the 2-core machine) is measured
// here rather than asserted by a timed test. Run it on an otherwise idle machine.
//
//   npm run bench:tests -- [--runs 5]

import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(argv: string[]): number {
    const i = argv.indexOf("--runs");
    const runs = i >= 0 ? Number(argv[i + 1]) : 5;
    if (!Number.isInteger(runs) || runs < 1) {
        console.error(`bench:tests: --runs must be a positive integer, got ${argv[i + 1]}`);
        return 2;
    }
    const mocha = path.join(ROOT, "node_modules", ".bin", "mocha");
    const times: number[] = [];
    for (let n = 1; n <= runs; n++) {
        const start = process.hrtime.bigint();
        const r = spawnSync(mocha, ["--reporter", "dot"], { cwd: ROOT, encoding: "utf8" });
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (r.status !== 0) {
            console.error(`bench:tests: run ${n} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
            return 1;
        }
        const passing = /(\d+) passing/.exec(r.stdout)?.[1];
        times.push(seconds);
        console.log(`run ${n}: ${seconds.toFixed(2)} s (${passing} tests)`);
    }
    const cpu = os.cpus();
    console.log(`median of ${runs}: ${median(times).toFixed(2)} s — ${cpu.length} x ${cpu[0]?.model.trim()}, ` +
        `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`);
    return 0;
}

process.exitCode = main(process.argv.slice(2));
