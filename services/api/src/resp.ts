/**
 * A minimal Redis client speaking RESP2 over one TCP connection: enough for AUTH, PING, INCR, GET
 * and SET. Written by hand so the image has no runtime dependencies at all.
 */
import * as net from "node:net";

export type RespValue = string | number | null | RespValue[];

/** An error reply from Redis (`-ERR ...`, `-NOAUTH ...`), as opposed to a network failure. */
export class RedisReplyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RedisReplyError";
    }
}

/** Encodes a command as a RESP array of bulk strings, the only form Redis accepts from clients. */
export function encodeCommand(args: readonly (string | number)[]): Buffer {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
        const bytes = Buffer.from(String(arg), "utf8");
        parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
    }
    return Buffer.concat(parts);
}

const INCOMPLETE = Symbol("incomplete");
type Parsed = { value: RespValue | RedisReplyError; next: number } | typeof INCOMPLETE;

/**
 * Incremental RESP2 reply parser: TCP delivers replies in arbitrary chunks, so bytes are buffered
 * until a whole reply is present.
 */
export class RespParser {
    private buffer: Buffer = Buffer.alloc(0);

    /** Appends bytes and returns every reply they complete, in order. */
    push(chunk: Buffer): (RespValue | RedisReplyError)[] {
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
        const replies: (RespValue | RedisReplyError)[] = [];
        let offset = 0;
        for (;;) {
            const parsed = parseAt(this.buffer, offset);
            if (parsed === INCOMPLETE) break;
            replies.push(parsed.value);
            offset = parsed.next;
        }
        this.buffer = this.buffer.subarray(offset);
        return replies;
    }
}

function parseAt(buffer: Buffer, offset: number): Parsed {
    const lineEnd = buffer.indexOf("\r\n", offset);
    if (lineEnd < 0) return INCOMPLETE;
    const type = String.fromCharCode(buffer[offset]);
    const line = buffer.toString("utf8", offset + 1, lineEnd);
    const afterLine = lineEnd + 2;
    switch (type) {
        case "+":
            return { value: line, next: afterLine };
        case "-":
            return { value: new RedisReplyError(line), next: afterLine };
        case ":":
            return { value: parseInteger(line), next: afterLine };
        case "$": {
            const length = parseInteger(line);
            if (length < 0) return { value: null, next: afterLine };
            if (buffer.length < afterLine + length + 2) return INCOMPLETE;
            return { value: buffer.toString("utf8", afterLine, afterLine + length), next: afterLine + length + 2 };
        }
        case "*": {
            const count = parseInteger(line);
            if (count < 0) return { value: null, next: afterLine };
            const items: RespValue[] = [];
            let next = afterLine;
            for (let i = 0; i < count; i++) {
                const item = parseAt(buffer, next);
                if (item === INCOMPLETE) return INCOMPLETE;
                // Only transactions nest errors in arrays, and this client sends none.
                if (item.value instanceof RedisReplyError) throw new Error(`RESP: an error inside an array is not supported: ${item.value.message}`);
                items.push(item.value);
                next = item.next;
            }
            return { value: items, next };
        }
        default:
            throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)} at offset ${offset}`);
    }
}

function parseInteger(text: string): number {
    if (!/^-?\d+$/.test(text)) throw new Error(`RESP protocol error: ${JSON.stringify(text)} is not an integer`);
    return Number(text);
}

export interface RedisOptions {
    readonly host: string;
    readonly port: number;
    /** Sent with AUTH right after connecting; omit for a server without `requirepass`. */
    readonly password?: string;
    /** Applies to connecting and to each reply; default 2000 ms. */
    readonly timeoutMs?: number;
}

interface Pending {
    resolve(value: RespValue): void;
    reject(error: Error): void;
}

/**
 * One authenticated connection. Replies arrive in command order, so pending commands are a FIFO.
 * Any network or protocol failure closes the connection and fails every pending command; callers
 * open a new client rather than reuse a broken one.
 */
export class RedisClient {
    private readonly pending: Pending[] = [];
    private readonly parser = new RespParser();
    private closedWith?: Error;

    private constructor(
        private readonly socket: net.Socket,
        private readonly timeoutMs: number,
    ) {
        socket.on("data", (chunk) => this.onData(chunk));
        socket.on("error", (error) => this.fail(error));
        socket.on("close", () => this.fail(new Error("Redis connection closed")));
        socket.on("timeout", () => this.fail(new Error(`Redis did not reply within ${timeoutMs} ms`)));
    }

    static async connect(options: RedisOptions): Promise<RedisClient> {
        const timeoutMs = options.timeoutMs ?? 2000;
        const socket = await new Promise<net.Socket>((resolve, reject) => {
            const s = net.createConnection({ host: options.host, port: options.port });
            const timer = setTimeout(() => {
                s.destroy();
                reject(new Error(`could not connect to Redis at ${options.host}:${options.port} within ${timeoutMs} ms`));
            }, timeoutMs);
            s.once("connect", () => {
                clearTimeout(timer);
                s.removeAllListeners("error");
                resolve(s);
            });
            s.once("error", (error) => {
                clearTimeout(timer);
                reject(new Error(`could not connect to Redis at ${options.host}:${options.port}: ${error.message}`));
            });
        });
        socket.setNoDelay(true);
        const client = new RedisClient(socket, timeoutMs);
        if (options.password !== undefined) {
            try {
                await client.command("AUTH", options.password);
            } catch (error) {
                client.close();
                throw error;
            }
        }
        return client;
    }

    get isOpen(): boolean {
        return this.closedWith === undefined;
    }

    command(...args: (string | number)[]): Promise<RespValue> {
        if (this.closedWith) return Promise.reject(this.closedWith);
        return new Promise<RespValue>((resolve, reject) => {
            this.pending.push({ resolve, reject });
            // The idle timeout runs only while a reply is awaited.
            this.socket.setTimeout(this.timeoutMs);
            this.socket.write(encodeCommand(args));
        });
    }

    async ping(): Promise<string> {
        return expectString(await this.command("PING"), "PING");
    }

    async incr(key: string): Promise<number> {
        return expectInteger(await this.command("INCR", key), "INCR");
    }

    async get(key: string): Promise<string | null> {
        const reply = await this.command("GET", key);
        return reply === null ? null : expectString(reply, "GET");
    }

    /** `SET key value NX`: true when the key was created, false when it already existed. */
    async setIfAbsent(key: string, value: string): Promise<boolean> {
        return (await this.command("SET", key, value, "NX")) === "OK";
    }

    close(): void {
        this.fail(new Error("Redis connection closed by the client"));
    }

    private onData(chunk: Buffer): void {
        let replies: (RespValue | RedisReplyError)[];
        try {
            replies = this.parser.push(chunk);
        } catch (error) {
            this.fail(error as Error);
            return;
        }
        for (const reply of replies) {
            const waiter = this.pending.shift();
            if (!waiter) {
                this.fail(new Error("RESP protocol error: a reply arrived for no command"));
                return;
            }
            if (reply instanceof RedisReplyError) waiter.reject(reply);
            else waiter.resolve(reply);
        }
        if (this.pending.length === 0) this.socket.setTimeout(0);
    }

    private fail(error: Error): void {
        if (this.closedWith) return;
        this.closedWith = error;
        this.socket.destroy();
        for (const waiter of this.pending.splice(0)) waiter.reject(error);
    }
}

function expectString(reply: RespValue, command: string): string {
    if (typeof reply !== "string") throw new Error(`${command}: expected a string reply, got ${JSON.stringify(reply)}`);
    return reply;
}

function expectInteger(reply: RespValue, command: string): number {
    if (typeof reply !== "number") throw new Error(`${command}: expected an integer reply, got ${JSON.stringify(reply)}`);
    return reply;
}
