// Runs the real program (index.ts) under Pulumi mocks with a stack's config and records every
// registered resource with its inputs and options. The unit tests use it to assert exact inputs;
// the render command uses it to write the objects the program would send to the cluster.

import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface Recorded {
    readonly type: string;
    readonly name: string;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: any;
    /** Resource options as the program passed them (protect, retainOnDelete, dependsOn...). */
    readonly opts: pulumi.CustomResourceOptions;
    /** The resource object itself, for dependency identity checks. */
    readonly resource?: pulumi.Resource;
    /** Reference (`urn::id`) of the provider the engine would use, for custom resources. */
    readonly provider?: string;
}

export interface Program {
    readonly resources: Recorded[];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly exports: Record<string, any>;
    /** The one resource of `type` named `name`; fails the test when absent or ambiguous. */
    get(type: string, name: string): Recorded;
    find(type: string, name: string): Recorded | undefined;
    all(type: string): Recorded[];
    /** `<type> <name>` of each resource in `rec`'s dependsOn. */
    dependsOn(rec: Recorded): string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` into `key -> value` (without the `platform:` prefix); for a stack
 * whose file is generated on each machine (`local`), the committed template `stacks/<stack>.yaml`.
 */
export function stackConfig(stack: string): Record<string, unknown> {
    const committed = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const file = stack === "local" || !fs.existsSync(committed) ? path.join(ROOT, "stacks", `${stack}.yaml`) : committed;
    if (!parsedStackFiles.has(file)) {
        const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        parsedStackFiles.set(file, Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^platform:/, ""), v])));
    }
    // A fresh copy each time: callers edit it.
    return structuredClone(parsedStackFiles.get(file) as Record<string, unknown>);
}

/** Stack files parsed once per process (YAML parsing is a noticeable part of a test run). */
const parsedStackFiles = new Map<string, Record<string, unknown>>();

function toConfigString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

// The SDK's own wait for outstanding resource registrations (internal, but what `disconnect` uses).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

/** Resources recorded by the most recent run, also when it threw. */
export const lastRun: { resources: Recorded[] } = { resources: [] };

/**
 * Runs index.ts with `config` (keys without prefix) and `secrets` (stored as secret config), as the
 * stack whose last update exported `previousOutputs` (none: its first update). Resolves when
 * registration has settled.
 */
export async function runProgram(stack: string, config: Record<string, unknown>, secrets: Record<string, string> = {},
    previousOutputs: Record<string, unknown> = {}): Promise<Program> {
    const resources: Recorded[] = [];
    lastRun.resources = resources;
    // The SDK records a stack trace for every promise it creates (runtime/debuggable.ts), and under
    // ts-node each trace is source-mapped: most of a run's time. Nothing reads those traces here, so
    // frames are off while the program runs (errors the program throws carry their message).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return await evaluate(stack, config, secrets, previousOutputs, resources);
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }
}

async function evaluate(stack: string, config: Record<string, unknown>, secrets: Record<string, string>,
    previousOutputs: Record<string, unknown>, resources: Recorded[]): Promise<Program> {
    const options = new Map<string, { opts: pulumi.CustomResourceOptions; resource: pulumi.Resource }>();
    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const seen = options.get(`${args.type}::${args.name}`);
            resources.push({ type: args.type, name: args.name, inputs: args.inputs, opts: seen?.opts ?? {}, resource: seen?.resource, provider: args.provider });
            // A generated password has a result, as the random provider gives it.
            // The program reads its own stack's last outputs through a StackReference.
            const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: `generated-${args.name}` }
                : args.type === "pulumi:pulumi:StackReference" ? { ...args.inputs, outputs: previousOutputs, secretOutputNames: [] }
                    : args.inputs;
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            throw new Error(`unexpected invoke ${args.token}`);
        },
    }, "platform", stack, false, "organization");
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        all[`platform:${k}`] = toConfigString(v);
    }
    for (const [k, v] of Object.entries(secrets)) {
        all[`platform:${k}`] = v;
    }
    pulumi.runtime.setAllConfig(all, Object.keys(secrets).map((k) => `platform:${k}`));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let programExports: Record<string, any> = {};
    // Inside a root stack, as under the real engine, so a stack transformation can see each
    // resource's options (protect, retainOnDelete, dependsOn); mock newResource calls do not.
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((t) => {
            options.set(`${t.type}::${t.name}`, { opts: t.opts, resource: t.resource });
            return undefined;
        });
        // The program is a function of the config it loads when called: the module is loaded once.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index.ts"));
        programExports = await program();
        return undefined;
    });
    await waitForRPCs();
    const all2 = (type: string) => resources.filter((r) => r.type === type);
    const find = (type: string, name: string) => resources.find((r) => r.type === type && r.name === name);
    return {
        resources,
        exports: programExports,
        all: all2,
        find,
        dependsOn(rec: Recorded): string[] {
            const deps = ([] as unknown[]).concat(rec.opts.dependsOn ?? []);
            return deps.map((d) => {
                const match = resources.find((r) => r.resource === d);
                return match ? `${match.type} ${match.name}` : "(unrecorded resource)";
            });
        },
        get(type: string, name: string): Recorded {
            const matches = resources.filter((r) => r.type === type && r.name === name);
            if (matches.length !== 1) {
                const names = all2(type).map((r) => r.name).join(", ");
                throw new Error(`expected one ${type} named ${name}, found ${matches.length} (have: ${names})`);
            }
            return matches[0];
        },
    };
}

/** The value of an Output (or plain value). */
export function valueOf<T>(output: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => {
        resolve(v as T | undefined);
        return v;
    }));
}

/** The signature key Pulumi uses to mark a serialized secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Unwraps a value recorded by the mocks: `{ secret: true }` when it was registered as a secret. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function unwrap(value: any): { secret: boolean; value: any } {
    if (value && typeof value === "object" && SECRET_SIG in value) {
        return { secret: true, value: value.value };
    }
    return { secret: false, value };
}
