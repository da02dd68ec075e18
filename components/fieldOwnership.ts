// This program owns every field it declares on its Kubernetes objects. Under server-side apply, a
// hand edit (`kubectl set image`, `kubectl edit`, `kubectl scale`) makes kubectl the manager of that
// field, and the next `pulumi up` would stop with a field-manager conflict instead of restoring the
// declared value. The provider forces its apply when an object carries `pulumi.com/patchForce`, so
// every object gets it: drift on a declared field is reverted; fields the program leaves out (e.g.
// `replicas` under an HPA) stay with whoever manages them.

import * as pulumi from "@pulumi/pulumi";

export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

type Annotations = Record<string, pulumi.Input<string>>;
type Meta = { annotations?: pulumi.Input<Annotations> } & Record<string, unknown>;

/** Kubernetes objects that have metadata; Helm releases and providers have none. */
export function ownsFields(type: string): boolean {
    return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/");
}

function isEventual(v: unknown): boolean {
    return pulumi.Output.isInstance(v) || v instanceof Promise;
}

function annotated(annotations: pulumi.Input<Annotations> | undefined): pulumi.Input<Annotations> {
    const force = { [PATCH_FORCE_ANNOTATION]: "true" };
    return isEventual(annotations)
        ? pulumi.output(annotations as pulumi.Input<Annotations>).apply((a) => ({ ...a, ...force }))
        : { ...(annotations as Annotations | undefined), ...force };
}

/**
 * The resource's inputs with the patch-force annotation added to its metadata. Only the part that
 * is eventual is wrapped, so names and namespaces stay known during previews.
 */
export function withPatchForce(props: pulumi.Inputs): pulumi.Inputs {
    const m = props.metadata as pulumi.Input<Meta> | undefined;
    const metadata = isEventual(m)
        ? pulumi.output(m as pulumi.Input<Meta>).apply((v) => ({ ...v, annotations: { ...v?.annotations, [PATCH_FORCE_ANNOTATION]: "true" } }))
        : { ...(m as Meta | undefined), annotations: annotated((m as Meta | undefined)?.annotations) };
    return { ...props, metadata };
}

/** Registers the stack transformation; call once, before any resource is created. */
export function forceFieldOwnership(): void {
    pulumi.runtime.registerStackTransformation((a) =>
        ownsFields(a.type) ? { props: withPatchForce(a.props), opts: a.opts } : undefined);
}
