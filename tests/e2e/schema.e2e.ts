// Every resource type and every input field the program sets, in every committed stack and the
// local one, exists in the schema of the Kubernetes provider the toolchain built (the one commit of
// pulumi-kubernetes the Go module proxy serves, installed as the version package.json pins). A
// field the npm SDK has but that provider lacks would fail here, not halfway through `pulumi up`.

import * as assert from "assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SECRET_KEYS } from "../../stacks/secrets";
import { runProgram, stackConfig, unwrap } from "../../scripts/lib/mockRun";
import { ROOT } from "./workspace";

type Prop = { type?: string; $ref?: string; items?: Prop; additionalProperties?: Prop; oneOf?: Prop[] };
type TypeDef = { type?: string; properties?: Record<string, Prop>; enum?: unknown[] };
interface Schema {
    version: string;
    provider: { inputProperties: Record<string, Prop> };
    resources: Record<string, { inputProperties: Record<string, Prop> }>;
    types: Record<string, TypeDef>;
}

// Custom resources of the add-ons' CRDs are not part of the provider schema (their schemas come
// from the CRDs in the cluster; the live suite applies them there).
const CUSTOM_RESOURCES = [
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "kubernetes:cert-manager.io/v1:ClusterIssuer",
];
// Inputs whose content is free-form by design (Helm values).
const FREE_FORM = new Set(["kubernetes:helm.sh/v3:Release.values"]);

function schemaFile(): string {
    const dir = execFileSync("bash", [path.join(ROOT, "toolchain", "build.sh"), "dir"], { encoding: "utf8" }).trim();
    return path.join(dir, "provider-kubernetes-schema.json");
}

/** Problems of one value against one schema property, as "path: why". */
function check(schema: Schema, value: unknown, prop: Prop | undefined, at: string, problems: string[]): void {
    const v = unwrap(value).value;
    if (v === undefined || v === null || prop === undefined) {
        return;
    }
    if (prop.$ref?.startsWith("#/types/")) {
        const name = decodeURIComponent(prop.$ref.slice("#/types/".length));
        const t = schema.types[name];
        if (!t) {
            problems.push(`${at}: type ${name} is not in the schema`);
        } else if (t.properties && typeof v === "object") {
            for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
                if (!(k in t.properties)) {
                    problems.push(`${at}.${k}: no such field in ${name}`);
                } else {
                    check(schema, child, t.properties[k], `${at}.${k}`, problems);
                }
            }
        }
    } else if (prop.type === "array" && Array.isArray(v)) {
        v.forEach((item, i) => check(schema, item, prop.items, `${at}[${i}]`, problems));
    } else if (prop.type === "object" && prop.additionalProperties && typeof v === "object") {
        for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
            check(schema, child, prop.additionalProperties, `${at}.${k}`, problems);
        }
    }
}

describe("the program against the built provider's schema", function () {
    this.timeout(120_000);
    let schema: Schema;

    before(() => {
        schema = JSON.parse(fs.readFileSync(schemaFile(), "utf8")) as Schema;
    });

    it("is the provider version package.json pins", () => {
        const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/kubernetes"];
        assert.equal(schema.version, pinned);
    });

    it("finds a field the provider does not have", () => {
        const problems: string[] = [];
        const deployment = schema.resources["kubernetes:apps/v1:Deployment"].inputProperties;
        check(schema, { template: { spec: { containers: [{ name: "x", imagePullPolicyy: "Always" }] } } }, deployment.spec, "spec", problems);
        assert.deepEqual(problems, ["spec.template.spec.containers[0].imagePullPolicyy: no such field in kubernetes:core/v1:Container"]);
    });

    for (const stack of ["dev", "staging", "prod", "local"]) {
        it(`has every resource type and input field of the ${stack} stack`, async () => {
            const secrets = Object.fromEntries(SECRET_KEYS.map((k) => [k, `placeholder-${k}`]));
            const program = await runProgram(stack, stackConfig(stack), secrets);
            const problems: string[] = [];
            let fields = 0;
            for (const r of program.resources) {
                // The engine's own resources (the stack, the StackReference the program reads its last outputs with) are not the provider's.
                if (r.type === "pulumi:pulumi:Stack" || r.type === "pulumi:pulumi:StackReference" || r.type.startsWith("platform:") || CUSTOM_RESOURCES.includes(r.type)) {
                    continue;
                }
                const inputs = r.type === "pulumi:providers:kubernetes"
                    ? schema.provider.inputProperties
                    : schema.resources[r.type]?.inputProperties;
                if (!inputs) {
                    problems.push(`${r.type} ${r.name}: resource type not in the provider schema`);
                    continue;
                }
                for (const [k, v] of Object.entries(r.inputs)) {
                    fields++;
                    if (!(k in inputs)) {
                        problems.push(`${r.type} ${r.name}: input ${k} not in the provider schema`);
                    } else if (!FREE_FORM.has(`${r.type}.${k}`)) {
                        check(schema, v, inputs[k], `${r.type} ${r.name}: ${k}`, problems);
                    }
                }
            }
            assert.ok(fields > 100, `the walk saw the program's inputs (${fields} top-level fields)`);
            assert.deepEqual(problems, []);
        });
    }
});
