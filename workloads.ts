/**
 * The application dockyard deploys: each microservice declared once, the same on Swarm and
 * Kubernetes. `workloads()` is what the program deploys; edit it (and `sampleWorkloads`) freely.
 * This sample is a hit counter: `web` (nginx) serves the page and proxies /api/ to `api`, which
 * counts hits in `redis`; `migrate` prepares Redis before `api` starts.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { WorkloadContext } from "./components/program";
import type { WorkloadSpec } from "./components/workload";

/**
 * The stack's workloads. Called by `index.ts` (through `declareProgram`), possibly more than once:
 * only declare here; ask for secrets with `generatedSecret` or `configSecret` (the stack's `app:<key>`).
 */
export function workloads({ generatedSecret }: WorkloadContext): WorkloadSpec[] {
    // Generated once per stack and kept, encrypted, in its state (the RandomPassword `<stack>-redis-password`).
    return sampleWorkloads({ redisPassword: generatedSecret("redis-password") });
}

/** Secret values the workloads need; each becomes a file under /run/secrets/. */
export interface SampleSecrets {
    readonly redisPassword: pulumi.Input<string>;
}

const REDIS_PORT = 6379;
// services/web/nginx.conf proxies to api:3000 and listens on 8080: change them together.
const API_PORT = 3000;
const WEB_PORT = 8080;

// The secret's name is its file name: services/api reads /run/secrets/redis-password by default.
const REDIS_PASSWORD = "redis-password";

/** How the api image finds Redis; Swarm and Kubernetes both resolve the service name `redis`. */
const REDIS_CLIENT_ENV = { REDIS_HOST: "redis", REDIS_PORT: String(REDIS_PORT) };

export function sampleWorkloads(secrets: SampleSecrets): WorkloadSpec[] {
    const apiImage = { build: { context: "services/api" } };
    const redisSecret = { [REDIS_PASSWORD]: secrets.redisPassword };
    return [
        {
            name: "redis",
            image: { ref: "redis:7.4-alpine" },
            // The password is read from the secret file at start, so it never appears in the spec;
            // redis rewrites its process title, so it does not show in `ps` either. maxmemory stays
            // below the memory limit so Redis refuses writes instead of being OOM-killed.
            command: [
                "sh",
                "-c",
                `exec redis-server --requirepass "$(cat /run/secrets/${REDIS_PASSWORD})" --appendonly yes --dir /data --maxmemory 200mb --maxmemory-policy noeviction`,
            ],
            ports: [{ name: "redis", port: REDIS_PORT, protocol: "tcp" }],
            secrets: redisSecret,
            volumes: [{ name: "data", kind: "persistent", mountPath: "/data", size: "1Gi" }],
            // The redis user of the Alpine image (uid 999, group 1000), which owns its files.
            user: "999:1000",
            health: { tcp: { port: REDIS_PORT }, startPeriodSeconds: 10 },
            // One writer of the data: the old task stops before the new one starts.
            update: { order: "stop-first" },
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        },
        {
            name: "migrate",
            kind: "job",
            image: apiImage,
            command: ["node", "/app/dist/migrate.js"],
            env: REDIS_CLIENT_ENV,
            connectsTo: ["redis"],
            secrets: redisSecret,
            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
        },
        {
            name: "api",
            image: apiImage,
            ports: [{ name: "http", port: API_PORT, protocol: "http" }],
            env: { PORT: String(API_PORT), ...REDIS_CLIENT_ENV },
            connectsTo: ["redis"],
            secrets: redisSecret,
            health: { http: { path: "/healthz", port: API_PORT }, startPeriodSeconds: 5 },
            after: ["migrate"],
            autoscaling: { min: 2, max: 6, cpuPercent: 70 },
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        },
        {
            name: "web",
            image: { build: { context: "services/web" } },
            replicas: 2,
            ports: [{ name: "http", port: WEB_PORT, protocol: "http", public: { path: "/" } }],
            // nginx proxies /api/ to api:3000 (services/web/nginx.conf).
            connectsTo: ["api"],
            health: { http: { path: "/healthz", port: WEB_PORT } },
            resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "250m", memory: "64Mi" } },
        },
    ];
}
