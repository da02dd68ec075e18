// The PostgreSQL password sync (the postStart hook of components/postgres.ts) against a real
// PostgreSQL on loopback: the local cluster runs no containers, so the hook's exact shell script runs
// here, against a server started by the test (Debian's postgresql package; .ci/e2e installs it), with
// passwords that break naive quoting. Only the socket folder differs from the pod's.

import * as assert from "assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PASSWORD_SYNC_COMMAND } from "../../components/postgres";
import { LocalPostgres, startLocalPostgres } from "./localPostgres";

const POD_SOCKET_DIR = "/var/run/postgresql";
const USER = "kaizen_user";
const DB = "kaizen_studio";

describe("PostgreSQL password sync against a real server", function () {
    this.timeout(120_000);
    let pg: LocalPostgres;
    /** The hook as the pod runs it (as the server's user), with the test server's socket folder. */
    const sync = (password: string) => pg.run(
        [PASSWORD_SYNC_COMMAND[0], PASSWORD_SYNC_COMMAND[1], PASSWORD_SYNC_COMMAND[2].split(POD_SOCKET_DIR).join(pg.socket)],
        { POSTGRES_USER: USER, POSTGRES_DB: DB, POSTGRES_PASSWORD: password, PGPORT: String(pg.port) });
    const login = (password: string) => spawnSync(path.join(pg.bin, "psql"),
        ["-h", "127.0.0.1", "-p", String(pg.port), "-U", USER, "-d", DB, "-X", "-tAc", "select current_user"],
        { encoding: "utf8", env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" } });

    before(async () => {
        // Everything a client sends is logged, so a password in SQL text would show up in the log.
        pg = await startLocalPostgres({ user: USER, database: DB, conf: ["log_statement = 'all'"] });
    });
    after(() => pg?.stop());

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
        const logged = fs.readFileSync(pg.log, "utf8");
        assert.match(logged, /statement: select current_user/, "the server does log statements");
        for (const password of [...PASSWORDS, "first-secret-0123456789", "second-secret-9876543210"]) {
            assert.equal(logged.includes(password), false, "a password appears in the server log");
        }
        assert.equal(PASSWORD_SYNC_COMMAND.join(" ").includes("$POSTGRES_PASSWORD"), false, "the script never expands the password");
    });
});
