// Kafka's pod (components/kafka.ts) against the real Kafka 4.1.1, the image's release, on loopback.
// The local cluster runs no containers, so the container's own command, its env and the
// kafka-config ConfigMap's files (server.properties, log4j2.yaml) run here, for the prod stack with
// Kafka on: the volume formatted with the fixed cluster id, the broker started, a client producing
// and consuming in a consumer group through the client listener, the loopback listener the exporter
// uses answering, logs on standard output only, and a stop and restart on the same volume.
//
// What differs from the pod, each rewrite checked below to be the only change:
// - /opt/kafka/bin: stand-ins for the release's scripts (tests/support/kafka/scripts), over Kafka's jars
//   from Maven Central; /etc/kafka, the data volume and the /tmp emptyDir: folders of a temp folder.
// - listeners: bound to 127.0.0.1 on free ports. The pod binds the client listener on every address
//   on 9092 and the others on 9093/9094; here other things may hold those ports, and a test server
//   listens on loopback only.
// - The advertised client host is 127.0.0.1 (serverProperties' argument; the Service's name does
//   not resolve here).
// - The JVM is told the pod's memory limit (-XX:MaxRAM), which in the pod it reads from its cgroup.

import * as assert from "assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KAFKA_CLUSTER_ID, KAFKA_NAME, kafkaConfig, statefulSetSpec } from "../../components/kafka";
import { stackConfig } from "../../scripts/lib/mockRun";
import { resolveConfig } from "../../stacks/config";
import { parseQuantity } from "../../stacks/reader";
import { SECRET_KEYS } from "../../stacks/secrets";
import { KAFKA_STAND_IN_BIN, kafkaClasspath, kafkaTool, startShell } from "./localKafka";
import { freePort } from "./localPostgres";
import { ServerProcess, stopServer, tcpOpen, waitForPort } from "./loopback";

const prod = resolveConfig("prod", { ...stackConfig("prod"), kafka: { enabled: true } }, { set: [...SECRET_KEYS], plaintext: [] });
const ADVERTISED_HOST = "127.0.0.1";

// The builder returns Pulumi input types; here they are plain values.
type Container = {
    name: string;
    command: string[];
    env: { name: string; value?: string }[];
    resources: { limits: { memory: string } };
    volumeMounts: { name: string; mountPath: string }[];
};
type PodSpec = { terminationGracePeriodSeconds: number; containers: Container[] };
const pod = (statefulSetSpec({ namespace: prod.namespace, appName: prod.appName, labels: {}, checksumKey: "k", exporter: true, networkPolicy: { podSelector: {} }, spec: prod.kafka }, "c") as
    unknown as { template: { spec: PodSpec } }).template.spec;
const kafka = pod.containers.find((c) => c.name === KAFKA_NAME)!;
const mountOf = (volume: string) => kafka.volumeMounts.find((m) => m.name === volume)!.mountPath;

const MAIN = { topics: "org.apache.kafka.tools.TopicCommand", producer: "org.apache.kafka.tools.ConsoleProducer",
    consumer: "org.apache.kafka.tools.consumer.ConsoleConsumer", groups: "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    apiVersions: "org.apache.kafka.tools.BrokerApiVersionsCommand", perf: "org.apache.kafka.tools.ProducerPerformance",
    transactions: "org.apache.kafka.tools.TransactionsCommand" };
const MESSAGE = "order 42: {\"amount\": 12.5, \"note\": \"ünïcode\"}";

function parseProperties(text: string): Map<string, string> {
    return new Map(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** A memory quantity in bytes, as the kubelet reads the limit. */
function bytes(quantity: string): number {
    const n = parseQuantity(quantity);
    assert.ok(n !== undefined && Number.isInteger(n), `memory limit ${quantity}`);
    return n;
}

describe("Kafka's pod command and config against the real Kafka 4.1.1 on loopback", function () {
    this.timeout(180_000);
    let dir = "";
    let classpath = "";
    let cfg = "";
    let data = "";
    let tmp = "";
    let cwd = "";
    const ports: Record<string, number> = {};
    let script = "";
    let env: NodeJS.ProcessEnv = {};
    let broker: ServerProcess | undefined;
    const client = () => `127.0.0.1:${ports.CLIENT}`;
    const local = () => `127.0.0.1:${ports.LOCAL}`;
    const tool = (main: string, args: string[], input?: string) => kafkaTool(classpath, main, args, input);
    /** The first message of `orders`, read through the client listener by a consumer in `group`, which commits its offset. */
    const consumeOne = (group: string) => tool(MAIN.consumer, ["--bootstrap-server", client(), "--topic", "orders", "--group", group,
        "--from-beginning", "--max-messages", "1", "--timeout-ms", "60000"]);

    let starts = 0;
    /** The container's command as the pod runs it; resolves once the client port listens, as the startup probe waits for. */
    const start = async () => {
        broker = startShell(script, env, cwd, path.join(dir, `broker-${++starts}`));
        await waitForPort(broker, ports.CLIENT, 120);
        return broker;
    };
    /** SIGTERM, as the kubelet stops the container, failing after the pod's grace period. */
    const stop = (p: ServerProcess) => stopServer(p, pod.terminationGracePeriodSeconds);

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-kafka-"));
        [cfg, data, tmp, cwd] = ["config", "data", "tmp", "cwd"].map((d) => path.join(dir, d));
        [cfg, data, tmp, cwd].forEach((d) => fs.mkdirSync(d));
        classpath = kafkaClasspath(path.join(dir, "classpath"));

        // The ConfigMap's files: server.properties rewritten as below, log4j2.yaml as it is.
        const files = kafkaConfig(ADVERTISED_HOST);
        assert.deepEqual(Object.keys(files).sort(), ["log4j2.yaml", "server.properties"]);
        const original = parseProperties(files["server.properties"]);
        for (const l of original.get("listeners")!.split(",")) {
            ports[l.slice(0, l.indexOf(":"))] = await freePort();
        }
        // Each listener's port in the pod → its free port here, wherever the port is named.
        const byOldPort = new Map(original.get("listeners")!.split(",").map((l) => [l.slice(l.lastIndexOf(":") + 1), ports[l.slice(0, l.indexOf(":"))]]));
        const newPorts = (v: string) => v.replace(/:(\d+)(?=,|$)/g, (_, p: string) => `:${byOldPort.get(p)}`);
        const rewritten = new Map(original);
        rewritten.set("listeners", newPorts(original.get("listeners")!).replace("CLIENT://:", "CLIENT://127.0.0.1:"));
        rewritten.set("advertised.listeners", newPorts(original.get("advertised.listeners")!));
        rewritten.set("controller.quorum.voters", newPorts(original.get("controller.quorum.voters")!));
        rewritten.set("log.dirs", original.get("log.dirs")!.replace(mountOf("data"), data));
        assert.deepEqual([...rewritten].filter(([k, v]) => original.get(k) !== v).map(([k]) => k).sort(),
            ["advertised.listeners", "controller.quorum.voters", "listeners", "log.dirs"]);
        fs.writeFileSync(path.join(cfg, "server.properties"), [...rewritten].map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
        fs.writeFileSync(path.join(cfg, "log4j2.yaml"), files["log4j2.yaml"]);

        // The container's paths → this test's folders: the config mount, the /tmp emptyDir, the scripts.
        // /tmp first: the temp folder itself may be under /tmp.
        const paths = (v: string) => v.replace(/(^|[\s=])\/tmp\//g, `$1${tmp}/`).split(mountOf("config")).join(cfg);
        assert.deepEqual(kafka.command.slice(0, 2), ["sh", "-c"]);
        const bin = /(\S+)\/kafka-storage\.sh /.exec(kafka.command[2])![1];
        script = paths(kafka.command[2]).split(`${bin}/`).join(`${KAFKA_STAND_IN_BIN}/`);
        const podEnv = Object.fromEntries(kafka.env.map((e) => [e.name, e.value]));
        assert.ok(kafka.env.every((e) => e.value !== undefined), "every variable is a plain value");
        env = {
            ...Object.fromEntries(Object.entries(podEnv).map(([k, v]) => [k, paths(v!)])),
            PATH: process.env.PATH,
            CLASSPATH: classpath,
            KAFKA_OPTS: `-XX:MaxRAM=${bytes(kafka.resources.limits.memory)}`,
        };
        assert.deepEqual(Object.keys(podEnv).filter((k) => podEnv[k] !== env[k]).sort(), ["KAFKA_LOG4J_OPTS", "LOG_DIR"]);
    });

    after(() => {
        broker?.kill();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("sizes the heap at half the container's memory limit", () => {
        const flags = execFileSync("java", [...`${env.KAFKA_HEAP_OPTS} ${env.KAFKA_OPTS}`.split(" "), "-XX:+PrintFlagsFinal", "-version"], { encoding: "utf8" });
        assert.equal(Number(/\bMaxHeapSize\s+= (\d+)/.exec(flags)![1]), bytes(kafka.resources.limits.memory) / 2);
    });

    it("formats the volume with the cluster id on first start, then runs the broker: every listener up", async () => {
        const p = await start();
        assert.match(p.stdout(), new RegExp(`^Formatting metadata directory ${data}/logs with metadata\\.version [\\w.-]+\\.$`, "m"));
        const meta = parseProperties(fs.readFileSync(path.join(data, "logs", "meta.properties"), "utf8"));
        assert.equal(meta.get("cluster.id"), KAFKA_CLUSTER_ID);
        assert.equal(meta.get("node.id"), "1");
        assert.match(p.stdout(), /\] INFO Kafka version: 4\.1\.1 \(org\.apache\.kafka\.common\.utils\.AppInfoParser\)$/m);
        for (const name of ["LOCAL", "CONTROLLER"]) {
            assert.ok(await tcpOpen(ports[name]), `${name} listens on ${ports[name]}`);
        }
    });

    it("serves a client through the client listener: a topic created, a message produced and consumed in a group (offsets committed to a one-replica internal topic)", () => {
        assert.match(tool(MAIN.topics, ["--bootstrap-server", client(), "--create", "--topic", "orders"]), /Created topic orders\./);
        tool(MAIN.producer, ["--bootstrap-server", client(), "--topic", "orders"], MESSAGE + "\n");
        assert.equal(consumeOne("billing"), MESSAGE + "\n");
        assert.match(tool(MAIN.topics, ["--bootstrap-server", client(), "--describe", "--topic", "__consumer_offsets"]),
            /^Topic: __consumer_offsets\tTopicId: \S+\tPartitionCount: 50\tReplicationFactor: 1\t/m);
    });

    it("commits transactions (their state topic has one replica, min.insync.replicas 1)", () => {
        assert.match(tool(MAIN.perf, ["--topic", "payments", "--num-records", "10", "--record-size", "20", "--throughput", "-1",
            "--producer-props", `bootstrap.servers=${client()}`, "--transactional-id", "billing-tx", "--transaction-duration-ms", "100"]), /^10 records sent,/m);
        assert.match(tool(MAIN.transactions, ["--bootstrap-server", client(), "describe", "--transactional-id", "billing-tx"]), /^1\s+billing-tx\s+\d+\s+\d+\s+CompleteCommit\s/m);
        assert.match(tool(MAIN.topics, ["--bootstrap-server", client(), "--describe", "--topic", "__transaction_state"]),
            /^Topic: __transaction_state\tTopicId: \S+\tPartitionCount: 50\tReplicationFactor: 1\tConfigs: .*\bmin\.insync\.replicas=1\b/m);
    });

    it("answers on the loopback listener the exporter uses, advertising each listener's own address", () => {
        assert.match(tool(MAIN.apiVersions, ["--bootstrap-server", local()]), new RegExp(`^${local()} \\(id: 1 rack: null`));
        assert.match(tool(MAIN.apiVersions, ["--bootstrap-server", client()]), new RegExp(`^${ADVERTISED_HOST}:${ports.CLIENT} \\(id: 1 rack: null`));
        assert.ok(tool(MAIN.topics, ["--bootstrap-server", local(), "--list"]).split("\n").includes("orders"));
        // What the exporter reads for consumer lag: the group's committed offset.
        assert.match(tool(MAIN.groups, ["--bootstrap-server", local(), "--describe", "--group", "billing"]), /^billing\s+orders\s+0\s+1\s+1\s+0\s/m);
    });

    it("logs to standard output only, in the ConfigMap's pattern, and writes no files outside the data volume", () => {
        const out = broker!.stdout();
        assert.match(out, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] INFO \[KafkaRaftServer nodeId=1\] Kafka Server started \(kafka\.server\.KafkaRaftServer\)$/m);
        // The storage tool's own report aside, every line starts a record in the pattern or continues
        // a multi-line one (the config dump), and every record ends with its logger's name.
        const records = out.replace(/^Formatting metadata directory .*\n/m, "").split(/^(?=\[[\d-]+ [\d:,]+\] )/m);
        assert.ok(records.length > 100);
        assert.deepEqual(records.filter((r) => !/^\[[\d-]+ [\d:,]+\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) [\s\S]* \([\w.$]+\)\n$/.test(r)), []);
        assert.equal(broker!.stderr(), "", "nothing on standard error (log4j2 or SLF4J complaints would be)");
        assert.deepEqual(fs.readdirSync(path.join(tmp)), ["kafka-logs"], "the start script creates LOG_DIR");
        assert.deepEqual(fs.readdirSync(path.join(tmp, "kafka-logs")), [], "no log or GC files");
        assert.deepEqual(fs.readdirSync(cfg).sort(), ["log4j2.yaml", "server.properties"]);
        assert.deepEqual(fs.readdirSync(cwd), []);
        assert.deepEqual(fs.readdirSync(data), ["logs"]);
    });

    it("stops on SIGTERM within the grace period; the same command on the same volume skips the format and serves the message again", async () => {
        const formatted = ["meta.properties", "bootstrap.checkpoint"].map((f) => fs.readFileSync(path.join(data, "logs", f)));
        await stop(broker!);
        assert.ok(!(await tcpOpen(ports.CLIENT)));

        const again = await start();
        assert.match(again.stdout(), /^All of the log directories are already formatted\.$/m);
        assert.deepEqual(["meta.properties", "bootstrap.checkpoint"].map((f) => fs.readFileSync(path.join(data, "logs", f))), formatted);
        assert.equal(consumeOne("audit"), MESSAGE + "\n");
        assert.match(tool(MAIN.groups, ["--bootstrap-server", local(), "--describe", "--group", "billing"]), /^billing\s+orders\s+0\s+1\s+1\s+0\s/m);
    });

    it("comes back after being killed (an OOM kill or a lost node): the log recovered, the message there", async () => {
        const killed = broker!;
        killed.kill();
        await killed.exited;
        await start();
        assert.equal(consumeOne("after-kill"), MESSAGE + "\n");
        await stop(broker!);
    });
});
