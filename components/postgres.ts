// PostgreSQL as a single-replica StatefulSet with a retained volume, a tuning ConfigMap,
// pg_isready probes, an optional exporter sidecar, and a NetworkPolicy admitting only its clients.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PostgresSpec } from "../stacks/types";
import { DataService, DataServiceArgs, dataStatefulSetSpec } from "./dataService";
import { POSTGRES_EXPORTER_PORT, POSTGRES_PORT } from "./networkGraph";
import {
    checksum, execProbe, exporterContainer, resources, restrictedContainerSecurityContext, secretChecksum, secretEnvVar, writableDirs,
} from "./podSpec";

export interface PostgresArgs extends DataServiceArgs {
    /** Image, database, user, volume, resources, settings, protection (stacks/types.ts PostgresSpec). */
    readonly spec: PostgresSpec;
    readonly password: pulumi.Input<string>;
}

export const POSTGRES_NAME = "postgres";
export const CREDENTIALS = `${POSTGRES_NAME}-credentials`;
const DATA_MOUNT = "/var/lib/postgresql/data";
const SOCKET_DIR = "/var/run/postgresql";
export const SHM_SIZE = "1Gi";

/** postgresql.conf: listen on the pod network, plus the tuning settings. */
export function postgresqlConf(settings: Readonly<Record<string, string>>): string {
    const lines = { listen_addresses: "'*'", ...settings };
    return Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";
}

/**
 * After every start, set the user's password to the one in the Secret, so a rotated secret takes
 * effect when the checksum annotation rolls the pod. Runs over the local socket (trust auth in the
 * image's pg_hba.conf); the data volume is untouched. The password never enters the SQL text, a
 * command line or a log: psql reads the statements from standard input (a quoted here-document, so
 * the shell expands nothing), takes the password from the environment (`\getenv`, psql 15+) and
 * quotes it as a literal itself (`:'pw'`), with statement logging off for the session. Retries for
 * as long as the startup probe allows (60 x 5 s: the server may still be recovering), then fails,
 * which restarts the container: better than running with a password the clients no longer use.
 */
export const PASSWORD_SYNC_SQL = [
    "SET log_statement = 'none';",
    "SET log_min_duration_statement = -1;",
    "\\getenv pw POSTGRES_PASSWORD",
    "\\getenv usr POSTGRES_USER",
    "ALTER USER :\"usr\" WITH PASSWORD :'pw';",
].join("\n");

export const PASSWORD_SYNC_COMMAND = [
    "sh", "-c",
    "for attempt in $(seq 1 60); do " +
    `if pg_isready -q -h ${SOCKET_DIR}; then ` +
    `psql -h ${SOCKET_DIR} -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -q -X <<'SQL' && exit 0\n${PASSWORD_SYNC_SQL}\nSQL\n` +
    "fi; sleep 5; done; echo 'password sync failed' >&2; exit 1",
];

export function statefulSetSpec(args: PostgresArgs, configChecksum: string, secretChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.StatefulSetSpec {
    const s = args.spec;
    const dirs = writableDirs([SOCKET_DIR, "/tmp"]);
    const isReady = ["sh", "-c", `pg_isready -h 127.0.0.1 -p ${POSTGRES_PORT} -U "$POSTGRES_USER" -d "$POSTGRES_DB"`];
    const credentials = ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"].map((k) => secretEnvVar(k, CREDENTIALS, k));
    return dataStatefulSetSpec({
        name: POSTGRES_NAME, appName: args.appName, labels: args.labels, spec: s,
        annotations: { "checksum/config": configChecksum, "checksum/secret": secretChecksum },
        pod: {
            terminationGracePeriodSeconds: 60,
            containers: [
                {
                    name: POSTGRES_NAME,
                    image: s.image,
                    args: ["-c", "config_file=/etc/postgresql/postgresql.conf"],
                    ports: [{ name: "postgres", containerPort: POSTGRES_PORT, protocol: "TCP" }],
                    env: [...credentials, { name: "PGDATA", value: `${DATA_MOUNT}/pgdata` }],
                    resources: resources(s.resources, dirs.volumes.length),
                    securityContext: restrictedContainerSecurityContext(),
                    startupProbe: execProbe(isReady, 5, 60),
                    livenessProbe: execProbe(isReady, 10, 6),
                    readinessProbe: execProbe(isReady, 5, 3),
                    lifecycle: { postStart: { exec: { command: PASSWORD_SYNC_COMMAND } } },
                    volumeMounts: [
                        { name: "data", mountPath: DATA_MOUNT },
                        { name: "config", mountPath: "/etc/postgresql", readOnly: true },
                        { name: "shm", mountPath: "/dev/shm" },
                        ...dirs.mounts,
                    ],
                },
                ...(args.exporter ? [exporterContainer("postgres-exporter", s.exporterImage, POSTGRES_EXPORTER_PORT, [
                    { name: "DATA_SOURCE_URI", value: `127.0.0.1:${POSTGRES_PORT}/${s.database}?sslmode=disable` },
                    secretEnvVar("DATA_SOURCE_USER", CREDENTIALS, "POSTGRES_USER"),
                    secretEnvVar("DATA_SOURCE_PASS", CREDENTIALS, "POSTGRES_PASSWORD"),
                ])] : []),
            ],
            volumes: [
                { name: "config", configMap: { name: `${POSTGRES_NAME}-config` } },
                // Parallel queries use dynamic shared memory in /dev/shm; the container runtime's
                // default of 64 MiB makes them fail. Memory-backed: it counts against the limit.
                { name: "shm", emptyDir: { medium: "Memory", sizeLimit: SHM_SIZE } },
                ...dirs.volumes,
            ],
        },
    });
}

/** The PostgreSQL connection URL (user and password URL-encoded, so any password parses). */
export function connectionUrl(user: string, password: string, host: string, database: string): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${POSTGRES_PORT}/${database}`;
}

export class Postgres extends DataService {
    readonly database: string;
    readonly user: string;
    /** Connection URL with the password: a secret. */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        const s = args.spec;
        super("platform:app:Postgres", name, args, {
            name: POSTGRES_NAME,
            port: { name: "postgres", number: POSTGRES_PORT },
            metricsPort: POSTGRES_EXPORTER_PORT,
            credentials: pulumi.output(args.password).apply((password): Record<string, string> => ({ POSTGRES_USER: s.user, POSTGRES_DB: s.database, POSTGRES_PASSWORD: password })),
        }, opts);
        const parent = { parent: this };
        const conf = { "postgresql.conf": postgresqlConf(s.settings) };
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: this.meta(`${POSTGRES_NAME}-config`), data: conf }, parent);
        this.statefulSet(name, statefulSetSpec(args, checksum(conf), secretChecksum({ POSTGRES_PASSWORD: args.password }, args.checksumKey)), s.protect, [configMap]);

        this.database = s.database;
        this.user = s.user;
        this.url = pulumi.secret(pulumi.all([args.password, this.host]).apply(([password, host]) => connectionUrl(s.user, password, host, s.database)));
        this.done({ database: this.database, user: this.user });
    }
}
