// The stack's secret values: from encrypted config when set, otherwise generated once by
// @pulumi/random into encrypted state (so `pulumi up` works on a fresh stack). Stacks that set
// secrets.requireConfigured never reach the fallback: config validation refuses them first.

import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SecretDef } from "../stacks/secrets";

export interface AppSecretsArgs {
    /** The secrets this stack needs. */
    readonly needed: readonly SecretDef[];
    /** Values from encrypted config, by key. */
    readonly configured: Readonly<Record<string, pulumi.Output<string>>>;
}

export class AppSecrets extends pulumi.ComponentResource {
    /** Every needed secret by key; each value is a secret Output. */
    readonly values: Readonly<Record<string, pulumi.Output<string>>>;
    /** Keys that were generated in state because config had no value. */
    readonly generatedKeys: readonly string[];

    constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:AppSecrets", name, {}, opts);
        const values: Record<string, pulumi.Output<string>> = {};
        const generated: string[] = [];
        for (const def of args.needed) {
            const configured = args.configured[def.key];
            if (configured !== undefined) {
                values[def.key] = pulumi.secret(configured);
            } else if (def.kind === "password") {
                // No special characters: the values are embedded in connection URLs.
                const password = new random.RandomPassword(`${name}-${def.key}`, { length: def.length ?? 32, special: false }, { parent: this });
                values[def.key] = pulumi.secret(password.result);
                generated.push(def.key);
            }
        }
        this.values = values;
        this.generatedKeys = generated;
        this.registerOutputs({});
    }
}
