// The PostgreSQL password sync (the postStart hook of components/postgres.ts) against a real
// PostgreSQL on loopback: the local cluster runs no containers, so the hook's exact shell script runs
// here, against a server started by the test (Debian's postgresql package; .ci/e2e installs it), with
// passwords that break naive quoting. Only the socket folder differs from the pod's.

import * as assert from "assert/strict";
import { SpawnSyncReturns, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { PASSWORD_SYNC_COMMAND } from "../../components/postgres";

const POD_SOCKET_DIR = "/var/run/postgresql";
const USER = "kaizen_user";
const DB = "kaizen_studio";

function postgresBin(): string {
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))).sort() : [];
    if (versions.length === 0) {
        throw new Error("no PostgreSQL server binaries: apt-get install postgresql (.ci/e2e does)");
    }
    return path.join(root, versions[versions.length - 1], "bin");
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const srv = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

describe("PostgreSQL password sync against a real server", function () {
    this.timeout(120_000);
    const bin = postgresBin();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-pg-"));
    const data = path.join(dir, "data");
    const socket = path.join(dir, "sock");
    const log = path.join(dir, "server.log");
    let port = 0;
    // initdb and postgres refuse to run as root: run them (and the hook, as in the pod) as `postgres`.
    const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
    const run = (cmd: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> => {
        const full = [...asPostgres, ...cmd];
        return spawnSync(full[0], full.slice(1), { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });
    };
    const ok = (cmd: string[], env: NodeJS.ProcessEnv = {}) => {
        const r = run(cmd, env);
        assert.equal(r.status, 0, `${cmd.join(" ")}:\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    };
    /** The hook as the pod runs it, with the test server's socket folder. */
    const sync = (password: string) => run(
        [PASSWORD_SYNC_COMMAND[0], PASSWORD_SYNC_COMMAND[1], PASSWORD_SYNC_COMMAND[2].split(POD_SOCKET_DIR).join(socket)],
        { POSTGRES_USER: USER, POSTGRES_DB: DB, POSTGRES_PASSWORD: password, PGPORT: String(port) });
    const login = (password: string) => spawnSync(path.join(bin, "psql"),
        ["-h", "127.0.0.1", "-p", String(port), "-U", USER, "-d", DB, "-X", "-tAc", "select current_user"],
        { encoding: "utf8", env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" } });

    before(async () => {
        port = await freePort();
        fs.mkdirSync(socket);
        if (asPostgres.length) {
            execFileSync("chown", ["-R", "postgres:postgres", dir]);
        }
        // As the official image does: the app user is the superuser; local socket trusted, TCP by password.
        ok([path.join(bin, "initdb"), "-D", data, "-U", USER, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"]);
        fs.appendFileSync(path.join(data, "postgresql.conf"), [
            "listen_addresses = '127.0.0.1'", `port = ${port}`, `unix_socket_directories = '${socket}'`,
            // Everything a client sends is logged, so a password in SQL text would show up here.
            "log_statement = 'all'", "logging_collector = off", "",
        ].join("\n"));
        ok([path.join(bin, "pg_ctl"), "-D", data, "-l", log, "-w", "start"]);
        ok([path.join(bin, "createdb"), "-h", socket, "-p", String(port), "-U", USER, DB]);
    });
    after(() => {
        run([path.join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const PASSWORDS = [
        "it's a \"quoted\" pass\\word; DROP TABLE x; --",
        "$(id) `id` ${HOME} $USER",
        "p@ss:w/rd#?%&é 中文",
        "two\nlines",
    ];

    for (const password of PASSWORDS) {
        it(`sets a password with ${JSON.stringify(password.slice(0, 12))}…, which then logs in over TCP`, () => {
            const r = sync(password);
            assert.equal(r.status, 0, `the hook failed:\n${r.stdout}\n${r.stderr}`);
            const login1 = login(password);
            assert.equal(login1.status, 0, login1.stderr);
            assert.equal(login1.stdout.trim(), USER);
        });
    }

    it("rotates: the old password stops working, the new one works", () => {
        assert.equal(sync("first-secret-0123456789").status, 0);
        assert.equal(sync("second-secret-9876543210").status, 0);
        assert.notEqual(login("first-secret-0123456789").status, 0);
        assert.equal(login("second-secret-9876543210").status, 0);
    });

    it("never puts a password into the server log or onto the hook's command line", () => {
        const logged = fs.readFileSync(log, "utf8");
        assert.match(logged, /statement: select current_user/, "the server does log statements");
        for (const password of [...PASSWORDS, "first-secret-0123456789", "second-secret-9876543210"]) {
            assert.equal(logged.includes(password), false, "a password appears in the server log");
        }
        assert.equal(PASSWORD_SYNC_COMMAND.join(" ").includes("$POSTGRES_PASSWORD"), false, "the script never expands the password");
    });
});
