// Loaded first by .mocharc.e2e.json: gives the e2e suite the toolchain's and the local cluster's
// environment (PATH, KUBECONFIG, PULUMI_* settings) when the shell did not `eval` them, so
// `npm run test:e2e` works on its own once `npm run toolchain` and `npm run cluster:up` have run.

import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

if (!process.env.PLATFORM_TOOLCHAIN_BIN || !process.env.KUBECONFIG) {
    const exports = execFileSync("bash", [path.join(ROOT, "toolchain", "cluster.sh"), "env"], { encoding: "utf8" });
    for (const line of exports.split("\n")) {
        const m = /^export ([A-Z_]+)="?(.*?)"?$/.exec(line.trim());
        if (m) {
            process.env[m[1]] = m[2].replace(/\$PATH/g, process.env.PATH ?? "");
        }
    }
}
