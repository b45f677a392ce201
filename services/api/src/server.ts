/** Entry point of the api container: `node dist/server.js`. */
import * as http from "node:http";
import { createHandler } from "./app";
import { loadConfig, readSecretFile } from "./config";
import { RedisCounter } from "./counter";

const config = loadConfig(process.env);
const counter = new RedisCounter({
    host: config.redisHost,
    port: config.redisPort,
    key: config.counterKey,
    password: () => readSecretFile(config.redisPasswordFile),
});
const handle = createHandler({ counter });

const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
        console.error(`${req.method} ${req.url} failed: ${error.message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
    });
});

server.listen(config.port, () => console.log(`api listening on :${config.port}, Redis at ${config.redisHost}:${config.redisPort}`));

// Both orchestrators send SIGTERM before killing: finish in-flight requests, then exit.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
        console.log(`${signal}: shutting down`);
        server.close(() => {
            counter.close();
            process.exit(0);
        });
        server.closeIdleConnections();
        setTimeout(() => process.exit(0), 10_000).unref();
    });
}
