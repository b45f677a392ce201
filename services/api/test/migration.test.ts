import { expect } from "chai";
import { connectWithRetry, migrate, SCHEMA_VERSION, SCHEMA_VERSION_KEY } from "../src/migration";
import { connectRedis, Redis } from "../src/redis";
import { RedisServer } from "./redisServer";

describe("api: migrate job against a real redis-server", function () {
    this.timeout(30_000);
    let redis: RedisServer;
    let client: Redis | undefined;
    beforeEach(async () => (redis = await RedisServer.start("pw")));
    afterEach(async () => {
        if (client?.isOpen) await client.close();
        client = undefined;
        await redis.remove();
    });

    const connect = async () => (client = await connectRedis({ host: "127.0.0.1", port: redis.port, password: () => "pw" }));
    const stored = (key: string) => redis.admin((c) => c.get(key));

    it("creates the counter at 0 and records the schema version", async () => {
        const result = await migrate(await connect(), "hits");
        expect(result).to.deep.equal({ counterCreated: true, counter: 0, schemaVersion: SCHEMA_VERSION });
        expect(await stored("hits")).to.equal("0");
        expect(await stored(SCHEMA_VERSION_KEY)).to.equal(String(SCHEMA_VERSION));
    });

    it("is idempotent: a second run keeps the existing count", async () => {
        await redis.admin((c) => c.set("hits", "17"));
        const first = await migrate(await connect(), "hits");
        const second = await migrate(client!, "hits");
        expect(first).to.deep.equal({ counterCreated: false, counter: 17, schemaVersion: SCHEMA_VERSION });
        expect(second).to.deep.equal(first);
        expect(await stored("hits")).to.equal("17");
    });

    it("refuses a counter that is not an integer and a newer schema", async () => {
        await redis.admin((c) => c.set("hits", "lots"));
        expect(await migrate(await connect(), "hits").catch((e) => e.message)).to.equal("hits holds a value that is not an integer; refusing to continue");
        await redis.admin(async (c) => {
            await c.set("hits", "1");
            await c.set(SCHEMA_VERSION_KEY, String(SCHEMA_VERSION + 1));
        });
        expect(await migrate(client!, "hits").catch((e) => e.message)).to.match(/is 2, newer than this image's 1; deploy a newer image$/);
        expect(await stored(SCHEMA_VERSION_KEY)).to.equal(String(SCHEMA_VERSION + 1));
    });

    it("retries until Redis listens, then connects", async () => {
        await redis.stop();
        const logged: string[] = [];
        const started = connectWithRetry({ host: "127.0.0.1", port: redis.port, password: () => "pw" }, { attempts: 40, delayMs: 50, log: (m) => logged.push(m) });
        await new Promise((done) => setTimeout(done, 300));
        await redis.listen();
        client = await started;
        expect(await client.ping()).to.equal("PONG");
        expect(logged.length).to.be.greaterThan(0);
        expect(logged[0]).to.match(new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port}: .*ECONNREFUSED.* \\(attempt 1/40\\)$`));
    });

    it("gives up after the last attempt with a message naming Redis and the cause", async () => {
        const error = await connectWithRetry({ host: "127.0.0.1", port: redis.port, password: () => "nope" }, { attempts: 2, delayMs: 10 }).catch((e) => e);
        expect(error.message).to.match(new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port}: WRONGPASS .* \\(attempt 2/2\\)$`));
    });
});
