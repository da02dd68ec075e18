// Config validation against the local cluster's API server (tests/e2e/oracle.ts): the seeded,
// bounded differential run CI does, and for each class of mistake validation refuses because
// Kubernetes would, one representative: validation refuses the config at the key, and the API
// server refuses the object that value would have produced (a server-side dry-run of the dev
// stack's rendered object with that one field changed).

import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";
import { renderStack } from "../../scripts/render";
import { ROOT, stackConfig } from "../../scripts/lib/mockRun";
import { ConfigValidationError, resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import fc from "fast-check";
import { IMAGE, follows } from "../../stacks/k8sRules";
import { CI_RUNS, CI_SEED, cleanUp, dryRun, imageReferences, prepareCluster, runOracle, runtimeAcceptsImages } from "./oracle";
import { kubeconfig } from "./live";

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A rendered object of the dev stack changed one way, and what the API server says to it. */
interface ObjectChange { kind: string; name: string; edit: (o: Obj) => void; refusal: RegExp }

interface RefusalClass {
    what: string;
    /** The config mistake, and the start of the problem validation reports for it. */
    config: (c: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
    problem: string;
    /** The rendered object that value lands in, changed the same way. */
    object: ObjectChange;
}

const CLASSES: RefusalClass[] = [
    {
        what: "a Service name that is a DNS-1123 label but not DNS-1035",
        config: (c) => { c.services["1api"] = c.services.backend; delete c.services.backend; },
        problem: "services.1api: \"1api\" is not allowed: service names must be DNS-1035 labels",
        object: { kind: "Service", name: "backend", edit: (o) => { o.metadata.name = "1api"; }, refusal: /a DNS-1035 label must consist of lower case/ },
    },
    {
        what: "an IP address as the ingress host",
        config: (c) => { c.domain = "10.0.0.1"; },
        problem: "domain: \"10.0.0.1\" is not allowed:",
        object: { kind: "Ingress", name: "kaizen-studio", edit: (o) => { o.spec.rules[0].host = "10.0.0.1"; }, refusal: /must be a DNS name, not an IP address/ },
    },
    {
        what: "an ingress path with '//'",
        config: (c) => { c.services.backend.ingressPath = "/api//v1"; },
        problem: "services.backend.ingressPath: \"/api//v1\" is not allowed:",
        object: { kind: "Ingress", name: "kaizen-studio", edit: (o) => { o.spec.rules[0].http.paths[0].path = "/api//v1"; }, refusal: /must not contain '\/\/'/ },
    },
    {
        what: "a claim of size 0",
        config: (c) => { c.redis.storageSize = "0"; },
        problem: "redis.storageSize: \"0\" is not allowed:",
        object: { kind: "PersistentVolumeClaim", name: "redis-data", edit: (o) => { o.spec.resources.requests.storage = "0"; }, refusal: /must be greater than zero/ },
    },
    {
        what: "a storage class name that is not a DNS-1123 subdomain",
        config: (c) => { c.redis.storageClass = "Fast_SSD"; },
        problem: "redis.storageClass: \"Fast_SSD\" is not allowed:",
        object: { kind: "PersistentVolumeClaim", name: "redis-data", edit: (o) => { o.spec.storageClassName = "Fast_SSD"; }, refusal: /storageClassName: Invalid value: "Fast_SSD"/ },
    },
    {
        what: "a label value over 63 characters",
        config: (c) => { c.network = { prometheusPodLabels: { app: "x".repeat(64) } }; },
        problem: "network.prometheusPodLabels.app:",
        object: { kind: "Service", name: "backend", edit: (o) => { o.metadata.labels = { ...o.metadata.labels, app: "x".repeat(64) }; }, refusal: /must be no more than 63 characters/ },
    },
    {
        what: "a label key with a space",
        config: (c) => { c.network = { prometheusPodLabels: { "k8s app": "prometheus" } }; },
        problem: "network.prometheusPodLabels: \"k8s app\" is not allowed:",
        object: { kind: "Service", name: "backend", edit: (o) => { o.metadata.labels = { ...o.metadata.labels, "k8s app": "prometheus" }; }, refusal: /name part must consist of alphanumeric characters/ },
    },
    {
        what: "an environment variable (ConfigMap key) with a space",
        config: (c) => { c.services.backend.env = { "MY VAR": "1" }; },
        problem: "services.backend.env: \"MY VAR\" is not allowed:",
        object: { kind: "ConfigMap", name: "backend-config", edit: (o) => { o.data = { ...o.data, "MY VAR": "1" }; }, refusal: /a valid config key must consist of alphanumeric characters/ },
    },
    {
        what: "a LimitRange default request above its default limit",
        config: (c) => { c.quota = { ...c.quota, defaultRequest: { cpu: "2" }, defaultLimit: { cpu: "1" } }; },
        problem: "quota.defaultRequest.cpu: \"2\" is not allowed:",
        object: {
            kind: "LimitRange", name: "kaizen-studio-dev-limits",
            edit: (o) => { o.spec.limits[0].defaultRequest.cpu = "2"; o.spec.limits[0].default.cpu = "1"; },
            refusal: /default request value 2 is greater than default limit value 1/,
        },
    },
    {
        what: "a quantity with a space",
        config: (c) => { c.services.backend.resources = { requests: { cpu: "10 m" } }; },
        problem: "services.backend.resources.requests.cpu: \"10 m\" is not allowed:",
        object: { kind: "Deployment", name: "backend", edit: (o) => { o.spec.template.spec.containers[0].resources.requests.cpu = "10 m"; }, refusal: /quantities must match the regular expression|unable to parse quantity/ },
    },
    {
        what: "a node selector value that is not a label value",
        config: (c) => { c.services.backend.nodeSelector = { "node-pool": "spot pool" }; },
        problem: "services.backend.nodeSelector.node-pool: \"spot pool\" is not allowed:",
        object: { kind: "Deployment", name: "backend", edit: (o) => { o.spec.template.spec.nodeSelector = { "node-pool": "spot pool" }; }, refusal: /a valid label must be an empty string or consist of alphanumeric characters/ },
    },
    {
        what: "a toleration with operator Exists and a value",
        config: (c) => { c.services.backend.tolerations = [{ key: "spot", operator: "Exists", value: "true" }]; },
        problem: "services.backend.tolerations[0].value: \"true\" is not allowed:",
        object: {
            kind: "Deployment", name: "backend",
            edit: (o) => { o.spec.template.spec.tolerations = [{ key: "spot", operator: "Exists", value: "true" }]; },
            refusal: /value must be empty when `operator` is 'Exists'/,
        },
    },
    {
        what: "tolerationSeconds without effect NoExecute",
        config: (c) => { c.services.backend.tolerations = [{ key: "spot", value: "true", effect: "NoSchedule", tolerationSeconds: 60 }]; },
        problem: "services.backend.tolerations[0].tolerationSeconds: 60 is not allowed:",
        object: {
            kind: "Deployment", name: "backend",
            edit: (o) => { o.spec.template.spec.tolerations = [{ key: "spot", operator: "Equal", value: "true", effect: "NoSchedule", tolerationSeconds: 60 }]; },
            refusal: /effect must be 'NoExecute' when `tolerationSeconds` is set/,
        },
    },
];

/**
 * The app's custom resources against the operators' schemas (tests/fixtures/crds/, generated from
 * their Go API types by scripts/crds.sh): a value the operator's schema forbids is refused.
 */
const CUSTOM_RESOURCE_CLASSES: { what: string; object: ObjectChange }[] = [
    {
        what: "a ServiceMonitor scrape interval that is not a Prometheus duration",
        object: { kind: "ServiceMonitor", name: "backend", edit: (o) => { o.spec.endpoints[0].interval = "30 seconds"; }, refusal: /spec\.endpoints\[0\]\.interval: Invalid value: "30 seconds"/ },
    },
    {
        what: "a ServiceMonitor field the operator does not have",
        object: { kind: "ServiceMonitor", name: "backend", edit: (o) => { o.spec.endpoints[0].scrapeEvery = "30s"; }, refusal: /unknown field "scrapeEvery" in com\.coreos\.monitoring\.v1\.ServiceMonitor\.spec\.endpoints/ },
    },
    {
        what: "a PrometheusRule `for` that is not a duration",
        object: { kind: "PrometheusRule", name: "kaizen-studio-alerts", edit: (o) => { o.spec.groups[0].rules[0].for = "5 minutes"; }, refusal: /spec\.groups\[0\]\.rules\[0\]\.for: Invalid value: "5 minutes"/ },
    },
    {
        what: "a ClusterIssuer solver field cert-manager does not have",
        object: { kind: "ClusterIssuer", name: "letsencrypt-prod", edit: (o) => { o.spec.acme.solvers[0].http01.ingress.className = "nginx"; }, refusal: /unknown field "className" in io\.cert-manager\.v1\.ClusterIssuer\.spec\.acme\.solvers\.http01\.ingress/ },
    },
];

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        resolveConfig("dev", raw, { set: SECRET_KEYS, plaintext: [] });
        return [];
    } catch (e) {
        if (e instanceof ConfigValidationError) {
            return [...e.problems];
        }
        throw e;
    }
}

describe("config validation against the API server (oracle)", function () {
    let rendered: Obj[];

    /** Dry-runs one rendered object with `change` applied; the API server must refuse it as stated. */
    const assertRefused = (what: string, change: ObjectChange) => {
        const original = rendered.find((o) => o.kind === change.kind && o.metadata.name === change.name);
        assert.ok(original, `dev renders no ${change.kind} ${change.name}`);
        const changed = structuredClone(original);
        change.edit(changed);
        const answer = dryRun([changed]);
        assert.equal(answer.ok, false, `the API server accepted ${change.kind} ${changed.metadata.name} with ${what}`);
        assert.match(answer.output, change.refusal);
    };

    before(async function () {
        kubeconfig();
        prepareCluster();
        rendered = (await renderStack("dev")).objects as Obj[];
    });

    after(() => cleanUp());

    it(`finds no config that validation accepts and the API server refuses (seed ${CI_SEED}, ${CI_RUNS} configs)`, async function () {
        const tally = await runOracle(CI_SEED, CI_RUNS);
        // A generator whose every config is refused (or accepted) would prove nothing either way.
        assert.ok(tally.accepted >= 5, `only ${tally.accepted} generated configs were accepted`);
        assert.ok(tally.refused >= 5, `only ${tally.refused} generated configs were refused`);
    });

    it("reads image references exactly as the container runtimes' parser does (2000 generated references)", () => {
        // The API server does not parse images; the kubelet does (InvalidImageName), with distribution's
        // reference grammar, which tests/support/imageref runs. kwok runs no kubelet, so that is the judge.
        const refs = [...new Set(fc.sample(imageReferences, { seed: CI_SEED, numRuns: 2000 }))];
        const runtime = runtimeAcceptsImages(refs);
        const disagreements = refs.flatMap((ref, i) => (follows(IMAGE, ref) === runtime[i] ? [] : [`${JSON.stringify(ref)}: the runtime ${runtime[i] ? "accepts" : "refuses"} it`]));
        assert.deepEqual(disagreements, []);
        assert.ok(runtime.filter(Boolean).length >= 50 && runtime.filter((ok) => !ok).length >= 50, "the generated references must hold both kinds");
    });

    it("the unchanged dev stack's objects pass the dry-run (the baseline of every class below)", () => {
        const answer = dryRun(rendered);
        assert.ok(answer.ok, answer.output);
    });

    it("the committed CRDs are generated from the operators' API types at the pinned versions (scripts/crds.sh)", () => {
        const r = spawnSync("bash", [path.join(ROOT, "scripts", "crds.sh"), "--check"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    for (const stack of ["staging", "prod"]) {
        it(`accepts every object of the ${stack} stack, its custom resources against the operators' schemas`, async () => {
            const answer = dryRun((await renderStack(stack)).objects as Obj[]);
            assert.ok(answer.ok, answer.output);
        });
    }

    for (const cls of CUSTOM_RESOURCE_CLASSES) {
        it(`refuses ${cls.what} (the operator's schema)`, () => assertRefused(cls.what, cls.object));
    }

    for (const cls of CLASSES) {
        it(`refuses ${cls.what}, as the API server does`, () => {
            const raw = stackConfig("dev");
            cls.config(raw);
            const problems = problemsOf(raw);
            assert.ok(problems.some((p) => p.startsWith(cls.problem)), `validation: no problem starting with ${cls.problem}; got:\n  ${problems.join("\n  ")}`);
            assertRefused(cls.what, cls.object);
        });
    }
});
