// CrossGuard policy pack: the reference system's security and availability checklist, mandatory.
//   pulumi preview --stack prod --policy-pack policy
// The rules live in rules.ts as pure functions (unit-tested over every stack and bad fixtures);
// this file only adapts them. Helm releases are opaque to policies (one resource each): their
// charts are reviewed through their values instead.

import { PolicyPack, ReportViolation } from "@pulumi/policy";
import { K8sObject, OBJECT_RULES, STACK_RULES } from "./rules";

/** Kubernetes objects only: the provider's resource types are `kubernetes:<group>/<version>:<Kind>`. */
function isKubernetesObject(type: string): boolean {
    return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/") && !type.startsWith("pulumi:");
}

function report(messages: string[], reportViolation: ReportViolation): void {
    messages.forEach((m) => reportViolation(m));
}

new PolicyPack("platform-checklist", {
    policies: [
        ...OBJECT_RULES.map((rule) => ({
            name: rule.name,
            description: rule.description,
            enforcementLevel: "mandatory" as const,
            validateResource: (args: { type: string; props: Record<string, unknown> }, reportViolation: ReportViolation) => {
                if (isKubernetesObject(args.type)) {
                    report(rule.check(args.props as K8sObject), reportViolation);
                }
            },
        })),
        ...STACK_RULES.map((rule) => ({
            name: rule.name,
            description: rule.description,
            enforcementLevel: "mandatory" as const,
            validateStack: (args: { resources: { type: string; props: Record<string, unknown> }[] }, reportViolation: ReportViolation) => {
                const objects = args.resources.filter((r) => isKubernetesObject(r.type)).map((r) => r.props as K8sObject);
                report(rule.check(objects), reportViolation);
            },
        })),
    ],
});
