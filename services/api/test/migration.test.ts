import { expect } from "chai";
import { connectWithRetry, migrate, SCHEMA_VERSION, SCHEMA_VERSION_KEY } from "../src/migration";
import { RedisClient } from "../src/resp";
import { FakeRedis } from "./fakeRedis";

describe("api: migrate job", () => {
    let fake: FakeRedis;
    let client: RedisClient | undefined;
    beforeEach(async () => (fake = await FakeRedis.start({ password: "pw" })));
    afterEach(async () => {
        client?.close();
        client = undefined;
        await fake.stop();
    });

    const connect = async () => (client = await RedisClient.connect({ host: "127.0.0.1", port: fake.port, password: "pw" }));

    it("creates the counter at 0 and records the schema version", async () => {
        const result = await migrate(await connect(), "hits");
        expect(result).to.deep.equal({ counterCreated: true, counter: 0, schemaVersion: SCHEMA_VERSION });
        expect(fake.data.get("hits")).to.equal("0");
        expect(fake.data.get(SCHEMA_VERSION_KEY)).to.equal(String(SCHEMA_VERSION));
    });

    it("is idempotent: a second run keeps the existing count", async () => {
        fake.data.set("hits", "17");
        const first = await migrate(await connect(), "hits");
        const second = await migrate(client!, "hits");
        expect(first).to.deep.equal({ counterCreated: false, counter: 17, schemaVersion: SCHEMA_VERSION });
        expect(second).to.deep.equal(first);
        expect(fake.data.get("hits")).to.equal("17");
    });

    it("refuses a counter that is not an integer and a newer schema", async () => {
        fake.data.set("hits", "lots");
        expect(await migrate(await connect(), "hits").catch((e) => e.message)).to.equal("hits holds a value that is not an integer; refusing to continue");
        fake.data.set("hits", "1");
        fake.data.set(SCHEMA_VERSION_KEY, String(SCHEMA_VERSION + 1));
        expect(await migrate(client!, "hits").catch((e) => e.message)).to.match(/is 2, newer than this image's 1; deploy a newer image$/);
        expect(fake.data.get(SCHEMA_VERSION_KEY)).to.equal(String(SCHEMA_VERSION + 1));
    });

    it("retries while Redis is still loading, then connects", async () => {
        fake.loadingReplies = 3;
        const logged: string[] = [];
        client = await connectWithRetry(
            { host: "127.0.0.1", port: fake.port, password: "pw" },
            { attempts: 5, delayMs: 10, log: (m) => logged.push(m) },
        );
        expect(await client.ping()).to.equal("PONG");
        expect(logged).to.have.length(3);
        expect(logged[0]).to.match(/attempt 1\/5: LOADING/);
    });

    it("gives up after the last attempt with a message naming Redis and the cause", async () => {
        const error = await connectWithRetry({ host: "127.0.0.1", port: fake.port, password: "nope" }, { attempts: 2, delayMs: 10 }).catch((e) => e);
        expect(error.message).to.equal(`Redis at 127.0.0.1:${fake.port}, attempt 2/2: WRONGPASS invalid username-password pair or user is disabled.`);
        expect(fake.connections).to.equal(2);
    });
});
