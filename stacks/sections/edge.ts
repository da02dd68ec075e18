// The edge: the Ingress, its controller (managed or external) and the response headers.

import { ObjectReader, patterns } from "../reader";
import { INGRESS_HEADER_NAMES, ingressSecurityHeaders } from "../securityHeaders";
import { AddonsConfig, IngressControllerSpec, IngressSpec } from "../types";

export function readIngress(r: ObjectReader, domain: string, appName: string, addons: AddonsConfig): IngressSpec {
    const spec: IngressSpec = {
        enabled: r.bool("enabled", true),
        host: r.string("host", { default: domain, pattern: patterns.hostname }),
        className: r.string("className", { default: "nginx", pattern: patterns.dnsLabel }),
        clusterIssuer: r.string("clusterIssuer", { default: "letsencrypt-prod", pattern: patterns.dnsLabel }),
        tlsSecretName: r.string("tlsSecretName", { default: `${appName}-tls`, pattern: patterns.dnsLabel }),
        rateLimitRps: r.int("rateLimitRps", { default: 100, min: 1 }),
        proxyTimeoutSeconds: r.int("proxyTimeoutSeconds", { default: 3600, min: 1 }),
        proxyBodySize: r.string("proxyBodySize", { default: "10m", pattern: { re: /^\d+[kmg]?$/i, maxLength: 10, text: "an nginx size such as 10m or 1G" } }),
        contentSecurityPolicy: r.string("contentSecurityPolicy", {
            // It becomes a response header in the controller's config: no line breaks, quotes or backslashes.
            pattern: { re: /^[^"\\\u0000-\u001f\u007f]*$/, maxLength: 4096, text: "a header value without quotes, backslashes or line breaks" },
            default: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self' wss:; frame-ancestors 'none'",
        }),
        hstsMaxAgeSeconds: r.int("hstsMaxAgeSeconds", { default: 31536000, min: 0 }),
        securityHeaders: r.bool("securityHeaders", true),
        controller: readIngressController(r.object("controller"), addons),
        waitForAddress: r.bool("waitForAddress", true),
    };
    r.done();
    if (spec.enabled) {
        checkControllerHeaders(r, spec);
    }
    if (spec.enabled && !spec.host) {
        r.errors.missing(r.key("host"), "a hostname for the Ingress (set 'domain' or 'ingress.host'), or ingress.enabled: false");
    }
    return spec;
}

/**
 * The controller behind the IngressClass. Managed means this stack's ingress-nginx add-on, whose
 * allow-list and HSTS the program sets itself; an external controller's are whatever the stack states.
 */
function readIngressController(r: ObjectReader, addons: AddonsConfig): IngressControllerSpec {
    const managedAddon = addons.ingressNginx.enabled;
    const mode = r.string("mode", { default: managedAddon ? "managed" : "external", oneOf: ["managed", "external"] }) as IngressControllerSpec["mode"];
    if (mode === "managed" && !managedAddon) {
        r.errors.add(r.key("mode"), mode, "needs addons.ingressNginx.enabled: true (the controller this stack installs); use mode: external for a controller installed outside this stack");
    }
    if (mode === "external" && managedAddon) {
        r.errors.add(r.key("mode"), mode, "contradicts addons.ingressNginx.enabled: true, whose controller serves this stack's IngressClass; turn the add-on off or use mode: managed");
    }
    if (mode === "managed") {
        for (const key of ["allowedResponseHeaders", "sendsHsts"]) {
            if (r.has(key)) {
                r.errors.add(r.key(key), r.raw[key], "is set by the program for the managed controller; only mode: external takes it");
            }
            r.skip(key);
        }
        r.done();
        return { mode, allowedResponseHeaders: INGRESS_HEADER_NAMES, sendsHsts: true };
    }
    const spec: IngressControllerSpec = {
        mode,
        allowedResponseHeaders: r.stringList("allowedResponseHeaders"),
        // ingress-nginx's own default (`hsts: "true"`).
        sendsHsts: r.bool("sendsHsts", true),
    };
    r.done();
    return spec;
}

/**
 * Refuses a stack whose Ingress would set a header its controller does not allow: ingress-nginx then
 * answers 503 on every path of the Ingress. Header names compare case-insensitively, as in HTTP.
 */
function checkControllerHeaders(r: ObjectReader, spec: IngressSpec): void {
    if (!spec.securityHeaders || spec.controller.mode === "managed") {
        return;
    }
    const allowed = new Set(spec.controller.allowedResponseHeaders.map((h) => h.toLowerCase()));
    const set = Object.keys(ingressSecurityHeaders(spec.contentSecurityPolicy, spec.hstsMaxAgeSeconds, spec.controller.sendsHsts));
    const missing = set.filter((h) => !allowed.has(h.toLowerCase()));
    if (missing.length > 0) {
        r.errors.add(r.key("controller.allowedResponseHeaders"), spec.controller.allowedResponseHeaders,
            `must list ${missing.join(", ")}: the Ingress sets them through the custom-headers annotation, and ingress-nginx answers 503 ` +
            "on every path of an Ingress that sets a header missing from its global-allowed-response-headers. Add them to the " +
            "controller's ConfigMap and list them here, or set ingress.securityHeaders: false to leave the headers to the app");
    }
}
