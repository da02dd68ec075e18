// Config validation against the local cluster's API server (tests/e2e/oracle.ts): the seeded,
// bounded differential run CI does, and for each class of mistake validation refuses because
// Kubernetes would, one representative: validation refuses the config at the key, and the API
// server refuses the object that value would have produced (a server-side dry-run of the dev
// stack's rendered object with that one field changed).

import * as assert from "assert/strict";
import { renderStack } from "../../scripts/render";
import { stackConfig } from "../../scripts/lib/mockRun";
import { ConfigValidationError, resolveConfig } from "../../stacks/config";
import { SECRET_KEYS } from "../../stacks/secrets";
import fc from "fast-check";
import { IMAGE, follows } from "../../stacks/k8sRules";
import { CI_RUNS, CI_SEED, cleanUp, dryRun, imageReferences, prepareCluster, runOracle, runtimeAcceptsImages } from "./oracle";
import { kubeconfig } from "./live";

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface RefusalClass {
    what: string;
    /** The config mistake, and the start of the problem validation reports for it. */
    config: (c: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
    problem: string;
    /** The rendered object that value lands in, changed the same way, and what the API server says. */
    object: { kind: string; name: string; edit: (o: Obj) => void; refusal: RegExp };
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

    for (const cls of CLASSES) {
        it(`refuses ${cls.what}, as the API server does`, () => {
            const raw = JSON.parse(JSON.stringify(stackConfig("dev"))) as Record<string, unknown>;
            cls.config(raw);
            const problems = problemsOf(raw);
            assert.ok(problems.some((p) => p.startsWith(cls.problem)), `validation: no problem starting with ${cls.problem}; got:\n  ${problems.join("\n  ")}`);

            const original = rendered.find((o) => o.kind === cls.object.kind && o.metadata.name === cls.object.name);
            assert.ok(original, `dev renders no ${cls.object.kind} ${cls.object.name}`);
            const changed = JSON.parse(JSON.stringify(original)) as Obj;
            cls.object.edit(changed);
            const answer = dryRun([changed]);
            assert.equal(answer.ok, false, `the API server accepted ${cls.object.kind} ${changed.metadata.name} with ${cls.what}`);
            assert.match(answer.output, cls.object.refusal);
        });
    }
});
