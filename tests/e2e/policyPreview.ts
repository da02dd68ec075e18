// `pulumi preview --policy-pack policy` of one stack of a workspace, run as its own process:
//   node -r ts-node/register/transpile-only tests/e2e/policyPreview.ts <workspace dir> <stack>
// The Node.js language host these machines can build (sdk/v3 v3.52.0) predates the RunPlugin call
// the engine uses to start a policy pack through the language host ("could not read plugin [policy]:
// not supported"). Where no language host is found, the engine starts packs through
// `pulumi-analyzer-policy-nodejs` instead (toolchain/wrappers/). So this runs the same preview as an
// Automation API inline program (the program is served from this process, no language host needed),
// with a PATH on which the CLI finds that runner but no language host.
// Prints the preview's output; exits with the preview's status.

import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

async function main(dir: string, stackName: string): Promise<number> {
    const toolchain = process.env.PLATFORM_TOOLCHAIN_BIN;
    if (!toolchain) {
        throw new Error("PLATFORM_TOOLCHAIN_BIN is not set: eval \"$(bash toolchain/build.sh env)\"");
    }
    // The CLI looks for plugins beside its own executable too: a hard link keeps it out of the
    // toolchain folder that holds the language host.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "platform-policy-bin-"));
    for (const b of ["pulumi", "pulumi-analyzer-policy-nodejs"]) {
        try {
            fs.linkSync(path.join(toolchain, b), path.join(bin, b));
        } catch {
            fs.copyFileSync(path.join(toolchain, b), path.join(bin, b));
            fs.chmodSync(path.join(bin, b), 0o755);
        }
    }
    process.env.PATH = [bin, ...(process.env.PATH ?? "").split(":").filter((p) => p !== toolchain)].join(":");
    // The runner is found on PATH only; the provider still comes from the plugin cache.
    delete process.env.PULUMI_IGNORE_AMBIENT_PLUGINS;
    try {
        const stack = await LocalWorkspace.selectStack({
            stackName,
            projectName: "platform",
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            program: require(path.join(dir, "index.ts")),
        }, { workDir: dir });
        await stack.preview({ policyPacks: [path.join(dir, "policy")], onOutput: (s) => process.stdout.write(s) });
        return 0;
    } catch (e) {
        process.stdout.write(`\n${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

main(process.argv[2], process.argv[3]).then((code) => process.exit(code), (e) => {
    console.error(e);
    process.exit(2);
});
