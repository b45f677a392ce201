/** The HTTP JSON API: routing and responses, independent of Redis so tests can pass a fake counter. */
import type * as http from "node:http";
import type { Counter } from "./counter";

export interface AppDeps {
    readonly counter: Counter;
    /** Where failures are reported; the response never carries their details. */
    readonly log?: (message: string) => void;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export function createHandler(deps: AppDeps): Handler {
    const log = deps.log ?? ((message: string) => console.error(message));
    const routes: Record<string, () => Promise<[number, unknown]>> = {
        // Liveness only: a Redis outage must not make the orchestrator restart every api replica.
        "/healthz": async () => [200, { status: "ok" }],
        "/api/hits": async () => {
            try {
                return [200, { hits: await deps.counter.increment() }];
            } catch (error) {
                log(`GET /api/hits failed: ${(error as Error).message}`);
                return [503, { error: "the counter store is unavailable" }];
            }
        },
    };

    return async (req, res) => {
        const path = new URL(req.url ?? "/", "http://localhost").pathname;
        const route = routes[path];
        if (!route) return send(res, 404, { error: `no route for ${path}` });
        if (req.method !== "GET") {
            res.setHeader("Allow", "GET");
            return send(res, 405, { error: `${req.method} is not allowed on ${path}` });
        }
        const [status, body] = await route();
        send(res, status, body);
    };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
    const json = JSON.stringify(body);
    res.writeHead(status, {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": Buffer.byteLength(json),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    });
    res.end(json);
}
