/**
 * Swarm jobs on the lab's swarm (issue 13): the sample system's job `migrate`, its image pulled from
 * the lab's authenticated registry by the node Swarm places it on, its completion judged by the
 * program's own wait (components/swarm/jobs.ts) run against a real manager through a stand-in ssh.
 * The contract suite shows the same on one engine with a local image ("a job that changes").
 *
 * The lab has no Pulumi engine, so it changes the job as Pulumi would from the rendered stack: a
 * service whose options replace it on any change (`replaceOnChanges: ["*"]`, `deleteBeforeReplace`,
 * components/swarm/service.ts swarmServiceOptions) is removed and created again, as the Docker
 * provider's delete and create do (kreuzwerker/terraform-provider-docker
 * internal/provider/resource_docker_service_funcs.go deleteService: ServiceRemove); any other is
 * updated in place with the registry auth, as the provider's update sends it
 * (resourceDockerServiceUpdate, same file). A job's runs are counted on every node: each run is a
 * container labelled with the spec's digest (`JOB_SPEC_LABEL`).
 */
import { expect } from "chai";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { jobWaitScript } from "../../components/swarm/jobs";
import { JOB_MAX_RUNS, JOB_SPEC_LABEL, jobSpecDigest, swarmServiceName } from "../../components/swarm/service";
import { webPaths } from "../contract/declaration";
import { PROJECT_ROOT, RecordedResource } from "../harness";
import { engine, sleep, STATE, waitFor } from "./lab";
import { buildAndPush, registryAuth } from "./registry";
import { EngineService, LAB_STACK, labImageRef, labNetwork, labSecret, labService } from "./stack";
import { ensureSwarm, figures, images, nodes, seconds, setUp, stack, tally } from "./world";

type Json = Record<string, any>;

const SERVICE = swarmServiceName(LAB_STACK, "migrate");
/** A job's exit code when it fails, as a failing migration would. */
const FAILING_EXIT = 3;

/** A spec of the job as the lab deploys it, its digest, and the wait Pulumi would run for it. */
interface JobSpec {
    readonly service: EngineService;
    readonly digest: string;
    readonly wait: string;
}

/** One run of the job: a container of its service on a node. */
interface Run {
    readonly node: string;
    readonly image: string;
    readonly exit: number | undefined;
    readonly created: number;
}

describe("Swarm lab jobs", function () {
    this.timeout(900_000);

    let declared: RecordedResource & { rawInputs: Json };
    let waitResource: RecordedResource;
    let declaredImage: string;
    /** A second image of the job, pushed to the lab registry: another digest in the same repository. */
    let newImage: string;
    let ssh: string;
    const idMap: Record<string, string> = {};
    /** What the scenarios made or pulled, removed after them; `present` tells whether it is still there. */
    const made: { what: string; remove: () => Promise<unknown>; present: () => Promise<boolean> }[] = [];

    before(async () => {
        await setUp();
        await ensureSwarm();
        const m1 = engine("m1");
        declared = stack.services.find((s) => s.rawInputs.name === SERVICE) as typeof declared;
        expect(declared, `the stack's service ${SERVICE}`).not.to.equal(undefined);
        const found = stack.resources.find((r) => r.type === "command:local:Command" && r.name === `${declared.name}-complete`);
        expect(found, `the stack's wait for ${SERVICE}`).not.to.equal(undefined);
        waitResource = found!;
        declaredImage = declared.rawInputs.taskSpec.containerSpec.image;

        // The job's network and secrets, as the provider creates them before the service; kept if a scenario before left them.
        const network = stack.networks[0];
        const networkSpec = labNetwork(network.rawInputs as Json);
        const existingNetwork = (await m1.listNetworks({ filters: JSON.stringify({ name: [networkSpec.Name] }) })).find((n: any) => n.Name === networkSpec.Name);
        if (existingNetwork) idMap[`${network.name}-id`] = existingNetwork.Id;
        else {
            const createdNetwork = await m1.createNetwork(networkSpec as any);
            idMap[`${network.name}-id`] = createdNetwork.id;
            made.push({
                what: `network ${networkSpec.Name}`,
                // Removable once the agents have let go of the job's tasks.
                remove: () => waitFor(`${networkSpec.Name} removed`, () => createdNetwork.remove().then(() => true, () => undefined), 60_000, 2000),
                present: () => createdNetwork.inspect().then(() => true, () => false),
            });
        }
        const secretIds = (declared.rawInputs.taskSpec.containerSpec.secrets ?? []).map((s: Json) => s.secretId as string);
        for (const secret of stack.secrets.filter((s) => secretIds.includes(`${s.name}-id`))) {
            const spec = labSecret(secret.rawInputs as Json);
            const existing = (await m1.listSecrets({ filters: JSON.stringify({ name: [spec.Name] }) })).find((s: any) => s.Spec?.Name === spec.Name);
            if (existing) idMap[`${secret.name}-id`] = existing.ID;
            else {
                const createdSecret = await m1.createSecret(spec);
                idMap[`${secret.name}-id`] = createdSecret.id;
                made.push({ what: `secret ${spec.Name}`, remove: () => createdSecret.remove(), present: () => createdSecret.inspect().then(() => true, () => false) });
            }
        }

        // The new image: the lab's test image with one more file, so another digest; the builder's own tag is put back.
        const builder = engine("builder");
        const local = await builder.getImage("dylab-test-image:build").inspect();
        const ref = `${labImageRef(declaredImage, stack.registryHost)}-job-v2`;
        newImage = (await buildAndPush(builder, stack.registryHost, [ref], [...webPaths(stack.workloads), "/dylab-job-v2.html"]))[ref];
        await builder.getImage(local.Id).tag({ repo: "dylab-test-image", tag: "build" });
        await builder.getImage(ref).remove();
        expect(newImage, "the new image's digest").not.to.equal(images[declaredImage]);

        // What the nodes hold before, so that only what the jobs pulled is removed after.
        for (const node of nodes) {
            for (const image of [images[declaredImage], newImage]) {
                const held = () => engine(node.name).getImage(image).inspect().then(() => true, () => false);
                if (!(await held())) made.push({ what: `image ${image} on ${node.name}`, remove: () => engine(node.name).getImage(image).remove().catch(() => undefined), present: held });
            }
        }

        // The wait's ssh, replaced by a way into m1 that runs the remote command as its shell would (as the readiness gate's scenario does).
        ssh = fs.mkdtempSync(path.join(STATE, "jobs-"));
        fs.writeFileSync(path.join(ssh, "ssh"), `#!/bin/bash\nexec ${path.join(PROJECT_ROOT, "scripts", "lab", "node")} exec m1 bash -c "\${*: -1}"\n`, { mode: 0o755 });
    });

    afterEach(function () {
        tally(this.currentTest);
    });

    after(async () => {
        await removeJob();
        // Images first (a node pulled one only if a task ran there: no such image is no error), the network last.
        for (const thing of [...made].reverse()) await thing.remove().catch((err) => console.error(`    removing ${thing.what} after the jobs: ${err}`));
        if (ssh) fs.rmSync(ssh, { recursive: true, force: true });
        const left = [];
        for (const thing of made) if (await thing.present()) left.push(thing.what);
        figures["left behind by the job scenarios"] = left.join(", ") || "nothing";
    });

    /** The job as declared: the program's own digest (its task label) and the rendered wait, exactly what Pulumi runs. */
    function declaredJob(): JobSpec {
        const service = labService(declared.rawInputs, stack.workloads, idMap, images);
        return { service, digest: service.spec.TaskTemplate.ContainerSpec.Labels[JOB_SPEC_LABEL], wait: String(waitResource.rawInputs.create) };
    }

    /** How a changed job's command differs from the lab's stand-in for the declared one. */
    interface CommandChange {
        /** Ends with `exit <code>`, as a failed migration does. */
        readonly failing?: boolean;
        /** Runs this long before it ends, as a real migration does. */
        readonly takesSeconds?: number;
    }

    /** The declared spec's lab stand-in command, changed. */
    const standInCommand = (service: EngineService, change: CommandChange) => {
        const [shell, flag, script] = service.spec.TaskTemplate.ContainerSpec.Command as string[];
        return [shell, flag, `${change.takesSeconds ? `sleep ${change.takesSeconds}; ` : ""}${script}${change.failing ? `; exit ${FAILING_EXIT}` : ""}`];
    };

    /**
     * The job with its declared spec changed: another image, or another command. Its digest is the
     * program's (`jobSpecDigest`) over the changed task spec, and its wait the program's script.
     */
    function changedJob(change: CommandChange & { image?: string }): JobSpec {
        const inputs = structuredClone(declared.rawInputs);
        const container = inputs.taskSpec.containerSpec;
        delete container.labels;
        if (change.image) container.image = change.image;
        const command = change.failing || change.takesSeconds ? standInCommand(labService(declared.rawInputs, stack.workloads, idMap, images), change) : undefined;
        if (command) container.commands = command;
        const digest = jobSpecDigest(inputs.taskSpec);
        container.labels = [{ label: JOB_SPEC_LABEL, value: digest }];
        const service = labService(inputs, stack.workloads, idMap, { ...images, ...(change.image ? { [change.image]: change.image } : {}) });
        // labService puts the lab's stand-in in place of any declared command; a changed one is the lab's own.
        if (command) service.spec.TaskTemplate.ContainerSpec.Command = command;
        const wait = jobWaitScript({ serviceName: SERVICE, specDigest: digest, shell: { sshTarget: "ec2-user@m1", sshOptions: [] }, maxRuns: JOB_MAX_RUNS, timeoutSeconds: 300, pollSeconds: 2 });
        return { service, digest, wait };
    }

    /** Deploys the job's spec as Pulumi would from the rendered options of its service (see the file comment). */
    async function deploy(job: JobSpec): Promise<void> {
        const m1 = engine("m1");
        const auth = registryAuth(stack.registryHost);
        const existing = await jobService();
        const replaced = declared.options.replaceOnChanges.includes("*");
        if (existing && !replaced) {
            await m1.getService(existing.ID).update(auth, { _query: { version: existing.Version.Index }, _body: job.service.spec } as any);
            return;
        }
        if (existing && declared.options.deleteBeforeReplace) await m1.getService(existing.ID).remove();
        await m1.createService(auth, job.service.spec as any);
        if (existing && !declared.options.deleteBeforeReplace) await m1.getService(existing.ID).remove();
    }

    const jobService = async (): Promise<any> => (await engine("m1").listServices({ filters: JSON.stringify({ name: [SERVICE] }) })).find((s: any) => s.Spec?.Name === SERVICE);

    /** Removes the job's service and waits until no node holds a container of it, so runs counted later are the next scenario's. */
    async function removeJob(): Promise<void> {
        const existing = await jobService();
        if (existing) await engine("m1").getService(existing.ID).remove();
        await waitFor(`the containers of ${SERVICE} to go from every node`, async () => ((await runsOf()).length === 0 ? true : undefined), 60_000, 2000);
    }

    /** Runs the wait as Pulumi's local command does (`/bin/bash -c`), with the stand-in ssh first on PATH. */
    const runWait = (script: string): SpawnSyncReturns<string> =>
        spawnSync("/bin/bash", ["-c", script], { encoding: "utf8", env: { ...process.env, DYLAB_STATE: STATE, PATH: `${ssh}:${process.env.PATH}` }, timeout: 360_000 });

    /** Every run of the job on any node (of one spec, created at or after `since` in Unix seconds). */
    async function runsOf(digest?: string, since = 0): Promise<Run[]> {
        const labels = [`com.docker.swarm.service.name=${SERVICE}`, ...(digest ? [`${JOB_SPEC_LABEL}=${digest}`] : [])];
        const runs: Run[] = [];
        for (const node of nodes) {
            for (const c of await engine(node.name).listContainers({ all: true, filters: JSON.stringify({ label: labels }) })) {
                const exit = /^Exited \((\d+)\)/.exec(c.Status)?.[1];
                if (c.Created >= since) runs.push({ node: node.name, image: c.Image, exit: exit === undefined ? undefined : Number(exit), created: c.Created });
            }
        }
        return runs;
    }

    /** The states of the job's tasks of one spec, as the manager keeps them. */
    const taskStates = async (digest: string): Promise<string[]> =>
        ((await engine("m1").listTasks({ filters: JSON.stringify({ service: [SERVICE] }) })) as any[]).filter((t) => t.Spec?.ContainerSpec?.Labels?.[JOB_SPEC_LABEL] === digest).map((t) => t.Status?.State);

    const completed = (job: JobSpec, wait: SpawnSyncReturns<string>) => {
        expect(wait.status, `the wait for spec ${job.digest}: ${wait.stdout}${wait.stderr}${wait.error ?? ""}`).to.equal(0);
        expect(wait.stdout).to.equal(`job ${SERVICE} completed (spec ${job.digest})\n`);
    };

    it("a job changed to a new image, pulled from the registry, runs exactly once, and the old spec does not run again", async () => {
        await removeJob();
        const first = declaredJob();
        await deploy(first);
        completed(first, runWait(first.wait));
        expect((await runsOf(first.digest)).map((r) => [r.image, r.exit]), "runs of the declared spec").to.deep.equal([[images[declaredImage], 0]]);

        const changed = changedJob({ image: newImage });
        expect(changed.digest, "the changed spec's digest").not.to.equal(first.digest);
        const started = Date.now();
        const changedAt = Math.floor(started / 1000);
        await deploy(changed);
        completed(changed, runWait(changed.wait));
        figures["job changed to a new image, from the change to its wait passing"] = seconds(started);
        // Longer than the 10 s monitor window in which swarmkit's updater counts a completed task as
        // a failure and rolls a job updated with `rollback` back, to run the old spec again
        // (moby/swarmkit manager/orchestrator/update/updater.go; the jobs' update before e05e767).
        await sleep(15_000);
        expect(await runsOf(first.digest, changedAt), "runs of the old spec since the change").to.deep.equal([]);
        expect((await runsOf(changed.digest)).map((r) => [r.image, r.exit]), "runs of the new spec on the swarm's nodes").to.deep.equal([[newImage, 0]]);
        expect(await taskStates(changed.digest), "the new spec's tasks").to.deep.equal(["complete"]);
        const service = await engine("m1").getService(SERVICE).inspect();
        expect(service.Spec.TaskTemplate.ContainerSpec.Image, "the deployed image").to.equal(newImage);
        expect(service.UpdateStatus, "an update of the job's service, which is replaced instead").to.equal(undefined);
    });

    it(`a job changed to a command that fails fails its wait after ${JOB_MAX_RUNS} runs, as its restart policy allows, and runs no more`, async () => {
        await removeJob();
        const first = declaredJob();
        await deploy(first);
        completed(first, runWait(first.wait));

        const failing = changedJob({ failing: true });
        await deploy(failing);
        const failed = runWait(failing.wait);
        expect(failed.status, `the wait for the failing spec ${failing.digest}: ${failed.stdout}${failed.stderr}${failed.error ?? ""}`).to.equal(1);
        expect(failed.stderr).to.include(`dockyard: job ${SERVICE} failed ${JOB_MAX_RUNS} times (spec ${failing.digest}); its last logs:`);
        // The failed runs' output, read on a manager from the node that ran them although the nodes log to
        // awslogs: the engine keeps a local cache for drivers that cannot read (dual logging,
        // docs.docker.com/engine/logging/dual-logging/).
        const ranLine = new RegExp(`^${SERVICE}\\.1\\.\\w+@\\S+ +\\| job migrate ran$`);
        expect(failed.stderr.split("\n").filter((line) => ranLine.test(line)), `the failed runs' logs in: ${failed.stderr}`).not.to.deep.equal([]);
        // Past the restart delay (5 s, service.ts swarmRestartPolicy): a fourth run would have started.
        await sleep(12_000);
        expect((await runsOf(failing.digest)).map((r) => r.exit), "exit codes of the failing spec's runs on the swarm's nodes").to.deep.equal(Array(JOB_MAX_RUNS).fill(FAILING_EXIT));
        expect(await taskStates(failing.digest), "the failing spec's tasks").to.deep.equal(Array(JOB_MAX_RUNS).fill("failed"));
    });

    it("a fixed job after a failed one runs once and passes its wait: the failed spec's runs do not count", async () => {
        await removeJob();
        const failing = changedJob({ failing: true });
        await deploy(failing);
        const failed = runWait(failing.wait);
        expect(failed.status, failed.stdout + failed.stderr).to.equal(1);

        // A fix that takes a few seconds, as a migration does: the wait polls while it runs.
        const fixed = changedJob({ image: newImage, takesSeconds: 6 });
        await deploy(fixed);
        completed(fixed, runWait(fixed.wait));
        expect((await runsOf(fixed.digest)).map((r) => [r.image, r.exit]), "runs of the fixed spec on the swarm's nodes").to.deep.equal([[newImage, 0]]);
    });

    it("the workload after the job (api) depends on the job's wait, and that very wait fails on the swarm while the job fails", async () => {
        // (1) The rendered stack: api's service depends on migrate's wait, the command Pulumi runs for
        // migrate's deployed spec. When that command fails, Pulumi does not update api: the engine
        // cancels the deployment at a failed step (pulumi/pulumi pkg/resource/deploy/step_executor.go
        // cancelDueToError), and with --continue-on-error it skips every step that depends on a
        // failed one (pkg/resource/deploy/deployment_executor.go handleSingleEvent, doesStepDependOn).
        const api = stack.services.find((s) => s.rawInputs.name === swarmServiceName(LAB_STACK, "api"));
        expect(api, "the stack's api service").not.to.equal(undefined);
        expect(api!.dependencies, `what ${api!.name} waits for`).to.include(waitResource.name);
        expect(waitResource.dependencies, `what ${waitResource.name} waits for`).to.include(declared.name);
        const job = declaredJob();
        expect((waitResource.rawInputs.triggers as unknown[])[0], "the wait's trigger").to.equal(job.digest);

        // (2) The same wait, against the real swarm, while migrate's declared spec fails as a failed migration does.
        await removeJob();
        const failingRun: JobSpec = { ...job, service: { ...job.service, spec: structuredClone(job.service.spec) } };
        failingRun.service.spec.TaskTemplate.ContainerSpec.Command = standInCommand(job.service, { failing: true });
        await deploy(failingRun);
        const failed = runWait(job.wait);
        expect(failed.status, `the rendered wait: ${failed.stdout}${failed.stderr}${failed.error ?? ""}`).to.equal(1);
        expect(failed.stderr).to.include(`dockyard: job ${SERVICE} failed ${JOB_MAX_RUNS} times (spec ${job.digest})`);
    });
});
