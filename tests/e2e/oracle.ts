// The Kubernetes API server as the oracle of config validation: stack configs generated from the
// config's shape (fast-check, seeded), mixing valid values with the kinds of mistake people make,
// go through validation; every config it accepts is rendered and sent to the local cluster's API
// server as a server-side dry-run, which must accept every object. A config validation accepts and
// the API server refuses is a counterexample (fast-check shrinks it to the smallest one).
//
//   npm run oracle -- [--runs 500] [--seed 42] [--path P]   more cases than CI runs (needs the local cluster);
//                                                          --path replays a reported failure

import "./env";
import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { renderConfig } from "../../scripts/render";
import { ROOT, stackConfig } from "../../scripts/lib/mockRun";
import { resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import { kubectl } from "./live";

type Raw = Record<string, unknown>;
type K8sObject = { kind: string; metadata: { name: string; namespace?: string } };

/** Seed and case count of the CI run; the script takes others. */
export const CI_SEED = 20261124;
export const CI_RUNS = 40;

/** Mostly a valid value, sometimes a mistake: most configs carry none or one, so both sides are exercised. */
function mostly<A, B>(valid: fc.Arbitrary<A>, mistake: fc.Arbitrary<B>): fc.Arbitrary<A | B> {
    return fc.oneof({ arbitrary: valid as fc.Arbitrary<A | B>, weight: 12 }, { arbitrary: mistake, weight: 1 });
}
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

// Valid values and the mistakes people make, per field.
const name = mostly(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,12}[a-z0-9]$/),
    fc.constantFrom("1api", "Api", "api_v2", "api.v2", "-api", "api-", "a".repeat(51), "default-deny-all", "postgres-headless", "allow-dns-egress"),
);
const image = mostly(
    fc.constantFrom("example/api:1.0.0", "registry.example.com/team/app:v2.3.4", "localhost:5000/app:v1", `app@sha256:${"ab".repeat(32)}`, "app"),
    fc.constantFrom("UPPER/app:v1", "app:v1:v2", "Registry.IO/team/app", "app:", "example/app:-x", "a//b:1", " app:v1"),
);
const cpuRequest = mostly(fc.oneof(fc.constantFrom("50m", "100m", "0.1", "250m"), fc.constant(0)), fc.constantFrom("abc", "-1", "1.5.0", "10 m", "1e400"));
const cpuLimit = mostly(fc.oneof(fc.constantFrom("500m", "1", "1.5"), fc.integer({ min: 1, max: 2 })), fc.constantFrom("1 cpu", "0x10"));
const memRequest = mostly(fc.constantFrom("64Mi", "128Mi", "100M", "0.1Gi"), fc.constantFrom("12 Mi", "lots", "1mb"));
const memLimit = mostly(fc.constantFrom("512Mi", "1Gi", "600M"), fc.constantFrom("1GB", "-1Gi"));
const urlPath = mostly(fc.constantFrom("/", "/api", "/api/v1", "/a.b_c~d-e", "/v2/"), fc.constantFrom("/api//v1", "/api/../admin", "api", "/a b", "/./x", "/x/.", "/é"));
const envKey = mostly(fc.constantFrom("API_URL", "a.b", "x-y", "LOG_LEVEL", "_x"), fc.constantFrom("MY VAR", "x=y", "ü", "a/b"));
const labelKey = mostly(fc.constantFrom("app", "app.kubernetes.io/name", "k8s-app", "example.com/tier"), fc.constantFrom("k8s app", "-x", "A_B.example/c", "x/y/z", "/x"));
const labelValue = mostly(fc.constantFrom("", "nginx", "a.b_c-d", "Prometheus"), fc.constantFrom("x".repeat(64), "a b", "-a", "a/b"));
const metricName = mostly(fc.constantFrom("http_requests_per_second", "queue_depth", "custom.googleapis.com|rps", "a:b"), fc.constantFrom("", ".", "..", "pods/rps", "50%"));
const averageValue = mostly(fc.oneof(fc.constantFrom("1000", "500m", "1.5", "2k", "1e3"), fc.integer({ min: 1, max: 5000 })), fc.constantFrom("0", "-1", "0m", "1 k", "abc"));
// Windows from a few values, so the shorthand scaleDownStabilizationSeconds and behavior's window sometimes agree.
const window = mostly(fc.constantFrom(0, 60, 300, 3600), fc.constantFrom(-1, 3601));
const scalingRules = fc.record({
    stabilizationWindowSeconds: window,
    selectPolicy: mostly(fc.constantFrom("Max", "Min", "Disabled"), fc.constantFrom("max", "Maximum")),
    policies: mostly(fc.array(fc.record({
        type: mostly(fc.constantFrom("Pods", "Percent"), fc.constantFrom("pods", "Percentage")),
        value: mostly(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -5, 2147483648)),
        periodSeconds: mostly(fc.integer({ min: 1, max: 1800 }), fc.constantFrom(0, 1801)),
    }), { minLength: 1, maxLength: 2 }), fc.constant([])),
}, { requiredKeys: [] });
const autoscaling = fc.record({
    scaleDownStabilizationSeconds: window,
    podsMetrics: fc.array(fc.record({ name: metricName, averageValue }), { maxLength: 2 }),
    behavior: fc.record({ scaleUp: scalingRules, scaleDown: scalingRules }, { requiredKeys: [] }),
}, { requiredKeys: [] });
const rbacRule = mostly(
    fc.constantFrom(
        { resources: ["configmaps"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["apps"], resources: ["deployments", "deployments/scale"], verbs: ["get", "patch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["*"], resourceNames: ["leader"] },
        { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"] },
        { apiGroups: ["", "example.com"], resources: ["pods/log", "*/scale", "ec2nodeclasses"], verbs: ["get"] },
    ),
    fc.constantFrom(
        { resources: ["*"], verbs: ["*"] }, { resources: ["configmaps"], verbs: ["read"] }, { resources: ["pods"], verbs: ["escalate"] },
        { resources: ["ConfigMap"], verbs: ["get"] }, { resources: [], verbs: ["get"] }, { apiGroups: [], resources: ["pods"], verbs: ["get"] },
        { apiGroups: ["Apps"], resources: ["deployments"], verbs: ["get"] }, { resources: ["pods"] }, { resources: ["pods"], verbs: ["get"], resourceNames: [""] },
    ),
);
const toleration = mostly(
    fc.constantFrom(
        { key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" },
        { key: "spot", value: true, effect: "PreferNoSchedule" },
        { key: "example.com/gpu", operator: "Exists" },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
    ),
    fc.constantFrom(
        { operator: "Exists" }, { key: "spot", operator: "Exists", value: "true" }, { key: "spot", value: "true", effect: "NoSchedule", tolerationSeconds: 60 },
        { key: "spot", effect: "NoScheduled" }, { key: "spot", operator: "In" }, { key: "spot pool", operator: "Exists" }, { key: "spot", value: "a b" },
    ),
);

const service = fc.record({
    image,
    port: mostly(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 70000, 80.5)),
    replicas: mostly(fc.integer({ min: 0, max: 3 }), fc.constantFrom(-1, 1e20, 2147483648)),
    autoscaling: optional(autoscaling),
    ingressPath: optional(urlPath),
    healthPath: optional(urlPath),
    uses: fc.subarray(["postgres", "redis"]),
    env: optional(fc.dictionary(envKey, fc.string({ maxLength: 8 }), { maxKeys: 2 })),
    writablePaths: optional(fc.array(mostly(fc.constantFrom("/tmp", "/var/cache/app", "/data"), fc.constantFrom("tmp", "/tmp/../etc")), { minLength: 1, maxLength: 2 })),
    resources: optional(fc.record({
        requests: fc.record({ cpu: cpuRequest, memory: memRequest }, { requiredKeys: [] }),
        limits: fc.record({ cpu: cpuLimit, memory: memLimit }, { requiredKeys: [] }),
    }, { requiredKeys: [] })),
    rbac: optional(fc.array(rbacRule, { maxLength: 2 })),
    nodeSelector: optional(fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 2 })),
    tolerations: optional(fc.array(toleration, { minLength: 1, maxLength: 2 })),
}, { requiredKeys: ["image", "uses"] });

/** A dev-based stack config with some fields replaced by generated values. */
export const stackConfigs = fc.record({
    appName: optional(name),
    namespace: optional(mostly(name, fc.constantFrom("kube-system", "monitoring", "default", "ingress-nginx"))),
    services: optional(fc.dictionary(name, service, { minKeys: 1, maxKeys: 3 })),
    host: optional(mostly(fc.constantFrom("app.example.com", "x.io", "a-b.example.org"), fc.constantFrom("10.0.0.1", "App.example.com", "a..b", "*.example.com", "::1"))),
    storageSize: optional(mostly(fc.constantFrom("10Gi", "1.5Gi", "500Mi", "1e3"), fc.constantFrom("0", "-1Gi", "1 Gi", "0Gi"))),
    storageClass: optional(mostly(fc.constantFrom("", "standard", "fast.ssd", "gp3"), fc.constantFrom("Fast_SSD", "-x", "a..b"))),
    redisWorkload: optional(mostly(fc.constantFrom("deployment", "statefulset"), fc.constantFrom("StatefulSet", ""))),
    podLabels: optional(fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 2 })),
    defaultRequestCpu: optional(cpuRequest),
}, { requiredKeys: [] }).map((g) => {
    const c = stackConfig("dev");
    const set = <T>(value: T | undefined, apply: (v: T) => void) => value !== undefined && apply(value);
    set(g.appName, (v) => { c.appName = v; });
    set(g.namespace, (v) => { c.namespace = v; });
    set(g.services, (v) => {
        // A copy: fast-check reuses generated values while shrinking, so they are never changed.
        const services = JSON.parse(JSON.stringify(v)) as Record<string, Raw>;
        // The ingress needs a routed service; keep one so most configs stay valid.
        Object.values(services)[0].ingressPath ??= "/";
        c.services = services;
    });
    // The cluster serves the custom metrics API: generated podsMetrics reach the API server instead of
    // being refused for want of an adapter (and names the prometheus-adapter add-on could not serve with them).
    c.addons = { ...(c.addons as Raw), prometheusAdapter: { fromCluster: true } };
    set(g.host, (v) => { c.ingress = { ...(c.ingress as Raw), host: v }; });
    set(g.storageSize, (v) => { c.postgres = { ...(c.postgres as Raw), storageSize: v }; });
    set(g.storageClass, (v) => { c.redis = { ...(c.redis as Raw), storageClass: v }; });
    set(g.redisWorkload, (v) => { c.redis = { ...(c.redis as Raw), workload: v }; });
    set(g.podLabels, (v) => { c.network = { prometheusPodLabels: v }; });
    set(g.defaultRequestCpu, (v) => { c.quota = { defaultRequest: { cpu: v } }; });
    return c;
});

/**
 * Image references built from the grammar's parts, valid and not: registries (with ports, IPv6,
 * upper case), path components with separators, tags, digests of each algorithm and length, and noise.
 */
export const imageReferences: fc.Arbitrary<string> = fc.oneof(
    fc.tuple(
        fc.constantFrom("", "localhost/", "localhost:5000/", "registry.example.com/", "Registry.Example.COM:443/", "UPPER/", "[::1]:5000/", "[fe80::1]/", "reg_istry.com/", "-reg.com/", "reg:port/", "10.0.0.1:5000/"),
        fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.constantFrom("a.b", "a_b", "a__b", "a___b", "a--b", "a-", "_a", "A", "a..b", "a.-b", "")), { minLength: 1, maxLength: 3 }),
        fc.constantFrom("", ":v1", ":V1.2_3-rc", ":-x", ":.x", ":a:b", `:${"t".repeat(128)}`, `:${"t".repeat(129)}`, ":"),
        fc.constantFrom("", `@sha256:${"a".repeat(64)}`, `@sha256:${"A".repeat(64)}`, `@sha256:${"a".repeat(63)}`, `@sha512:${"b".repeat(128)}`, `@sha384:${"c".repeat(96)}`, `@md5:${"d".repeat(32)}`, "@"),
    ).map(([registry, path, tag, digest]) => `${registry}${path.join("/")}${tag}${digest}`),
    fc.constantFrom("a".repeat(64), "b".repeat(64) + ":v1", `${"a".repeat(250)}/bcdef`, `${"a".repeat(250)}/bcdefg`, `r.io/${"a".repeat(250)}:v1`),
    fc.string({ maxLength: 20 }),
);

/** The container runtimes' answer for each reference (tests/support/imageref, built by `go run`). */
export function runtimeAcceptsImages(refs: readonly string[]): boolean[] {
    const r = spawnSync("go", ["run", "."], { cwd: path.join(ROOT, "tests", "support", "imageref"), input: JSON.stringify(refs), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as boolean[];
}

/** CRDs this run installed (never ones that existed before it, e.g. kept by an add-on), deleted by cleanUp. */
const crdsInstalled: string[] = [];

/** Installs the CRDs the app's custom resources need (tests/fixtures/crds/, the operators' schemas) where the cluster lacks them. */
export function prepareCluster(): void {
    const dir = path.join(ROOT, "tests", "fixtures", "crds");
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
        const name = file.replace(/\.yaml$/, "");
        if (kubectl(["get", "crd", name]).status === 0) {
            continue;
        }
        const r = kubectl(["apply", "--server-side", "--field-manager=oracle", "-f", path.join(dir, file)]);
        assert.equal(r.status, 0, r.stderr);
        crdsInstalled.push(name);
    }
    if (crdsInstalled.length > 0) {
        assert.equal(kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...crdsInstalled.map((c) => `crd/${c}`)]).status, 0);
    }
}

/** Namespaces this run created (never ones that existed before it), deleted by cleanUp. */
const namespacesMade = new Set<string>();

/** The API server's answer to a server-side dry-run of every object; the namespaces they need are created for real. */
export function dryRun(objects: readonly K8sObject[]): { ok: boolean; output: string } {
    const needed = new Set(objects.flatMap((o) => (o.kind === "Namespace" ? [o.metadata.name] : o.metadata.namespace ? [o.metadata.namespace] : [])));
    for (const ns of needed) {
        if (kubectl(["get", "namespace", ns]).status !== 0) {
            kubectl(["create", "namespace", ns]);
            namespacesMade.add(ns);
        }
    }
    const rest = objects.filter((o) => o.kind !== "Namespace");
    const r = kubectl(["apply", "--server-side", "--dry-run=server", "--field-manager=oracle", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: rest }));
    return { ok: r.status === 0, output: r.stdout + r.stderr };
}

/** Deletes the namespaces the dry-runs needed and waits, so later suites find none terminating. */
export function cleanUp(): void {
    if (namespacesMade.size > 0) {
        kubectl(["delete", "namespace", ...namespacesMade, "--wait=true", "--timeout=180s"]);
    }
    namespacesMade.clear();
    if (crdsInstalled.length > 0) {
        kubectl(["delete", ...crdsInstalled.map((c) => `crd/${c}`), "--wait=true", "--timeout=120s"]);
    }
    crdsInstalled.length = 0;
}

/** One case: true when validation refuses the config or the API server accepts all of it. */
export async function agrees(config: Raw, tally: { refused: number; accepted: number }): Promise<void> {
    try {
        resolveConfig("dev", config, { set: SECRET_KEYS, plaintext: [] });
    } catch {
        tally.refused++;
        return;
    }
    tally.accepted++;
    const { objects } = await renderConfig("dev", config);
    const answer = dryRun(objects as unknown as K8sObject[]);
    assert.ok(answer.ok, `validation accepted a config the API server refuses:\n${answer.output}\nconfig: ${JSON.stringify(config)}`);
}

/** Runs `runs` generated cases from `seed` (after prepareCluster); throws fast-check's report on a counterexample. */
export async function runOracle(seed: number, runs: number, replayPath?: string): Promise<{ refused: number; accepted: number }> {
    const tally = { refused: 0, accepted: 0 };
    await fc.assert(fc.asyncProperty(stackConfigs, (c) => agrees(c, tally)), {
        seed, numRuns: runs, endOnFailure: false, includeErrorInReport: true, ...(replayPath ? { path: replayPath } : {}),
    });
    return tally;
}

if (require.main === module) {
    const arg = (name: string) => {
        const i = process.argv.indexOf(name);
        return i >= 0 ? process.argv[i + 1] : undefined;
    };
    const seed = Number(arg("--seed") ?? CI_SEED);
    const runs = Number(arg("--runs") ?? 500);
    prepareCluster();
    // --path replays one failure fast-check reported (its "path"), shrinking included.
    runOracle(seed, runs, arg("--path")).finally(cleanUp).then((t) => {
        console.log(`oracle: ${runs} configs from seed ${seed}: ${t.refused} refused by validation, ${t.accepted} accepted and all accepted by the API server`);
    }, (e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exitCode = 1;
    });
}
