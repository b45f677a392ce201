/**
 * A fixture for the Swarm unit tests shaped like the sample system (api, web, redis and the migrate
 * job) but with fixed values for every field the tests pin down (replicas, env, secrets, health
 * timings). The contract suite uses the real `workloads.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { WorkloadSpec } from "../../components/workload";

export function sampleSystem(): WorkloadSpec[] {
    return [
        {
            name: "migrate",
            kind: "job",
            image: { build: { context: "services/api" } },
            command: ["node", "dist/migrate.js"],
            env: { REDIS_HOST: "redis" },
            secrets: { "redis-password": pulumi.secret("s3cret-redis") },
            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
            after: [],
        },
        {
            name: "api",
            image: { build: { context: "services/api" } },
            replicas: 2,
            ports: [{ name: "http", port: 3000 }],
            env: { PORT: "3000", REDIS_HOST: "redis", GREETING: "hello" },
            secrets: { "redis-password": pulumi.secret("s3cret-redis"), "api-token": pulumi.secret("t0ken") },
            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            health: { http: { path: "/healthz", port: 3000 }, intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 5 },
            update: { parallelism: 1, delaySeconds: 2 },
            after: ["migrate"],
        },
        {
            name: "web",
            image: { build: { context: "services/web" } },
            replicas: 2,
            ports: [{ name: "http", port: 8080, public: { path: "/" } }],
            env: { API_URL: "http://api:3000" },
            resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
            health: { http: { path: "/", port: 8080 }, intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
            autoscaling: { min: 2, max: 4, cpuPercent: 70 },
        },
        {
            name: "redis",
            image: { ref: "redis:7.4-alpine" },
            command: ["sh", "-c", 'exec redis-server --requirepass "$(cat /run/secrets/redis-password)"'],
            ports: [{ name: "redis", port: 6379, protocol: "tcp" }],
            secrets: { "redis-password": pulumi.secret("s3cret-redis") },
            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            health: { tcp: { port: 6379 }, intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
            volumes: [{ name: "data", kind: "persistent", mountPath: "/data", size: "1Gi" }],
            user: "999:999",
        },
    ];
}
