// The public entry (the edge): one Ingress for the stack's host, TLS from a cert-manager ClusterIssuer,
// each service's path prefix routed to it, security headers set through a custom-headers ConfigMap
// (no configuration snippets: they are disabled in current ingress-nginx for good reason), and every
// NetworkPolicy the edge needs: controller -> each routed service, controller -> ACME solver pods.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ingressSecurityHeaders } from "../stacks/securityHeaders";
import { IngressSpec } from "../stacks/types";
import { objectMeta } from "./podSpec";
import { HealthCheck } from "./webService";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

export interface IngressRoute {
    /** The service's name (names its NetworkPolicy). */
    readonly name: string;
    readonly path: string;
    readonly serviceName: pulumi.Input<string>;
    readonly servicePort: number;
    /** Labels of the service's pods and the port they listen on: what the controller connects to. */
    readonly podSelector: Readonly<Record<string, string>>;
    readonly podPort: number;
}

export interface AppIngressArgs {
    readonly namespace: pulumi.Input<string>;
    readonly name: string;
    readonly spec: IngressSpec;
    readonly routes: readonly IngressRoute[];
    readonly labels: Readonly<Record<string, string>>;
    /**
     * Resources the Ingress must wait for: the ingress-nginx release (its admission webhook rejects
     * Ingresses until it is ready) and cert-manager (which issues the certificate).
     */
    readonly after: readonly pulumi.Resource[];
    /** Where the ingress controller's pods run: the only peer that may reach the ACME solver pods. */
    readonly controller: NetworkPolicyPeer;
}

/** Label cert-manager puts on the HTTP-01 solver pods it starts in the Ingress's namespace. */
export const ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver";
/** Port the HTTP-01 solver pods listen on. */
export const ACME_SOLVER_PORT = 8089;

/**
 * Lets the ingress controller reach cert-manager's HTTP-01 solver pods. They run in the app's
 * namespace, where the default-deny policy would otherwise drop every challenge request, so no
 * certificate would ever be issued under a CNI that enforces NetworkPolicy.
 */
export function acmeSolverPolicy(controller: NetworkPolicyPeer): NetworkPolicySpec {
    return {
        podSelector: { matchLabels: { [ACME_SOLVER_LABEL]: "true" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [controller], ports: [{ protocol: "TCP", port: ACME_SOLVER_PORT }] }],
    };
}

/** Lets the ingress controller reach one routed service's pods on the port they listen on. */
export function routePolicy(route: IngressRoute, controller: NetworkPolicyPeer): NetworkPolicySpec {
    return {
        podSelector: { matchLabels: { ...route.podSelector } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [controller], ports: [{ protocol: "TCP", port: route.podPort }] }],
    };
}

/** Name of the NetworkPolicy that admits the controller to a routed service. */
export function routePolicyName(service: string): string {
    return `${service}-from-ingress`;
}

/** The headers this Ingress sets (none when the stack leaves them to the app). */
export function securityHeaders(spec: IngressSpec): Record<string, string> {
    return spec.securityHeaders ? ingressSecurityHeaders(spec.contentSecurityPolicy, spec.hstsMaxAgeSeconds, spec.controller.sendsHsts) : {};
}

export function ingressAnnotations(spec: IngressSpec, headersConfigMap?: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
    const timeout = String(spec.proxyTimeoutSeconds);
    return {
        "cert-manager.io/cluster-issuer": spec.clusterIssuer,
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/limit-rps": String(spec.rateLimitRps),
        // WebSockets: long-lived upgraded connections must not be cut by the default 60s timeouts.
        "nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
        "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout,
        "nginx.ingress.kubernetes.io/proxy-body-size": spec.proxyBodySize,
        ...(headersConfigMap ? { "nginx.ingress.kubernetes.io/custom-headers": headersConfigMap } : {}),
        // Only where the stack says the controller never publishes an address (see IngressSpec).
        ...(spec.waitForAddress ? {} : { "pulumi.com/skipAwait": "true" }),
    };
}

/** Routes sorted longest path first, so `/api` wins over `/` on controllers that match in order. */
export function ingressSpec(spec: IngressSpec, routes: readonly IngressRoute[]): k8s.types.input.networking.v1.IngressSpec {
    const sorted = [...routes].sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path));
    return {
        ingressClassName: spec.className,
        tls: [{ hosts: [spec.host], secretName: spec.tlsSecretName }],
        rules: [{
            host: spec.host,
            http: {
                paths: sorted.map((r) => ({
                    path: r.path,
                    pathType: "Prefix",
                    backend: { service: { name: r.serviceName, port: { number: r.servicePort } } },
                })),
            },
        }],
    };
}

/** A path of an Ingress rule and the Service it sends requests to. */
export interface RoutedPath {
    readonly path: string;
    readonly service: string;
}

/**
 * The Service a request path reaches, as the Ingress API defines `Prefix` paths: matched element by
 * element (`/api` takes `/api/x`, not `/apix`), the longest match winning; the query is no part of it.
 */
export function routedService(paths: readonly RoutedPath[], requestPath: string): string | undefined {
    const elements = (p: string) => p.split("?")[0].split("/").filter((e) => e !== "");
    const request = elements(requestPath);
    const matching = paths.filter((p) => elements(p.path).every((e, i) => request[i] === e));
    return matching.sort((a, b) => elements(b.path).length - elements(a.path).length)[0]?.service;
}

export class AppIngress extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    /** Public URL of each routed service, by name. */
    readonly routeUrls: Record<string, pulumi.Output<string>>;
    readonly className: string;
    private readonly paths: pulumi.Output<RoutedPath[]>;

    constructor(name: string, args: AppIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:AppIngress", name, {}, opts);
        const parent = { parent: this };
        const meta = (objectName: string) => objectMeta(objectName, args.namespace, args.labels);

        let headersRef: pulumi.Output<string> | undefined;
        const after: pulumi.Resource[] = [...args.after];
        if (args.spec.securityHeaders) {
            const headers = new k8s.core.v1.ConfigMap(`${name}-security-headers`, {
                metadata: meta(`${args.name}-security-headers`),
                data: securityHeaders(args.spec),
            }, parent);
            headersRef = pulumi.interpolate`${headers.metadata.namespace}/${headers.metadata.name}`;
            after.unshift(headers);
        }
        // The controller's paths in exist before the Ingress sends it traffic.
        for (const route of args.routes) {
            after.push(new k8s.networking.v1.NetworkPolicy(`${name}-to-${route.name}`, {
                metadata: meta(routePolicyName(route.name)),
                spec: routePolicy(route, args.controller),
            }, parent));
        }

        const ingress = new k8s.networking.v1.Ingress(name, {
            metadata: { ...meta(args.name), annotations: ingressAnnotations(args.spec, headersRef) },
            spec: ingressSpec(args.spec, args.routes),
        }, { parent: this, dependsOn: after });

        new k8s.networking.v1.NetworkPolicy(`${name}-acme-solver`, {
            metadata: meta("acme-http01-solver"),
            spec: acmeSolverPolicy(args.controller),
        }, parent);

        // From the created Ingress: what the cluster routes, not a second copy of the config.
        const host = ingress.spec.rules.apply((rules) => rules[0].host as string);
        this.paths = ingress.spec.rules.apply((rules) => (rules[0].http?.paths ?? []).map((p) => ({ path: p.path, service: p.backend.service?.name as string })));
        this.url = pulumi.interpolate`https://${host}`;
        this.routeUrls = Object.fromEntries(args.routes.map((r) => [r.name, pulumi.interpolate`https://${host}${r.path}`]));
        this.className = args.spec.className;
        this.registerOutputs({ url: this.url, routeUrls: this.routeUrls, className: this.className });
    }

    /** The check with this Ingress's `url` as its `publicUrl` when the Ingress sends its health path to its Service. */
    withPublicUrl(check: pulumi.Output<HealthCheck>): pulumi.Output<HealthCheck> {
        return pulumi.all([check, this.paths, this.url]).apply(([c, paths, url]) =>
            (routedService(paths, c.healthPath) === c.service ? { ...c, publicUrl: url } : c));
    }
}
