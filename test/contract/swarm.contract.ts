/**
 * The Swarm adapter against a real Docker engine in swarm mode (run by `scripts/contract.sh`, which
 * starts the engine when none is running). The suite creates exactly the networks, secrets and
 * services the adapter declares for the local stack (see declaration.ts for the busybox stand-ins)
 * and checks what the engine does with them.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { secretSizeProblems, SWARM_MAX_SECRET_BYTES, WorkloadSpec } from "../../components/workload";
import { CONTRACT_REDIS_PASSWORD, CONTRACT_STACK, declareLocalStack, Declared, stackWorkloads, webPaths } from "./declaration";
import { buildTestImage, docker, exec, httpGet, removeEverything, runningTasks, sleep, tasksOf, waitFor } from "./engine";
import { cpuToNanoCpus, JOB_MAX_RUNS, memoryToBytes, SWARM_SECRET_NAME_MAX, SWARM_SERVICE_NAME_MAX, swarmNameProblems } from "../../components/swarm/service";
import { networkCreateOptions, secretSpec, serviceSpec } from "./engineSpec";

const TEST_IMAGE = "dockyard-contract/busybox:1";

/** Runs a job wait's script as Pulumi's command would (bash -c), bounded. */
const runWait = (script: string) => spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 300_000 });

type Json = Record<string, any>;

describe("Swarm adapter on a real engine", function () {
    this.timeout(600_000);

    let declared: Declared;
    const idMap: Record<string, string> = {};
    const created: Record<string, { spec: Json; workload: WorkloadSpec }> = {};

    const isJob = (w: WorkloadSpec) => (w.kind ?? "service") === "job";
    const services = () => Object.entries(created).filter(([, c]) => !isJob(c.workload));
    const specOf = (name: string) => docker.getService(name).inspect();
    async function runningContainer(service: string): Promise<string> {
        const [task] = await waitFor(`a running task of ${service}`, async () => {
            const tasks = await runningTasks(service);
            return tasks.length > 0 ? tasks : undefined;
        });
        return task.Status.ContainerStatus.ContainerID;
    }
    async function converged(service: string, replicas: number): Promise<void> {
        await waitFor(`${service} to run ${replicas} tasks`, async () => ((await runningTasks(service)).length === replicas ? true : undefined), 180_000);
    }

    before(async () => {
        const info = await docker.info();
        expect(info.Swarm?.LocalNodeState, "the engine must be in swarm mode (scripts/contract.sh initialises it)").to.equal("active");
        await removeEverything(CONTRACT_STACK, TEST_IMAGE);
        await buildTestImage(TEST_IMAGE, webPaths(stackWorkloads()));
        declared = await declareLocalStack(TEST_IMAGE);
        console.log(`      workloads.ts: ${declared.specs.map((s) => s.name).join(", ")}`);

        for (const network of declared.networks) {
            const { id } = await docker.createNetwork(networkCreateOptions(network.rawInputs) as any);
            idMap[`${network.name}-id`] = id;
        }
        for (const secret of declared.secrets) {
            const { id } = await docker.createSecret(secretSpec(secret.rawInputs));
            idMap[`${secret.name}-id`] = id;
        }
        for (const service of declared.services) {
            const spec = serviceSpec(service.rawInputs, idMap);
            const workload = declared.specs.find((w) => `${CONTRACT_STACK}-${w.name}` === spec.Name)!;
            await docker.createService(spec);
            created[spec.Name] = { spec, workload };
        }
    });

    after(async () => {
        await removeEverything(CONTRACT_STACK, TEST_IMAGE);
    });

    it("declares an encrypted overlay network, a secret per workload secret and a service per workload", async () => {
        expect(declared.networks).to.have.length(1);
        const network = await docker.getNetwork(idMap[`${declared.networks[0].name}-id`]).inspect();
        expect(network).to.deep.include({ Driver: "overlay", Attachable: true, Scope: "swarm" });
        expect(network.Options).to.have.property("encrypted");
        expect(declared.services.map((s) => s.rawInputs.name).sort()).to.deep.equal(declared.specs.map((s) => `${CONTRACT_STACK}-${s.name}`).sort());
        expect(declared.secrets).to.have.length(declared.specs.reduce((n, s) => n + Object.keys(s.secrets ?? {}).length, 0));
    });

    it("converges every service to its replica count", async () => {
        for (const [name, { spec }] of services()) await converged(name, spec.Mode.Replicated.Replicas);
    });

    it("mounts each secret at /run/secrets/<name> with its content, owner and mode 0400", async () => {
        const contents: string[] = [];
        for (const [name, { spec, workload }] of Object.entries(created)) {
            if (isJob(workload)) continue;
            const container = await runningContainer(name);
            for (const ref of spec.TaskTemplate.ContainerSpec.Secrets ?? []) {
                const file = `/run/secrets/${ref.File.Name}`;
                const stat = await exec(container, ["stat", "-c", "%a %u %g", file]);
                expect(stat.stdout.trim(), `${name} ${file}`).to.equal(`400 ${ref.File.UID} ${ref.File.GID}`);
                const content = await exec(container, ["cat", file]);
                const secretInputs = declared.secrets.find((s) => s.rawInputs.name === ref.SecretName)!.rawInputs;
                expect(content.stdout, `${name} ${file}`).to.equal(Buffer.from(String(secretInputs.data), "base64").toString("utf8"));
                contents.push(content.stdout);
            }
        }
        expect(contents).to.include(CONTRACT_REDIS_PASSWORD);
    });

    it("runs each task with the declared env, command, user and read-only root", async () => {
        for (const [name, { spec }] of services()) {
            const container = await docker.getContainer(await runningContainer(name)).inspect();
            const declaredSpec = spec.TaskTemplate.ContainerSpec;
            for (const variable of declaredSpec.Env ?? []) expect(container.Config.Env, name).to.include(variable);
            expect(container.Config.Entrypoint, name).to.deep.equal(declaredSpec.Command);
            expect(container.Config.User, name).to.equal(declaredSpec.User);
            expect(container.HostConfig.ReadonlyRootfs, name).to.equal(true);
            expect(container.HostConfig.CapDrop, name).to.deep.equal(["ALL"]);
            const whoami = await exec(container.Id, ["id", "-u"]);
            expect(whoami.stdout.trim(), name).to.equal(declaredSpec.User.split(":")[0]);
            const write = await exec(container.Id, ["touch", "/root-write-test"]);
            expect(write.exitCode, `${name} wrote to its root file system`).to.not.equal(0);
        }
    });

    it("turns every health check healthy", async () => {
        const checked = services().filter(([, c]) => c.spec.TaskTemplate.ContainerSpec.HealthCheck);
        expect(checked.length).to.be.greaterThan(0);
        for (const [name] of checked) {
            await waitFor(`${name} to be healthy`, async () => {
                const tasks = await runningTasks(name);
                const states = await Promise.all(tasks.map(async (t) => (await docker.getContainer(t.Status.ContainerStatus.ContainerID).inspect()).State.Health?.Status));
                return states.length > 0 && states.every((s) => s === "healthy") ? true : undefined;
            }, 120_000);
        }
    });

    it("answers HTTP on each published port", async () => {
        const published = services().flatMap(([name, c]) => (c.spec.EndpointSpec?.Ports ?? []).map((p: Json) => ({ name, port: p.PublishedPort, mode: p.PublishMode })));
        expect(published.length).to.be.greaterThan(0);
        for (const { name, port, mode } of published) {
            expect(mode, name).to.equal("host");
            const response = await waitFor(`${name} on port ${port}`, async () => httpGet(`http://127.0.0.1:${port}/index.html`), 60_000);
            expect(response.status, name).to.equal(200);
        }
    });

    it("runs a one-off job to completion exactly once", async () => {
        const jobs = Object.entries(created).filter(([, c]) => isJob(c.workload));
        expect(jobs.length).to.be.greaterThan(0);
        for (const [name] of jobs) {
            const tasks = await waitFor(`${name} to complete`, async () => {
                const all = await tasksOf(name);
                return all.some((t) => t.Status.State === "complete") ? all : undefined;
            }, 120_000);
            await sleep(3000);
            const after = await tasksOf(name);
            expect(after.length, `${name} tasks`).to.equal(1);
            expect(tasks[0].Status.ContainerStatus.ExitCode).to.equal(0);
        }
    });

    it("the wait that services run after, as declared, sees each job complete", async () => {
        expect(declared.waits.map((w) => w.name).sort()).to.deep.equal(declared.specs.filter(isJob).map((s) => `${CONTRACT_STACK}-${s.name}-complete`).sort());
        for (const wait of declared.waits) {
            const done = runWait(String(wait.rawInputs.create));
            expect(done.status, done.stderr).to.equal(0);
            expect(done.stdout).to.match(new RegExp(`^job ${CONTRACT_STACK}-[a-z]+ completed \\(spec [0-9a-f]{16}\\)\n$`));
        }
    });

    describe("a job that changes (issue 14 item 5)", () => {
        const name = `${CONTRACT_STACK}-jobcheck`;
        const job = (script: string): WorkloadSpec => ({
            name: "jobcheck",
            kind: "job",
            image: { ref: TEST_IMAGE },
            command: ["sh", "-c", script],
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
        });
        /** Declares the job through the adapter, creates or updates its service as the provider would, and returns its wait. */
        async function deploy(script: string): Promise<{ digest: string; wait: string }> {
            const { services, waits } = await declareLocalStack(TEST_IMAGE, [job(script)]);
            const spec = serviceSpec(services[0].rawInputs, idMap);
            const existing = (await docker.listServices()).find((s) => s.Spec?.Name === name);
            if (existing) await docker.getService(name).update({ _query: { version: existing.Version!.Index }, _body: spec } as any);
            else await docker.createService(spec);
            return { digest: spec.TaskTemplate.ContainerSpec.Labels?.["dockyard.job-spec"], wait: String(waits[0].rawInputs.create) };
        }
        const runsOf = async (digest: string) => (await tasksOf(name)).filter((t) => t.Spec.ContainerSpec.Labels?.["dockyard.job-spec"] === digest);
        const logLines = (text: string) => spawnSync("docker", ["service", "logs", "--raw", name], { encoding: "utf8" }).stdout.split("\n").filter((l) => l === text).length;

        it("runs the first spec once", async () => {
            const v1 = await deploy("echo run v1");
            const done = runWait(v1.wait);
            expect(done.status, done.stderr).to.equal(0);
            expect(done.stdout).to.equal(`job ${name} completed (spec ${v1.digest})\n`);
        });

        it("runs a changed spec exactly once to completion, and Swarm neither rolls it back nor runs the old one again", async () => {
            const v2 = await deploy("echo run v2");
            const done = runWait(v2.wait);
            expect(done.status, done.stderr).to.equal(0);
            // Longer than the 10 s monitor window after which swarmkit had rolled a completed job back.
            await sleep(15_000);
            const service = await specOf(name);
            expect(service.UpdateStatus?.State, service.UpdateStatus?.Message).to.equal("completed");
            expect(service.Spec.TaskTemplate.ContainerSpec.Command).to.deep.equal(["sh", "-c", "echo run v2"]);
            expect(logLines("run v2"), "runs of v2").to.equal(1);
            expect(logLines("run v1"), "runs of v1").to.equal(1);
            expect((await runsOf(v2.digest)).map((t) => t.Status.State)).to.deep.equal(["complete"]);
            expect(done.stdout).to.equal(`job ${name} completed (spec ${v2.digest})\n`);
        });

        it(`fails a changed spec that keeps failing after ${JOB_MAX_RUNS} runs, as the restart policy allows, and keeps it deployed`, async () => {
            const v3 = await deploy("echo run v3; exit 3");
            const failed = runWait(v3.wait);
            expect(failed.status, failed.stdout).to.equal(1);
            expect(failed.stderr).to.include(`dockyard: job ${name} failed ${JOB_MAX_RUNS} times (spec ${v3.digest})`);
            await sleep(10_000);
            expect((await runsOf(v3.digest)).map((t) => t.Status.State)).to.deep.equal(Array(JOB_MAX_RUNS).fill("failed"));
            const service = await specOf(name);
            expect(service.Spec.TaskTemplate.ContainerSpec.Command).to.deep.equal(["sh", "-c", "echo run v3; exit 3"]);
            expect(service.UpdateStatus?.State).to.equal("completed");
            // The same spec's wait run again (a later `up` after the failed one) fails at once: what runs after it stays as it was.
            const again = runWait(v3.wait);
            expect(again.status).to.equal(1);
        });

        it("passes a fixed spec after the failed one: earlier runs do not count", async () => {
            const v4 = await deploy("echo run v4");
            const done = runWait(v4.wait);
            expect(done.status, done.stderr).to.equal(0);
            expect(done.stdout).to.equal(`job ${name} completed (spec ${v4.digest})\n`);
        });
    });

    describe("a completed job updated in place: why a job's service is replaced on any change, never updated (components/swarm/service.ts swarmServiceOptions)", () => {
        const name = `${CONTRACT_STACK}-inplace`;
        const job: WorkloadSpec = {
            name: "inplace",
            kind: "job",
            image: { ref: TEST_IMAGE },
            command: ["sh", "-c", "echo ran inplace"],
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
        };
        /** Registry auth as the Docker provider sends it (X-Registry-Auth); ECR hands out a new token at least every 12 hours. */
        const auth = (token: string) => ({ username: "AWS", password: token, serveraddress: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" });
        let declaredSpec: Json;
        let wait: string;
        const runs = () => spawnSync("docker", ["service", "logs", "--raw", name], { encoding: "utf8" }).stdout.split("\n").filter((l) => l === "ran inplace").length;
        const completedRuns = async () => (await tasksOf(name)).filter((t) => t.Status.State === "complete").length;
        /** What the provider does on `up` when anything of the service changed: the whole spec, and the registry auth. */
        async function updateAsTheProvider(spec: Json, token: string): Promise<void> {
            const current = await specOf(name);
            await docker.getService(name).update(auth(token), { _query: { version: current.Version.Index }, _body: spec } as any);
        }
        /** Waits long enough for swarmkit to have started any run the update causes, and for that run to end. */
        const settle = () => sleep(10_000);

        before(async () => {
            const { services, waits } = await declareLocalStack(TEST_IMAGE, [job]);
            declaredSpec = serviceSpec(services[0].rawInputs, idMap);
            wait = String(waits[0].rawInputs.create);
            await docker.createService(auth("token-1"), declaredSpec);
            const done = runWait(wait);
            expect(done.status, done.stderr).to.equal(0);
            await settle();
            expect(runs(), "runs after create").to.equal(1);
        });

        it("a service label added with the CLI, which keeps the stored registry auth, leaves the completed job alone", async () => {
            const update = spawnSync("docker", ["service", "update", "--detach", "--label-add", "dockyard.example=1", name], { encoding: "utf8" });
            expect(update.status, update.stderr).to.equal(0);
            await settle();
            expect(runs(), "runs").to.equal(1);
            expect(await completedRuns()).to.equal(1);
        });

        it("the same label change sent as the provider sends it, with a fresh registry auth, runs the completed job again, and its wait cannot tell", async () => {
            const relabelled = { ...declaredSpec, Labels: { ...declaredSpec.Labels, "dockyard.example": "2" } };
            await updateAsTheProvider(relabelled, "token-2");
            await settle();
            expect(runs(), "runs").to.equal(2);
            expect(await completedRuns()).to.equal(2);
            // The task spec, and so the digest that labels its tasks and triggers its wait, is the one deployed before:
            // nothing made Pulumi run the wait again, and run anyway it passes on the earlier run.
            expect((await specOf(name)).Spec.TaskTemplate.ContainerSpec.Labels["dockyard.job-spec"]).to.equal(declaredSpec.TaskTemplate.ContainerSpec.Labels["dockyard.job-spec"]);
            const again = runWait(wait);
            expect(again.status, again.stderr).to.equal(0);
        });

        it("so does a refresh of the stored auth alone (docker service update --with-registry-auth), as a timer for the 12-hour ECR token would run it", async () => {
            const refresh = spawnSync("docker", ["service", "update", "--detach", "--with-registry-auth", name], { encoding: "utf8" });
            expect(refresh.status, refresh.stderr).to.equal(0);
            await settle();
            expect(runs(), "runs").to.equal(3);
        });

        it("replaced instead (delete, then create, as deleteBeforeReplace orders it), the job runs exactly once more and its wait judges that run", async () => {
            await docker.getService(name).remove();
            await waitFor(`${name} to be gone`, async () => ((await docker.listServices()).some((s) => s.Spec?.Name === name) ? undefined : true));
            await docker.createService(auth("token-3"), declaredSpec);
            const done = runWait(wait);
            expect(done.status, done.stderr).to.equal(0);
            await settle();
            const tasks = await tasksOf(name);
            expect(tasks.map((t) => t.Status.State)).to.deep.equal(["complete"]);
            expect(runs(), "runs of the new service").to.equal(1);
        });
    });

    it("refuses a secret of SWARM_MAX_SECRET_BYTES bytes or an empty one and keeps one a byte smaller, as secretSizeProblems does", async () => {
        const attempt = async (suffix: string, bytes: number) => {
            try {
                const { id } = await docker.createSecret({ Name: `${CONTRACT_STACK}-size-${suffix}`, Data: Buffer.alloc(bytes, "s").toString("base64") });
                await docker.getSecret(id).remove();
                return "created";
            } catch (err) {
                return `refused: ${(err as Error).message}`;
            }
        };
        expect(await attempt("largest", SWARM_MAX_SECRET_BYTES - 1)).to.equal("created");
        expect(await attempt("limit", SWARM_MAX_SECRET_BYTES)).to.match(/^refused: .*secret data must be larger than 0 and less than 512000 bytes/);
        expect(await attempt("empty", 0)).to.match(/^refused: .*secret data must be larger than 0 and less than 512000 bytes/);
        expect(secretSizeProblems({ largest: SWARM_MAX_SECRET_BYTES - 1 })).to.deep.equal([]);
        expect(secretSizeProblems({ limit: SWARM_MAX_SECRET_BYTES, empty: 0 })).to.have.length(2);
    });

    it("refuses service names over SWARM_SERVICE_NAME_MAX and secret names over SWARM_SECRET_NAME_MAX characters, as swarmNameProblems does", async () => {
        const image = created[Object.keys(created).find((n) => !isJob(created[n].workload))!].spec.TaskTemplate.ContainerSpec.Image;
        const service = async (length: number) => {
            const name = `${CONTRACT_STACK}-${"s".repeat(length - CONTRACT_STACK.length - 1)}`;
            try {
                const { id } = await docker.createService({ Name: name, Mode: { Replicated: { Replicas: 0 } }, TaskTemplate: { ContainerSpec: { Image: image, Command: ["sleep", "1"] } } } as any);
                await docker.getService(id).remove();
                return "created";
            } catch (err) {
                return `refused: ${(err as Error).message}`;
            }
        };
        const secret = async (length: number) => {
            try {
                const { id } = await docker.createSecret({ Name: `${CONTRACT_STACK}-${"k".repeat(length - CONTRACT_STACK.length - 1)}`, Data: Buffer.from("x").toString("base64") });
                await docker.getSecret(id).remove();
                return "created";
            } catch (err) {
                return `refused: ${(err as Error).message}`;
            }
        };
        expect(await service(SWARM_SERVICE_NAME_MAX)).to.equal("created");
        expect(await service(SWARM_SERVICE_NAME_MAX + 1)).to.match(/^refused: .*63 characters or fewer/);
        expect(await secret(SWARM_SECRET_NAME_MAX)).to.equal("created");
        expect(await secret(SWARM_SECRET_NAME_MAX + 1)).to.match(/^refused: .*only 64 \[a-zA-Z0-9-_.\] characters allowed/);
        expect(swarmNameProblems(CONTRACT_STACK, [{ ...stackWorkloads()[0], name: "s".repeat(SWARM_SERVICE_NAME_MAX - CONTRACT_STACK.length) }])[0]).to.include(`has ${SWARM_SERVICE_NAME_MAX + 1} characters`);
    });

    it("fails tasks below the CPU and memory minimums that the mapping refuses up front", async () => {
        const template = created[Object.keys(created).find((n) => !isJob(created[n].workload))!].spec;
        const probe = async (suffix: string, limits: Json) => {
            const name = `${CONTRACT_STACK}-probe-${suffix}`;
            const spec = { Name: name, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: template.TaskTemplate.ContainerSpec.Image, Command: ["sleep", "60"] }, Resources: { Limits: limits }, RestartPolicy: { Condition: "none" } } };
            await docker.createService(spec);
            const task = await waitFor(`${name} to end`, async () => (await tasksOf(name)).find((t) => ["failed", "rejected", "running"].includes(t.Status.State)), 60_000);
            await docker.getService(name).remove();
            return `${task.Status.State}: ${task.Status.Err ?? ""}`;
        };
        expect(await probe("cpu", { NanoCPUs: 5_000_000 })).to.match(/^(failed|rejected)/);
        expect(() => cpuToNanoCpus("5m")).to.throw("below the Docker minimum");
        expect(await probe("memory", { MemoryBytes: 5 * 2 ** 20 })).to.match(/^(failed|rejected).*Minimum memory limit/);
        expect(() => memoryToBytes("5Mi")).to.throw("below the Docker minimum");
    });

    describe("updates of a service with more than one replica", () => {
        let name: string;
        let replicas: number;

        before(function () {
            const candidate = services().find(([, c]) => c.spec.Mode.Replicated.Replicas > 1);
            if (!candidate) throw new Error("no service with replicas > 1 in the local stack: set dockyard:workloads.replicas in Pulumi.local.yaml");
            [name] = candidate;
            replicas = candidate[1].spec.Mode.Replicated.Replicas;
        });

        it("rolls a changed env value out with no moment at zero running tasks", async () => {
            await converged(name, replicas);
            const current = await specOf(name);
            const spec = current.Spec;
            const env: string[] = spec.TaskTemplate.ContainerSpec.Env ?? [];
            spec.TaskTemplate.ContainerSpec.Env = [...env.filter((e) => !e.startsWith("CONTRACT_ROLL=")), "CONTRACT_ROLL=2"];
            let fewest = Number.MAX_SAFE_INTEGER;
            await docker.getService(name).update({ _query: { version: current.Version.Index }, _body: spec } as any);
            const done = await waitFor(
                `${name} update to finish`,
                async () => {
                    fewest = Math.min(fewest, (await runningTasks(name)).length);
                    const state = (await specOf(name)).UpdateStatus?.State;
                    return state === "completed" || state?.startsWith("rollback") || state === "paused" ? state : undefined;
                },
                300_000,
                200,
            );
            expect(done).to.equal("completed");
            console.log(`      fewest running tasks of ${name} during the update: ${fewest} of ${replicas}`);
            expect(fewest, "fewest running tasks during the update").to.be.greaterThan(0);
            await converged(name, replicas);
            const container = await docker.getContainer(await runningContainer(name)).inspect();
            expect(container.Config.Env).to.include("CONTRACT_ROLL=2");
        });

        it("rolls an update to a failing command back by itself to the previous spec", async () => {
            const current = await specOf(name);
            const previous = JSON.parse(JSON.stringify(current.Spec.TaskTemplate.ContainerSpec));
            const spec = current.Spec;
            spec.TaskTemplate.ContainerSpec.Command = ["sh", "-c", "echo failing on purpose; exit 3"];
            await docker.getService(name).update({ _query: { version: current.Version.Index }, _body: spec } as any);
            const state = await waitFor(
                `${name} to roll back`,
                async () => {
                    const s = (await specOf(name)).UpdateStatus?.State;
                    return s === "rollback_completed" || s === "rollback_paused" || s === "completed" || s === "paused" ? s : undefined;
                },
                300_000,
            );
            expect(state).to.equal("rollback_completed");
            const after = await specOf(name);
            expect(after.Spec.TaskTemplate.ContainerSpec.Command).to.deep.equal(previous.Command);
            expect(after.Spec.TaskTemplate.ContainerSpec.Env).to.deep.equal(previous.Env);
            await converged(name, replicas);
        });
    });
});
