import { z } from "zod";
import { Rule, follows } from "./k8sRules";

// The config's shape is declared with zod (the fields below, composed in each section and in
// config.ts); this module turns zod's issues into the project's problem list. Every problem is
// collected, never only the first, so a bad stack config fails once with the full list, each entry
// naming the key, the value and what is allowed.

export class ConfigErrors {
    readonly problems: string[] = [];

    add(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${key}: ${show(value)} is not allowed: ${allowed}`);
    }

    missing(key: string, allowed: string): void {
        this.problems.push(`${key}: is required: ${allowed}`);
    }

    /** Whether a problem is reported at `key` or under it, so a check that reads it can stay quiet rather than report a follow-on. */
    has(key: string): boolean {
        return this.problems.some((p) => p.startsWith(`${key}:`) || p.startsWith(`${key}.`) || p.startsWith(`${key}[`));
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

// ---- Fields: each a zod schema with the YAML coercions and messages the stack files need. ----

/** Set `required` (what to set) for a field that has no default; others are optional. */
interface FieldOptions {
    readonly required?: string;
}

/**
 * A field: YAML's empty value (`key:`, null) reads as unset, like a missing key; `coerce` turns the
 * YAML forms of a value into its type ("true", `cpu: 2`). A missing required field is reported with
 * its `required` text, any other failure with `allowed`.
 */
function field<T extends z.ZodType>(schema: (error: z.core.$ZodErrorMap) => T, allowed: string, opts: FieldOptions, coerce: (v: unknown) => unknown = (v) => v) {
    const inner = schema((iss) => (iss.input === undefined ? opts.required : allowed));
    return z.preprocess((v) => (v === null ? undefined : coerce(v)), opts.required === undefined ? inner.optional() : inner);
}

/** The Kubernetes integer fields are int32: the API server refuses larger values. */
const INT32 = { min: -2147483648, max: 2147483647 } as const;

/**
 * A string; an empty one reads as unset. `rule`: a format from k8sRules.ts (or the like).
 * `scalars`: a YAML number or boolean is read as its text (`value: true` of a label).
 */
export function text(opts: FieldOptions & { rule?: Rule; scalars?: boolean } = {}) {
    const rule = opts.rule;
    const scalar = (v: unknown) => (opts.scalars && (typeof v === "number" || typeof v === "boolean") ? String(v) : v);
    return field((error) => {
        const s = z.string({ error });
        return rule ? s.refine((v) => follows(rule, v), { error: `must be ${rule.text}` }) : s;
    }, "must be a string", opts, (v) => (v === "" ? undefined : scalar(v)));
}

export function oneOf<const T extends string>(values: readonly T[], opts: FieldOptions = {}) {
    return field((error) => z.enum(values as [T, ...T[]], { error: (iss) => (iss.input === undefined || typeof iss.input === "string" ? error(iss) : "must be a string") }),
        `must be one of ${values.join(", ")}`, opts, (v) => (v === "" ? undefined : v));
}

export function bool() {
    return field((error) => z.boolean({ error }), "must be true or false", {}, (v) => (v === "true" ? true : v === "false" ? false : v));
}

/** An integer from `min` to `max` (int32 by default); YAML may hand it over as text ("3"). */
export function int(opts: FieldOptions & { min?: number; max?: number } = {}) {
    const { min = INT32.min, max = INT32.max } = opts;
    const range = `must be an integer from ${min} to ${max}`;
    // Refinements, not zod's .int()/.min()/.max(): a failed .int() aborts the whole parse, and the
    // valid rest of the config would be lost with it (shapeReader needs every other value).
    return field((error) => z.number({ error }).refine(Number.isInteger, { error: "must be an integer" })
        .refine((n) => !Number.isInteger(n) || (n >= min && n <= max), { error: range }),
    "must be an integer", opts, (v) => (typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v));
}

/** A number greater than `above` (and at most `max`), as `allowed` states it. */
export function number(opts: { above: number; max?: number; allowed: string }) {
    return field((error) => z.number({ error }).gt(opts.above).max(opts.max ?? Infinity), `must be ${opts.allowed}`, {},
        (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v));
}

/**
 * A Kubernetes quantity; a YAML number (`cpu: 2`) is read as its text. `positive`: zero is refused,
 * with `example` (default 10Gi) in the message.
 */
export function quantity(opts: FieldOptions & { positive?: boolean; example?: string } = {}) {
    // No `abort` on the first check: an aborted check drops the output of every enclosing object, the
    // valid rest with it; a second problem at the same key is not reported anyway.
    return field((error) => z.string({ error })
        .refine((v) => parseQuantity(v) !== undefined, { error: "must be a Kubernetes quantity such as 500m, 2, 256Mi or 10Gi" })
        .refine((v) => !opts.positive || (parseQuantity(v) ?? 0) > 0, { error: `must be a Kubernetes quantity greater than zero, such as ${opts.example ?? "10Gi"}` }),
    "must be a string", opts, (v) => (typeof v === "number" && Number.isFinite(v) ? String(v) : v === "" ? undefined : v));
}

/** A list of strings; a wrong item is reported at its index. */
export function textList(opts: FieldOptions = {}) {
    return field((error) => z.array(z.string({ error: "must be a string" }), { error }), "must be a list of strings", opts);
}

/** A map of strings; YAML numbers and booleans are read as their text. */
export function textMap() {
    const scalar = z.preprocess((v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v), z.string({ error: "must be a string" }));
    return field((error) => z.record(z.string(), scalar, { error }), "must be a map of strings", {});
}

/** A free-form object passed on as it is (e.g. Helm values). */
export function anyObject() {
    return field((error) => z.record(z.string(), z.unknown(), { error }), "must be an object", {});
}

/** A number that may take one value only; `allowed` says why (YAML may hand it over as text). */
export function exactly(value: number, allowed: string) {
    return field((error) => z.literal(value, { error }), allowed, {}, (v) => (v === String(value) ? value : v));
}

/** Whether a field is refused: declared only to say why (see `refused`). */
const REFUSED = new WeakSet<z.ZodType>();

/** A key that exists elsewhere but never here: refused with the reason instead of "unknown key". */
export function refused(reason: string) {
    const schema = field((error) => z.never({ error }), reason, {});
    REFUSED.add(schema);
    return schema;
}

/** A config object: its fields, and every other key reported as unknown, with the known ones. */
export function object<T extends z.core.$ZodLooseShape>(shape: T, opts: FieldOptions = {}) {
    const known = Object.keys(shape).filter((k) => !REFUSED.has(shape[k] as z.ZodType)).sort().join(", ");
    const unknown = `unknown key; known keys here: ${known}`;
    return field((error) => z.strictObject(shape, { error: (iss) => (iss.code === "unrecognized_keys" ? unknown : error(iss)) }), "must be an object", opts);
}

/** An item of a list or map: there, an empty value (null) is not a missing field but a missing item. */
function item<T extends z.ZodType>(schema: T) {
    return schema.refine((v) => v !== undefined, { error: "a value" });
}

/** A map of name to object (e.g. services by name). */
export function mapOf<T extends z.ZodType>(value: T) {
    return field((error) => z.record(z.string(), item(value), { error }), "must be an object", {});
}

/** A list of objects or values, each reported by index (`name[0]`); `nonEmpty` says what the items are when one is needed. */
export function listOf<T extends z.ZodType>(schema: T, opts: { nonEmpty?: string } = {}) {
    const nonEmpty = opts.nonEmpty;
    return field((error) => {
        const list = z.array(item(schema), { error });
        return nonEmpty === undefined ? list : list.min(1, { error: `must be a non-empty list of ${nonEmpty}` });
    }, "must be a list", {});
}

/** Rules for the keys and values of a map (label maps, env), from k8sRules.ts. */
export interface MapRules {
    readonly keys?: { ok: (k: string) => boolean; text: string };
    readonly values?: { ok: (v: string) => boolean; text: string };
}

/** Checks a map's keys and values; an entry with a bad key is left out, so it is reported once. */
export function checkMap(errors: ConfigErrors, key: string, map: Readonly<Record<string, string>>, rules: MapRules): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) {
        if (rules.keys && !rules.keys.ok(k)) {
            errors.add(key, k, `keys must be ${rules.keys.text}`);
            continue;
        }
        if (rules.values && !rules.values.ok(v)) {
            errors.add(`${key}.${k}`, v, `must be ${rules.values.text}`);
        }
        out[k] = v;
    }
    return out;
}

// ---- Reading raw config with a shape. ----

type Partially<T> = T extends readonly (infer U)[] ? Partially<NonNullable<U>>[]
    : T extends object ? (string extends keyof T ? { [K in keyof T]: Partially<NonNullable<T[K]>> } : { [K in keyof T]?: Partially<T[K]> }) : T;

/** What the reader hands on of a schema's output: invalid values are removed, so any field may be missing. */
export type Read<S extends z.ZodType> = Partially<NonNullable<z.output<S>>>;

type Path = readonly PropertyKey[];

/** A config key as messages name it: `services.backend.rbac[0].verbs`. */
function keyOf(path: Path): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
}

function at(value: unknown, path: Path): unknown {
    return path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined), value);
}

/** Removes an invalid value from zod's output, so its default applies; an invalid list item drops the list. */
function remove(output: unknown, path: Path): void {
    const end = typeof path[path.length - 1] === "number" ? path.length - 1 : path.length;
    const parent = at(output, path.slice(0, end - 1));
    if (end > 0 && parent !== null && typeof parent === "object") {
        delete (parent as Record<PropertyKey, unknown>)[path[end - 1]];
    }
}

/**
 * Reads raw config with `schema`: every issue becomes a problem at its key (once per key), with the
 * raw value as the stack file has it. zod's safeParse returns no data when anything fails, but
 * defaults must still apply and cross-checks still run on the valid rest, so the output is taken
 * from a final check that runs in any case, and the invalid values are removed from it.
 */
export function shapeReader<T extends z.ZodType>(schema: T): (raw: unknown, errors: ConfigErrors) => Read<T> {
    let output: unknown;
    const capturing = schema.refine((v) => { output = v; return true; }, { when: () => true });
    return (raw, errors) => {
        output = undefined;
        const result = capturing.safeParse(raw);
        const reported = new Set<string>();
        for (const issue of result.error?.issues ?? []) {
            const keys = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
            for (const path of keys) {
                const key = keyOf(path);
                const value = at(raw, path);
                if (!reported.has(key)) {
                    reported.add(key);
                    if (value === undefined || value === null || value === "") {
                        errors.missing(key, issue.message);
                    } else {
                        errors.add(key, value, issue.message);
                    }
                }
            }
            if (issue.code !== "unrecognized_keys") {
                remove(output, issue.path);
            }
        }
        return ((result.success ? result.data : output) ?? {}) as Read<T>;
    };
}
