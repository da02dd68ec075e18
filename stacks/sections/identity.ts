// Identity changes (namespace, appName) a stack that holds data may not make in place.

import { PlatformConfig } from "../types";

/** What a stack's last update deployed, from its own outputs; fields are undefined before its first update. */
export interface PreviousDeployment {
    readonly namespace?: string;
    readonly appName?: string;
}

const MOVE_DATA = "or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";

/**
 * Changes of identity a stack that holds data may not make in place. A new namespace would start
 * PostgreSQL and Redis on new, empty volumes while the data stays in the old one (kept there,
 * because a namespace holding data outlives the stack's resources). A new appName changes the
 * PostgreSQL StatefulSet's selector, which Kubernetes refuses to update; replacing the StatefulSet
 * would keep its claim, but the Kubernetes provider cannot preview that replacement
 * (pulumi/pulumi-kubernetes#3984), so every preview of the stack would fail.
 */
export function identityChangeProblems(cfg: PlatformConfig, previous: PreviousDeployment): string[] {
    const problems: string[] = [];
    const data = [cfg.postgres.enabled ? "PostgreSQL" : "", cfg.redis.enabled ? "Redis" : ""].filter(Boolean);
    if (previous.namespace !== undefined && previous.namespace !== cfg.namespace && data.length > 0) {
        problems.push(`namespace: ${JSON.stringify(cfg.namespace)} is not allowed: this stack's ${data.join(" and ")} data is in namespace ` +
            `${JSON.stringify(previous.namespace)}, and moving would start ${data.length > 1 ? "them" : "it"} on new, empty volumes while the data stays behind. ` +
            `Keep namespace ${JSON.stringify(previous.namespace)} (set it explicitly when renaming appName, which derives the default), ${MOVE_DATA}`);
    }
    if (previous.appName !== undefined && previous.appName !== cfg.appName && cfg.postgres.enabled) {
        problems.push(`appName: ${JSON.stringify(cfg.appName)} is not allowed: the PostgreSQL StatefulSet selects its pods by appName ` +
            `(${JSON.stringify(previous.appName)}), a field Kubernetes does not let change, and the Kubernetes provider cannot preview ` +
            `the StatefulSet's replacement (pulumi/pulumi-kubernetes#3984). Keep appName ${JSON.stringify(previous.appName)}, ${MOVE_DATA}`);
    }
    return problems;
}
