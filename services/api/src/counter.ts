/** The hit counter, kept in Redis over one lazily opened, self-healing connection. */
import { RedisClient } from "./resp";

export interface Counter {
    /** Adds one hit and returns the new total. */
    increment(): Promise<number>;
}

export interface RedisCounterOptions {
    readonly host: string;
    readonly port: number;
    readonly key: string;
    /** Called on every (re)connect so a rotated password file is picked up without a restart. */
    readonly password: () => string;
    readonly timeoutMs?: number;
}

export class RedisCounter implements Counter {
    private client?: Promise<RedisClient>;

    constructor(private readonly options: RedisCounterOptions) {}

    async increment(): Promise<number> {
        const client = await this.connection();
        try {
            return await client.incr(this.options.key);
        } finally {
            if (!client.isOpen) this.client = undefined;
        }
    }

    close(): void {
        const client = this.client;
        this.client = undefined;
        void client?.then((c) => c.close(), () => undefined);
    }

    /** Concurrent requests share one connection attempt; a failed or closed one is retried next time. */
    private connection(): Promise<RedisClient> {
        if (!this.client) {
            const attempt = RedisClient.connect({
                host: this.options.host,
                port: this.options.port,
                password: this.options.password(),
                timeoutMs: this.options.timeoutMs,
            });
            this.client = attempt;
            attempt.catch(() => {
                if (this.client === attempt) this.client = undefined;
            });
        }
        return this.client.then((client) => {
            if (client.isOpen) return client;
            this.client = undefined;
            return this.connection();
        });
    }
}
