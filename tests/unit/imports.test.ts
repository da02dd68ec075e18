// The program's import graph (index.ts, components/, stacks/, scripts/, policy/) has no cycle, and
// the layers point one way: stacks/ (config) never imports components/ (resources).

import * as assert from "assert/strict";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            return ["node_modules", "tests", ".git", ".local", "rendered"].includes(e.name) ? [] : sources(p);
        }
        return p.endsWith(".ts") ? [p] : [];
    });
}

/** Relative imports of each file (type-only ones included), resolved to files. */
function importGraph(): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const file of sources(ROOT)) {
        const targets = [...fs.readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*"(\.[^"]+)"/g)]
            .map((m) => path.resolve(path.dirname(file), m[1]))
            .map((t) => [`${t}.ts`, path.join(t, "index.ts")].find((c) => fs.existsSync(c)))
            .filter((t): t is string => t !== undefined);
        graph.set(file, targets);
    }
    return graph;
}

describe("import graph", () => {
    const graph = importGraph();
    const rel = (f: string) => path.relative(ROOT, f);

    it("reads the program's files", () => {
        assert.ok(graph.size > 30, `only ${graph.size} files`);
        assert.ok(graph.get(path.join(ROOT, "index.ts"))?.includes(path.join(ROOT, "components", "platform.ts")));
    });

    it("has no cycle", () => {
        const cycles: string[] = [];
        const state = new Map<string, "open" | "done">();
        const stack: string[] = [];
        const visit = (n: string) => {
            state.set(n, "open");
            stack.push(n);
            for (const m of graph.get(n) ?? []) {
                if (state.get(m) === "open") {
                    cycles.push([...stack.slice(stack.indexOf(m)), m].map(rel).join(" -> "));
                } else if (!state.has(m)) {
                    visit(m);
                }
            }
            stack.pop();
            state.set(n, "done");
        };
        [...graph.keys()].forEach((f) => state.has(f) || visit(f));
        assert.deepEqual(cycles, []);
    });

    it("keeps config (stacks/) free of resource code (components/)", () => {
        const upward = [...graph].filter(([f]) => rel(f).startsWith("stacks/"))
            .flatMap(([f, ts]) => ts.filter((t) => rel(t).startsWith("components/")).map((t) => `${rel(f)} -> ${rel(t)}`));
        assert.deepEqual(upward, []);
    });
});
