// Identity changes (namespace, appName, Redis's workload) a stack that holds data may not make in place.

import { inWords } from "../reader";
import { DATA_SERVICE_FACTS, PlatformConfig, REDIS_WORKLOADS, RedisWorkload } from "../types";
import { dataStatefulSets, enabledDataServices } from "./crossChecks";

/** What a stack's last update deployed, from its own outputs; fields are undefined before its first update. */
export interface PreviousDeployment {
    readonly namespace?: string;
    readonly appName?: string;
    /** How Redis ran (`redisWorkload` output), when it was enabled. */
    readonly redisWorkload?: string;
}

/**
 * How the last update ran Redis, from its outputs: `redisWorkload`, or, for a stack last updated by
 * a release of this program from before that output (Redis always a Deployment then), a Deployment
 * when Redis was on (`redisHost` set).
 */
export function previousRedisWorkload(outputs: { readonly redisWorkload?: string; readonly redisHost?: string }): string | undefined {
    return outputs.redisWorkload ?? (outputs.redisHost !== undefined ? "deployment" : undefined);
}

/** The claim Redis's data is on, per workload. */
const REDIS_CLAIM: Record<RedisWorkload, string> = { deployment: "redis-data", statefulset: "data-redis-0" };

const MOVE_DATA = "or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";

/**
 * Changes of identity a stack that holds data may not make in place. A new namespace would start
 * the data services on new, empty volumes while the data stays in the old one (kept there,
 * because a namespace holding data outlives the stack's resources). A new appName changes the
 * selector of the data services' StatefulSets, which Kubernetes refuses to update; replacing one
 * would keep its claim, but the Kubernetes provider cannot preview that replacement
 * (pulumi/pulumi-kubernetes#3984), so every preview of the stack would fail. A new Redis workload
 * kind would start Redis on the other kind's claim, new and empty.
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
    const sets = dataStatefulSets(cfg).map((n) => DATA_SERVICE_FACTS[n].what);
    if (previous.appName !== undefined && previous.appName !== cfg.appName && sets.length > 0) {
        const [subject, replacement] = sets.length > 1
            ? [`${inWords(sets)} StatefulSets select their pods`, "StatefulSets' replacement"]
            : [`${sets[0]} StatefulSet selects its pods`, "StatefulSet's replacement"];
        problems.push(`appName: ${JSON.stringify(cfg.appName)} is not allowed: the ${subject} by appName ` +
            `(${JSON.stringify(previous.appName)}), a field Kubernetes does not let change, and the Kubernetes provider cannot preview ` +
            `the ${replacement} (pulumi/pulumi-kubernetes#3984). Keep appName ${JSON.stringify(previous.appName)}, ${MOVE_DATA}`);
    }
    const was = REDIS_WORKLOADS.find((w) => w === previous.redisWorkload);
    if (cfg.redis.enabled && was !== undefined && was !== cfg.redis.workload) {
        problems.push(`redis.workload: ${JSON.stringify(cfg.redis.workload)} is not allowed: this stack's Redis runs as a ${kind(was)} with its data on claim ` +
            `${JSON.stringify(REDIS_CLAIM[was])}, and a ${kind(cfg.redis.workload)} would start on a new, empty claim ${JSON.stringify(REDIS_CLAIM[cfg.redis.workload])} ` +
            `while the data stays behind. Keep workload ${JSON.stringify(was)}, or switch deliberately (README: Operations, "Changing how Redis runs")`);
    }
    return problems;
}

function kind(w: RedisWorkload): string {
    return w === "statefulset" ? "StatefulSet" : "Deployment";
}
