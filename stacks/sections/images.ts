// Image references: the grammar (stacks/k8sRules.ts), pinning per environment, exact data-service releases.

import { IMAGE, follows } from "../k8sRules";
import { ObjectReader } from "../reader";

/** Splits an image reference into its tag and digest; the tag is what follows the last ':' after the last '/'. */
export function imageTag(image: string): { tag?: string; digest?: string } {
    const [name, digest] = image.split("@");
    const lastPart = name.slice(name.lastIndexOf("/") + 1);
    const colon = lastPart.lastIndexOf(":");
    return { tag: colon >= 0 ? lastPart.slice(colon + 1) : undefined, digest };
}

export function readImage(r: ObjectReader, name: string, def: string, pinned: boolean, required = false): string {
    const value = r.string(name, required ? { required: "an image reference such as registry.example.com/app:v1.2.3" } : { default: def });
    if (!value) {
        return value;
    }
    if (!follows(IMAGE, value)) {
        r.errors.add(r.key(name), value, `must be ${IMAGE.text}`);
        return value;
    }
    const { tag, digest } = imageTag(value);
    if (pinned && !digest && (tag === undefined || tag === "latest")) {
        r.errors.add(r.key(name), value, "must be pinned to a version tag or digest in this environment (not 'latest', not untagged)");
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
export function readDataImage(r: ObjectReader, defaults: { floating: string; exact: string }, parts: number, pinned: boolean, what: string): string {
    const image = readImage(r, "image", pinned ? defaults.exact : defaults.floating, pinned);
    const { tag, digest } = imageTag(image);
    if (pinned && !digest && tag !== undefined && tag !== "latest" && versionParts(tag) < parts) {
        r.errors.add(r.key("image"), image, `must name an exact ${what} release in this environment (a tag such as ${defaults.exact.slice(defaults.exact.indexOf(":") + 1)}, or a digest): '${tag}' moves to every new release`);
    }
    return image;
}
