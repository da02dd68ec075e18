// The secrets command: generate, rotate and list a stack's secrets in Pulumi's encrypted config.
//
//   npm run secrets -- init --stack dev        fill every needed secret that is missing
//   npm run secrets -- rotate jwtSecret --stack dev
//   npm run secrets -- list --stack prod       names, whether needed and set; never values
//
// Values go to `pulumi config set --secret` on standard input, never on a command line, and are
// never printed. Works without a cluster: it only touches the stack's config.

import { resolveConfig } from "../stacks/config";
import { CONFIG_NAMESPACE, splitConfig } from "../stacks/sections/entries";
import { SECRET_KEYS, SecretDef, customSecretKeys, generateSecret, planInit, planRotate, secretStatus } from "../stacks/secrets";
import { PlatformConfig } from "../stacks/types";
import { pulumi, runCommand } from "./lib/cli";

const USAGE = "usage: npm run secrets -- init|list --stack <name>\n       npm run secrets -- rotate <key> --stack <name>";

/** The stack's config without secret values (`pulumi config --json` hides them), and which secret keys are set. */
function readStack(stack: string): { cfg: PlatformConfig; setKeys: Set<string>; plaintextKeys: readonly string[] } {
    const json = JSON.parse(pulumi(["config", "--json", "--stack", stack])) as Record<string, { value?: string; objectValue?: unknown; secret: boolean }>;
    const entries = Object.entries(json).map(([key, e]) => ({ key, value: e.objectValue ?? e.value, secret: e.secret }));
    const { raw, secretKeys } = splitConfig(entries);
    // Validate everything except which secrets are missing: that is what this command fixes.
    const cfg = resolveConfig(stack, raw, { set: [...SECRET_KEYS, ...customSecretKeys(raw.secrets)], plaintext: [] });
    return { cfg, setKeys: new Set(secretKeys.set), plaintextKeys: secretKeys.plaintext };
}

function store(stack: string, values: Record<string, string>): void {
    for (const [key, value] of Object.entries(values)) {
        pulumi(["config", "set", "--secret", "--stack", stack, `${CONFIG_NAMESPACE}:${key}`], { input: value });
        console.log(`  set ${CONFIG_NAMESPACE}:${key} (encrypted)`);
    }
}

function generateAll(defs: readonly SecretDef[]): Record<string, string> {
    return Object.assign({}, ...defs.map(generateSecret));
}

export function main(argv: string[]): number {
    const stackAt = argv.indexOf("--stack");
    const stack = stackAt >= 0 ? argv[stackAt + 1] : undefined;
    const positional = argv.filter((_, i) => i !== stackAt && i !== stackAt + 1);
    const [command, key] = positional;
    if (!stack || !command || !["init", "rotate", "list"].includes(command) || (command === "rotate") !== (key !== undefined)) {
        console.error(USAGE);
        return 2;
    }
    const { cfg, setKeys, plaintextKeys } = readStack(stack);
    if (command === "list") {
        console.log(`secrets of stack ${stack} (values are never shown):`);
        for (const s of secretStatus(cfg, setKeys)) {
            const state = plaintextKeys.includes(s.key) ? "SET IN PLAIN TEXT: re-set it with --secret" : s.set ? "set" : "not set";
            console.log(`  ${s.key.padEnd(22)} ${(s.needed ? "needed" : "unused").padEnd(7)} ${s.kind.padEnd(14)} ${state}`);
        }
        return 0;
    }
    if (command === "init") {
        const plan = planInit(cfg, setKeys);
        console.log(`stack ${stack}: generating ${plan.generate.length ? plan.generate.map((d) => d.key).join(", ") : "nothing (all set)"}`);
        store(stack, generateAll(plan.generate));
        for (const d of plan.external) {
            console.log(`  still missing ${d.key}: ${d.description}; set it with 'pulumi config set --secret ${CONFIG_NAMESPACE}:${d.key} --stack ${stack}' (value on stdin)`);
        }
        return plan.external.length ? 1 : 0;
    }
    const def = planRotate(cfg, key as string);
    console.log(`stack ${stack}: rotating ${def.kind === "rsaPrivateKey" ? "jwtPrivateKey and jwtPublicKey" : def.key}; 'pulumi up' applies it and rolls the pods that use it`);
    store(stack, generateSecret(def));
    return 0;
}

runCommand("secrets", module, main);
