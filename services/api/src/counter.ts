/** The hit counter, kept in Redis over one lazily opened connection that is replaced when it breaks. */
import { connectRedis, Redis, RedisOptions } from "./redis";

export interface Counter {
    /** Adds one hit and returns the new total. */
    increment(): Promise<number>;
}

export interface RedisCounterOptions extends RedisOptions {
    readonly key: string;
}

export class RedisCounter implements Counter {
    private client?: Promise<Redis>;

    constructor(private readonly options: RedisCounterOptions) {}

    async increment(): Promise<number> {
        return (await this.connection()).incr(this.options.key);
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
