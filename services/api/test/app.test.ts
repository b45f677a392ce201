import { expect } from "chai";
import * as http from "node:http";
import * as net from "node:net";
import { createHandler } from "../src/app";
import { Counter, RedisCounter } from "../src/counter";
import { RedisServer } from "./redisServer";

interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: any;
}

async function serve(counter: Counter, log: (m: string) => void = () => undefined): Promise<{ url: string; close(): Promise<void> }> {
    const handle = createHandler({ counter, log });
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as net.AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
    };
}

function request(url: string, method = "GET"): Promise<Reply> {
    return new Promise((done, fail) => {
        const req = http.request(url, { method, agent: false }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (text += chunk));
            res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
        });
        req.on("error", fail);
        req.end();
    });
}

describe("api: HTTP handlers", () => {
    it("answers /healthz without touching the counter", async () => {
        let calls = 0;
        const app = await serve({ increment: async () => ++calls });
        try {
            const reply = await request(`${app.url}/healthz`);
            expect(reply.status).to.equal(200);
            expect(reply.body).to.deep.equal({ status: "ok" });
            expect(reply.headers["content-type"]).to.equal("application/json; charset=utf-8");
            expect(calls).to.equal(0);
        } finally {
            await app.close();
        }
    });

    it("increments and returns the hit count as JSON on GET /api/hits", async () => {
        let hits = 41;
        const app = await serve({ increment: async () => ++hits });
        try {
            expect((await request(`${app.url}/api/hits`)).body).to.deep.equal({ hits: 42 });
            const second = await request(`${app.url}/api/hits?from=web`);
            expect(second.status).to.equal(200);
            expect(second.body).to.deep.equal({ hits: 43 });
            expect(second.headers["cache-control"]).to.equal("no-store");
        } finally {
            await app.close();
        }
    });

    it("answers 503 when the counter fails, logging the cause but not leaking it", async () => {
        const logged: string[] = [];
        const app = await serve({ increment: async () => Promise.reject(new Error("NOAUTH secret detail")) }, (m) => logged.push(m));
        try {
            const reply = await request(`${app.url}/api/hits`);
            expect(reply.status).to.equal(503);
            expect(reply.body).to.deep.equal({ error: "the counter store is unavailable" });
            expect(JSON.stringify(reply.body)).not.to.contain("NOAUTH");
            expect(logged).to.deep.equal(["GET /api/hits failed: NOAUTH secret detail"]);
        } finally {
            await app.close();
        }
    });

    it("answers 404 for unknown paths and 405 with Allow for other methods", async () => {
        let calls = 0;
        const app = await serve({ increment: async () => ++calls });
        try {
            const missing = await request(`${app.url}/nope`);
            expect(missing.status).to.equal(404);
            expect(missing.body).to.deep.equal({ error: "no route for /nope" });
            const post = await request(`${app.url}/api/hits`, "POST");
            expect(post.status).to.equal(405);
            expect(post.headers.allow).to.equal("GET");
            expect(calls).to.equal(0);
        } finally {
            await app.close();
        }
    });
});

describe("api: RedisCounter against a real redis-server", function () {
    this.timeout(30_000);
    let redis: RedisServer;
    afterEach(async () => redis?.remove());

    const clients = (server: RedisServer) => server.admin(async (c) => (await c.sendCommand(["CLIENT", "LIST", "TYPE", "normal"])) as string);

    it("counts in Redis over one authenticated connection", async () => {
        redis = await RedisServer.start("pw");
        const counter = new RedisCounter({ host: "127.0.0.1", port: redis.port, key: "hits", password: () => "pw" });
        const counts = await Promise.all([counter.increment(), counter.increment(), counter.increment()]);
        expect([...counts].sort()).to.deep.equal([1, 2, 3]);
        expect(await redis.admin((c) => c.get("hits"))).to.equal("3");
        // The counter's connection plus the admin's own.
        expect((await clients(redis)).trim().split("\n")).to.have.length(2);
        counter.close();
    });

    it("replaces a broken connection on the next request, re-reading the rotated password", async () => {
        redis = await RedisServer.start("old");
        let password = "old";
        let reads = 0;
        const counter = new RedisCounter({ host: "127.0.0.1", port: redis.port, key: "hits", password: () => (reads++, password) });
        expect(await counter.increment()).to.equal(1);
        await redis.rotatePassword("new");
        password = "new";
        // The killed connection fails at most the request that finds it broken; the next one reconnects.
        const next = await counter.increment().catch(() => counter.increment());
        expect(next).to.equal(2);
        expect(reads).to.equal(2);
        counter.close();
    });

    it("fails fast while Redis is down, and connects on a later request once it is up", async () => {
        redis = await RedisServer.start("pw", false);
        const counter = new RedisCounter({ host: "127.0.0.1", port: redis.port, key: "hits", password: () => "pw" });
        expect(await counter.increment().catch((e) => e.message)).to.match(new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port}: .*ECONNREFUSED`));
        await redis.listen();
        expect(await counter.increment()).to.equal(1);
        counter.close();
    });

    it("answers within its reply deadline when Redis stops answering, and recovers on a new connection", async () => {
        redis = await RedisServer.start("pw");
        const counter = new RedisCounter({ host: "127.0.0.1", port: redis.port, key: "hits", password: () => "pw", replyTimeoutMs: 300 });
        expect(await counter.increment()).to.equal(1);
        redis.freeze();
        // Thawed after 4 s whatever happens, so a client without a deadline gets its (late) reply and fails below.
        const thaw = setTimeout(() => redis.thaw(), 4000);
        const started = Date.now();
        let message = "";
        try {
            message = await counter.increment().then(String, (e: Error) => e.message);
            // The requests after it reconnect to the still frozen server: the deadline covers connecting too.
            for (const attempt of [1, 2]) {
                const before = Date.now();
                const later = await counter.increment().then(String, (e: Error) => e.message);
                expect(later, `request ${attempt} after the first`).to.equal(`Redis at 127.0.0.1:${redis.port}: no reply within 300 ms`);
                expect(Date.now() - before, `request ${attempt} after the first`).to.be.lessThan(1000);
            }
        } finally {
            clearTimeout(thaw);
            redis.thaw();
        }
        expect(message).to.equal(`Redis at 127.0.0.1:${redis.port}: no reply within 300 ms`);
        expect(Date.now() - started).to.be.lessThan(1000);
        // The frozen connection was destroyed; a later request opens another and counts on. On a busy
        // machine the first one may itself miss the 300 ms deadline (the thawed server still works off
        // the frozen requests), so recovering is judged over a few requests, not by the first one's speed.
        let count: number | undefined;
        let attempts = 0;
        while (count === undefined && attempts < 5) {
            attempts += 1;
            count = await counter.increment().catch(() => undefined);
        }
        expect(count, "a request after the thaw counts").to.be.a("number");
        // Requests that missed their deadline may still have counted once the server thawed.
        expect(count!).to.be.within(2, 3 + attempts);
        counter.close();
    });

    it("names a wrong password, and recovers when the password file is right", async () => {
        redis = await RedisServer.start("pw");
        let password = "wrong";
        const counter = new RedisCounter({ host: "127.0.0.1", port: redis.port, key: "hits", password: () => password });
        expect(await counter.increment().catch((e) => e.message)).to.match(/WRONGPASS/);
        password = "pw";
        expect(await counter.increment()).to.equal(1);
        counter.close();
    });
});
