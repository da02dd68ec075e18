// Identity changes (namespace, appName) a stack that holds data may not make in place.

import { inWords } from "../reader";
import { DATA_SERVICE_FACTS, PlatformConfig } from "../types";
import { enabledDataServices } from "./crossChecks";

/** What a stack's last update deployed, from its own outputs; fields are undefined before its first update. */
export interface PreviousDeployment {
    readonly namespace?: string;
    readonly appName?: string;
}

const MOVE_DATA = "or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";

/**
 * Changes of identity a stack that holds data may not make in place. A new namespace would start
 * the data services on new, empty volumes while the data stays in the old one (kept there,
 * because a namespace holding data outlives the stack's resources). A new appName changes the
 * selector of the data services' StatefulSets, which Kubernetes refuses to update; replacing one
 * would keep its claim, but the Kubernetes provider cannot preview that replacement
 * (pulumi/pulumi-kubernetes#3984), so every preview of the stack would fail.
 */
export function identityChangeProblems(cfg: PlatformConfig, previous: PreviousDeployment): string[] {
    const problems: string[] = [];
    const enabled = enabledDataServices(cfg);
    const data = enabled.map((n) => DATA_SERVICE_FACTS[n].what);
    if (previous.namespace !== undefined && previous.namespace !== cfg.namespace && data.length > 0) {
        problems.push(`namespace: ${JSON.stringify(cfg.namespace)} is not allowed: this stack's ${inWords(data)} data is in namespace ` +
            `${JSON.stringify(previous.namespace)}, and moving would start ${data.length > 1 ? "them" : "it"} on new, empty volumes while the data stays behind. ` +
            `Keep namespace ${JSON.stringify(previous.namespace)} (set it explicitly when renaming appName, which derives the default), ${MOVE_DATA}`);
    }
    const sets = enabled.filter((n) => DATA_SERVICE_FACTS[n].statefulSet).map((n) => DATA_SERVICE_FACTS[n].what);
    if (previous.appName !== undefined && previous.appName !== cfg.appName && sets.length > 0) {
        const [subject, replacement] = sets.length > 1
            ? [`${inWords(sets)} StatefulSets select their pods`, "StatefulSets' replacement"]
            : [`${sets[0]} StatefulSet selects its pods`, "StatefulSet's replacement"];
        problems.push(`appName: ${JSON.stringify(cfg.appName)} is not allowed: the ${subject} by appName ` +
            `(${JSON.stringify(previous.appName)}), a field Kubernetes does not let change, and the Kubernetes provider cannot preview ` +
            `the ${replacement} (pulumi/pulumi-kubernetes#3984). Keep appName ${JSON.stringify(previous.appName)}, ${MOVE_DATA}`);
    }
    return problems;
}
