// This program owns every field it declares on its Kubernetes objects. Under server-side apply, a
// hand edit (`kubectl set image`, `kubectl edit`, `kubectl scale`) makes kubectl the manager of that
// field, and the next `pulumi up` would stop with a field-manager conflict instead of restoring the
// declared value. The provider forces its apply when an object carries `pulumi.com/patchForce`, so
// every object gets it: drift on a declared field is reverted; fields the program leaves out (e.g.
// `replicas` under an HPA) stay with whoever manages them.

import * as pulumi from "@pulumi/pulumi";

export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";
const SERVICE = "kubernetes:core/v1:Service";

type Annotations = Record<string, pulumi.Input<string>>;
type Meta = { annotations?: pulumi.Input<Annotations> } & Record<string, unknown>;

/** Kubernetes objects that have metadata; Helm releases and providers have none. */
export function ownsFields(type: string): boolean {
    return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/");
}

function isEventual(v: unknown): boolean {
    return pulumi.Output.isInstance(v) || v instanceof Promise;
}

/**
 * The annotations every object of `type` gets. A Service also skips the provider's await: it waits
 * for the Service's endpoints and then 10 s more after every endpoints event "to settle", which made
 * every Service cost at least 10 s of each `up`. What it proves (ready pods behind the selector) the
 * workloads' own await proves already, and the selector is the workloads' selector by construction
 * (tested). Every other kind keeps its await.
 */
export function ownedAnnotations(type: string): Record<string, string> {
    return { [PATCH_FORCE_ANNOTATION]: "true", ...(type === SERVICE ? { [SKIP_AWAIT_ANNOTATION]: "true" } : {}) };
}

function annotated(annotations: pulumi.Input<Annotations> | undefined, force: Record<string, string>): pulumi.Input<Annotations> {
    return isEventual(annotations)
        ? pulumi.output(annotations as pulumi.Input<Annotations>).apply((a) => ({ ...a, ...force }))
        : { ...(annotations as Annotations | undefined), ...force };
}

/**
 * The resource's inputs with `ownedAnnotations(type)` added to its metadata. Only the part that
 * is eventual is wrapped, so names and namespaces stay known during previews.
 */
export function withOwnedAnnotations(props: pulumi.Inputs, type = ""): pulumi.Inputs {
    const force = ownedAnnotations(type);
    const m = props.metadata as pulumi.Input<Meta> | undefined;
    const metadata = isEventual(m)
        ? pulumi.output(m as pulumi.Input<Meta>).apply((v) => ({ ...v, annotations: { ...v?.annotations, ...force } }))
        : { ...(m as Meta | undefined), annotations: annotated((m as Meta | undefined)?.annotations, force) };
    return { ...props, metadata };
}

/** Registers the stack transformation; call once, before any resource is created. */
export function forceFieldOwnership(): void {
    pulumi.runtime.registerStackTransformation((a) =>
        ownsFields(a.type) ? { props: withOwnedAnnotations(a.props, a.type), opts: a.opts } : undefined);
}
