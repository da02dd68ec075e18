import { DNS1123_LABEL, DNS1123_SUBDOMAIN, INGRESS_HOST } from "./k8sRules";

// A small, pure reader over raw (already JSON-parsed) stack config. It records every problem instead
// of throwing on the first, so a bad stack config fails once with the full list, each entry naming
// the key, the value and what is allowed.

export class ConfigErrors {
    readonly problems: string[] = [];

    add(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${key}: ${show(value)} is not allowed: ${allowed}`);
    }

    missing(key: string, allowed: string): void {
        this.problems.push(`${key}: is required: ${allowed}`);
    }
}

/** Renders a config value for an error message (JSON for structures, quoted strings). */
export function show(value: unknown): string {
    if (value === undefined) {
        return "(unset)";
    }
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Items as a sentence lists them: "a", "a and b", "a, b and c". */
export function inWords(items: readonly string[]): string {
    return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export const patterns = {
    /** A Kubernetes object name usable as a DNS label (namespaces, Services). */
    dnsLabel: DNS1123_LABEL,
    /** A hostname for an Ingress rule: lower-case RFC 1123 subdomain, not an IP address. */
    hostname: INGRESS_HOST,
    /** An optional StorageClass name (empty: the cluster's default class). */
    storageClass: DNS1123_SUBDOMAIN,
};

const QUANTITY = /^([+]?[0-9.]+)([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const SUFFIX: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Parses a Kubernetes resource quantity ("500m", "2Gi", "1.5") into a number, or undefined if invalid. */
export function parseQuantity(text: string): number | undefined {
    const match = QUANTITY.exec(text);
    if (!match) {
        return undefined;
    }
    const base = Number(match[1]);
    if (!Number.isFinite(base)) {
        return undefined;
    }
    const suffix = match[2] ?? "";
    if (/^[eE]/.test(suffix)) {
        return base * 10 ** Number(suffix.slice(1));
    }
    return base * SUFFIX[suffix];
}

type Raw = Record<string, unknown>;

const INT32_MAX = 2147483647;

/**
 * Reads one config object. `field(...)` calls mark keys as known; `done()` reports the rest as unknown.
 * A missing object reads as `{}` so defaults apply.
 */
export class ObjectReader {
    private readonly seen = new Set<string>();
    /** Keys reported by `refuse`: neither unknown nor known. */
    private readonly refused = new Set<string>();
    readonly raw: Raw;

    constructor(readonly path: string, value: unknown, readonly errors: ConfigErrors) {
        if (value === undefined || value === null) {
            this.raw = {};
        } else if (typeof value === "object" && !Array.isArray(value)) {
            this.raw = value as Raw;
        } else {
            errors.add(path, value, "must be an object");
            this.raw = {};
        }
    }

    key(name: string): string {
        return this.path ? `${this.path}.${name}` : name;
    }

    has(name: string): boolean {
        return this.raw[name] !== undefined && this.raw[name] !== null;
    }

    private take(name: string): unknown {
        this.seen.add(name);
        return this.raw[name];
    }

    string(name: string, opts: { default?: string; required?: string; oneOf?: readonly string[]; pattern?: { re: { test(value: string): boolean }; maxLength: number; text: string } } = {}): string {
        const value = this.take(name);
        const key = this.key(name);
        if (value === undefined || value === null || value === "") {
            if (opts.required !== undefined) {
                this.errors.missing(key, opts.required);
            }
            return opts.default ?? "";
        }
        if (typeof value !== "string") {
            this.errors.add(key, value, "must be a string");
            return opts.default ?? "";
        }
        if (opts.oneOf && !opts.oneOf.includes(value)) {
            this.errors.add(key, value, `must be one of ${opts.oneOf.join(", ")}`);
        }
        if (opts.pattern && (value.length > opts.pattern.maxLength || !opts.pattern.re.test(value))) {
            this.errors.add(key, value, `must be ${opts.pattern.text}`);
        }
        return value;
    }

    int(name: string, opts: { default: number; min?: number; max?: number; required?: string }): number {
        const value = this.take(name);
        const key = this.key(name);
        if (value === undefined || value === null) {
            if (opts.required !== undefined) {
                this.errors.missing(key, opts.required);
            }
            return opts.default;
        }
        const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.errors.add(key, value, "must be an integer");
            return opts.default;
        }
        // Kubernetes integer fields are int32: larger values are refused by the API server.
        const min = opts.min ?? -INT32_MAX - 1;
        const max = opts.max ?? INT32_MAX;
        if (n < min || n > max) {
            const range = `an integer from ${min} to ${max}`;
            this.errors.add(key, value, `must be ${range}`);
            return opts.default;
        }
        return n;
    }

    number(name: string, opts: { default: number; above: number; max?: number; text: string }): number {
        const value = this.take(name);
        if (value === undefined || value === null) {
            return opts.default;
        }
        const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
        if (typeof n !== "number" || !Number.isFinite(n) || n <= opts.above || (opts.max !== undefined && n > opts.max)) {
            this.errors.add(this.key(name), value, `must be ${opts.text}`);
            return opts.default;
        }
        return n;
    }

    /** Marks an optional field as known when the caller has decided it is absent. */
    skip(name: string): undefined {
        this.take(name);
        return undefined;
    }

    /** Reads an optional field with `read`, or returns undefined when it is absent. */
    optional<T>(name: string, read: (r: ObjectReader) => T): T | undefined {
        const present = this.has(name);
        const child = this.object(name);
        return present ? read(child) : undefined;
    }

    bool(name: string, def: boolean): boolean {
        const value = this.take(name);
        if (value === undefined || value === null) {
            return def;
        }
        if (value === true || value === "true") {
            return true;
        }
        if (value === false || value === "false") {
            return false;
        }
        this.errors.add(this.key(name), value, "must be true or false");
        return def;
    }

    /**
     * A Kubernetes quantity; a YAML number (`cpu: 2`) is read as its text. `positive`: zero is refused,
     * with `example` (default 10Gi) in the message. A `required` one that is missing reads as `def`.
     */
    quantity(name: string, def: string, opts: { positive?: boolean; example?: string; required?: string } = {}): string {
        const raw = this.raw[name];
        const value = typeof raw === "number" && Number.isFinite(raw) ? (this.take(name), String(raw)) : this.string(name, { default: def, required: opts.required });
        const n = parseQuantity(value);
        if (n === undefined) {
            this.errors.add(this.key(name), value, "must be a Kubernetes quantity such as 500m, 2, 256Mi or 10Gi");
            return def;
        }
        if (opts.positive && n <= 0) {
            this.errors.add(this.key(name), value, `must be a Kubernetes quantity greater than zero, such as ${opts.example ?? "10Gi"}`);
            return def;
        }
        return value;
    }

    stringList(name: string, def: readonly string[] = []): string[] {
        const value = this.take(name);
        if (value === undefined || value === null) {
            return [...def];
        }
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            this.errors.add(this.key(name), value, "must be a list of strings");
            return [...def];
        }
        return value as string[];
    }

    /** A map of strings; `keys`/`values` check each entry (YAML numbers and booleans are read as text). */
    stringMap(name: string, def: Readonly<Record<string, string>> = {},
        rules: { keys?: { ok: (k: string) => boolean; text: string }; values?: { ok: (v: string) => boolean; text: string } } = {}): Record<string, string> {
        const value = this.take(name);
        if (value === undefined || value === null) {
            return { ...def };
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            this.errors.add(this.key(name), value, "must be a map of strings");
            return { ...def };
        }
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(value as Raw)) {
            if (rules.keys && !rules.keys.ok(k)) {
                this.errors.add(`${this.key(name)}`, k, `keys must be ${rules.keys.text}`);
            } else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
                if (rules.values && !rules.values.ok(String(v))) {
                    this.errors.add(`${this.key(name)}.${k}`, v, `must be ${rules.values.text}`);
                }
                out[k] = String(v);
            } else {
                this.errors.add(`${this.key(name)}.${k}`, v, "must be a string");
            }
        }
        return out;
    }

    /** A list of objects, each read with its index in the path (`name[0]`). */
    objectList(name: string): ObjectReader[] {
        const value = this.take(name);
        if (value === undefined || value === null) {
            return [];
        }
        if (!Array.isArray(value)) {
            this.errors.add(this.key(name), value, "must be a list");
            return [];
        }
        return value.map((v, i) => new ObjectReader(`${this.key(name)}[${i}]`, v, this.errors));
    }

    object(name: string): ObjectReader {
        return new ObjectReader(this.key(name), this.take(name), this.errors);
    }

    /** The entries of a map of objects (e.g. services keyed by name). */
    entries(name: string): [string, ObjectReader][] {
        const parent = this.object(name);
        return Object.keys(parent.raw).map((k) => {
            parent.seen.add(k);
            return [k, parent.object(k)];
        });
    }

    /**
     * Refuses a key that exists elsewhere but never here, with the reason instead of "unknown key",
     * and leaves it out of the known keys that `done()` lists.
     */
    refuse(name: string, allowed: string): void {
        this.refused.add(name);
        if (this.has(name)) {
            this.errors.add(this.key(name), this.raw[name], allowed);
        }
    }

    /** Reports every key that no reader asked for. */
    done(): void {
        for (const k of Object.keys(this.raw)) {
            if (!this.seen.has(k) && !this.refused.has(k)) {
                this.errors.add(this.key(k), this.raw[k], `unknown key; known keys here: ${[...this.seen].sort().join(", ")}`);
            }
        }
    }
}
