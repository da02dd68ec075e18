// The one place that reads pulumi.Config. Everything else receives the validated PlatformConfig
// and the secret Outputs from here.

import * as pulumi from "@pulumi/pulumi";
import { ConfigValidationError, resolveConfig } from "./config";
import { CONFIG_NAMESPACE, splitConfig } from "./sections/entries";
import { PreviousDeployment, identityChangeProblems, previousRedisWorkload } from "./sections/identity";
import { PlatformConfig } from "./types";

export interface LoadedStack {
    readonly config: PlatformConfig;
    /** Secret config values that are set, by key; each an Output marked secret. */
    readonly secretValues: Readonly<Record<string, pulumi.Output<string>>>;
}

// `isConfigSecret` is marked internal in @pulumi/pulumi (no public way to ask whether a config value
// was stored encrypted). If a future SDK drops it, treat every value as secret rather than fail.
const runtimeInternals = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
function storedEncrypted(fullKey: string): boolean {
    return runtimeInternals.isConfigSecret?.(fullKey) ?? true;
}

/**
 * Pulumi hands every config value over as text; objects and lists come as JSON. Only those are
 * parsed: a string that merely looks like JSON (`appName: "1234"`, `namespace: "null"`) stays the
 * string the stack file says. The readers take "true" and "3" where they expect a boolean or number.
 */
export function parse(value: string): unknown {
    if (!/^\s*[[{]/.test(value)) {
        return value;
    }
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/**
 * The stack's organization. Language hosts older than the SDK do not pass it; the DIY backends'
 * stacks are then addressed as "organization/<project>/<stack>".
 */
function organization(): string {
    try {
        return pulumi.getOrganization();
    } catch {
        return "organization";
    }
}

/** What this stack's last update deployed, from its own outputs; nothing before its first. */
async function previousDeployment(): Promise<PreviousDeployment> {
    const self = new pulumi.StackReference(`${organization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const text = async (name: string) => {
        const value = (await self.getOutputDetails(name)).value;
        return typeof value === "string" ? value : undefined;
    };
    return {
        namespace: await text("namespace"),
        appName: await text("appName"),
        redisWorkload: previousRedisWorkload({ redisWorkload: await text("redisWorkload"), redisHost: await text("redisHost") }),
    };
}

/**
 * Reads every `platform:*` key of the current stack, validates them all (unknown keys included),
 * checks the namespace, appName and Redis's workload against those the stack's data lives under, and returns the typed config, or
 * throws one error listing every problem before any Kubernetes resource exists.
 */
export async function loadStack(): Promise<LoadedStack> {
    const entries = Object.entries(pulumi.runtime.allConfig())
        .map(([key, value]) => ({ key, value: parse(value), secret: storedEncrypted(key) }));
    const { raw, secretKeys } = splitConfig(entries);
    const config = resolveConfig(pulumi.getStack(), raw, secretKeys);
    const moved = identityChangeProblems(config, await previousDeployment());
    if (moved.length > 0) {
        throw new ConfigValidationError(config.stack, moved);
    }
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
    const secretValues: Record<string, pulumi.Output<string>> = {};
    for (const key of secretKeys.set) {
        secretValues[key] = cfg.requireSecret(key);
    }
    return { config, secretValues };
}
