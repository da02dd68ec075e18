// The edge: the Ingress, its controller (managed or external) and the response headers.

import { DNS1123_LABEL, INGRESS_HOST } from "../k8sRules";
import { ConfigErrors, Read, bool, int, object, oneOf, text, textList } from "../reader";
import { INGRESS_HEADER_NAMES, ingressSecurityHeaders } from "../securityHeaders";
import { AddonsConfig, IngressControllerSpec, IngressSpec } from "../types";

const CONTROLLER = object({
    mode: oneOf(["managed", "external"]).describe("managed: this stack's ingress-nginx add-on; external: a controller installed elsewhere"),
    allowedResponseHeaders: textList().describe("external only: the headers the controller lets an Ingress set"),
    sendsHsts: bool().describe("external only: the controller adds HSTS itself"),
}).describe("the controller that serves className");

export const INGRESS = object({
    enabled: bool().describe("an Ingress for the services with an ingressPath"),
    host: text({ rule: INGRESS_HOST }).describe("its host; domain unless set"),
    className: text({ rule: DNS1123_LABEL }).describe("IngressClass"),
    clusterIssuer: text({ rule: DNS1123_LABEL }).describe("cert-manager ClusterIssuer of its certificate"),
    tlsSecretName: text({ rule: DNS1123_LABEL }).describe("Secret of its certificate"),
    rateLimitRps: int({ min: 1 }).describe("requests per second per client"),
    proxyTimeoutSeconds: int({ min: 1 }).describe("proxy read/send timeout (WebSockets)"),
    proxyBodySize: text({ rule: { re: /^\d+[kmg]?$/i, maxLength: 10, text: "an nginx size such as 10m or 1G" } }).describe("largest request body"),
    // It becomes a response header in the controller's config: no line breaks, quotes or backslashes.
    contentSecurityPolicy: text({ rule: { re: /^[^"\\\u0000-\u001f\u007f]*$/, maxLength: 4096, text: "a header value without quotes, backslashes or line breaks" } })
        .describe("Content-Security-Policy header"),
    hstsMaxAgeSeconds: int({ min: 0 }).describe("Strict-Transport-Security max-age"),
    securityHeaders: bool().describe("set the security response headers"),
    controller: CONTROLLER,
    waitForAddress: bool().describe("wait until the controller publishes the Ingress's address"),
}).describe("The Ingress, its TLS and response headers");

export function readIngress(errors: ConfigErrors, i: Read<typeof INGRESS> = {}, domain: string, appName: string, addons: AddonsConfig): IngressSpec {
    const spec: IngressSpec = {
        enabled: i.enabled ?? true,
        host: i.host ?? domain,
        className: i.className ?? "nginx",
        clusterIssuer: i.clusterIssuer ?? "letsencrypt-prod",
        tlsSecretName: i.tlsSecretName ?? `${appName}-tls`,
        rateLimitRps: i.rateLimitRps ?? 100,
        proxyTimeoutSeconds: i.proxyTimeoutSeconds ?? 3600,
        proxyBodySize: i.proxyBodySize ?? "10m",
        contentSecurityPolicy: i.contentSecurityPolicy ??
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' wss:; frame-ancestors 'none'",
        hstsMaxAgeSeconds: i.hstsMaxAgeSeconds ?? 31536000,
        securityHeaders: i.securityHeaders ?? true,
        controller: readIngressController(errors, i.controller, addons),
        waitForAddress: i.waitForAddress ?? true,
    };
    if (spec.enabled) {
        checkControllerHeaders(errors, spec);
    }
    // An invalid domain is reported at its own key.
    if (spec.enabled && !spec.host && !errors.has("domain")) {
        errors.missing("ingress.host", "a hostname for the Ingress (set 'domain' or 'ingress.host'), or ingress.enabled: false");
    }
    return spec;
}

/**
 * The controller behind the IngressClass. Managed means this stack's ingress-nginx add-on, whose
 * allow-list and HSTS the program sets itself; an external controller's are whatever the stack states.
 */
function readIngressController(errors: ConfigErrors, c: Read<typeof CONTROLLER> = {}, addons: AddonsConfig): IngressControllerSpec {
    const managedAddon = addons.ingressNginx.enabled;
    const mode = c.mode ?? (managedAddon ? "managed" : "external");
    if (mode === "managed" && !managedAddon) {
        errors.add("ingress.controller.mode", mode, "needs addons.ingressNginx.enabled: true (the controller this stack installs); use mode: external for a controller installed outside this stack");
    }
    if (mode === "external" && managedAddon) {
        errors.add("ingress.controller.mode", mode, "contradicts addons.ingressNginx.enabled: true, whose controller serves this stack's IngressClass; turn the add-on off or use mode: managed");
    }
    if (mode === "managed") {
        for (const key of ["allowedResponseHeaders", "sendsHsts"] as const) {
            if (c[key] !== undefined) {
                errors.add(`ingress.controller.${key}`, c[key], "is set by the program for the managed controller; only mode: external takes it");
            }
        }
        return { mode, allowedResponseHeaders: INGRESS_HEADER_NAMES, sendsHsts: true };
    }
    return {
        mode,
        allowedResponseHeaders: c.allowedResponseHeaders ?? [],
        // ingress-nginx's own default (`hsts: "true"`).
        sendsHsts: c.sendsHsts ?? true,
    };
}

/**
 * Refuses a stack whose Ingress would set a header its controller does not allow: ingress-nginx then
 * answers 503 on every path of the Ingress. Header names compare case-insensitively, as in HTTP.
 */
function checkControllerHeaders(errors: ConfigErrors, spec: IngressSpec): void {
    if (!spec.securityHeaders || spec.controller.mode === "managed") {
        return;
    }
    const allowed = new Set(spec.controller.allowedResponseHeaders.map((h) => h.toLowerCase()));
    const set = Object.keys(ingressSecurityHeaders(spec.contentSecurityPolicy, spec.hstsMaxAgeSeconds, spec.controller.sendsHsts));
    const missing = set.filter((h) => !allowed.has(h.toLowerCase()));
    if (missing.length > 0) {
        errors.add("ingress.controller.allowedResponseHeaders", spec.controller.allowedResponseHeaders,
            `must list ${missing.join(", ")}: the Ingress sets them through the custom-headers annotation, and ingress-nginx answers 503 ` +
            "on every path of an Ingress that sets a header missing from its global-allowed-response-headers. Add them to the " +
            "controller's ConfigMap and list them here, or set ingress.securityHeaders: false to leave the headers to the app");
    }
}
