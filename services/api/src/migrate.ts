/** Entry point of the `migrate` job: `node dist/migrate.js`; exits non-zero so the job is retried. */
import { loadConfig, readSecretFile } from "./config";
import { connectWithRetry, migrate } from "./migration";

async function main(): Promise<void> {
    const config = loadConfig(process.env);
    const client = await connectWithRetry(
        { host: config.redisHost, port: config.redisPort, password: () => readSecretFile(config.redisPasswordFile) },
        { attempts: 30, delayMs: 2000, log: (message) => console.warn(message) },
    );
    try {
        const result = await migrate(client, config.counterKey);
        console.log(
            `migrated to schema ${result.schemaVersion}: counter ${config.counterKey} ${result.counterCreated ? "created" : "kept"} at ${result.counter}`,
        );
    } finally {
        await client.close();
    }
}

main().catch((error: Error) => {
    console.error(`migration failed: ${error.message}`);
    process.exit(1);
});
