/**
 * The sample system on the lab's swarm (issue 13): exactly the network, secrets and services the
 * Swarm adapter declares for the lab stack (`stack.networks`, `stack.secrets`, `stack.services`),
 * translated by `labNetwork`, `labSecret` and `labService` (test/lab/stack.ts) and created on m1
 * through the Engine API as the Docker provider creates them, registry auth included, converge:
 * every service runs its replicas, healthy, on the nodes the placement allows, spread over the AZs,
 * from images each worker pulled from the authenticated registry.
 *
 * The job (`migrate`) is created too, because `api` runs after it; this scenario only waits for
 * its task to complete, as the job wait would (components/swarm/jobs.ts); the wait script itself,
 * failures and reruns are the jobs scenario's (test/lab/jobs.lab.ts).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { AZ_NODE_LABEL } from "../../components/swarm/cluster";
import { CONVERGE_TIMEOUT, isJob } from "../../components/swarm/service";
import { durationNs } from "../contract/engineSpec";
import { boot, createNode, engine, execIn, STATE, waitFor } from "./lab";
import { registryAuth } from "./registry";
import { EngineService, extraNode, LAB_STACK, labNetwork, labSecret, labService } from "./stack";
import { ensureSwarm, figures, images, nodes, removeExtraNode, seconds, setUp, stack, swarmView, tally, trustRegistry } from "./world";

type Json = Record<string, any>;

describe("Swarm lab: the sample system", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("the sample system's services, as the adapter declares them, converge across nodes, spread over the AZs, with images pulled from the authenticated registry (issue 13)", async () => {
        await ensureSwarm();
        const m1 = engine("m1");
        const leader = (await swarmView("m1")).managers.find((m) => m.leader)?.host;
        expect(leader, "the swarm's leader").to.be.a("string");
        // The stack keeps workers (workersMin 1), so the adapter places every task on workers only
        // (cluster.ts workloadNodes); a second worker, in another AZ, gives the replicas room to spread.
        const extra = extraNode("w2", 2, 1, stack.workerGroup);
        const workers = [...nodes.filter((n) => n.group), extra];
        const registryLog = path.join(STATE, "registry.log");
        const created = { services: [] as string[], secrets: [] as string[], networks: [] as string[] };
        const volumes = [...new Set(stack.services.flatMap((s) => ((s.rawInputs as Json).taskSpec.containerSpec.mounts ?? []).filter((m: Json) => m.type === "volume").map((m: Json) => m.source as string)))];
        try {
            createNode(extra, trustRegistry);
            const booted = await boot(extra.name, stack.workerUserData);
            expect(booted.status, booted.output.split("\n").slice(-20).join("\n")).to.equal(0);
            await waitFor(`${extra.name} ready in the swarm`, async () => ((await swarmView("m1")).ready.includes(extra.name) ? true : undefined), 60_000, 2000);
            // The spread is over the node label the leader's reaper copies from each engine's AZ label
            // (cloudInit.ts reaperScript); its timer is recorded, not run, in the lab, so fire it once.
            const reaper = await execIn(leader!, ["systemctl", "start", "dockyard-reaper.service"]);
            expect(reaper.status, reaper.stdout + reaper.stderr).to.equal(0);
            const swarmNodes = await m1.listNodes();
            const byId = new Map(swarmNodes.map((n: any) => [n.ID as string, { host: n.Description.Hostname as string, role: n.Spec.Role as string, az: n.Spec.Labels?.[AZ_NODE_LABEL] as string | undefined }]));
            const azs = Object.fromEntries(swarmNodes.map((n: any) => [n.Description.Hostname, n.Spec.Labels?.[AZ_NODE_LABEL]]));
            expect(azs, "each node's AZ label").to.deep.equal(Object.fromEntries([...nodes, extra].map((n) => [n.name, n.az])));

            // Not pre-loaded: a task of a digest-pinned image that its node already holds is not pulled
            // (moby/moby daemon/cluster/executor/container/adapter.go pullImage). Every workload has its
            // own repository, and the node looks the image up by repository and digest (daemon/images/image.go
            // GetImage), so each removed reference must come from the registry again.
            const pinned = [...new Set(Object.values(images))];
            for (const worker of workers) {
                await execIn(worker.name, ["docker", "container", "prune", "--force"]);
                await execIn(worker.name, ["docker", "image", "rm", "--force", ...pinned]);
                for (const ref of pinned) expect((await execIn(worker.name, ["docker", "image", "inspect", ref])).status, `${ref} is gone from ${worker.name}`).not.to.equal(0);
            }
            const logFrom = fs.statSync(registryLog).size;

            const started = Date.now();
            const idMap: Record<string, string> = {};
            for (const network of stack.networks) {
                const { id } = await m1.createNetwork(labNetwork(network.rawInputs) as any);
                created.networks.push(id);
                idMap[`${network.name}-id`] = id;
            }
            for (const secret of stack.secrets) {
                const { id } = await m1.createSecret(labSecret(secret.rawInputs));
                created.secrets.push(id);
                idMap[`${secret.name}-id`] = id;
            }
            const declared = stack.services.map((s) => labService(s.rawInputs, stack.workloads, idMap, images));
            expect(declared.map((s) => s.workload.name).sort(), "services the adapter declares").to.deep.equal(stack.workloads.map((w) => w.name).sort());
            // Pulumi creates every service at once but those that run after a job, which wait for its completion.
            // Settled, not raced: a create still under way when another fails must be known to the clean-up.
            const creates = await Promise.allSettled(
                declared.map(async (service) => {
                    for (const job of service.workload.after ?? []) await jobCompleted(`${LAB_STACK}-${job}`);
                    await createAsTheProvider(service);
                    created.services.push(service.name);
                }),
            );
            for (const result of creates) if (result.status === "rejected") throw result.reason;
            const services = declared.filter((s) => !isJob(s.workload));
            await waitFor("every service of the sample system running its replicas, healthy", async () => {
                const problems = (await Promise.all(services.map(convergenceProblem))).filter((p) => p !== undefined);
                if (problems.length > 0) throw new Error(problems.join("; "));
                return true;
            }, durationNs(CONVERGE_TIMEOUT)! / 1e6, 2000);
            figures["time for the sample system to converge"] = seconds(started);

            const newLog = fs.readFileSync(registryLog, "utf8").slice(logFrom).split("\n");
            const used = new Set<string>();
            for (const service of services) {
                const spec = service.spec.TaskTemplate;
                const image = spec.ContainerSpec.Image as string;
                expect(image, `${service.name}: a digest-pinned reference in the lab registry`).to.match(new RegExp(`^${stack.registryHost.replace(/\./g, "\\.")}/[^@]+@sha256:[0-9a-f]{64}$`));
                const running = await runningTasks(service.name);
                const placed = running.map((t) => byId.get(t.NodeID)!);
                for (const task of running) {
                    const node = byId.get(task.NodeID)!;
                    used.add(node.host);
                    expect(task.Spec.ContainerSpec.Image, `${service.name}'s task on ${node.host}`).to.equal(image);
                    const container = await engine(node.host).getContainer(task.Status.ContainerStatus.ContainerID).inspect();
                    expect(container.Config.Image, `${service.name}'s container on ${node.host}`).to.equal(image);
                    // Pulled by that node with valid credentials: the registry logs "authorized request", with the
                    // client's address and the URI, only once its access controller (htpasswd here) granted the
                    // request (distribution/distribution registry/handlers/app.go App.authorized).
                    const [repository, digest] = image.slice(stack.registryHost.length + 1).split("@");
                    const ip = [...nodes, extra].find((n) => n.name === node.host)!.ip;
                    const pull = newLog.filter((line) => line.includes(`msg="authorized request"`) && new RegExp(`remoteaddr="?${ip.replace(/\./g, "\\.")}:`).test(line) && line.includes(`/v2/${repository}/manifests/${digest}`));
                    expect(pull, `${node.host} pulled ${repository}@${digest}, authorized; the registry logged from ${ip}:\n${newLog.filter((l) => l.includes(`${ip}:`)).slice(-5).join("\n")}`).not.to.deep.equal([]);
                }
                if ((spec.Placement?.Constraints ?? []).includes("node.role==worker")) {
                    expect(placed.map((n) => `${n.host} ${n.role}`).filter((n) => !n.endsWith(" worker")), `${service.name} runs on workers only`).to.deep.equal([]);
                }
                const stored = (await m1.getService(service.name).inspect()).Spec.TaskTemplate.Placement;
                expect((stored?.Preferences ?? []).map((p: Json) => p.Spread?.SpreadDescriptor), `${service.name}'s spread as the engine keeps it`).to.deep.equal([`node.labels.${AZ_NODE_LABEL}`]);
                const replicas = service.spec.Mode.Replicated.Replicas as number;
                const zones = new Set(workers.map((w) => w.az));
                expect(new Set(placed.map((n) => n.az)).size, `${service.name}: ${replicas} replicas over the AZs of ${placed.map((n) => `${n.host} (${n.az})`).join(", ")}`).to.equal(Math.min(replicas, zones.size));
            }
            expect([...used].sort(), "nodes running the sample system").to.have.length.greaterThan(1);

            for (const job of declared.filter((s) => isJob(s.workload))) {
                const tasks = (await m1.listTasks({ filters: JSON.stringify({ service: [job.name] }) })) as any[];
                expect(tasks.map((t) => [t.Status.State, t.Status.ContainerStatus?.ExitCode]), `${job.name} ran once`).to.deep.equal([["complete", 0]]);
            }
        } finally {
            for (const name of [...created.services].reverse()) await m1.getService(name).remove().catch(() => undefined);
            const everyNode = [...nodes.map((n) => n.name), extra.name];
            await waitFor("the sample system's containers to go", async () => {
                for (const host of everyNode) {
                    // Label filters are and-ed, so ask for any service's containers and pick ours.
                    const left = await engine(host).listContainers({ all: true, filters: JSON.stringify({ label: ["com.docker.swarm.service.name"] }) }).catch(() => []);
                    if (left.some((c) => created.services.includes(c.Labels["com.docker.swarm.service.name"]))) return undefined;
                }
                return true;
            }, 90_000).catch(() => undefined);
            for (const id of created.secrets) await m1.getSecret(id).remove().catch(() => undefined);
            // The network goes once no task is attached any more, which trails the containers.
            for (const id of created.networks) await waitFor(`network ${id} removed`, async () => (await m1.getNetwork(id).remove(), true), 60_000).catch(() => undefined);
            // Named volumes outlive their tasks; the lab's stand-ins for EFS are local to the node that ran the task.
            if (volumes.length > 0) for (const worker of workers) await execIn(worker.name, ["docker", "volume", "rm", "--force", ...volumes]);
            await removeExtraNode(extra.name);
        }
        // As found: the scenarios after this one see the swarm of the cold start.
        expect((await m1.listServices()).map((s: any) => s.Spec.Name).filter((name: string) => created.services.includes(name)), "services left").to.deep.equal([]);
        expect((await m1.listSecrets()).filter((s: any) => created.secrets.includes(s.ID)).map((s: any) => s.Spec.Name), "secrets left").to.deep.equal([]);
        expect((await m1.listNetworks()).filter((n: any) => created.networks.includes(n.Id)).map((n: any) => n.Name), "networks left").to.deep.equal([]);
        expect((await m1.listNodes()).map((n: any) => n.Description.Hostname).sort(), "nodes").to.deep.equal(nodes.map((n) => n.name).sort());

        /** As the provider creates a service: the spec, and the registry auth it finds for the image (see providerAuth). */
        async function createAsTheProvider(service: EngineService): Promise<void> {
            const image = service.spec.TaskTemplate.ContainerSpec.Image as string;
            const auth = providerAuth(service, image);
            // The provider asks the client to query the registry (QueryRegistry), which resolves the image
            // through the manager with the same auth and keeps a reference that has a digest as it is
            // (moby/moby client/service_create.go resolveContainerSpecImage, imageWithDigestString).
            // It also places the tasks on the image's platforms (os and architecture, "arm" without one).
            const resolved = (await m1.getImage(image).distribution({ authconfig: auth })) as any;
            expect(`${image.split("@")[0]}@${resolved.Descriptor.digest}`, `${service.name}: the digest the registry serves`).to.equal(image);
            const platforms = (resolved.Platforms ?? []).filter((p: Json) => p.os !== "unknown" && p.architecture !== "unknown").map((p: Json) => ({ OS: p.os, Architecture: p.architecture.toLowerCase() === "arm" ? "" : p.architecture }));
            const unique = [...new Map(platforms.map((p: Json) => [`${p.OS}/${p.Architecture}`, p])).values()];
            const spec = unique.length > 0 ? { ...service.spec, TaskTemplate: { ...service.spec.TaskTemplate, Placement: { ...service.spec.TaskTemplate.Placement, Platforms: unique } } } : service.spec;
            await m1.createService(auth, spec as any);
        }

        /**
         * The auth the provider sends (X-Registry-Auth) on a create: the service's own `auth` if it
         * declares one, else the provider's `registryAuth` entry for the image's registry host, else an
         * empty one (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_service_funcs.go
         * retrieveAndMarshalAuth, fromRegistryAuth). The program's provider has one entry, the stack's ECR
         * host (components/swarm/cluster.ts ecrRegistryAuth), and the lab serves it with the current
         * password, as the credential helper would. Public images (redis) are pulled from the lab registry
         * under that host too (labImageRef), so in the lab they are sent its auth as well.
         */
        function providerAuth(service: EngineService, image: string): Json {
            if (service.auth) return { username: service.auth.username, password: service.auth.password, serveraddress: service.auth.serverAddress };
            return image.startsWith(`${stack.registryHost}/`) ? registryAuth(stack.registryHost) : {};
        }

        async function runningTasks(service: string): Promise<any[]> {
            const tasks = (await m1.listTasks({ filters: JSON.stringify({ service: [service], "desired-state": ["running"] }) })) as any[];
            return tasks.filter((t) => t.Status?.State === "running");
        }

        /**
         * What keeps a service from having converged, if anything: fewer running tasks than its replicas
         * (what the provider's convergeConfig waits for: terraform-provider-docker
         * resource_docker_service_funcs.go replicatedConsoleLogUpdater.update), or, where the spec has a
         * health check, a running container that is not healthy. Names the latest failed tasks' errors.
         */
        async function convergenceProblem(service: EngineService): Promise<string | undefined> {
            const replicas = service.spec.Mode.Replicated.Replicas as number;
            const running = await runningTasks(service.name);
            if (running.length !== replicas) {
                const all = (await m1.listTasks({ filters: JSON.stringify({ service: [service.name] }) })) as any[];
                const failures = all.filter((t) => t.Status?.Err).sort((a, b) => String(b.Status.Timestamp).localeCompare(String(a.Status.Timestamp)));
                return `${service.name}: ${running.length} of ${replicas} running${failures.length ? ` (last: ${failures[0].Status.State} "${failures[0].Status.Err}")` : ""}`;
            }
            if (!service.spec.TaskTemplate.ContainerSpec.HealthCheck) return undefined;
            const nodeNames = new Map((await m1.listNodes()).map((n: any) => [n.ID as string, n.Description.Hostname as string]));
            const health = await Promise.all(running.map(async (t) => (await engine(nodeNames.get(t.NodeID)!).getContainer(t.Status.ContainerStatus.ContainerID).inspect()).State.Health?.Status));
            return health.every((h) => h === "healthy") ? undefined : `${service.name}: health ${health.join(", ")}`;
        }

        /** Until the job's task has completed with exit 0, as the job wait (components/swarm/jobs.ts) waits before what runs after it. */
        async function jobCompleted(job: string): Promise<void> {
            await waitFor(`${job} to complete`, async () => {
                const tasks = (await m1.listTasks({ filters: JSON.stringify({ service: [job] }) })) as any[];
                if (tasks.some((t) => t.Status?.State === "complete")) return true;
                throw new Error(tasks.map((t) => `${t.Status?.State}${t.Status?.Err ? ` "${t.Status.Err}"` : ""}`).join(", ") || "no task yet");
            }, 180_000, 2000);
        }
    });
});
