// MinIO as one server on a retained volume, its S3 API on 9000, the root credentials in a Secret,
// Prometheus metrics served by MinIO itself, and a NetworkPolicy admitting only its clients.
//
// Buckets from config are created by a postStart hook, after every start, with the mc client the
// image ships: idempotent, no other image, pod or NetworkPolicy edge, and a volume that comes back
// empty gets its buckets again at the next start. A Job would run only when its spec changes and
// need its own pod settings and NetworkPolicy edge; leaving it to the apps would make each of them
// carry bucket-creation code.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MinioSpec } from "../stacks/types";
import { DataService, DataServiceArgs, dataStatefulSetSpec } from "./dataService";
import { MINIO_PORT } from "./networkGraph";
import { httpGetProbe, resources, restrictedContainerSecurityContext, secretChecksum, secretEnvVar, writableDirs } from "./podSpec";

export interface MinioArgs extends DataServiceArgs {
    /** Image, volume, resources, protection, buckets (stacks/types.ts MinioSpec). */
    readonly spec: MinioSpec;
    /** The root password (minioRootPassword secret). */
    readonly password: pulumi.Input<string>;
}

export const MINIO_NAME = "minio";
/** Name of the S3 API port, which also serves the metrics. */
export const MINIO_PORT_NAME = "s3";
export const MINIO_METRICS_PATH = "/minio/v2/metrics/cluster";
/**
 * The root user, which is the services' S3 access key id. Not a secret (every S3 request carries
 * it in the clear); the password is.
 */
export const MINIO_ROOT_USER = "minio";
const CREDENTIALS = `${MINIO_NAME}-credentials`;

/** The credentials Secret's data. */
export function credentials(password: string): Record<string, string> {
    return { MINIO_ROOT_USER, MINIO_ROOT_PASSWORD: password };
}

/**
 * Creates the buckets that do not exist yet. Retries for as long as the startup probe allows (30 x
 * 5 s: the server may still be starting), then fails, which restarts the container. mc gets the
 * server as alias `local` from `mc alias set`, the secret key on standard input (printf is the
 * shell's own, so the password is in no process's arguments): mc's MC_HOST_<alias> variable would
 * take it inside a URL, where mc splits on ':' and '@' and decodes nothing, so some passwords would
 * not work. The bucket names are validated S3 bucket names (lower-case letters, digits, '.', '-'):
 * nothing in them the shell reads.
 */
export function bucketsCommand(buckets: readonly string[]): string[] {
    return [
        "sh", "-c",
        "i=0; while [ $i -lt 30 ]; do " +
        `printf '%s\\n' "$MINIO_ROOT_PASSWORD" | mc alias set local http://127.0.0.1:${MINIO_PORT} "$MINIO_ROOT_USER" >/dev/null && ` +
        `mc mb --ignore-existing ${buckets.map((b) => `local/${b}`).join(" ")} && exit 0; ` +
        "i=$((i + 1)); sleep 5; done; echo 'bucket creation failed' >&2; exit 1",
    ];
}

export function statefulSetSpec(args: MinioArgs, secretChecksum: pulumi.Input<string>): k8s.types.input.apps.v1.StatefulSetSpec {
    const s = args.spec;
    const dirs = writableDirs(["/tmp"]);
    const buckets = s.buckets.length > 0;
    return dataStatefulSetSpec({
        name: MINIO_NAME, appName: args.appName, labels: args.labels, spec: s,
        annotations: { "checksum/secret": secretChecksum },
        pod: {
            containers: [{
                name: MINIO_NAME,
                image: s.image,
                command: ["minio"],
                // The default certificate directory is under $HOME, on the read-only root.
                args: ["server", "/data", "--address", `:${MINIO_PORT}`, "--certs-dir", "/tmp/certs"],
                ports: [{ name: MINIO_PORT_NAME, containerPort: MINIO_PORT, protocol: "TCP" }],
                env: [
                    secretEnvVar("MINIO_ROOT_USER", CREDENTIALS, "MINIO_ROOT_USER"),
                    secretEnvVar("MINIO_ROOT_PASSWORD", CREDENTIALS, "MINIO_ROOT_PASSWORD"),
                    // The web console would listen on a port no NetworkPolicy opens.
                    { name: "MINIO_BROWSER", value: "off" },
                    // Prometheus scrapes without a token; only Prometheus and the clients reach the port.
                    ...(args.exporter ? [{ name: "MINIO_PROMETHEUS_AUTH_TYPE", value: "public" }] : []),
                    // mc keeps its alias (with the secret key) here, on the pod's own writable /tmp.
                    ...(buckets ? [{ name: "MC_CONFIG_DIR", value: "/tmp/.mc" }] : []),
                ],
                resources: resources(s.resources, dirs.volumes.length),
                securityContext: restrictedContainerSecurityContext(),
                startupProbe: httpGetProbe("/minio/health/live", MINIO_PORT_NAME, 5, 30),
                livenessProbe: httpGetProbe("/minio/health/live", MINIO_PORT_NAME, 10, 3),
                readinessProbe: httpGetProbe("/minio/health/ready", MINIO_PORT_NAME, 5, 3),
                ...(buckets ? { lifecycle: { postStart: { exec: { command: bucketsCommand(s.buckets) } } } } : {}),
                volumeMounts: [{ name: "data", mountPath: "/data" }, ...dirs.mounts],
            }],
            volumes: dirs.volumes,
        },
    });
}

export class Minio extends DataService {
    /** The S3 endpoint URL for clients (S3_ENDPOINT). */
    readonly endpoint: pulumi.Output<string>;

    constructor(name: string, args: MinioArgs, opts?: pulumi.ComponentResourceOptions) {
        const s = args.spec;
        super("platform:app:Minio", name, args, {
            name: MINIO_NAME,
            port: { name: MINIO_PORT_NAME, number: MINIO_PORT },
            credentials: pulumi.output(args.password).apply(credentials),
        }, opts);
        this.statefulSet(name, statefulSetSpec(args, secretChecksum({ MINIO_ROOT_PASSWORD: args.password }, args.checksumKey)), s.protect);

        this.endpoint = pulumi.interpolate`http://${this.host}:${MINIO_PORT}`;
        this.done({ endpoint: this.endpoint });
    }
}
