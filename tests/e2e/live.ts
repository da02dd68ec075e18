// Helpers for the live suite: a throwaway project copy (workspace.ts) whose stacks point at the local
// cluster by config, the real `pulumi` CLI and `kubectl` against that cluster.
//
// What differs from the committed stack files, and why: `platform:cluster.kubeconfig` (the local
// cluster), and each enabled add-on's `chart`, set to the project's stand-in chart of the same name
// and version under tests/fixtures/charts (the local cluster reaches no chart repository and runs no
// containers). Nothing else is changed.

import * as assert from "assert/strict";
import { SpawnSyncReturns, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { ROOT, Workspace, createWorkspace } from "./workspace";

export const CHARTS = path.join(ROOT, "tests", "fixtures", "charts");
const ADDON_CHARTS: Record<string, string> = {
    ingressNginx: "ingress-nginx",
    certManager: "cert-manager",
    metricsServer: "metrics-server",
    kubePrometheusStack: "kube-prometheus-stack",
    prometheusAdapter: "prometheus-adapter",
};
/** People's secrets the stacks need; test stand-ins, set encrypted like a person would. */
const PERSON_SECRETS: Record<string, string> = {
    alertWebhookUrl: "https://alerts.example.test/e2e-webhook-token",
};

export function kubeconfig(): string {
    const k = process.env.KUBECONFIG;
    if (!k || spawnSync("kubectl", ["get", "--raw", "/readyz"], { encoding: "utf8" }).status !== 0) {
        throw new Error("no local cluster: run 'npm run cluster:up' and 'eval \"$(bash toolchain/cluster.sh env)\"' first");
    }
    return path.resolve(k);
}

export function kubectl(args: string[], input?: string): SpawnSyncReturns<string> {
    const r = spawnSync("kubectl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    if (r.error) {
        throw new Error(`kubectl: ${r.error.message}`);
    }
    return r;
}

export function kubectlOk(args: string[], input?: string): string {
    const r = kubectl(args, input);
    assert.equal(r.status, 0, `kubectl ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

export function kubectlJson<T = any>(args: string[]): T { // eslint-disable-line @typescript-eslint/no-explicit-any
    return JSON.parse(kubectlOk([...args, "-o", "json"])) as T;
}

type StackFile = { config: Record<string, unknown> } & Record<string, unknown>;

export interface LiveWorkspace extends Workspace {
    /** Every output of the CLI commands run so far, for the plaintext search. */
    readonly transcript: string[];
    /** Runs the CLI; `reveal` for commands asked to show secrets, whose output stays out of the transcript. */
    pulumi(args: string[], opts?: { ok?: boolean; input?: string; reveal?: boolean }): SpawnSyncReturns<string>;
    /** Edits the `config:` map of Pulumi.<stack>.yaml in the workspace. */
    editConfig(stack: string, edit: (config: Record<string, any>) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** Creates the stack, points it at the local cluster and fills its secrets as a user would. */
    initStack(stack: string, template?: string): void;
    secrets(...args: string[]): SpawnSyncReturns<string>;
}

export function createLiveWorkspace(): LiveWorkspace {
    const kc = kubeconfig();
    const ws = createWorkspace();
    const transcript: string[] = [];
    const pulumi = (args: string[], opts: { ok?: boolean; input?: string; reveal?: boolean } = {}) => {
        const r = ws.tryRun("pulumi", [...args, "--non-interactive"], opts.input);
        if (!opts.reveal) {
            transcript.push(r.stdout, r.stderr);
        }
        if ((opts.ok ?? true) && r.status !== 0) {
            assert.fail(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        }
        return r;
    };
    const file = (stack: string) => path.join(ws.dir, `Pulumi.${stack}.yaml`);
    const editConfig = (stack: string, edit: (config: Record<string, unknown>) => void) => {
        const doc = (parse(fs.readFileSync(file(stack), "utf8")) ?? {}) as StackFile;
        doc.config ??= {};
        edit(doc.config);
        fs.writeFileSync(file(stack), stringify(doc));
    };
    const secrets = (...args: string[]) => {
        const r = ws.tryRun("node", ["-r", "ts-node/register/transpile-only", "scripts/secrets.ts", ...args]);
        transcript.push(r.stdout, r.stderr);
        return r;
    };
    return {
        ...ws,
        transcript,
        pulumi,
        editConfig,
        secrets,
        initStack(stack, template) {
            if (template) {
                fs.copyFileSync(path.resolve(ROOT, template), file(stack));
            }
            pulumi(["stack", "init", stack, "--secrets-provider", "passphrase"]);
            editConfig(stack, (c) => {
                c["platform:cluster"] = { kubeconfig: kc };
                const addons = (c["platform:addons"] ?? {}) as Record<string, Record<string, unknown>>;
                for (const [key, chart] of Object.entries(ADDON_CHARTS)) {
                    if (addons[key]?.enabled) {
                        addons[key].chart = path.join(CHARTS, chart);
                    }
                }
            });
            const init = secrets("init", "--stack", stack);
            // Secrets a person supplies: the known ones with their stand-ins, a stack's own with a marker.
            for (const [, key] of init.stdout.matchAll(/still missing (\w+):/g)) {
                pulumi(["config", "set", "--secret", `platform:${key}`, "--stack", stack], { input: PERSON_SECRETS[key] ?? `e2e-stand-in-${key}` });
            }
            const list = secrets("list", "--stack", stack);
            assert.doesNotMatch(list.stdout, /\bneeded\s+\S+\s+not set/, `stack ${stack} still misses secrets:\n${list.stdout}`);
        },
    };
}

export interface PreviewStep { op: string; urn: string }

/** `pulumi preview --json`: the steps that are not `same`, as "op type name". */
export function changes(ws: LiveWorkspace, stack: string): string[] {
    const r = ws.pulumi(["preview", "--json", "--stack", stack]);
    const steps = (JSON.parse(r.stdout).steps ?? []) as PreviewStep[];
    // "read": the program reads its own stack's outputs (stacks/load.ts) on every run; not a change.
    return steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${urnTypeAndName(s.urn)}`);
}

/** "kubernetes:apps/v1:Deployment backend" from `urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`. */
export function urnTypeAndName(urn: string): string {
    const [, , types, name] = urn.split("::");
    return `${types.split("$").pop()} ${name}`;
}

/**
 * Removes what a destroyed stack keeps by design (the app namespace with its retained data claims,
 * the CRDs the charts keep, the namespaces Helm created for the add-ons), so the next suite starts
 * from an empty cluster.
 */
export function removeLeftovers(appNamespaces: string[]): void {
    kubectl(["delete", "namespace", ...appNamespaces, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    kubectl(["delete", "crd", "clusterissuers.cert-manager.io", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com", "--ignore-not-found"]);
    kubectl(["delete", "namespace", "ingress-nginx", "cert-manager", "monitoring", "--ignore-not-found", "--wait=true", "--timeout=120s"]);
}

/** Waits for every Deployment and StatefulSet in `ns` to finish its rollout; returns them as kind/name. */
export function everyWorkloadReady(ns: string): string[] {
    const workloads = kubectlOk(["get", "deployments,statefulsets", "-n", ns, "-o", "name"]).split("\n").filter(Boolean).sort();
    for (const w of workloads) {
        kubectlOk(["rollout", "status", w, "-n", ns, "--timeout=120s"]);
    }
    const refused = kubectlOk(["get", "events", "-n", ns, "--field-selector", "reason=FailedCreate", "-o", "name"]);
    assert.equal(refused.trim(), "", "no pod was refused admission");
    return workloads;
}

/** Processes (other than this one) whose working directory is `dir`, from /proc (Linux). */
export function processesIn(dir: string): number[] {
    return fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid).flatMap((e) => {
        try {
            return fs.readlinkSync(`/proc/${e}/cwd`) === dir ? [Number(e)] : [];
        } catch {
            return [];
        }
    });
}

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
    const parentOf = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (/^\d+$/.test(entry)) {
            try {
                const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
                parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
            } catch {
                // exited meanwhile
            }
        }
    }
    const found: number[] = [];
    const walk = (p: number) => parentOf.forEach((parent, child) => {
        if (parent === p) {
            found.push(child);
            walk(child);
        }
    });
    walk(pid);
    return found;
}

/** SIGKILL to `pid` and every process below it at once, as when its machine dies. */
export function killTree(pid: number): void {
    for (const p of [pid, ...descendants(pid)]) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // already gone
        }
    }
}

/** Packages a stand-in chart at `version` into `<dir>/variants`, optionally with an extra template. */
export function chartVariant(dir: string, chart: string, version: string, extraTemplate?: string): string {
    const copy = path.join(dir, `${chart}-${version}`);
    fs.cpSync(path.join(CHARTS, chart), copy, { recursive: true });
    if (extraTemplate) {
        fs.writeFileSync(path.join(copy, "templates", "extra.yaml"), extraTemplate);
    }
    execFileSync("helm", ["package", copy, "--version", version, "-d", path.join(dir, "variants")], { stdio: "pipe" });
    return path.join(dir, "variants", `${chart}-${version}.tgz`);
}

/** Helm's revisions of a release, from its Secrets: [revision, status], oldest first. */
export function helmRevisions(name: string, ns: string): (readonly [number, string])[] {
    return (kubectlJson(["get", "secrets", "-n", ns, "-l", `owner=helm,name=${name}`]).items as { metadata: { labels: Record<string, string> } }[])
        .map((s) => [Number(s.metadata.labels.version), s.metadata.labels.status] as const).sort((a, b) => a[0] - b[0]);
}
