// Per-environment defaults: what a kustomize overlay used to patch. A stack's own config overrides
// any of these; numbers come from the reference system's dev/staging/prod overlays.

import { Environment, QuotaSpec } from "./types";

export interface EnvironmentProfile {
    /** `latest` or an untagged image is refused in this environment. */
    readonly requirePinnedImages: boolean;
    /** PostgreSQL volume size (the prod overlay doubles it). */
    readonly postgresStorage: string;
    /** Protect the database workloads from `pulumi destroy`. */
    readonly protectData: boolean;
    /**
     * Scheduled PostgreSQL dumps (postgres.backup.enabled). On in prod: the reference system's
     * production checklist requires a backup strategy before going live.
     */
    readonly postgresBackups: boolean;
    readonly quota: QuotaSpec;
}

const dev: EnvironmentProfile = {
    requirePinnedImages: false,
    postgresStorage: "50Gi",
    protectData: false,
    postgresBackups: false,
    quota: {
        requestsCpu: "8",
        requestsMemory: "16Gi",
        limitsCpu: "16",
        limitsMemory: "32Gi",
        pods: 30,
        persistentVolumeClaims: 10,
        requestsStorage: "200Gi",
        defaultRequest: { cpu: "50m", memory: "64Mi" },
        defaultLimit: { cpu: "500m", memory: "512Mi" },
    },
};

const staging: EnvironmentProfile = {
    ...dev,
    requirePinnedImages: true,
    quota: { ...dev.quota, requestsCpu: "12", requestsMemory: "24Gi", limitsCpu: "24", limitsMemory: "48Gi", pods: 40 },
};

const prod: EnvironmentProfile = {
    requirePinnedImages: true,
    postgresStorage: "100Gi",
    protectData: true,
    postgresBackups: true,
    quota: {
        ...dev.quota,
        requestsCpu: "32",
        requestsMemory: "64Gi",
        limitsCpu: "64",
        limitsMemory: "128Gi",
        pods: 80,
        requestsStorage: "500Gi",
    },
};

export const PROFILES: Readonly<Record<Environment, EnvironmentProfile>> = { dev, staging, prod };
