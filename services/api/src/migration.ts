/**
 * The one-off migration run before the api starts: creates the counter key and records the data
 * layout version. Idempotent, so a re-run (a new deploy, a retried job) changes nothing.
 */
import { connectRedis, Redis, RedisOptions } from "./redis";

export const SCHEMA_VERSION_KEY = "dockyard:schema-version";
export const SCHEMA_VERSION = 1;

export interface MigrationResult {
    /** False when the counter already existed and kept its value. */
    readonly counterCreated: boolean;
    readonly counter: number;
    readonly schemaVersion: number;
}

export async function migrate(client: Redis, counterKey: string): Promise<MigrationResult> {
    const counterCreated = (await client.set(counterKey, "0", { condition: "NX" })) === "OK";
    const counter = Number(await client.get(counterKey));
    if (!Number.isInteger(counter)) throw new Error(`${counterKey} holds a value that is not an integer; refusing to continue`);
    const recorded = Number((await client.get(SCHEMA_VERSION_KEY)) ?? 0);
    if (recorded > SCHEMA_VERSION) {
        throw new Error(`${SCHEMA_VERSION_KEY} is ${recorded}, newer than this image's ${SCHEMA_VERSION}; deploy a newer image`);
    }
    await client.set(SCHEMA_VERSION_KEY, String(SCHEMA_VERSION));
    return { counterCreated, counter, schemaVersion: SCHEMA_VERSION };
}

export interface RetryOptions {
    readonly attempts: number;
    readonly delayMs: number;
    readonly log?: (message: string) => void;
}

/**
 * Connects with retries: the job may start before Redis listens, or while it is still loading its
 * append-only file (`-LOADING` until it is read), which clears within seconds.
 */
export async function connectWithRetry(options: RedisOptions, retry: RetryOptions): Promise<Redis> {
    for (let attempt = 1; ; attempt++) {
        try {
            const client = await connectRedis(options);
            try {
                await client.ping();
                return client;
            } catch (error) {
                client.destroy();
                throw new Error(`Redis at ${options.host}:${options.port}: ${(error as Error).message}`);
            }
        } catch (error) {
            const message = `${(error as Error).message} (attempt ${attempt}/${retry.attempts})`;
            if (attempt >= retry.attempts) throw new Error(message);
            retry.log?.(message);
            await new Promise((done) => setTimeout(done, retry.delayMs));
        }
    }
}
