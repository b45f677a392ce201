import { expect } from "chai";
import * as net from "node:net";
import { encodeCommand, RedisClient, RedisReplyError, RespParser } from "../src/resp";
import { FakeRedis } from "./fakeRedis";

describe("api: RESP encoding and parsing", () => {
    it("encodes a command as an array of bulk strings with byte lengths", () => {
        expect(encodeCommand(["SET", "k", "é1"]).toString("utf8")).to.equal("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\né1\r\n");
        expect(encodeCommand(["INCR", 42]).toString("utf8")).to.equal("*2\r\n$4\r\nINCR\r\n$2\r\n42\r\n");
    });

    it("parses every RESP2 reply type", () => {
        const replies = new RespParser().push(Buffer.from("+OK\r\n:-7\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:3\r\n*-1\r\n-ERR boom\r\n"));
        expect(replies.slice(0, 6)).to.deep.equal(["OK", -7, "he\r\nl", null, ["a", [3]], null]);
        expect(replies[6]).to.be.instanceOf(RedisReplyError).with.property("message", "ERR boom");
    });

    it("waits for the rest of a reply split across chunks, including inside arrays and bulk strings", () => {
        const parser = new RespParser();
        const bytes = Buffer.from("*2\r\n$5\r\nhello\r\n:12\r\n+PONG\r\n");
        const seen: unknown[] = [];
        for (const byte of bytes) seen.push(...parser.push(Buffer.from([byte])));
        expect(seen).to.deep.equal([["hello", 12], "PONG"]);
    });

    it("rejects bytes that are not RESP", () => {
        expect(() => new RespParser().push(Buffer.from("HTTP/1.1 400\r\n"))).to.throw(/unexpected type byte "H"/);
        expect(() => new RespParser().push(Buffer.from(":12x\r\n"))).to.throw(/"12x" is not an integer/);
        expect(() => new RespParser().push(Buffer.from("*1\r\n-ERR inner\r\n"))).to.throw("an error inside an array is not supported: ERR inner");
    });
});

describe("api: RedisClient against a fake Redis server", () => {
    let fake: FakeRedis;
    afterEach(async () => fake?.stop());

    it("authenticates, pings and increments", async () => {
        fake = await FakeRedis.start({ password: "s3cret pass" });
        const client = await RedisClient.connect({ host: "127.0.0.1", port: fake.port, password: "s3cret pass" });
        expect(await client.ping()).to.equal("PONG");
        expect(await client.incr("hits")).to.equal(1);
        expect(await client.incr("hits")).to.equal(2);
        expect(fake.received.map((c) => c[0])).to.deep.equal(["AUTH", "PING", "INCR", "INCR"]);
        expect(fake.received[0]).to.deep.equal(["AUTH", "s3cret pass"]);
        client.close();
        expect(client.isOpen).to.equal(false);
    });

    it("fails to connect with a wrong password and closes the connection", async () => {
        fake = await FakeRedis.start({ password: "right" });
        const error = await RedisClient.connect({ host: "127.0.0.1", port: fake.port, password: "wrong" }).catch((e) => e);
        expect(error).to.be.instanceOf(RedisReplyError);
        expect(error.message).to.match(/^WRONGPASS/);
    });

    it("surfaces error replies without breaking the connection", async () => {
        fake = await FakeRedis.start({ password: "pw" });
        const unauthenticated = await RedisClient.connect({ host: "127.0.0.1", port: fake.port });
        const error = await unauthenticated.incr("hits").catch((e) => e);
        expect(error).to.be.instanceOf(RedisReplyError).with.property("message").that.matches(/^NOAUTH/);
        expect(unauthenticated.isOpen).to.equal(true);
        expect(await unauthenticated.command("AUTH", "pw")).to.equal("OK");
        expect(await unauthenticated.incr("hits")).to.equal(1);
        unauthenticated.close();
    });

    it("keeps replies in command order when commands are pipelined and replies trickle in", async () => {
        fake = await FakeRedis.start({ trickle: true });
        const client = await RedisClient.connect({ host: "127.0.0.1", port: fake.port });
        const results = await Promise.all([client.incr("a"), client.incr("a"), client.ping(), client.get("a"), client.get("missing")]);
        expect(results).to.deep.equal([1, 2, "PONG", "2", null]);
        expect(await client.setIfAbsent("a", "9")).to.equal(false);
        expect(await client.setIfAbsent("b", "9")).to.equal(true);
        client.close();
    });

    it("fails pending commands when the server hangs up, and refuses new ones", async () => {
        fake = await FakeRedis.start();
        const client = await RedisClient.connect({ host: "127.0.0.1", port: fake.port });
        fake.hangUpOn = "INCR";
        const error = await client.incr("hits").catch((e) => e);
        expect(error).to.be.instanceOf(Error).with.property("message", "Redis connection closed");
        expect(client.isOpen).to.equal(false);
        expect(await client.ping().catch((e) => e.message)).to.equal("Redis connection closed");
    });

    it("times out a reply that never comes", async () => {
        fake = await FakeRedis.start();
        const client = await RedisClient.connect({ host: "127.0.0.1", port: fake.port, timeoutMs: 100 });
        fake.ignore = "PING";
        const started = Date.now();
        const error = await client.ping().catch((e) => e);
        expect(error.message).to.equal("Redis did not reply within 100 ms");
        expect(Date.now() - started).to.be.lessThan(2000);
    });

    it("names the address when nothing listens", async () => {
        const port = await unusedPort();
        const error = await RedisClient.connect({ host: "127.0.0.1", port }).catch((e) => e);
        expect(error.message).to.contain(`could not connect to Redis at 127.0.0.1:${port}`);
    });
});

async function unusedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((done) => server.close(() => done()));
    return port;
}
