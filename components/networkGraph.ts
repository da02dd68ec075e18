// Who may reach whom, on which port, computed once from the config. The namespace denies all
// traffic by default; each workload's NetworkPolicy (a migration Job's too) is built here from the
// services' `uses`, `ingressPath`, `metricsPath` and `migration`, so the policy graph always
// matches the wiring.

import * as k8s from "@pulumi/kubernetes";
import { DATA_SERVICES, DataServiceName, NetworkSpec, PlatformConfig, migrationName } from "../stacks/types";
import { selectorLabels } from "./podSpec";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

export const POSTGRES_PORT = 5432;
export const POSTGRES_EXPORTER_PORT = 9187;
export const REDIS_PORT = 6379;
export const REDIS_EXPORTER_PORT = 9121;
export const KAFKA_PORT = 9092;
export const KAFKA_EXPORTER_PORT = 9308;
/** MinIO's S3 API, which also serves its Prometheus metrics. */
export const MINIO_PORT = 9000;

/** Each data service's client port, and the port Prometheus scrapes. */
export const DATA_SERVICE_PORTS: Readonly<Record<DataServiceName, { readonly port: number; readonly metricsPort: number }>> = {
    postgres: { port: POSTGRES_PORT, metricsPort: POSTGRES_EXPORTER_PORT },
    redis: { port: REDIS_PORT, metricsPort: REDIS_EXPORTER_PORT },
    kafka: { port: KAFKA_PORT, metricsPort: KAFKA_EXPORTER_PORT },
    minio: { port: MINIO_PORT, metricsPort: MINIO_PORT },
};

/** Ranges excluded from "external" HTTPS egress, so it cannot be used to reach in-cluster or private hosts. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];

/** Graph node of the Kubernetes API server's endpoints (`network.apiServerCidrs`). */
export const API_SERVER = "api-server";

/** Graph node of the ingress controller's pods. */
export const INGRESS_CONTROLLER = "ingress-controller";

/** Graph node of the PostgreSQL backup and restore pods (components/postgresBackup.ts): they reach PostgreSQL, nothing reaches them. */
export const POSTGRES_BACKUP = "postgres-backup";

/** What the graph is computed from: the services and whether each data service, the ingress and monitoring are on. */
export type NetworkGraphConfig = Pick<PlatformConfig, "appName" | "services" | DataServiceName | "ingress" | "monitoring" | "network">;

/** A workload of the namespace: a configured service or a data service. */
interface Workload {
    readonly name: string;
    /** Port the workload's pods listen on for clients. */
    readonly port: number;
    /** Port of a metrics exporter/endpoint Prometheus scrapes, if any. */
    readonly metricsPort?: number;
}

function workloads(cfg: NetworkGraphConfig): Map<string, Workload> {
    const map = new Map<string, Workload>();
    for (const s of cfg.services) {
        map.set(s.name, { name: s.name, port: s.port, metricsPort: s.metricsPath ? s.port : undefined });
    }
    for (const name of DATA_SERVICES.filter((n) => cfg[n].enabled)) {
        map.set(name, { name, ...DATA_SERVICE_PORTS[name] });
    }
    return map;
}

export function peerInNamespace(namespace: string, podLabels: Readonly<Record<string, string>>): NetworkPolicyPeer {
    return {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        podSelector: { matchLabels: { ...podLabels } },
    };
}

function tcp(port: number) {
    return { protocol: "TCP", port };
}

/** An edge of the graph: `from` may open TCP connections to `to` on `port`. */
export interface Edge {
    readonly from: string;
    readonly to: string;
    readonly port: number;
}

/** Every allowed connection, including those from the ingress controller and Prometheus. */
export function edges(cfg: NetworkGraphConfig): Edge[] {
    const all = workloads(cfg);
    const out: Edge[] = [];
    for (const s of cfg.services) {
        if (cfg.ingress.enabled && s.ingressPath !== undefined) {
            out.push({ from: INGRESS_CONTROLLER, to: s.name, port: s.port });
        }
        for (const target of s.uses) {
            const w = all.get(target);
            if (w) {
                out.push({ from: s.name, to: w.name, port: w.port });
            }
        }
        if (s.egressHttps) {
            out.push({ from: s.name, to: "external-https", port: 443 });
        }
        // Permissions (`rbac`) are of no use without a way to the API server.
        if (s.rbac.length > 0) {
            cfg.network.apiServerPorts.forEach((port) => out.push({ from: s.name, to: API_SERVER, port }));
        }
    }
    // A migration Job's pods run the service's code with its env: they go where its pods go (but to
    // the API server: they mount no token), and nothing connects to them.
    for (const s of cfg.services.filter((x) => x.migration?.mode === "job")) {
        out.push(...out.filter((e) => e.from === s.name && e.to !== API_SERVER).map((e) => ({ ...e, from: migrationName(s.name) })));
    }
    if (cfg.postgres.backup.enabled) {
        out.push({ from: POSTGRES_BACKUP, to: "postgres", port: POSTGRES_PORT });
    }
    if (cfg.monitoring.enabled) {
        for (const w of all.values()) {
            if (w.metricsPort !== undefined) {
                out.push({ from: "prometheus", to: w.name, port: w.metricsPort });
            }
        }
    }
    return out;
}

function peersFor(name: string, cfg: NetworkGraphConfig, net: NetworkSpec): NetworkPolicyPeer[] {
    switch (name) {
        case API_SERVER:
            return net.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } }));
        case INGRESS_CONTROLLER:
            return [peerInNamespace(net.ingressControllerNamespace, net.ingressControllerPodLabels)];
        case "prometheus":
            return [peerInNamespace(net.monitoringNamespace, net.prometheusPodLabels)];
        case "external-https":
            return [{ ipBlock: { cidr: "0.0.0.0/0", except: PRIVATE_RANGES } }];
        default:
            return [{ podSelector: { matchLabels: selectorLabels(cfg.appName, name) } }];
    }
}

/**
 * The NetworkPolicy spec of one workload: ingress from every edge into it, egress along every edge
 * out of it. DNS egress comes from the namespace-wide policy. Both policy types are always listed,
 * so a workload with no edges in a direction gets none. An empty rule list is left out rather than
 * sent as `[]`: the API server drops empty lists, and sending one makes every apply a change.
 */
export function networkPolicyFor(cfg: NetworkGraphConfig, workload: string): NetworkPolicySpec {
    const all = edges(cfg);
    const rules = (list: Edge[], peerOf: (e: Edge) => string) =>
        list.map((e) => ({ peers: peersFor(peerOf(e), cfg, cfg.network), ports: [tcp(e.port)] }));
    // The controller's way in belongs to the edge (components/ingress.ts), which owns the routes.
    const ingress = rules(all.filter((e) => e.to === workload && e.from !== INGRESS_CONTROLLER), (e) => e.from).map((r) => ({ from: r.peers, ports: r.ports }));
    const egress = rules(all.filter((e) => e.from === workload), (e) => e.to).map((r) => ({ to: r.peers, ports: r.ports }));
    return {
        podSelector: { matchLabels: selectorLabels(cfg.appName, workload) },
        policyTypes: ["Ingress", "Egress"],
        ...(ingress.length ? { ingress } : {}),
        ...(egress.length ? { egress } : {}),
    };
}
