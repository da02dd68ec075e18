// The response security headers of the app's public entry, in one place: the Ingress's custom-headers
// ConfigMap, the managed ingress-nginx controller's config and config validation all derive from it,
// so the header set, the HSTS max-age and the controller's allow-list cannot drift apart.

export const HSTS_HEADER = "Strict-Transport-Security";

/** Headers every response of the app carries, whichever controller serves it. */
export const BASE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
};

/** HSTS value: browsers keep to HTTPS for `maxAgeSeconds`, subdomains included. */
export function hstsValue(maxAgeSeconds: number): string {
    return `max-age=${maxAgeSeconds}; includeSubDomains`;
}

/**
 * The headers the Ingress sets: the base set, the content security policy, and HSTS unless the
 * controller already sends it for every TLS host (a second copy confuses some clients and scanners).
 */
export function ingressSecurityHeaders(contentSecurityPolicy: string, hstsMaxAgeSeconds: number, controllerSendsHsts: boolean): Record<string, string> {
    return {
        ...BASE_SECURITY_HEADERS,
        "Content-Security-Policy": contentSecurityPolicy,
        ...(controllerSendsHsts ? {} : { [HSTS_HEADER]: hstsValue(hstsMaxAgeSeconds) }),
    };
}

/** Every header name the Ingress may set: what a controller must allow (ingress-nginx: global-allowed-response-headers). */
export const INGRESS_HEADER_NAMES: readonly string[] = Object.keys(ingressSecurityHeaders("", 0, false));
