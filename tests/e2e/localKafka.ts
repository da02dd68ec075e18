// Kafka 4.1.1 on loopback, for tests that run Kafka's pod command against the real broker (the local
// cluster runs no containers): the release's jars from Maven Central, resolved by Maven from
// tests/support/kafka/pom.xml (.ci/e2e fetches them; nothing is kept in the repository), and
// stand-ins for the release's bin/ scripts (tests/support/kafka/scripts), which Maven Central does not carry.

import * as assert from "assert/strict";
import { SpawnSyncReturns, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { which } from "./localPostgres";
import { ServerProcess, startServer } from "./loopback";
import { ROOT } from "./workspace";

const SUPPORT = path.join(ROOT, "tests", "support", "kafka");
/** Stands for the image's /opt/kafka/bin (not named bin: .gitignore leaves out every folder of that name). */
export const KAFKA_STAND_IN_BIN = path.join(SUPPORT, "scripts");

/** The classpath of Kafka 4.1.1 and its log4j2 binding, from Maven's local repository; `file` keeps Maven's answer. */
export function kafkaClasspath(file: string): string {
    const mvn = which("mvn");
    if (!mvn || !which("java")) {
        throw new Error("no java or mvn: apt-get install openjdk-17-jdk-headless maven (.ci/e2e does)");
    }
    execFileSync(mvn, ["-q", "-B", "-f", path.join(SUPPORT, "pom.xml"), "dependency:build-classpath", `-Dmdep.outputFile=${file}`], { stdio: "inherit" });
    return fs.readFileSync(file, "utf8").trim();
}

/** Runs one of Kafka's command-line clients (kafka-tools) by its main class, failing the test unless it succeeds; its standard output. */
export function kafkaTool(classpath: string, mainClass: string, args: string[], input?: string): string {
    const r: SpawnSyncReturns<string> = spawnSync("java", ["-cp", classpath, mainClass, ...args], { encoding: "utf8", input, timeout: 60_000 });
    assert.equal(r.status, 0, `${mainClass} ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** Starts `script` with `sh -c`, as the container's command runs it (startServer). */
export function startShell(script: string, env: NodeJS.ProcessEnv, cwd: string, log: string): ServerProcess {
    return startServer("sh", ["-c", script], env, cwd, log);
}
