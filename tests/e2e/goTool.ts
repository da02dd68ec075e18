// Servers and clients the e2e tests run on loopback that no Debian package carries at the version
// wanted, built from the Go module proxy at a pinned version, once per machine, into the toolchain
// cache's tools folder (outside the repository, like the toolchain itself).

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The path of `binary`, installed from `module@version` (`go install`) on first use. */
export function goTool(moduleAtVersion: string, binary: string): string {
    const dir = path.join(os.homedir(), ".cache", "platform-toolchain", "tools", moduleAtVersion.replace(/[/@]/g, "_"));
    const bin = path.join(dir, binary);
    if (!fs.existsSync(bin)) {
        // GOFLAGS cleared: the toolchain's environment sets -mod=mod, which `go install pkg@version` refuses.
        execFileSync("go", ["install", "-trimpath", moduleAtVersion], { env: { ...process.env, GOBIN: dir, GOFLAGS: "" }, stdio: "inherit" });
    }
    return bin;
}
