// Kafka as one KRaft node (broker and controller in one process) on a retained volume, with a
// kafka-exporter sidecar and a NetworkPolicy admitting only its clients.
//
// One node is the limit of this program: a replicated cluster (several brokers, a controller
// quorum, topics with replicas) is an operator's job, e.g. Strimzi. Clients speak plaintext without
// authentication: only the services that list `kafka` in `uses` can reach the client port. The
// controller and every connection from inside the pod (the exporter, the broker to itself) use
// loopback listeners, so the client port is all the pod network sees.
//
// The image's own start scripts write its configuration under /opt/kafka/config, which a read-only
// root filesystem forbids: the container formats its storage and starts the broker directly, from
// a server.properties and a console-only logging config in a ConfigMap.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KafkaSpec } from "../stacks/types";
import { DataService, DataServiceArgs, dataStatefulSetSpec } from "./dataService";
import { KAFKA_EXPORTER_PORT, KAFKA_PORT } from "./networkGraph";
import { checksum, exporterContainer, resources, restrictedContainerSecurityContext, tcpProbe, writableDirs } from "./podSpec";

export interface KafkaArgs extends DataServiceArgs {
    /** Image, exporter image, volume, resources, protection (stacks/types.ts KafkaSpec). */
    readonly spec: KafkaSpec;
}

export const KAFKA_NAME = "kafka";
/** Listener for connections from inside the pod: the exporter, and the broker's requests to itself. */
export const KAFKA_LOCAL_PORT = 9094;
const CONTROLLER_PORT = 9093;
const DATA_MOUNT = "/var/lib/kafka/data";
const CONFIG_DIR = "/etc/kafka";
const BIN = "/opt/kafka/bin";

/**
 * The cluster id the storage is formatted with. Fixed: one node never meets another cluster's,
 * and the id must stay the same for the life of the volume, which a generated one would not
 * promise across a replaced stack.
 */
export const KAFKA_CLUSTER_ID = "f7lPo8QCMap0T8EIX48zWA";

/** server.properties of the single node; clients are told to come back through `advertisedHost`. */
export function serverProperties(advertisedHost: string): string {
    const settings: [string, string][] = [
        ["process.roles", "broker,controller"],
        ["node.id", "1"],
        ["controller.quorum.voters", `1@127.0.0.1:${CONTROLLER_PORT}`],
        ["controller.listener.names", "CONTROLLER"],
        ["listeners", `CLIENT://:${KAFKA_PORT},LOCAL://127.0.0.1:${KAFKA_LOCAL_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`],
        // A client is answered with the address of the listener it came in on: the Service for
        // clients, loopback for the exporter (which otherwise would leave the pod to reach itself).
        ["advertised.listeners", `CLIENT://${advertisedHost}:${KAFKA_PORT},LOCAL://127.0.0.1:${KAFKA_LOCAL_PORT}`],
        ["listener.security.protocol.map", "CLIENT:PLAINTEXT,LOCAL:PLAINTEXT,CONTROLLER:PLAINTEXT"],
        ["inter.broker.listener.name", "LOCAL"],
        // A subdirectory: Kafka takes every directory in a log dir for a partition, lost+found included.
        ["log.dirs", `${DATA_MOUNT}/logs`],
        // Internal topics cannot have more replicas than there are brokers.
        ["offsets.topic.replication.factor", "1"],
        ["transaction.state.log.replication.factor", "1"],
        ["transaction.state.log.min.isr", "1"],
        ["share.coordinator.state.topic.replication.factor", "1"],
        ["share.coordinator.state.topic.min.isr", "1"],
    ];
    return settings.map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** Logs to standard output only: the default configuration writes rolling files that nothing deletes. */
export const LOG4J2_YAML = [
    "Configuration:",
    "  Appenders:",
    "    Console:",
    "      name: STDOUT",
    "      PatternLayout:",
    "        pattern: \"[%d] %p %m (%c)%n\"",
    "  Loggers:",
    "    Root:",
    "      level: INFO",
    "      AppenderRef:",
    "        - ref: STDOUT",
].join("\n") + "\n";

/** The ConfigMap's data. */
export function kafkaConfig(advertisedHost: string): Record<string, string> {
    return { "server.properties": serverProperties(advertisedHost), "log4j2.yaml": LOG4J2_YAML };
}

/** Formats the volume on first start (a no-op afterwards), then runs the broker in the container's main process. */
export const START_COMMAND = [
    "sh", "-c",
    `${BIN}/kafka-storage.sh format --ignore-formatted --cluster-id ${KAFKA_CLUSTER_ID} --config ${CONFIG_DIR}/server.properties && ` +
    `exec ${BIN}/kafka-server-start.sh ${CONFIG_DIR}/server.properties`,
];

export function statefulSetSpec(args: KafkaArgs, configChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.StatefulSetSpec {
    const s = args.spec;
    const dirs = writableDirs(["/tmp"]);
    return dataStatefulSetSpec({
        name: KAFKA_NAME, appName: args.appName, labels: args.labels, spec: s,
        annotations: { "checksum/config": configChecksum },
        pod: {
            terminationGracePeriodSeconds: 60,
            containers: [
                {
                    name: KAFKA_NAME,
                    image: s.image,
                    command: START_COMMAND,
                    ports: [{ name: "kafka", containerPort: KAFKA_PORT, protocol: "TCP" }],
                    env: [
                        { name: "KAFKA_LOG4J_OPTS", value: `-Dlog4j2.configurationFile=${CONFIG_DIR}/log4j2.yaml` },
                        // The start script creates it; the image's default is on the read-only root.
                        { name: "LOG_DIR", value: "/tmp/kafka-logs" },
                        // Without -loggc: the GC log is files of up to 1 GB on node disk.
                        { name: "EXTRA_ARGS", value: "-name kafkaServer" },
                        // Half the memory limit for the heap (the default is a fixed 1 GB); the
                        // rest is page cache, which Kafka reads and writes through.
                        { name: "KAFKA_HEAP_OPTS", value: "-XX:InitialRAMPercentage=50.0 -XX:MaxRAMPercentage=50.0" },
                    ],
                    resources: resources(s.resources, dirs.volumes.length),
                    securityContext: restrictedContainerSecurityContext(),
                    // Formatting and log recovery after an unclean stop can take minutes.
                    startupProbe: tcpProbe("kafka", 10, 30),
                    livenessProbe: tcpProbe("kafka", 10, 6),
                    readinessProbe: tcpProbe("kafka", 5, 3),
                    volumeMounts: [
                        { name: "data", mountPath: DATA_MOUNT },
                        { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                        ...dirs.mounts,
                    ],
                },
                // Sarama's default protocol version (2.0.0) is older than Kafka 4 accepts.
                ...(args.exporter ? [exporterContainer("kafka-exporter", s.exporterImage, KAFKA_EXPORTER_PORT, [],
                    [`--kafka.server=127.0.0.1:${KAFKA_LOCAL_PORT}`, "--kafka.version=4.0.0"])] : []),
            ],
            volumes: [{ name: "config", configMap: { name: `${KAFKA_NAME}-config` } }, ...dirs.volumes],
        },
    });
}

export class Kafka extends DataService {
    /** `host:port` for clients (KAFKA_BOOTSTRAP_SERVERS). */
    readonly bootstrapServers: pulumi.Output<string>;

    constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:Kafka", name, args, {
            name: KAFKA_NAME,
            port: { name: "kafka", number: KAFKA_PORT },
            metricsPort: KAFKA_EXPORTER_PORT,
        }, opts);
        const config = this.host.apply(kafkaConfig);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: this.meta(`${KAFKA_NAME}-config`), data: config }, { parent: this });
        this.statefulSet(name, statefulSetSpec(args, config.apply(checksum)), args.spec.protect, [configMap]);

        this.bootstrapServers = pulumi.interpolate`${this.host}:${KAFKA_PORT}`;
        this.done({ bootstrapServers: this.bootstrapServers });
    }
}
