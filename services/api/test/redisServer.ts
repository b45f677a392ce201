/**
 * A real `redis-server` (Debian's redis-server package, which scripts/test-tools.sh installs) on a
 * free localhost port, with a password and no persistence: the api's tests talk to Redis itself,
 * not to a double of it.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { connectRedis, Redis } from "../src/redis";

async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((done) => server.close(done));
    return port;
}

export class RedisServer {
    private process?: ChildProcess;
    private constructor(
        readonly port: number,
        private password: string,
        private readonly dir: string,
    ) {}

    /** Starts redis-server requiring `password`; `listen: false` only reserves the port. */
    static async start(password: string, listen = true): Promise<RedisServer> {
        const server = new RedisServer(await freePort(), password, fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-redis-")));
        if (listen) await server.listen();
        return server;
    }

    async listen(): Promise<void> {
        const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--requirepass", this.password, "--save", "", "--appendonly", "no", "--dir", this.dir];
        const child = spawn("redis-server", args, { stdio: "ignore" });
        this.process = child;
        const started = Date.now();
        for (;;) {
            if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
            const open = await new Promise<boolean>((done) => {
                const socket = net.connect(this.port, "127.0.0.1", () => (socket.destroy(), done(true)));
                socket.on("error", () => done(false));
            });
            if (open) return;
            if (Date.now() - started > 10_000) throw new Error("redis-server did not listen within 10 s");
            await new Promise((done) => setTimeout(done, 50));
        }
    }

    /** A client of its own, for arranging and checking data. */
    async admin<T>(use: (client: Redis) => Promise<T>): Promise<T> {
        const client = await connectRedis({ host: "127.0.0.1", port: this.port, password: () => this.password });
        try {
            return await use(client);
        } finally {
            await client.close();
        }
    }

    /** Changes the password (as a rotated secret would) and drops every other connection. */
    async rotatePassword(password: string): Promise<void> {
        await this.admin(async (client) => {
            await client.configSet("requirepass", password);
            await client.sendCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
        });
        this.password = password;
    }

    /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung host. */
    freeze(): void {
        this.process?.kill("SIGSTOP");
    }

    thaw(): void {
        this.process?.kill("SIGCONT");
    }

    async stop(): Promise<void> {
        const child = this.process;
        this.process = undefined;
        if (child && child.exitCode === null) {
            const exited = new Promise((done) => child.once("exit", done));
            child.kill("SIGTERM");
            await exited;
        }
    }

    async remove(): Promise<void> {
        await this.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
