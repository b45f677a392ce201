/** The hit counter, kept in Redis over one lazily opened connection that is replaced when it breaks. */
import { connectRedis, Redis, RedisOptions } from "./redis";

export interface Counter {
    /** Adds one hit and returns the new total. */
    increment(): Promise<number>;
}

export interface RedisCounterOptions extends RedisOptions {
    readonly key: string;
    /** How long one increment may wait for Redis's reply (default 2000 ms). */
    readonly replyTimeoutMs?: number;
}

export class RedisCounter implements Counter {
    private client?: Promise<Redis>;

    constructor(private readonly options: RedisCounterOptions) {}

    /**
     * A Redis that accepts the connection but stops answering (a frozen or partitioned server: no
     * FIN, no RST) would otherwise hold the request for ever: node-redis's command `timeout` only
     * covers commands not yet written, and it has no reply deadline of its own (redis/node-redis
     * #2175, #2662). So the reply has a deadline; when it passes, the connection is destroyed (which
     * rejects what waits on it) and the next request opens a new one.
     */
    async increment(): Promise<number> {
        const limit = this.options.replyTimeoutMs ?? 2000;
        let timer: NodeJS.Timeout | undefined;
        let client: Redis | undefined;
        let expired = false;
        const deadline = new Promise<never>((_, fail) => {
            timer = setTimeout(() => {
                expired = true;
                client?.destroy();
                this.dropPendingConnection();
                fail(new Error(`Redis at ${this.options.host}:${this.options.port}: no reply within ${limit} ms`));
            }, limit);
        });
        // One deadline over connecting, authenticating and the command: a reconnect to a frozen server hangs too.
        const work = (async () => {
            const connected = await this.connection();
            if (expired) {
                connected.destroy();
                throw new Error("expired");
            }
            client = connected;
            return connected.incr(this.options.key);
        })();
        work.catch(() => undefined);
        try {
            return await Promise.race([work, deadline]);
        } finally {
            clearTimeout(timer);
        }
    }

    /** Forgets a connection attempt still under way, so the next request starts a fresh one. */
    private dropPendingConnection(): void {
        const pending = this.client;
        this.client = undefined;
        void pending?.then((c) => c.destroy(), () => undefined);
    }

    close(): void {
        const client = this.client;
        this.client = undefined;
        void client?.then((c) => (c.isOpen ? c.close() : undefined), () => undefined);
    }

    /** Concurrent requests share one connection attempt; a failed or broken one is replaced on the next request. */
    private async connection(): Promise<Redis> {
        const current = this.client;
        if (current) {
            const client = await current.catch(() => undefined);
            if (client?.isReady) return client;
            if (this.client === current) this.client = undefined;
        }
        if (!this.client) this.client = connectRedis(this.options);
        const attempt = this.client;
        try {
            return await attempt;
        } catch (error) {
            if (this.client === attempt) this.client = undefined;
            throw error;
        }
    }
}
