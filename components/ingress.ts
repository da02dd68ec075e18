// The public entry: one Ingress for the stack's host, TLS from a cert-manager ClusterIssuer, each
// service's path prefix routed to it, and security headers set through a custom-headers ConfigMap
// (no configuration snippets: they are disabled in current ingress-nginx for good reason).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IngressSpec } from "../stacks/types";

export interface IngressRoute {
    readonly path: string;
    readonly serviceName: pulumi.Input<string>;
    readonly servicePort: number;
}

export interface AppIngressArgs {
    readonly namespace: pulumi.Input<string>;
    readonly name: string;
    readonly spec: IngressSpec;
    readonly routes: readonly IngressRoute[];
    readonly labels: Readonly<Record<string, string>>;
    /**
     * Send Strict-Transport-Security from this Ingress. Off when the ingress-nginx controller this
     * program installs sends it for every host, so browsers never see the header twice.
     */
    readonly hsts: boolean;
    /**
     * Resources the Ingress must wait for: the ingress-nginx release (its admission webhook rejects
     * Ingresses until it is ready) and cert-manager (which issues the certificate).
     */
    readonly after: readonly pulumi.Resource[];
    /** Where the ingress controller's pods run: the only peer that may reach the ACME solver pods. */
    readonly controller: k8s.types.input.networking.v1.NetworkPolicyPeer;
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
export function acmeSolverPolicy(controller: k8s.types.input.networking.v1.NetworkPolicyPeer): k8s.types.input.networking.v1.NetworkPolicySpec {
    return {
        podSelector: { matchLabels: { [ACME_SOLVER_LABEL]: "true" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [controller], ports: [{ protocol: "TCP", port: ACME_SOLVER_PORT }] }],
    };
}

export function securityHeaders(spec: IngressSpec, hsts: boolean): Record<string, string> {
    return {
        ...(hsts ? { "Strict-Transport-Security": `max-age=${spec.hstsMaxAgeSeconds}; includeSubDomains` } : {}),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": spec.contentSecurityPolicy,
    };
}

export function ingressAnnotations(spec: IngressSpec, headersConfigMap: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
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
        "nginx.ingress.kubernetes.io/custom-headers": headersConfigMap,
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

export class AppIngress extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: AppIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:AppIngress", name, {}, opts);
        const parent = { parent: this };
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: { ...args.labels } });

        const headers = new k8s.core.v1.ConfigMap(`${name}-security-headers`, {
            metadata: meta(`${args.name}-security-headers`),
            data: securityHeaders(args.spec, args.hsts),
        }, parent);
        const headersRef = pulumi.interpolate`${headers.metadata.namespace}/${headers.metadata.name}`;

        new k8s.networking.v1.Ingress(name, {
            metadata: { ...meta(args.name), annotations: ingressAnnotations(args.spec, headersRef) },
            spec: ingressSpec(args.spec, args.routes),
        }, { parent: this, dependsOn: [headers, ...args.after] });

        new k8s.networking.v1.NetworkPolicy(`${name}-acme-solver`, {
            metadata: meta("acme-http01-solver"),
            spec: acmeSolverPolicy(args.controller),
        }, parent);

        this.url = pulumi.output(`https://${args.spec.host}`);
        this.registerOutputs({ url: this.url });
    }
}
