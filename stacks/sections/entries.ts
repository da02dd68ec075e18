// Pulumi's config entries to the raw values validation reads; secret values never pass.

import { SECRET_KEYS, customSecretKeys } from "../secrets";

/** The project's config namespace (`<namespace>:<key>` in Pulumi.<stack>.yaml). */
export const CONFIG_NAMESPACE = "platform";

/** Which secret keys a stack has set; values never reach validation. */
export interface SecretKeyState {
    readonly set: readonly string[];
    /** Set without `--secret`, i.e. in plain text in Pulumi.<stack>.yaml. */
    readonly plaintext: readonly string[];
}

/** One config entry as Pulumi reports it: the full key, its parsed value (absent for a hidden secret) and whether it is stored encrypted. */
export interface ConfigEntry {
    readonly key: string;
    readonly value?: unknown;
    readonly secret: boolean;
}

/**
 * Splits a stack's config entries into the raw values to validate and which secret keys are set.
 * A secret key's value never enters `raw`, so no validation message can echo it; any other encrypted
 * value (e.g. a misspelt secret key) is validated as an unknown key without its value. A secret key
 * whose value is "" (the Pulumi.yaml default) is unset.
 */
export function splitConfig(entries: readonly ConfigEntry[]): { raw: Record<string, unknown>; secretKeys: SecretKeyState } {
    const prefix = `${CONFIG_NAMESPACE}:`;
    // The stack's own secrets are declared in `secrets.custom`; their values must never reach validation.
    const secretKeys = new Set([...SECRET_KEYS, ...customSecretKeys(entries.find((e) => e.key === `${prefix}secrets`)?.value)]);
    const raw: Record<string, unknown> = {};
    const set: string[] = [];
    const plaintext: string[] = [];
    for (const entry of entries) {
        if (!entry.key.startsWith(prefix)) {
            continue;
        }
        const key = entry.key.slice(prefix.length);
        if (secretKeys.has(key)) {
            if (entry.value === undefined ? entry.secret : entry.value !== "") {
                set.push(key);
                if (!entry.secret) {
                    plaintext.push(key);
                }
            }
        } else {
            raw[key] = entry.secret ? "[secret]" : entry.value;
        }
    }
    return { raw, secretKeys: { set, plaintext } };
}
