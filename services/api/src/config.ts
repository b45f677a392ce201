/** The api's settings, all from the environment so the same image runs on Swarm and Kubernetes. */
import * as fs from "node:fs";

export interface ApiConfig {
    /** Port the HTTP server listens on (`PORT`, default 3000). */
    readonly port: number;
    /** Redis service name (`REDIS_HOST`, default `redis`): the same DNS name on both targets. */
    readonly redisHost: string;
    readonly redisPort: number;
    /** File holding the Redis password (`REDIS_PASSWORD_FILE`); secrets are files, never env values. */
    readonly redisPasswordFile: string;
    /** Key of the hit counter (`COUNTER_KEY`, default `hits`). */
    readonly counterKey: string;
}

export const DEFAULT_PASSWORD_FILE = "/run/secrets/redis-password";

export function loadConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
    return {
        port: portFrom(env, "PORT", 3000),
        redisHost: nonEmpty(env, "REDIS_HOST", "redis"),
        redisPort: portFrom(env, "REDIS_PORT", 6379),
        redisPasswordFile: nonEmpty(env, "REDIS_PASSWORD_FILE", DEFAULT_PASSWORD_FILE),
        counterKey: nonEmpty(env, "COUNTER_KEY", "hits"),
    };
}

/**
 * Reads a secret file the way a shell's `$(cat file)` does, which is how the redis container reads
 * the same file: trailing newlines are dropped, everything else is kept.
 */
export function readSecretFile(file: string): string {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new Error(`cannot read the Redis password from ${file}: ${(error as Error).message}`);
    }
    const secret = text.replace(/\n+$/, "");
    if (secret === "") throw new Error(`the Redis password file ${file} is empty`);
    return secret;
}

function nonEmpty(env: Readonly<Record<string, string | undefined>>, name: string, fallback: string): string {
    const value = env[name];
    if (value === undefined) return fallback;
    if (value.trim() === "") throw new Error(`${name} is set but empty; allowed: a non-empty value, or unset for ${JSON.stringify(fallback)}`);
    return value;
}

function portFrom(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
    const value = env[name];
    if (value === undefined || value === "") return fallback;
    const port = Number(value);
    if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
        throw new Error(`${name}=${JSON.stringify(value)} is not a port; allowed: an integer from 1 to 65535`);
    }
    return port;
}
