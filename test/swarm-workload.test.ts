import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmPlatform } from "../components/platform";
import { localSwarmPlatform, SWARM_INIT_SCRIPT } from "../components/swarm/local";
import {
    cpuToNanoCpus,
    deploymentOrder,
    healthTest,
    JOB_MAX_RUNS,
    memoryToBytes,
    monitorSeconds,
    secretDockerName,
    swarmPrivileges,
    swarmLabels,
    swarmMounts,
    swarmReplicas,
    swarmServiceOptions,
    updateOrder,
} from "../components/swarm/service";
import { jobWaitScript } from "../components/swarm/jobs";
import { volumeDirectoryScript } from "../components/swarm/volumes";
import { deploySwarmWorkloads } from "../components/swarm/workload";
import { FIRST_PUBLISHED_PORT, secretResourceName, SWARM_MAX_SECRET_BYTES, WorkloadSpec } from "../components/workload";
import { ofType, only, RecordedResource, runDeclaration } from "./harness";
import { fakeBytes } from "../scripts/offline/mocks";
import { sampleWorkloads } from "../workloads";
import { sampleSystem } from "./contract/sampleSystem";

const base: WorkloadSpec = {
    name: "app",
    image: { ref: "example/app:1" },
    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
};

/** The key the offline mocks give the local stack's `local-secret-names` RandomBytes. */
const stackKey = Buffer.from(fakeBytes("local-secret-names", 32).base64, "base64");
const images = (specs: readonly WorkloadSpec[]) => Object.fromEntries(specs.map((s) => [s.name, `img/${s.name}:1`]));

function ec2Platform(): SwarmPlatform {
    return {
        kind: "swarm",
        engine: "ec2",
        portPublishing: FIRST_PUBLISHED_PORT,
        shell: { sshTarget: "ec2-user@198.51.100.10", sshOptions: ["-o", "BatchMode=yes"] },
        provider: new docker.Provider("swarm", { host: "ssh://ec2-user@198.51.100.10" }),
        efs: { fileSystemId: "fs-0123456789abcdef0", dnsName: "fs-0123456789abcdef0.efs.us-east-1.amazonaws.com" },
        dependsOn: [],
    };
}

const services = (resources: RecordedResource[]) => ofType(resources, "docker:index/service:Service");
const serviceOf = (resources: RecordedResource[], stack: string, workload: string) =>
    services(resources).find((r) => r.inputs.name === `${stack}-${workload}`)!;

describe("swarm service mapping (pure)", () => {
    it("converts Kubernetes CPU quantities to NanoCPUs", () => {
        expect(cpuToNanoCpus("250m")).to.equal(250_000_000);
        expect(cpuToNanoCpus("1")).to.equal(1_000_000_000);
        expect(cpuToNanoCpus("1.5")).to.equal(1_500_000_000);
        expect(cpuToNanoCpus(".5")).to.equal(500_000_000);
        expect(() => cpuToNanoCpus("1 core", "workload a: resources.limits.cpu")).to.throw('workload a: resources.limits.cpu: "1 core"');
        expect(() => cpuToNanoCpus("5m")).to.throw("below the Docker minimum");
    });

    it("converts Kubernetes memory quantities to bytes", () => {
        expect(memoryToBytes("256Mi")).to.equal(256 * 1024 * 1024);
        expect(memoryToBytes("1Gi")).to.equal(1024 ** 3);
        expect(memoryToBytes("500M")).to.equal(500_000_000);
        expect(memoryToBytes("8192k")).to.equal(8_192_000);
        expect(() => memoryToBytes("1GB")).to.throw('"1GB" is not a memory quantity');
        expect(() => memoryToBytes("1Mi")).to.throw("below the Docker minimum of 6Mi");
    });

    it("maps each kind of health check to a test run inside the container", () => {
        expect(healthTest({ http: { path: "/healthz", port: 3000 } })).to.deep.equal(["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/healthz"]);
        expect(healthTest({ tcp: { port: 6379 } })).to.deep.equal(["CMD-SHELL", "nc -w 2 127.0.0.1 6379 </dev/null"]);
        expect(healthTest({ command: ["redis-cli", "ping"] })).to.deep.equal(["CMD", "redis-cli", "ping"]);
    });

    it("monitors an update long enough for the health check to fail", () => {
        expect(monitorSeconds(base)).to.equal(10);
        expect(monitorSeconds({ ...base, health: { http: { path: "/", port: 80 }, intervalSeconds: 5, failureThreshold: 3, startPeriodSeconds: 10 } })).to.equal(30);
    });

    it("starts new tasks first unless a persistent volume or a host-mode port forbids it", () => {
        expect(updateOrder(base, "ec2")).to.equal("start-first");
        const persistent: WorkloadSpec = { ...base, volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }] };
        expect(updateOrder(persistent, "ec2")).to.equal("stop-first");
        const publicPort: WorkloadSpec = { ...base, ports: [{ name: "http", port: 80, public: {} }] };
        expect(updateOrder(publicPort, "ec2")).to.equal("start-first");
        expect(updateOrder(publicPort, "local")).to.equal("stop-first");
        expect(() => updateOrder({ ...persistent, update: { order: "start-first" } }, "ec2")).to.throw(
            'workload app: update.order "start-first" is not possible with a persistent volume',
        );
    });

    it("runs autoscaling.min replicas and says why; one replica per host-published port locally", () => {
        const scaled = swarmReplicas({ ...base, autoscaling: { min: 2, max: 6, cpuPercent: 60 } }, "ec2");
        expect(scaled.replicas).to.equal(2);
        expect(swarmReplicas({ ...base, replicas: 4, autoscaling: { min: 2, max: 6, cpuPercent: 60 } }, "ec2").replicas).to.equal(4);
        expect(scaled.notes.join()).to.contain("no autoscaler");
        const local = swarmReplicas({ ...base, replicas: 3, ports: [{ name: "http", port: 80, public: {} }] }, "local");
        expect(local).to.deep.include({ replicas: 1 });
        expect(swarmReplicas({ ...base, replicas: 3, ports: [{ name: "http", port: 80, public: {} }] }, "ec2").replicas).to.equal(3);
        expect(swarmReplicas({ ...base, kind: "job", replicas: 4 }, "ec2").replicas).to.equal(1);
        expect(() => swarmReplicas({ ...base, replicas: 2, volumes: [{ name: "d", kind: "persistent", mountPath: "/d" }] }, "ec2")).to.throw(
            "workload app: a persistent volume holds one replica's data, so replicas must be 1",
        );
    });

    it("names secrets by an HMAC keyed per stack, not by an unkeyed hash of the value", () => {
        // Expected values from `printf 'api\0token\0one' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key>`.
        const key = Buffer.from("dockyard-test-key-0123456789abcdef");
        const otherKey = Buffer.from("dockyard-other-key-0123456789abcd");
        expect(secretDockerName("dev", "api", "token", "one", key)).to.equal("dev-api-token-d2a783a4088b");
        expect(secretDockerName("dev", "api", "token", "two", key)).to.equal("dev-api-token-c1a3eb531f30");
        expect(secretDockerName("dev", "api", "token", "one", otherKey)).to.equal("dev-api-token-029928f63784");
        // The old name: twelve hex digits of sha256("dev\0api\0token\0one"), which anyone can recompute from a guess.
        expect(secretDockerName("dev", "api", "token", "one", key)).not.to.contain("573a175f7092");
        expect(() => secretDockerName("dev", "api", "token", "one", Buffer.alloc(16))).to.throw("secret names of stack dev: the HMAC key has 16 bytes; allowed: at least 32");
    });

    it("orders jobs before the services that run after them, and rejects bad references", () => {
        const specs = sampleSystem();
        expect(deploymentOrder(specs).map((s) => s.name)).to.deep.equal(["migrate", "api", "web", "redis"]);
        expect(() => deploymentOrder([{ ...base, after: ["nope"] }])).to.throw('workload app: after names "nope", which is not a job of this stack');
        expect(() => deploymentOrder([{ ...base, name: "x", kind: "job", after: ["y"] }, { ...base, name: "y", kind: "job", after: ["x"] }])).to.throw("cycle");
    });

    it("mounts ephemeral volumes as tmpfs and gives a read-only root a tmpfs /tmp", () => {
        const mounts = swarmMounts("dev", { ...base, volumes: [{ name: "cache", kind: "ephemeral", mountPath: "/cache" }] }, "local");
        expect(mounts.map((m) => [m.type, m.target])).to.deep.equal([["tmpfs", "/cache"], ["tmpfs", "/tmp"]]);
        expect(swarmMounts("dev", { ...base, readOnlyRootFilesystem: false }, "local")).to.deep.equal([]);
        expect(() => swarmMounts("dev", { ...base, volumes: [{ name: "d", kind: "shared", mountPath: "/d" }] }, "ec2")).to.throw("EFS location needed");
    });
});

describe("swarm workloads on the local engine (mocks)", () => {
    let resources: RecordedResource[];
    let warnings: string[];

    before(async () => {
        warnings = [];
        const original = pulumi.log.warn;
        (pulumi.log as any).warn = (message: string) => {
            warnings.push(message);
            return Promise.resolve();
        };
        try {
            const specs = sampleSystem();
            ({ resources } = await runDeclaration(() => deploySwarmWorkloads("local", specs, images(specs), localSwarmPlatform("local")), "local"));
        } finally {
            (pulumi.log as any).warn = original;
        }
    });

    it("initialises swarm mode through one idempotent local command, and creates nothing on AWS", () => {
        const init = only(resources, "command:local:Command", "local-local-swarm-init");
        expect(init.inputs.create).to.equal(SWARM_INIT_SCRIPT);
        expect(SWARM_INIT_SCRIPT).to.contain('if [ "$state" != "active" ]; then docker swarm init --advertise-addr 127.0.0.1');
        expect(resources.filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
    });

    it("creates one encrypted, attachable overlay network for the stack", () => {
        const network = only(resources, "docker:index/network:Network");
        expect(network.inputs).to.deep.include({ name: "local-workloads", driver: "overlay", attachable: true });
        expect(network.inputs.options).to.deep.equal({ encrypted: "true" });
    });

    it("puts every Swarm resource (network, 4 secrets, 4 services) on the platform's provider", () => {
        const swarmResources = resources.filter((r) => r.type.startsWith("docker:index/"));
        expect(swarmResources.length).to.equal(1 + 4 + 4);
        for (const r of swarmResources) expect(r.provider, r.name).to.equal("local-local-docker");
    });

    it("maps a service: replicated mode, resources, health, update and rollback, restart, placement, converge", () => {
        const api = serviceOf(resources, "local", "api");
        const inputs = api.inputs as any;
        expect(inputs.mode).to.deep.equal({ replicated: { replicas: 2 } });
        expect(inputs.taskSpec.resources).to.deep.equal({
            limits: { memoryBytes: 256 * 2 ** 20, nanoCpus: 500_000_000 },
            reservation: { memoryBytes: 64 * 2 ** 20, nanoCpus: 100_000_000 },
        });
        expect(inputs.taskSpec.containerSpec.healthcheck).to.deep.equal({
            interval: "5s",
            retries: 3,
            startPeriod: "5s",
            tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/healthz"],
            timeout: "2s",
        });
        expect(inputs.updateConfig).to.deep.include({ parallelism: 1, delay: "2s", failureAction: "rollback", order: "start-first", monitor: "25s" });
        expect(inputs.rollbackConfig).to.deep.include({ parallelism: 1, order: "start-first", failureAction: "pause" });
        expect(inputs.taskSpec.restartPolicy).to.deep.include({ condition: "any" });
        expect(inputs.taskSpec.placement.constraints).to.deep.equal(["node.platform.os==linux"]);
        expect(inputs.convergeConfig).to.deep.equal({ delay: "5s", timeout: "5m" });
        expect(inputs.taskSpec.networksAdvanceds).to.deep.equal([{ aliases: ["api"], id: "local-workloads-id" }]);
        expect(inputs.auth).to.equal(undefined);
    });

    it("hardens the container: non-root user, read-only root, no capabilities, env and image as given", () => {
        const container = (serviceOf(resources, "local", "api").inputs as any).taskSpec.containerSpec;
        expect(container).to.deep.include({ user: "10001:10001", readOnly: true, image: "img/api:1" });
        expect(container.capDrops).to.deep.equal(["ALL"]);
        expect(container).not.to.have.property("capAdds");
        expect(container.sysctl).to.deep.equal({ "net.ipv4.ip_unprivileged_port_start": "1024" });
        expect(container.env).to.deep.equal({ PORT: "3000", REDIS_HOST: "redis", GREETING: "hello" });
        expect(container.mounts).to.deep.equal([{ target: "/tmp", tmpfsOptions: { mode: 0o1777 }, type: "tmpfs" }]);
        const redis = (serviceOf(resources, "local", "redis").inputs as any).taskSpec.containerSpec;
        expect(redis.user).to.equal("999:999");
        expect(redis.commands[0]).to.equal("sh");
    });

    it("keeps one 32-byte random key per stack for secret names, a secret in state, and names every secret with it", () => {
        const key = only(resources, "random:index/randomBytes:RandomBytes");
        expect(key.name).to.equal("local-secret-names");
        expect(key.inputs).to.deep.equal({ length: 32 });
        for (const s of ofType(resources, "docker:index/secret:Secret")) expect(s.dependencies, s.name).to.include("local-secret-names");
    });

    it("keeps secret data secret, names it by content, and mounts it at /run/secrets/<name> mode 0400 for the user", async () => {
        const secrets = ofType(resources, "docker:index/secret:Secret");
        expect(secrets.map((s) => s.name).sort()).to.deep.equal(["local-api-api-token", "local-api-redis-password", "local-migrate-redis-password", "local-redis-redis-password"]);
        // As validateWorkloads derives them for its collision check.
        expect(secrets.map((s) => s.name)).to.include(`local-${secretResourceName("api", "api-token")}`);
        for (const s of secrets) {
            expect(s.inputs.data, s.name).to.equal("[secret]");
            expect(s.inputs.name).to.match(/^local-[a-z]+-[a-z-]+-[0-9a-f]{12}$/);
        }
        const token = only(resources, "docker:index/secret:Secret", "local-api-api-token");
        expect(token.inputs.name).to.equal(secretDockerName("local", "api", "api-token", "t0ken", stackKey));
        const redisRefs = (serviceOf(resources, "local", "redis").inputs as any).taskSpec.containerSpec.secrets;
        expect(redisRefs).to.deep.equal([
            {
                fileGid: "999",
                fileMode: 0o400,
                fileName: "redis-password",
                fileUid: "999",
                secretId: "local-redis-redis-password-id",
                secretName: secretDockerName("local", "redis", "redis-password", "s3cret-redis", stackKey),
            },
        ]);
    });

    it("publishes public ports in host mode from publicEndpoints numbering, runs one such task, and warns", () => {
        const web = serviceOf(resources, "local", "web").inputs as any;
        expect(web.endpointSpec.ports).to.deep.equal([{ name: "http", protocol: "tcp", publishMode: "host", publishedPort: 8080, targetPort: 8080 }]);
        expect(web.mode.replicated.replicas).to.equal(1);
        expect(web.updateConfig.order).to.equal("stop-first");
        expect(warnings.filter((w) => w.startsWith("workload web:")).join("\n")).to.contain("no autoscaler").and.to.contain("running 1 replica");
        expect((serviceOf(resources, "local", "api").inputs as any).endpointSpec.ports).to.deep.equal([]);
    });

    it("gives persistent volumes a local named volume and stops before starting", () => {
        const redis = serviceOf(resources, "local", "redis").inputs as any;
        expect(redis.taskSpec.containerSpec.mounts).to.deep.include({ source: "local-redis-data", target: "/data", type: "volume" });
        expect(redis.updateConfig.order).to.equal("stop-first");
    });

    it("runs a job once: restart on failure only, two retries for three runs in all, no convergence wait", () => {
        const migrate = serviceOf(resources, "local", "migrate").inputs as any;
        expect(migrate.mode).to.deep.equal({ replicated: { replicas: 1 } });
        expect(migrate.taskSpec.restartPolicy).to.deep.equal({ condition: "on-failure", delay: "5s", maxAttempts: 2, window: "0s" });
        expect(JOB_MAX_RUNS).to.equal(3);
        expect(migrate.convergeConfig).to.equal(undefined);
    });

    it("updates a job without watching its task, so a run that ends is never rolled back", () => {
        const migrate = serviceOf(resources, "local", "migrate").inputs as any;
        expect(migrate.updateConfig).to.deep.equal({ parallelism: 1, delay: "0s", failureAction: "continue", monitor: "0s", maxFailureRatio: "0", order: "stop-first" });
    });

    it("replaces a job's service on any change, deleting the old one first, and updates services in place", () => {
        const migrate = serviceOf(resources, "local", "migrate");
        expect(migrate.options).to.deep.include({ replaceOnChanges: ["*"], deleteBeforeReplace: true });
        for (const name of ["redis", "api", "web"]) {
            expect(serviceOf(resources, "local", name).options, name).to.deep.include({ replaceOnChanges: [], deleteBeforeReplace: false });
        }
        expect(swarmServiceOptions({ ...base, kind: "job" })).to.deep.equal({ replaceOnChanges: ["*"], deleteBeforeReplace: true });
        expect(swarmServiceOptions(base)).to.deep.equal({});
    });

    it("labels a job's tasks with the digest of its spec, which is what its wait waits for", () => {
        const migrate = serviceOf(resources, "local", "migrate").inputs as any;
        const wait = only(resources, "command:local:Command", "local-migrate-complete").inputs as any;
        const [label] = migrate.taskSpec.containerSpec.labels;
        expect(label.label).to.equal("dockyard.job-spec");
        expect(label.value).to.match(/^[0-9a-f]{16}$/);
        expect(wait.triggers).to.deep.equal([label.value, "local-migrate-id"]);
        expect(wait.create).to.include(`\nspec='${label.value}'\n`);
        expect((serviceOf(resources, "local", "api").inputs as any).taskSpec.containerSpec).not.to.have.property("labels");
    });
});

describe("swarm privileges: drop ALL, add what the spec asks, root only when asked", () => {
    it("drops every capability and adds exactly privileges.capabilities, as on Kubernetes", () => {
        expect(swarmPrivileges(base)).to.deep.equal({ capDrops: ["ALL"], sysctl: { "net.ipv4.ip_unprivileged_port_start": "1024" } });
        expect(swarmPrivileges({ ...base, privileges: { capabilities: ["CHOWN"] } })).to.deep.equal({ capDrops: ["ALL"], capAdds: ["CHOWN"], sysctl: { "net.ipv4.ip_unprivileged_port_start": "1024" } });
    });

    it("opens ports below 1024 only with NET_BIND_SERVICE: Docker would open them to every process", () => {
        expect(swarmPrivileges({ ...base, privileges: { capabilities: ["NET_BIND_SERVICE", "CHOWN"] } })).to.deep.equal({
            capDrops: ["ALL"],
            capAdds: ["NET_BIND_SERVICE", "CHOWN"],
            sysctl: { "net.ipv4.ip_unprivileged_port_start": "0" },
        });
    });

    it("labels the service with what it runs with, for the policy pack", () => {
        expect(swarmLabels("dev", base).map((l) => l.label)).not.to.include("dockyard.privileges");
        expect(swarmLabels("dev", { ...base, privileges: { root: true, capabilities: ["SETUID", "SETGID"] } })).to.deep.include({ label: "dockyard.privileges", value: "root,SETUID,SETGID" });
    });

    it("runs a root workload as 0:0 with its capabilities, and its secrets owned by root", async () => {
        const postgres: WorkloadSpec = { ...base, name: "db", secrets: { password: "pw" }, privileges: { root: true, capabilities: ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"] } };
        const web: WorkloadSpec = { ...base, name: "web", user: "101:101", privileges: { capabilities: ["NET_BIND_SERVICE"] } };
        const specs = [postgres, web];
        const { resources } = await runDeclaration(() => deploySwarmWorkloads("local", specs, images(specs), localSwarmPlatform("local")), "local");
        const db = serviceOf(resources, "local", "db").inputs as any;
        expect(db.taskSpec.containerSpec).to.deep.include({ user: "0:0", capDrops: ["ALL"], capAdds: ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"] });
        expect(db.taskSpec.containerSpec.secrets[0]).to.deep.include({ fileUid: "0", fileGid: "0", fileMode: 0o400 });
        expect(db.labels).to.deep.include({ label: "dockyard.privileges", value: "root,CHOWN,SETUID,SETGID,DAC_OVERRIDE,FOWNER" });
        const nginx = serviceOf(resources, "local", "web").inputs as any;
        expect(nginx.taskSpec.containerSpec).to.deep.include({ user: "101:101", capDrops: ["ALL"], capAdds: ["NET_BIND_SERVICE"], sysctl: { "net.ipv4.ip_unprivileged_port_start": "0" } });
        expect(nginx.labels).to.deep.include({ label: "dockyard.privileges", value: "NET_BIND_SERVICE" });
    });
});

describe("swarm workloads on ec2 (mocks)", () => {
    const shared: WorkloadSpec = { ...base, name: "files", replicas: 3, volumes: [{ name: "uploads", kind: "shared", mountPath: "/uploads" }], ports: [{ name: "http", port: 8080, public: {} }] };

    it("backs shared volumes with EFS through an access point on the stack AWS provider, and publishes through the routing mesh", async () => {
        const { resources } = await runDeclaration(() => {
            const awsProvider = new aws.Provider("dev-aws", { region: "us-east-1" });
            return deploySwarmWorkloads("dev", [shared], images([shared]), ec2Platform(), { awsProvider });
        });
        const accessPoint = only(resources, "aws:efs/accessPoint:AccessPoint");
        expect(accessPoint.provider).to.equal("dev-aws");
        expect(accessPoint.parent).to.equal("dev-files");
        expect(accessPoint.inputs).to.deep.include({ fileSystemId: "fs-0123456789abcdef0" });
        expect((accessPoint.inputs as any).rootDirectory.path).to.equal("/dockyard/dev/files/uploads");
        expect((accessPoint.inputs as any).posixUser).to.deep.equal({ gid: 10001, uid: 10001 });
        const files = serviceOf(resources, "dev", "files").inputs as any;
        expect(files.mode.replicated.replicas).to.equal(3);
        expect(files.endpointSpec.ports[0]).to.deep.include({ publishMode: "ingress", publishedPort: 8080 });
        expect(files.updateConfig.order).to.equal("start-first");
        const mount = files.taskSpec.containerSpec.mounts[0];
        expect(mount).to.deep.include({ type: "volume", source: "dev-files-uploads", target: "/uploads" });
        expect(mount.volumeOptions.driverName).to.equal("local");
        expect(mount.volumeOptions.driverOptions).to.deep.equal({
            device: ":/dockyard/dev/files/uploads",
            o: "addr=fs-0123456789abcdef0.efs.us-east-1.amazonaws.com,nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport",
            type: "nfs",
        });
    });

    it("runs every workload, jobs too, on workers spread over the AZ label when the platform says so", async () => {
        const job: WorkloadSpec = { ...base, name: "migrate", kind: "job" };
        const { resources } = await runDeclaration(() => deploySwarmWorkloads("dev", [base, job], images([base, job]), { ...ec2Platform(), placement: { workersOnly: true, spreadLabel: "dockyard.az" } }));
        for (const name of ["app", "migrate"]) {
            expect((serviceOf(resources, "dev", name).inputs as any).taskSpec.placement, name).to.deep.equal({
                constraints: ["node.platform.os==linux", "node.role==worker"],
                prefs: ["node.labels.dockyard.az"],
            });
        }
    });

    it("refuses an EFS-backed volume without the stack AWS provider", async () => {
        let failure: unknown;
        try {
            await runDeclaration(() => deploySwarmWorkloads("dev", [shared], images([shared]), ec2Platform()));
        } catch (err) {
            failure = err;
        }
        expect(String(failure)).to.contain("workload files: volume uploads needs the stack's AWS provider");
    });

    it("fails the deployment on a Pulumi secret over Swarm's limit once it resolves, naming key and size, never the value", async () => {
        const big: WorkloadSpec = { ...base, secrets: { token: pulumi.secret("T".repeat(SWARM_MAX_SECRET_BYTES)) } };
        let failure: unknown;
        try {
            await runDeclaration(() => deploySwarmWorkloads("dev", [big], images([base]), ec2Platform()));
        } catch (err) {
            failure = err;
        }
        expect(String(failure)).to.include(`workload "app": secrets.token holds ${SWARM_MAX_SECRET_BYTES} bytes; allowed: fewer than ${SWARM_MAX_SECRET_BYTES}`);
        expect(String(failure)).not.to.include("TTTT");
    });

    it("rolls a service when a secret changes: the Docker name follows the content", async () => {
        const withSecret = (value: string): WorkloadSpec => ({ ...base, secrets: { token: pulumi.secret(value) } });
        const nameFor = async (value: string) => {
            const { resources } = await runDeclaration(() => deploySwarmWorkloads("dev", [withSecret(value)], images([base]), ec2Platform()));
            const service = serviceOf(resources, "dev", "app").inputs as any;
            return service.taskSpec.containerSpec.secrets[0].secretName as string;
        };
        const first = await nameFor("a");
        expect(first).to.equal(await nameFor("a"));
        expect(first).not.to.equal(await nameFor("b"));
    });

    it("makes a service that runs after a job wait for the job's completion, and on the platform's gate", async () => {
        const specs = sampleSystem();
        const dependsOn: Record<string, unknown[]> = {};
        const gate = new pulumi.ComponentResource("test:index:Gate", "gate");
        await runDeclaration(() => {
            pulumi.runtime.registerStackTransformation((args) => {
                if (args.type === "docker:index/service:Service") dependsOn[args.name] = args.opts.dependsOn as unknown[];
                return undefined;
            });
            const awsProvider = new aws.Provider("dev-aws", { region: "us-east-1" });
            return deploySwarmWorkloads("dev", specs, images(specs), { ...ec2Platform(), dependsOn: [gate] }, { awsProvider });
        });
        const names = (list: unknown[]) => list.map((r) => (r as any).__name);
        expect(names(dependsOn["dev-api"])).to.deep.equal(["gate", "dev-migrate-complete"]);
        expect(names(dependsOn["dev-web"])).to.deep.equal(["gate"]);
        const withVolumes = specs.filter((s) => (s.volumes ?? []).some((v) => v.kind !== "ephemeral"));
        expect(withVolumes.length).to.be.greaterThan(0);
        for (const spec of withVolumes) {
            const volume = spec.volumes!.find((v) => v.kind !== "ephemeral")!;
            expect(names(dependsOn[`dev-${spec.name}`])).to.include(`dev-${spec.name}-${volume.name}-directory`);
        }
    });

    it("waits for a job through the manager's SSH path, again when its image or arguments change", async () => {
        const specs = sampleSystem();
        const { resources } = await runDeclaration(() => {
            const awsProvider = new aws.Provider("dev-aws", { region: "us-east-1" });
            return deploySwarmWorkloads("dev", specs, images(specs), ec2Platform(), { awsProvider });
        });
        const wait = only(resources, "command:local:Command", "dev-migrate-complete");
        expect(wait.parent).to.equal("dev-migrate");
        const script = (wait.inputs as any).create as string;
        expect(script).to.include("job='dev-migrate'");
        expect(script).to.include("on_swarm() { ssh \"${ssh_opts[@]}\" 'ec2-user@198.51.100.10' \"$(printf '%q ' \"$@\")\"; }");
        expect(script).to.include("on_swarm docker service ps");
        const waits = ofType(resources, "command:local:Command").filter((c) => c.name.endsWith("-complete"));
        expect(waits.map((c) => c.name)).to.deep.equal(specs.filter((s) => s.kind === "job").map((s) => `dev-${s.name}-complete`));
    });

    it("runs a job's wait again on any change of its spec, secrets and resources included, and not otherwise", async () => {
        const migrate = sampleSystem().find((s) => s.name === "migrate")!;
        const digestOf = async (job: WorkloadSpec, image = "img/migrate:1") => {
            const { resources } = await runDeclaration(() => deploySwarmWorkloads("dev", [job], { migrate: image }, ec2Platform()));
            return (only(resources, "command:local:Command", "dev-migrate-complete").inputs as any).triggers[0] as string;
        };
        const original = await digestOf(migrate);
        expect(await digestOf({ ...migrate })).to.equal(original);
        const changed = {
            image: await digestOf(migrate, "img/migrate:2"),
            command: await digestOf({ ...migrate, command: ["node", "dist/migrate.js", "--v2"] }),
            env: await digestOf({ ...migrate, env: { REDIS_HOST: "redis-2" } }),
            secret: await digestOf({ ...migrate, secrets: { "redis-password": pulumi.secret("another-password") } }),
            resources: await digestOf({ ...migrate, resources: { ...migrate.resources, limits: { cpu: "500m", memory: "128Mi" } } }),
        };
        for (const [what, digest] of Object.entries(changed)) expect(digest, what).not.to.equal(original);
    });

    it("renders job waits that pass shellcheck, locally and over SSH", () => {
        for (const shell of [{}, { dockerHost: "unix:///run/user/1000/docker.sock" }, { sshTarget: "ec2-user@i-0abc", sshOptions: ["-o", "ProxyCommand=aws ssm start-session --target %h"] }]) {
            const script = jobWaitScript({ serviceName: "dev-migrate", specDigest: "0123456789abcdef", shell, maxRuns: 3, timeoutSeconds: 60, pollSeconds: 5 });
            const result = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
            expect(result.error, "shellcheck must be installed (npm test installs it)").to.equal(undefined);
            expect(result.stdout + result.stderr, JSON.stringify(shell)).to.equal("");
            expect(result.status).to.equal(0);
        }
    });

    it("creates each EFS volume's directory from the manager, owned by the workload's user, in a script that passes shellcheck", () => {
        const script = volumeDirectoryScript({
            shell: { sshTarget: "ec2-user@i-0abc", sshOptions: ["-o", "ProxyCommand=aws ssm start-session --target %h"] },
            dnsName: "fs-1.efs.us-east-1.amazonaws.com",
            path: "/dockyard/dev/redis/data",
            uid: 999,
            gid: 1000,
        });
        expect(script).to.include(`on_swarm sudo sh -c`);
        expect(script).to.include(`prepare 'fs-1.efs.us-east-1.amazonaws.com' 999 1000 '/dockyard/dev/redis/data'`);
        const result = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
        expect(result.stdout + result.stderr).to.equal("");
    });

    it("names the workload whose image is missing", async () => {
        let failure: unknown;
        try {
            await runDeclaration(() => deploySwarmWorkloads("dev", [base], {}, ec2Platform()));
        } catch (err) {
            failure = err;
        }
        expect(String(failure)).to.contain("workload app: no image given");
    });
});

describe("the sample system (workloads.ts) on Swarm", () => {
    const specs = () => sampleWorkloads({ redisPassword: pulumi.secret("pw") });

    for (const engine of ["local", "ec2"] as const) {
        it(`deploys on engine ${engine}: redis stops first on its volume, api runs after migrate with its autoscaling min`, async () => {
            const { resources } = await runDeclaration(() => {
                const platform = engine === "local" ? localSwarmPlatform("s") : ec2Platform();
                const awsProvider = new aws.Provider("s-aws", { region: "us-east-1" });
                return deploySwarmWorkloads("s", specs(), images(specs()), platform, { awsProvider });
            }, engine === "local" ? "local" : "dev");
            expect(services(resources).map((r) => r.inputs.name)).to.have.members(["s-redis", "s-migrate", "s-api", "s-web"]);
            const redis = serviceOf(resources, "s", "redis").inputs as any;
            expect(redis.updateConfig.order).to.equal("stop-first");
            expect(redis.taskSpec.containerSpec.user).to.equal("999:1000");
            expect(redis.taskSpec.containerSpec.secrets[0]).to.deep.include({ fileName: "redis-password", fileUid: "999", fileGid: "1000", fileMode: 0o400 });
            expect((serviceOf(resources, "s", "api").inputs as any).mode.replicated.replicas).to.equal(2);
            const web = serviceOf(resources, "s", "web").inputs as any;
            expect(web.endpointSpec.ports[0]).to.deep.include({ publishedPort: 8080, publishMode: engine === "local" ? "host" : "ingress" });
            expect(web.mode.replicated.replicas).to.equal(engine === "local" ? 1 : 2);
            expect(ofType(resources, "aws:efs/accessPoint:AccessPoint")).to.have.length(engine === "local" ? 0 : 1);
        });
    }
});
