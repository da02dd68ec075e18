// Kafka 4.1.1 on loopback, for tests that run Kafka's pod command against the real broker (the local
// cluster runs no containers): the release's jars from Maven Central, resolved by Maven from
// tests/support/kafka/pom.xml (.ci/e2e fetches them; nothing is kept in the repository), and
// stand-ins for the release's bin/ scripts (tests/support/kafka/scripts), which Maven Central does not carry.

import * as assert from "assert/strict";
import { ChildProcess, SpawnSyncReturns, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { killTree } from "./live";
import { which } from "./localPostgres";
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

/** Whether something accepts TCP connections on 127.0.0.1:`port` (what a tcpSocket probe checks). */
export function tcpOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.setTimeout(1000);
        const done = (open: boolean) => {
            s.destroy();
            resolve(open);
        };
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
        s.once("timeout", () => done(false));
    });
}

/** A process started by `sh -c`, its output kept. */
export interface ShellProcess {
    readonly child: ChildProcess;
    stdout(): string;
    stderr(): string;
    /** Resolves with the exit code or signal name once the process has ended. */
    readonly exited: Promise<number | string>;
    /** SIGKILL to the process and everything below it (for clean-up after a failure). */
    kill(): void;
}

/**
 * Starts `script` with `sh -c` in `cwd`, with exactly `env` (nothing inherited), its output into
 * files `<log>.out` and `<log>.err`: a pipe that this process stopped reading while it waits on a
 * client (spawnSync) would fill and block the server's logging, as a container runtime never does.
 */
export function startShell(script: string, env: NodeJS.ProcessEnv, cwd: string, log: string): ShellProcess {
    const [out, err] = [`${log}.out`, `${log}.err`];
    const files = [fs.openSync(out, "w"), fs.openSync(err, "w")];
    const child = spawn("sh", ["-c", script], { cwd, env, stdio: ["ignore", ...files] });
    files.forEach((fd) => fs.closeSync(fd));
    const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "")));
    const kill = () => {
        if (child.pid && child.exitCode === null && child.signalCode === null) {
            killTree(child.pid);
        }
    };
    return { child, stdout: () => fs.readFileSync(out, "utf8"), stderr: () => fs.readFileSync(err, "utf8"), exited, kill };
}

/** Waits until 127.0.0.1:`port` accepts connections, failing early if `proc` ends. */
export async function waitForPort(proc: ShellProcess, port: number, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await tcpOpen(port))) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
            throw new Error(`exited (${proc.child.exitCode ?? proc.child.signalCode}) before listening on ${port}:\n${proc.stdout().slice(-4000)}\n${proc.stderr()}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`nothing listened on ${port} within ${seconds} s:\n${proc.stdout().slice(-4000)}\n${proc.stderr()}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}
