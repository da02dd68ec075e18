// A real PostgreSQL server on loopback, for the tests that run the pods' own commands against one
// (the local cluster runs no containers): Debian's server binaries (the postgresql package; .ci/e2e
// installs it), a throwaway data folder, the app user as superuser as in the official image, the
// local socket trusted and TCP by password (scram-sha-256) as the pods connect.

import * as assert from "assert/strict";
import { SpawnSyncReturns, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/** The absolute path of `command` on `searchPath` (a PATH value), or undefined. */
export function which(command: string, searchPath = process.env.PATH ?? ""): string | undefined {
    return searchPath.split(":").filter(Boolean).map((d) => path.join(d, command)).find((f) => {
        try {
            fs.accessSync(f, fs.constants.X_OK);
            return fs.statSync(f).isFile();
        } catch {
            return false;
        }
    });
}

/** The newest installed PostgreSQL server's binaries. */
export function postgresBin(): string {
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))).sort() : [];
    if (versions.length === 0) {
        throw new Error("no PostgreSQL server binaries: apt-get install postgresql (.ci/e2e does)");
    }
    return path.join(root, versions[versions.length - 1], "bin");
}

/** A TCP port free on 127.0.0.1 (the kernel picks it; it stays free until someone binds it). */
export function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const srv = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

export interface LocalPostgres {
    /** The server binaries' folder (pg_dump, pg_restore, psql...). */
    readonly bin: string;
    /** The throwaway folder: data, socket, log; owned by the user the server runs as. */
    readonly dir: string;
    readonly socket: string;
    readonly port: number;
    readonly log: string;
    /**
     * Runs `cmd` as the server's user (`postgres` when the tests run as root: initdb and postgres
     * refuse root), the binaries on PATH unless `env` sets it, `input` on standard input.
     */
    run(cmd: string[], env?: NodeJS.ProcessEnv, input?: string): SpawnSyncReturns<string>;
    /** `run`, failing the test unless the command succeeds; its standard output. */
    ok(cmd: string[], env?: NodeJS.ProcessEnv, input?: string): string;
    /** SQL statements through psql over the local socket, as the app user on the app database; the output, unaligned, rows only. */
    sql(statements: string): string;
    /** A new empty folder in `dir`, owned by the server's user (who runs the commands under test). */
    folder(name: string): string;
    /** Stops the server and removes the folder. */
    stop(): void;
}

export interface LocalPostgresOptions {
    readonly user: string;
    readonly database: string;
    /** Lines appended to postgresql.conf. */
    readonly conf?: readonly string[];
    /** Set as the app user's password; unset leaves the user without one. */
    readonly password?: string;
}

export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
    const bin = postgresBin();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-pg-"));
    const data = path.join(dir, "data");
    const socket = path.join(dir, "sock");
    const log = path.join(dir, "server.log");
    const port = await freePort();
    // By its path: the caller's `env` may set a PATH that has only the tools of an image.
    const asPostgres = process.getuid?.() === 0 ? [which("runuser") ?? "runuser", "-u", "postgres", "--"] : [];
    const run = (cmd: string[], env: NodeJS.ProcessEnv = {}, input?: string): SpawnSyncReturns<string> => {
        const full = [...asPostgres, ...cmd];
        return spawnSync(full[0], full.slice(1), { cwd: dir, encoding: "utf8", input, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });
    };
    const ok = (cmd: string[], env: NodeJS.ProcessEnv = {}, input?: string) => {
        const r = run(cmd, env, input);
        assert.equal(r.status, 0, `${cmd.join(" ")}:\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    };
    const sql = (statements: string) => ok([path.join(bin, "psql"), "-h", socket, "-p", String(port), "-U", opts.user, "-d", opts.database,
        "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], {}, statements).trim();

    fs.mkdirSync(socket);
    if (asPostgres.length) {
        execFileSync("chown", ["-R", "postgres:postgres", dir]);
    }
    ok([path.join(bin, "initdb"), "-D", data, "-U", opts.user, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"]);
    fs.appendFileSync(path.join(data, "postgresql.conf"), [
        "listen_addresses = '127.0.0.1'", `port = ${port}`, `unix_socket_directories = '${socket}'`, "logging_collector = off", ...(opts.conf ?? []), "",
    ].join("\n"));
    ok([path.join(bin, "pg_ctl"), "-D", data, "-l", log, "-w", "start"]);
    ok([path.join(bin, "createdb"), "-h", socket, "-p", String(port), "-U", opts.user, opts.database]);
    const server: LocalPostgres = {
        bin, dir, socket, port, log, run, ok, sql,
        folder(name) {
            const f = path.join(dir, name);
            fs.mkdirSync(f);
            if (asPostgres.length) {
                execFileSync("chown", ["postgres:postgres", f]);
            }
            return f;
        },
        stop() {
            run([path.join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    if (opts.password !== undefined) {
        server.sql(`ALTER USER "${opts.user}" WITH PASSWORD '${opts.password.replace(/'/g, "''")}'`);
    }
    return server;
}
