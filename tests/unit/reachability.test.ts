// Who may reach whom, checked without trusting the program's own graph: every committed stack is
// rendered, and an independent NetworkPolicy evaluator (tests/support/networkPolicyEvaluator.ts,
// tested on the Kubernetes documentation's examples) computes every allowed connection between the
// app's pods and the pods and addresses around them. The result must equal, line for line, the
// reachability list in the README, and nothing else may be reachable.

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { BackupTarget, oneOffJob } from "../../components/postgresBackup";
import { renderConfig } from "../../scripts/render";
import { Obj, reachability } from "../support/reachability";
import { ROOT, renderCommittedStack, runCommittedStack, runWithKafkaAndMinio, stackConfig } from "./harness";

/** The README's reachability list: the lines of the fenced block after the marker (`<!-- reachability -->`, or `<!-- reachability: <what> -->`). */
export function readmeReachability(what?: string): string[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const marker = what ? `<!-- reachability: ${what} -->` : "<!-- reachability -->";
    const start = readme.indexOf(marker);
    const block = /^\s*```text\n([\s\S]*?)```/.exec(readme.slice(start + marker.length));
    assert.ok(start >= 0 && block, `README.md has the block ${marker}`);
    return block[1].split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).sort();
}

/** Committed stacks with PostgreSQL backups (on by default in prod): their lines come on top of the common list. */
const BACKUPS: Record<string, boolean> = { dev: false, staging: false, prod: true };

describe("reachability (independent NetworkPolicy evaluator vs the README)", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: every allowed connection is in the README's list, and every listed one is allowed`, async () => {
            const { objects } = await renderCommittedStack(stack);
            const backups = BACKUPS[stack] ? readmeReachability("postgres.backup") : [];
            assert.deepEqual(reachability(objects as unknown as Obj[]), [...readmeReachability(), ...backups].sort());
        });
    }

    it("lets a migration Job's pod reach exactly what its service's pods reach, and nothing reach it", async () => {
        const c = stackConfig("dev");
        (c.services as Record<string, Record<string, unknown>>).backend.migration = { command: ["alembic", "upgrade", "head"] };
        const objects = (await renderConfig("dev", c)).objects as unknown as Obj[];
        const jobs = objects.filter((o) => o.kind === "Job").map((o) => o.metadata.name);
        assert.equal(jobs.length, 1);
        const job = jobs[0];
        const lines = reachability(objects);
        const fromJob = lines.filter((l) => l.startsWith(`${job} -> `));
        assert.deepEqual(fromJob, [
            `${job} -> internet:443/TCP`, `${job} -> kube-dns:53/TCP`, `${job} -> kube-dns:53/UDP`,
            `${job} -> postgres:5432/TCP`, `${job} -> redis:6379/TCP`,
        ]);
        assert.deepEqual(fromJob.map((l) => l.replace(job, "backend")), lines.filter((l) => l.startsWith("backend -> ")));
        // Every other line is the committed stack's: the Job adds its own egress and nothing else.
        assert.deepEqual(lines.filter((l) => !l.startsWith(`${job} -> `)), readmeReachability());
        assert.deepEqual(lines.filter((l) => l.includes(`-> ${job}:`)), [], "nothing connects to the Job's pod");
    });

    it("lets the backup pods, and a restore Job's pod like them, reach PostgreSQL (and DNS) only; nothing reaches them", async () => {
        const { objects } = await renderCommittedStack("prod");
        const target = (await runCommittedStack("prod")).exports.postgresBackup as BackupTarget;
        const restore = oneOffJob(target, "kaizen-studio", "restore", "kaizen_studio-20261130T030000Z.dump", new Date("2026-11-30T10:00:00Z"));
        const lines = reachability([...objects, restore] as unknown as Obj[]);
        const touching = (name: string) => lines.filter((l) => l.startsWith(`${name} ->`) || l.includes(`-> ${name}:`));
        assert.deepEqual(touching("postgres-backup"), ["postgres-backup -> kube-dns:53/TCP", "postgres-backup -> kube-dns:53/UDP", "postgres-backup -> postgres:5432/TCP"]);
        assert.deepEqual(touching(restore.metadata.name), touching("postgres-backup").map((l) => l.replace("postgres-backup", restore.metadata.name)));
    });

    it("lets only the services that use Kafka and MinIO reach them, and Prometheus only their metrics ports", async () => {
        const p = await runWithKafkaAndMinio();
        const objects = p.resources.filter((r) => r.inputs?.kind).map((r) => r.inputs as Obj);
        const touching = reachability(objects).filter((l) => /(^| )(kafka|minio)[ :]/.test(l));
        assert.deepEqual(touching, [
            "backend -> kafka:9092/TCP",
            "backend -> minio:9000/TCP",
            "kafka -> kube-dns:53/TCP",
            "kafka -> kube-dns:53/UDP",
            "minio -> kube-dns:53/TCP",
            "minio -> kube-dns:53/UDP",
            "prometheus -> kafka:9308/TCP",
            "prometheus -> minio:9000/TCP",
            "worker -> kafka:9092/TCP",
        ]);
        // The rest of the stack (prod: with PostgreSQL backups) is reached as before, plus the worker (which only calls Kafka).
        const rest = reachability(objects).filter((l) => !touching.includes(l));
        assert.deepEqual(rest, [...readmeReachability(), ...readmeReachability("postgres.backup"), "worker -> kube-dns:53/TCP", "worker -> kube-dns:53/UDP"].sort());
    });

    it("would notice a policy that lets more through", async () => {
        const { objects } = await renderCommittedStack("dev");
        // The frontend's policy opened to all egress: it could reach the cloud metadata endpoint.
        const loosened = (objects as unknown as Obj[]).map((o) => o.kind === "NetworkPolicy" && o.metadata.name === "frontend"
            ? { ...o, spec: { ...o.spec, egress: [{}] } } : o);
        const extra = reachability(loosened).filter((l) => !readmeReachability().includes(l));
        assert.ok(extra.includes("frontend -> cloud-metadata:80/TCP"), extra.join("\n"));
        assert.equal(extra.some((l) => l.startsWith("frontend -> postgres:")), false, "PostgreSQL's own policy still admits only the backend");
    });
});
