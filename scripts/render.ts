// The render command: writes every Kubernetes object a stack's program manages as YAML, without a
// cluster or a Pulumi backend, for review and scanning.
//
//   npm run render -- --stack prod --out /tmp/rendered [--allow-inside-repo]
//
// The program runs under Pulumi mocks (the same runner the unit tests use) with every secret set to
// "<redacted>", so no real secret is read, and any value the program marks secret is written as
// "<redacted>" too. Objects go to <out>/<stack>/objects/, one file each; Helm releases, which the
// cluster sees as the chart's own objects, go to <out>/<stack>/releases/ as chart, version and values.
// It refuses to write inside the repository unless told to: rendered Secrets must never be committed.

import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { SECRET_KEYS, customSecretKeys } from "../stacks/secrets";
import { ROOT, Recorded, runProgram, stackConfig, unwrap } from "./lib/mockRun";

export const REDACTED = "<redacted>";

/**
 * YAML for Kubernetes tools: YAML 1.1 rules, so strings such as "yes", "on" or "0755" are quoted
 * (kubectl's parser would read them as booleans or octal numbers).
 */
export function toYaml(objects: readonly unknown[]): string {
    return objects.map((o) => stringify(o, { version: "1.1" })).join("---\n");
}

/** `value` with every secret-marked subtree replaced by REDACTED. */
export function redact(value: unknown): unknown {
    const u = unwrap(value);
    if (u.secret) {
        return isObject(u.value) ? Object.fromEntries(Object.keys(u.value).map((k) => [k, REDACTED])) : REDACTED;
    }
    if (Array.isArray(value)) {
        return value.map(redact);
    }
    if (isObject(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
    }
    return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One multi-document YAML for `kubectl apply`: namespaces first, then the program's registration order. */
export function manifest(objects: readonly Record<string, unknown>[]): string {
    return toYaml([...objects.filter((o) => o.kind === "Namespace"), ...objects.filter((o) => o.kind !== "Namespace")]);
}

export interface Rendered {
    /** Kubernetes objects (apiVersion/kind/metadata...), secrets redacted. */
    readonly objects: Record<string, unknown>[];
    /** Helm releases: release name, namespace, chart, version, repository and values. */
    readonly releases: Record<string, unknown>[];
}

function isKubernetesObject(r: Recorded): boolean {
    return r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && r.inputs?.kind !== undefined;
}

/** Runs a stack's program under mocks and returns what it would apply. */
export async function renderStack(stack: string): Promise<Rendered> {
    return renderConfig(stack, stackConfig(stack));
}

/** Renders a stack from a config given as `key -> value` (without the `platform:` prefix). */
export async function renderConfig(stack: string, config: Record<string, unknown>): Promise<Rendered> {
    const placeholders = Object.fromEntries([...SECRET_KEYS, ...customSecretKeys(config.secrets)].map((k) => [k, REDACTED]));
    const program = await runProgram(stack, config, placeholders);
    const objects = program.resources.filter(isKubernetesObject).map((r) => redact(r.inputs) as Record<string, unknown>);
    const releases = program.all("kubernetes:helm.sh/v3:Release").map((r) => {
        const i = redact(r.inputs) as Record<string, unknown>;
        return { name: i.name, namespace: i.namespace, chart: i.chart, version: i.version, repositoryOpts: i.repositoryOpts, values: i.values };
    });
    return { objects, releases };
}

function fileName(index: number, o: Record<string, unknown>): string {
    const meta = (o.metadata ?? {}) as Record<string, string>;
    const parts = [String(index).padStart(3, "0"), String(o.kind).toLowerCase(), meta.namespace, meta.name].filter(Boolean);
    return `${parts.join("-")}.yaml`;
}

function insideRepo(dir: string): boolean {
    const rel = path.relative(ROOT, path.resolve(dir));
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

export async function main(argv: string[]): Promise<number> {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = arg("--stack");
    const out = arg("--out");
    if (!stack || !out) {
        console.error("usage: npm run render -- --stack <dev|staging|prod> --out <dir> [--allow-inside-repo]");
        return 2;
    }
    if (insideRepo(out) && !argv.includes("--allow-inside-repo")) {
        console.error(`render: refusing to write inside the repository (${path.resolve(out)}): rendered manifests must not be committed. ` +
            "Choose a directory outside it, or pass --allow-inside-repo (the 'rendered/' folder is git-ignored).");
        return 2;
    }
    const { objects, releases } = await renderStack(stack);
    const dir = path.join(path.resolve(out), stack);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, "objects"), { recursive: true });
    fs.mkdirSync(path.join(dir, "releases"), { recursive: true });
    objects.forEach((o, i) => fs.writeFileSync(path.join(dir, "objects", fileName(i, o)), toYaml([o])));
    releases.forEach((r) => fs.writeFileSync(path.join(dir, "releases", `${r.name}.yaml`), toYaml([r])));
    console.log(`render: ${objects.length} objects and ${releases.length} Helm releases of stack ${stack} written to ${dir}`);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: Error) => {
        console.error(`render: ${e.message}`);
        process.exitCode = 1;
    });
}
