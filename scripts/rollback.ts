// The rollback command: back to the image tags and settings of an earlier successful update of a
// stack, from the stack's own history, previewed first.
//
//   npm run rollback -- --stack prod [--back 1] [--yes]
//
// It takes the non-secret config the chosen update ran with (`pulumi stack history --json`),
// writes it into Pulumi.<stack>.yaml, and previews. Without --yes the file is put back as it was;
// with --yes it runs `pulumi up` and leaves the file rolled back (commit it, as for any config
// change). Secrets are never rolled back: a rotated secret stays rotated (roll it again with
// `npm run secrets -- rotate`).

import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { PROJECT_DIR, pulumi, runCommand } from "./lib/cli";

const USAGE = "usage: npm run rollback -- --stack <name> [--back <n successful updates, default 1>] [--yes]";

/** One entry of `pulumi stack history --json`. */
export interface HistoryEntry {
    readonly kind: string;
    readonly result?: string;
    readonly startTime?: string;
    readonly message?: string;
    readonly config?: Readonly<Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>>;
}

type Config = Record<string, unknown>;

export interface RollbackPlan {
    /** Keys to set (values as the target update had them). */
    readonly set: Readonly<Config>;
    /** Keys the target update did not have. */
    readonly remove: readonly string[];
    /** "service: old -> new" for every service image that changes. */
    readonly images: readonly string[];
}

/** The successful update `back` updates before the latest successful one (history is newest first). */
export function targetUpdate(history: readonly HistoryEntry[], back: number): HistoryEntry {
    const updates = history.filter((e) => e.kind === "update" && e.result === "succeeded");
    if (updates.length <= back) {
        throw new Error(`the stack has ${updates.length} successful update(s): nothing to roll back ${back} update(s) to`);
    }
    return updates[back];
}

function images(config: Config): Record<string, string> {
    const services = (config["platform:services"] ?? {}) as Record<string, { image?: string }>;
    return Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s?.image ?? ""]));
}

/** A config value as text, the way the history records plain values; object keys sorted. */
function text(v: unknown): string {
    const canonical = (x: unknown): unknown => (Array.isArray(x) ? x.map(canonical)
        : typeof x === "object" && x !== null ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, canonical((x as Config)[k])])) : x);
    return typeof v === "string" ? v : JSON.stringify(canonical(v));
}

/**
 * What to change in the current config (secure values excluded) to match the target update's.
 * `defaults` are the project's declared defaults (Pulumi.yaml, without the namespace): the history
 * lists them too, and a key the stack file leaves at its default needs no line.
 */
export function rollbackPlan(current: Readonly<Config>, target: HistoryEntry, defaults: Readonly<Config> = {}): RollbackPlan {
    const wanted: Config = {};
    const secretKeys = new Set<string>();
    for (const [key, v] of Object.entries(target.config ?? {})) {
        if (v.secret) {
            secretKeys.add(key);
            continue;
        }
        const value = v.objectValue ?? v.value;
        const bare = key.slice(key.indexOf(":") + 1);
        if (value === undefined || (!(key in current) && bare in defaults && text(defaults[bare]) === text(value))) {
            continue;
        }
        wanted[key] = value;
    }
    const set: Config = {};
    for (const [key, value] of Object.entries(wanted)) {
        if (text(current[key]) !== text(value)) {
            set[key] = value;
        }
    }
    const isSecure = (v: unknown) => typeof v === "object" && v !== null && "secure" in v;
    const remove = Object.keys(current).filter((k) => !(k in wanted) && !secretKeys.has(k) && !isSecure(current[k]));
    const before = images(current);
    const after = images({ ...current, ...set });
    const changed = Object.keys({ ...before, ...after }).filter((s) => before[s] !== after[s])
        .map((s) => `${s}: ${before[s] || "(absent)"} -> ${after[s] || "(absent)"}`);
    return { set, remove, images: changed };
}

/** The declared defaults of Pulumi.yaml, by key without namespace. */
function projectDefaults(): Config {
    const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    return Object.fromEntries(Object.entries(project.config ?? {}).filter(([, d]) => d && "default" in d).map(([k, d]) => [k, d.default]));
}

export function main(argv: string[]): number {
    const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
    const stack = arg("--stack");
    const back = Number(arg("--back") ?? "1");
    if (!stack || !Number.isInteger(back) || back < 1) {
        console.error(USAGE);
        return 2;
    }
    const file = path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`);
    const original = fs.readFileSync(file, "utf8");
    const doc = (parse(original) ?? {}) as { config?: Config };
    const target = targetUpdate(JSON.parse(pulumi(["stack", "history", "--json", "--stack", stack, "--non-interactive"])) as HistoryEntry[], back);
    const plan = rollbackPlan(doc.config ?? {}, target, projectDefaults());
    console.log(`rolling ${stack} back to the update of ${target.startTime ?? "?"}${target.message ? ` ("${target.message.split("\n")[0]}")` : ""}`);
    if (Object.keys(plan.set).length === 0 && plan.remove.length === 0) {
        console.log("its config is the current config: nothing to roll back");
        return 0;
    }
    console.log(plan.images.length ? `images: ${plan.images.join(", ")}` : "images: unchanged");
    console.log(`config keys: ${[...Object.keys(plan.set), ...plan.remove.map((k) => `${k} (removed)`)].join(", ")}`);
    const config: Config = { ...doc.config, ...plan.set };
    plan.remove.forEach((k) => delete config[k]);
    fs.writeFileSync(file, stringify({ ...doc, config }));
    try {
        pulumi(["preview", "--diff", "--stack", stack, "--non-interactive"], { show: true });
    } catch (e) {
        fs.writeFileSync(file, original);
        throw e;
    }
    if (!argv.includes("--yes")) {
        fs.writeFileSync(file, original);
        console.log(`preview only; ${path.basename(file)} is unchanged. Rerun with --yes to apply.`);
        return 0;
    }
    // On a failed up the file stays rolled back, so `pulumi up` finishes the rollback once the cause is fixed.
    pulumi(["up", "--yes", "--skip-preview", "--stack", stack, "--non-interactive"], { show: true });
    console.log(`rolled back; commit ${path.basename(file)}`);
    return 0;
}

runCommand("rollback", module, main);
