// Kubernetes' own naming and format rules, stated once, as the API server applies them
// (k8s.io/apimachinery/pkg/util/validation and the image reference grammar of the distribution
// project), so validation accepts exactly what the cluster accepts for the values a stack sets.

import * as net from "net";

export interface Rule {
    /** A regular expression, or a test that a single one cannot state. */
    readonly re: { test(value: string): boolean };
    readonly maxLength: number;
    /** What is allowed, for error messages. */
    readonly text: string;
}

export function follows(rule: Rule, value: string): boolean {
    return value.length <= rule.maxLength && rule.re.test(value);
}

/** DNS-1123 label: Namespaces, most object names. */
export const DNS1123_LABEL: Rule = {
    re: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, maxLength: 63,
    text: "a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
};

/** DNS-1035 label: Service names, which become DNS names and must start with a letter. */
export const DNS1035_LABEL: Rule = {
    re: /^[a-z]([-a-z0-9]*[a-z0-9])?$/, maxLength: 63,
    text: "a DNS-1035 label: a lower-case letter, then lower-case letters, digits and '-', ending with a letter or digit, at most 63 characters",
};

const SUBDOMAIN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/** DNS-1123 subdomain: StorageClass and other object names, hostnames. */
export const DNS1123_SUBDOMAIN: Rule = {
    re: new RegExp(`^${SUBDOMAIN}$`), maxLength: 253,
    text: "a DNS subdomain: dot-separated DNS labels, at most 253 characters",
};

/** An Ingress host: a DNS subdomain that is not an IP address (the API server refuses IPs there). */
export const INGRESS_HOST: Rule = {
    re: new RegExp(`^(?![0-9.]+$)${SUBDOMAIN}$`), maxLength: 253,
    text: "a lower-case DNS hostname such as app.example.com (not an IP address)",
};

const NAME_PART = "[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?";

/** A label key (qualified name): an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function isLabelKey(key: string): boolean {
    const slash = key.lastIndexOf("/");
    const name = key.slice(slash + 1);
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    return name.length <= 63 && new RegExp(`^${NAME_PART}$`).test(name) && (prefix === undefined || follows(DNS1123_SUBDOMAIN, prefix));
}
export const LABEL_KEY_TEXT = "a label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

/** A label key as a Rule, for single values (a toleration's key); at most 253 + '/' + 63 characters. */
export const LABEL_KEY: Rule = { re: { test: isLabelKey }, maxLength: 317, text: LABEL_KEY_TEXT };

/** A label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. */
export const LABEL_VALUE: Rule = {
    re: new RegExp(`^(${NAME_PART})?$`), maxLength: 63,
    text: "a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
};

/** A map of labels (pod selectors, node selectors): label keys and label values. */
export const LABEL_RULES = {
    keys: { ok: isLabelKey, text: LABEL_KEY_TEXT },
    values: { ok: (v: string) => follows(LABEL_VALUE, v), text: LABEL_VALUE.text },
};

/**
 * The verbs a Role of the program may grant: the API server's request verbs on resources. The
 * special verbs (bind, escalate, impersonate, use, approve, sign) are left out on purpose: they let
 * their holder raise its own permissions or act as someone else.
 */
export const RBAC_VERBS: readonly string[] = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"];

/** An RBAC API group: "" (the core group), "*" (every group) or a group name, a DNS subdomain. */
export const RBAC_API_GROUP: Rule = {
    re: new RegExp(`^(\\*|${SUBDOMAIN})?$`), maxLength: 253,
    text: "an API group: \"\" (the core group), \"*\", or a DNS subdomain such as apps or coordination.k8s.io",
};

/**
 * An RBAC resource: a resource's plural name (a DNS-1035 label, as custom resources' plurals are),
 * optionally '/' and a subresource (pods/log, deployments/scale); "*" for every one of either.
 */
const RESOURCE_PART = "(\\*|[a-z]([-a-z0-9]*[a-z0-9])?)";
export const RBAC_RESOURCE: Rule = {
    re: new RegExp(`^${RESOURCE_PART}(/${RESOURCE_PART})?$`), maxLength: 127,
    text: "a resource's lower-case plural name such as configmaps, optionally with a subresource such as pods/log; \"*\" for every one",
};

/** A ConfigMap or Secret data key (the plain `env` of a service becomes ConfigMap keys). */
export const CONFIG_MAP_KEY: Rule = {
    re: /^[-._a-zA-Z0-9]+$/, maxLength: 253,
    text: "a ConfigMap key: letters, digits, '-', '_' or '.', at most 253 characters",
};

/**
 * A custom metric's name in an HPA: the API server takes any URL path segment (the metrics API
 * serves the metric at a path ending in its name), with no length limit of its own.
 */
export const METRIC_NAME: Rule = {
    re: /^(?!\.\.?$)[^/%]+$/, maxLength: Infinity,
    text: "a metric name such as http_requests_per_second (not '.' or '..', no '/' or '%')",
};

/** The API server's limits on an HPA's `behavior` (MaxStabilizationWindowSeconds, MaxPeriodSeconds). */
export const HPA_BEHAVIOR_LIMITS = { stabilizationWindowSeconds: 3600, periodSeconds: 1800 } as const;

/**
 * An image reference as the kubelet and containerd parse it (distribution's reference grammar,
 * ParseNormalizedNamed): [registry/]path[:tag][@digest]. The first component is a registry when it
 * has a '.' or a port, is localhost, is an IPv6 address in brackets, or has an upper-case letter;
 * otherwise it is part of the path, which is lower case. The name (registry and path) is at most 255
 * characters; a digest is sha256, sha384 or sha512 with lower-case hex of its length; a bare
 * 64-hex-digit name is refused (it reads as an image ID).
 */
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const PORT = "(?::[0-9]+)?";
const REGISTRY = `(?:localhost${PORT}|${HOST}(?:\\.${HOST})+${PORT}|${HOST}:[0-9]+|\\[[a-fA-F0-9:]+\\]${PORT}|(?=[a-zA-Z0-9-]*[A-Z])${HOST}${PORT})/`;
const IMAGE_RE = new RegExp(`^((?:${REGISTRY})?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::[\\w][\\w.-]{0,127})?(?:@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?$`);
export const IMAGE: Rule = {
    re: {
        test(value: string): boolean {
            const m = IMAGE_RE.exec(value);
            return m !== null && m[1].length <= 255 && !/^[a-f0-9]{64}$/.test(value);
        },
    },
    // The name's 255 is checked above; tag (128) and digest (7 + 128) come on top.
    maxLength: 255 + 129 + 136,
    text: "an image reference such as registry.example.com/team/app:v1.2.3 (lower-case path, one tag, optional @sha256 digest)",
};

/** The fields of a cron schedule: their ranges and the names they take (robfig/cron, as the CronJob controller parses them). */
const CRON_FIELDS: readonly { readonly min: number; readonly max: number; readonly names?: readonly string[] }[] = [
    { min: 0, max: 59 },
    { min: 0, max: 23 },
    { min: 1, max: 31 },
    { min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
    { min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

function cronValue(text: string, f: (typeof CRON_FIELDS)[number]): number | undefined {
    const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
    const n = named >= 0 ? named + f.min : /^\d+$/.test(text) ? Number(text) : undefined;
    return n !== undefined && n >= f.min && n <= f.max ? n : undefined;
}

/** One item of a cron field: `*` or `?`, a value or a range a-b, each with an optional step /n (n >= 1). */
function isCronItem(item: string, f: (typeof CRON_FIELDS)[number]): boolean {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m || (m[2] !== undefined && Number(m[2]) < 1)) {
        return false;
    }
    if (m[1] === "*" || m[1] === "?") {
        return true;
    }
    const [from, to, ...rest] = m[1].split("-");
    const a = cronValue(from, f);
    const b = to === undefined ? a : cronValue(to, f);
    return rest.length === 0 && a !== undefined && b !== undefined && a <= b;
}

/**
 * A CronJob schedule of five fields (minute, hour, day of month, month, day of week), each a
 * comma-separated list of items within the field's range, as the CronJob controller's parser takes
 * them. Descriptors (@daily) and time-zone prefixes (TZ=) are left out: the schedule is always five
 * fields, and the time zone is the CronJob's `timeZone`.
 */
export const CRON_SCHEDULE: Rule = {
    re: {
        test(value: string): boolean {
            const fields = value.trim().split(/\s+/);
            return fields.length === CRON_FIELDS.length && fields.every((field, i) => field.split(",").every((item) => isCronItem(item, CRON_FIELDS[i])));
        },
    },
    maxLength: 200,
    text: "a cron schedule of five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec) day-of-week (0-6 or sun-sat), " +
        "each *, a value, a range a-b, a step */n or a-b/n, or a comma-separated list of them, such as \"0 3 * * *\"",
};

/**
 * The volume name the program gives a writable path (a DNS label, as volume names must be):
 * "/var/cache/nginx" -> "var-cache-nginx", "/" -> "root".
 */
export function volumeNameForPath(path: string): string {
    return path.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 64).replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "") || "root";
}

/** A character that would end a line or a header value in a file the program writes. */
export function hasControlCharacter(value: string): boolean {
    return /[\u0000-\u001f\u007f]/.test(value);
}

/** An IPv4 or IPv6 CIDR as NetworkPolicy ipBlocks take it (a network address and a prefix length). */
export function isCidr(v: string): boolean {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
    if (!m) {
        return false;
    }
    const prefix = Number(m[2]);
    return net.isIPv4(m[1]) ? prefix <= 32 : net.isIPv6(m[1]) ? prefix <= 128 : false;
}
