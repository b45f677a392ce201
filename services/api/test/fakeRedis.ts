/**
 * An in-process fake Redis server on a random localhost port, for testing the RESP client against
 * a real TCP socket. It parses requests on its own (not with the client's parser) so a shared
 * misunderstanding of the protocol cannot hide.
 */
import * as net from "node:net";

export interface FakeRedisOptions {
    readonly password?: string;
    /** Sends every reply one byte at a time, to exercise the client's incremental parsing. */
    readonly trickle?: boolean;
}

export class FakeRedis {
    readonly data = new Map<string, string>();
    /** Every command received, as upper-cased name plus arguments. */
    readonly received: string[][] = [];
    connections = 0;
    /** Replies `-LOADING` to this many commands (AUTH included), as Redis does while reading its AOF. */
    loadingReplies = 0;
    /** When set, the server closes the connection instead of replying to this command name. */
    hangUpOn?: string;
    /** When set, the server never replies to this command name. */
    ignore?: string;
    private readonly server: net.Server;
    private readonly sockets = new Set<net.Socket>();

    private constructor(private readonly options: FakeRedisOptions) {
        this.server = net.createServer((socket) => this.accept(socket));
    }

    static async start(options: FakeRedisOptions = {}): Promise<FakeRedis> {
        const fake = new FakeRedis(options);
        await new Promise<void>((done) => fake.server.listen(0, "127.0.0.1", done));
        return fake;
    }

    get port(): number {
        return (this.server.address() as net.AddressInfo).port;
    }

    async stop(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        await new Promise<void>((done) => this.server.close(() => done()));
    }

    private accept(socket: net.Socket): void {
        this.connections++;
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        let authenticated = this.options.password === undefined;
        let pending = "";
        socket.on("data", (chunk) => {
            pending += chunk.toString("latin1");
            for (;;) {
                const request = takeRequest(pending);
                if (!request) break;
                pending = pending.slice(request.consumed);
                const [name, ...args] = request.args;
                const command = name.toUpperCase();
                this.received.push([command, ...args]);
                if (this.hangUpOn === command) {
                    socket.destroy();
                    return;
                }
                if (this.ignore === command) continue;
                let reply: string;
                if (this.loadingReplies > 0) {
                    this.loadingReplies--;
                    reply = "-LOADING Redis is loading the dataset in memory\r\n";
                } else if (command === "AUTH") {
                    authenticated = args[0] === this.options.password;
                    reply = authenticated ? "+OK\r\n" : "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
                } else if (!authenticated) {
                    reply = "-NOAUTH Authentication required.\r\n";
                } else {
                    reply = this.execute(command, args);
                }
                this.send(socket, reply);
            }
        });
    }

    private execute(command: string, args: string[]): string {
        switch (command) {
            case "PING":
                return "+PONG\r\n";
            case "GET": {
                const value = this.data.get(args[0]);
                return value === undefined ? "$-1\r\n" : bulk(value);
            }
            case "SET": {
                const nx = args.slice(2).some((a) => a.toUpperCase() === "NX");
                if (nx && this.data.has(args[0])) return "$-1\r\n";
                this.data.set(args[0], args[1]);
                return "+OK\r\n";
            }
            case "INCR": {
                const current = this.data.get(args[0]) ?? "0";
                if (!/^-?\d+$/.test(current)) return "-ERR value is not an integer or out of range\r\n";
                const next = String(Number(current) + 1);
                this.data.set(args[0], next);
                return `:${next}\r\n`;
            }
            default:
                return `-ERR unknown command '${command.toLowerCase()}'\r\n`;
        }
    }

    private send(socket: net.Socket, reply: string): void {
        const bytes = Buffer.from(reply, "utf8");
        if (!this.options.trickle) {
            socket.write(bytes);
            return;
        }
        for (const byte of bytes) socket.write(Buffer.from([byte]));
    }
}

function bulk(value: string): string {
    return `$${Buffer.byteLength(value, "utf8")}\r\n${value}\r\n`;
}

/** Parses one `*N\r\n($len\r\nbytes\r\n)*N` request from latin1 text, or returns undefined if incomplete. */
function takeRequest(text: string): { args: string[]; consumed: number } | undefined {
    const header = /^\*(\d+)\r\n/.exec(text);
    if (!header) return undefined;
    let offset = header[0].length;
    const args: string[] = [];
    for (let i = 0; i < Number(header[1]); i++) {
        const length = /^\$(\d+)\r\n/.exec(text.slice(offset));
        if (!length) return undefined;
        offset += length[0].length;
        if (text.length < offset + Number(length[1]) + 2) return undefined;
        args.push(Buffer.from(text.slice(offset, offset + Number(length[1])), "latin1").toString("utf8"));
        offset += Number(length[1]) + 2;
    }
    return { args, consumed: offset };
}
