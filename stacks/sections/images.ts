// Image references: the grammar (stacks/k8sRules.ts), pinning per environment, exact data-service releases.

import { IMAGE } from "../k8sRules";
import { ConfigErrors, text } from "../reader";

/** An image reference field; `required` for one without a default. */
export function image(what: string, opts: { required?: boolean } = {}) {
    return text({ rule: IMAGE, ...(opts.required ? { required: "an image reference such as registry.example.com/app:v1.2.3" } : {}) }).describe(what);
}

/** Splits an image reference into its tag and digest; the tag is what follows the last ':' after the last '/'. */
export function imageTag(image: string): { tag?: string; digest?: string } {
    const [name, digest] = image.split("@");
    const lastPart = name.slice(name.lastIndexOf("/") + 1);
    const colon = lastPart.lastIndexOf(":");
    return { tag: colon >= 0 ? lastPart.slice(colon + 1) : undefined, digest };
}

/** Refuses `latest` and untagged images where the environment requires pinned ones; returns the image. */
export function checkPinned(errors: ConfigErrors, key: string, value: string, pinned: boolean): string {
    const { tag, digest } = imageTag(value);
    if (value && pinned && !digest && (tag === undefined || tag === "latest")) {
        errors.add(key, value, "must be pinned to a version tag or digest in this environment (not 'latest', not untagged)");
    }
    return value;
}

/** Numeric parts of the version a tag starts with: "15.10-alpine" -> 2, "7.2-alpine" -> 2, "v1.0.0" -> 3, "alpine" -> 0. */
export function versionParts(tag: string): number {
    const m = /^v?(\d+(?:\.\d+)*)/.exec(tag);
    return m ? m[1].split(".").length : 0;
}

/**
 * A data service's image where images must be pinned: the official images' short tags
 * (`postgres:15-alpine`, `redis:7.2-alpine`) move to every new patch release, so a restart can
 * change the database server under the data. An exact release (`parts` numeric parts: PostgreSQL
 * numbers its patch releases MAJOR.MINOR, Redis MAJOR.MINOR.PATCH) or a digest is required.
 */
export function readDataImage(errors: ConfigErrors, key: string, value: string | undefined, defaults: { floating: string; exact: string }, parts: number, pinned: boolean, what: string): string {
    const image = checkPinned(errors, key, value ?? (pinned ? defaults.exact : defaults.floating), pinned);
    const { tag, digest } = imageTag(image);
    if (pinned && !digest && tag !== undefined && tag !== "latest" && versionParts(tag) < parts) {
        errors.add(key, image, `must name an exact ${what} release in this environment (a tag such as ${defaults.exact.slice(defaults.exact.indexOf(":") + 1)}, or a digest): '${tag}' moves to every new release`);
    }
    return image;
}
