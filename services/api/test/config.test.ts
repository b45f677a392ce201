import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_PASSWORD_FILE, loadConfig, readSecretFile } from "../src/config";

describe("api: config", () => {
    it("defaults to the service names and secret path that workloads.ts declares", () => {
        expect(loadConfig({})).to.deep.equal({
            port: 3000,
            redisHost: "redis",
            redisPort: 6379,
            redisPasswordFile: "/run/secrets/redis-password",
            counterKey: "hits",
        });
        expect(DEFAULT_PASSWORD_FILE).to.equal("/run/secrets/redis-password");
    });

    it("reads every setting from the environment", () => {
        const config = loadConfig({ PORT: "8081", REDIS_HOST: "cache", REDIS_PORT: "6380", REDIS_PASSWORD_FILE: "/tmp/pw", COUNTER_KEY: "visits" });
        expect(config).to.deep.equal({ port: 8081, redisHost: "cache", redisPort: 6380, redisPasswordFile: "/tmp/pw", counterKey: "visits" });
    });

    it("rejects a bad port or an empty value, naming the variable and what is allowed", () => {
        expect(() => loadConfig({ PORT: "80a" })).to.throw('PORT="80a" is not a port; allowed: an integer from 1 to 65535');
        expect(() => loadConfig({ REDIS_PORT: "70000" })).to.throw(/^REDIS_PORT="70000" is not a port/);
        expect(() => loadConfig({ REDIS_HOST: " " })).to.throw('REDIS_HOST is set but empty; allowed: a non-empty value, or unset for "redis"');
    });

    describe("readSecretFile", () => {
        let dir: string;
        beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-secret-"))));
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("drops trailing newlines like the shell's $(cat) in the redis command, and keeps the rest", () => {
            const file = path.join(dir, "pw");
            fs.writeFileSync(file, " a b\n\n");
            expect(readSecretFile(file)).to.equal(" a b");
        });

        it("names the file when it is missing or empty", () => {
            expect(() => readSecretFile(path.join(dir, "absent"))).to.throw(new RegExp(`^cannot read the Redis password from ${dir}/absent: ENOENT`));
            fs.writeFileSync(path.join(dir, "empty"), "\n");
            expect(() => readSecretFile(path.join(dir, "empty"))).to.throw(`the Redis password file ${dir}/empty is empty`);
        });
    });
});
