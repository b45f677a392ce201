/**
 * The api's Redis connection, through node-redis's core client (`@redis/client`, maintained by
 * Redis; docs/dependencies.md says why). The password is read from its file at every connect, so a
 * rotated secret is picked up by the next connection without a restart.
 */
import { createClient } from "@redis/client";

export interface RedisOptions {
    readonly host: string;
    readonly port: number;
    /** Called at every connect (the password file may have been rotated). */
    readonly password: () => string;
    readonly connectTimeoutMs?: number;
}

/**
 * Connects one client, or rejects naming the address and the cause. The client does not reconnect
 * by itself (`reconnectStrategy: false`) and does not queue commands while disconnected
 * (`disableOfflineQueue`): a broken connection fails its commands at once, and the caller decides
 * when to connect again, with the password file read afresh.
 */
export async function connectRedis(options: RedisOptions): Promise<Redis> {
    const client = newClient(options);
    // node-redis emits socket errors as events; without a listener Node would end the process.
    client.on("error", () => undefined);
    try {
        await client.connect();
        return client;
    } catch (error) {
        if (client.isOpen) client.destroy();
        throw new Error(`Redis at ${options.host}:${options.port}: ${(error as Error).message}`);
    }
}

function newClient(options: RedisOptions) {
    return createClient({
        socket: { host: options.host, port: options.port, connectTimeout: options.connectTimeoutMs ?? 2000, reconnectStrategy: false },
        credentialsProvider: { type: "async-credentials-provider", credentials: async () => ({ password: options.password() }) },
        disableOfflineQueue: true,
    });
}

export type Redis = ReturnType<typeof newClient>;
