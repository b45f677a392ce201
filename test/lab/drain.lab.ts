/**
 * The Swarm lab's scale-in scenario (issue 13, docs/lab.md): a worker the Auto Scaling group scales
 * in goes through the group's drain-and-leave termination hook (components/swarm/nodes.ts
 * initialLifecycleHooks) as on EC2. The group puts the instance in Terminating:Wait and IMDS then
 * says its target lifecycle state is Terminated (Amazon EC2 Auto Scaling User Guide, "Retrieve the
 * target lifecycle state through instance metadata"); the leader's reaper drains the node of an
 * instance in Terminating:Wait, the worker's dockyard-lifecycle waits for its tasks to go, leaves the
 * swarm and completes the hook with CONTINUE (API reference, CompleteLifecycleAction); the group then
 * terminates the instance and the reaper removes the node (components/swarm/cloudInit.ts
 * reaperScript, lifecycleScript).
 *
 * Timers do not fire by themselves in the lab (scripts/lab/fakes/systemctl): the scenario starts the
 * units as the timers would, in their order and number. dockyard-lifecycle.timer fires every 15 s and
 * dockyard-reaper.timer every 60 s, each OnUnitInactiveSec= (cloudInit.ts timerUnits), so the worker's
 * check sees the notice first and is still waiting when the reaper's one run drains the node; its
 * timer fires once more after the run, and the reaper's next run follows the termination. A
 * completion that fails (the fake's fault, a throttled call) is retried by the check's next run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { boot, calls, createNode, destroyNode, engine, execIn, killNode, readStore, setInstance, sleep, STATE, updateStore, waitFor } from "./lab";
import { registryAuth } from "./registry";
import { extraNode } from "./stack";
import { ensureSwarm, figures, images, nodes, seconds, setUp, stack, swarmView, tally, trustRegistry } from "./world";

/** How long the worker's check runs before the reaper's: under the 60 s a reaper run can be away, and over two of the check's 5 s polls. */
const LIFECYCLE_HEAD_START_MS = 12_000;

/** An option's value in a recorded call's arguments. */
const option = (args: readonly string[], name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
};

describe("Swarm lab: scale-in", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("a worker scaled in is drained through the lifecycle hook and its tasks move (issue 13)", async () => {
        await ensureSwarm();
        const m1 = engine("m1");
        const worker = extraNode("ws", 30, 2, stack.workerGroup);
        const service = "dylab-scale-in";
        const replicas = 2;
        expect(stack.lifecycleHook, "the worker group's termination hook").to.be.a("string");
        createNode(worker, trustRegistry);
        try {
            const result = await boot(worker.name, stack.workerUserData);
            expect(result.status, result.output.split("\n").slice(-20).join("\n")).to.equal(0);
            await waitFor(`${worker.name} ready in the swarm`, async () => ((await swarmView("m1")).ready.includes(worker.name) ? true : undefined), 60_000, 2000);
            const nodeId = ((await m1.listNodes({ filters: JSON.stringify({ name: [worker.name] }) })) as any[]).find((n) => n.Description?.Hostname === worker.name)!.ID as string;
            const leader = (await swarmView("m1")).managers.find((m) => m.leader)?.host;
            expect(leader, "the swarm's leader").to.be.a("string");

            // On the workers only, so the drained node's task has one place to go: the other worker.
            // The scheduler spreads a service's tasks over the nodes with the fewest of them (moby/swarmkit
            // manager/scheduler/nodeinfo.go ActiveTasksCountByService), so each worker runs one.
            await m1.createService(registryAuth(stack.registryHost), {
                Name: service,
                TaskTemplate: { ContainerSpec: { Image: Object.values(images)[0], Command: ["/bin/sleep", "3600"] }, Placement: { Constraints: ["node.role==worker"] } },
                Mode: { Replicated: { Replicas: replicas } },
            } as any);
            const tasks = async () => (await m1.listTasks({ filters: JSON.stringify({ service: [service] }) })) as any[];
            const running = async () => (await tasks()).filter((t) => t.Status?.State === "running" && t.DesiredState === "running");
            await waitFor(`${replicas} tasks of ${service} running, one on ${worker.name}`, async () => {
                const list = await running();
                return list.length === replicas && list.some((t) => t.NodeID === nodeId) ? true : undefined;
            });
            const before = calls().length;
            const runningAtNotice = (await running()).map((t) => t.ID as string);

            // The group scales in: the instance waits in Terminating:Wait for the hook.
            const notice = Date.now();
            setInstance(worker.name, { lifecycleState: "Terminating:Wait" });
            const lifecycleRun = execIn(worker.name, ["systemctl", "start", "dockyard-lifecycle.service"], 400_000);
            let lifecycleEnded = false;
            void lifecycleRun.then(() => (lifecycleEnded = true));
            await sleep(LIFECYCLE_HEAD_START_MS);
            expect(lifecycleEnded, "the worker's lifecycle check waits while its node still runs tasks: it had ended before the reaper drained the node").to.equal(false);

            const reaper = await execIn(leader!, ["systemctl", "start", "dockyard-reaper.service"]);
            expect(reaper.status, reaper.stdout + reaper.stderr).to.equal(0);
            expect(reaper.stdout).to.include(`draining node ${nodeId}: the worker group is terminating ${worker.instanceId}`);
            await waitFor(`${replicas} tasks of ${service} running on other nodes than ${worker.name}`, async () => {
                const list = await running();
                return list.length === replicas && list.every((t) => t.NodeID !== nodeId) ? true : undefined;
            }, 120_000, 500);
            figures["scale-in: from the termination notice to the tasks running elsewhere"] = seconds(notice);

            const lifecycle = await lifecycleRun;
            expect(lifecycle.status, lifecycle.stdout + lifecycle.stderr).to.equal(0);
            expect(lifecycle.stdout).to.include(`left the swarm and completed ${stack.lifecycleHook}`);
            expect((await engine(worker.name).info()).Swarm.LocalNodeState, `${worker.name}'s swarm state`).to.equal("inactive");

            // Drained before it left: its agent stopped each task and reported it shut down. A node that
            // leaves first stops its agent and then removes its task containers (moby/moby
            // daemon/cluster/swarm.go Leave), so its tasks would stay "running" in the managers' store.
            const moved = (await tasks()).filter((t) => t.NodeID === nodeId && runningAtNotice.includes(t.ID));
            expect(moved.map((t) => [t.DesiredState, t.Status?.State]), `${service}'s tasks that ran on ${worker.name}`).to.deep.equal([["shutdown", "shutdown"]]);
            const down = await waitFor(`${worker.name} down in the node list`, async () => {
                const node = (await m1.getNode(nodeId).inspect()) as any;
                return node.Status.State === "down" ? node : undefined;
            }, 60_000, 2000);
            expect(down.Spec.Availability, `${worker.name}'s availability`).to.equal("drain");

            // No task lost: every slot runs one task; the other worker's task ran on untouched, and the
            // one replacement, none failed or rejected, runs there too.
            const all = await tasks();
            const since = all.filter((t) => !runningAtNotice.includes(t.ID));
            expect(since.map((t) => [t.NodeID === nodeId ? worker.name : "elsewhere", t.DesiredState, t.Status?.State, t.Status?.Err ?? ""]), `${service}'s tasks created after the notice`).to.deep.equal([["elsewhere", "running", "running", ""]]);
            expect(all.filter((t) => runningAtNotice.includes(t.ID) && t.NodeID !== nodeId).map((t) => t.Status?.State), "the other worker's task").to.deep.equal(["running"]);
            expect((await running()).map((t) => t.Slot).sort(), "slots with a running task").to.deep.equal([1, 2]);

            // The hook is completed once, by the worker, for its own instance, with CONTINUE.
            const completions = calls().slice(before).filter((c) => c.tool === "aws" && c.operation === "complete-lifecycle-action");
            expect(completions.map((c) => ({ node: c.node, exit: c.exit, group: option(c.args, "--auto-scaling-group-name"), hook: option(c.args, "--lifecycle-hook-name"), instance: option(c.args, "--instance-id"), result: option(c.args, "--lifecycle-action-result") })), JSON.stringify(completions)).to.deep.equal([
                { node: worker.name, exit: 0, group: stack.workerGroup, hook: stack.lifecycleHook, instance: worker.instanceId, result: "CONTINUE" },
            ]);
            expect(readStore().instances[worker.name], "the instance after the hook").to.include({ lifecycleState: "Terminating:Proceed", lifecycleResult: "CONTINUE" });

            // Its timer fires again 15 s after the run: it has left, so it does nothing.
            const afterLeaving = calls().length;
            const again = await execIn(worker.name, ["systemctl", "start", "dockyard-lifecycle.service"]);
            expect(again.status, again.stdout + again.stderr).to.equal(0);
            expect(calls().slice(afterLeaving).filter((c) => c.tool === "aws"), "aws calls of the lifecycle check after the worker left").to.deep.equal([]);

            // The group terminates the instance; the reaper's next run removes the node it left behind.
            setInstance(worker.name, { lifecycleState: "Terminated", state: "terminated" });
            killNode(worker.name);
            const removal = await execIn(leader!, ["systemctl", "start", "dockyard-reaper.service"]);
            expect(removal.status, removal.stdout + removal.stderr).to.equal(0);
            expect(removal.stdout).to.include(`removed node ${nodeId}: its instance ${worker.instanceId} is gone`);
            expect(((await m1.listNodes()) as any[]).map((n) => n.ID), "the swarm's nodes").not.to.include(nodeId);
            expect((await running()).length, `${service}'s running tasks after the removal`).to.equal(replicas);
        } finally {
            await m1.getService(service).remove().catch(() => undefined);
            destroyNode(worker.name);
            updateStore((store) => {
                delete store.instances[worker.name];
            });
            for (const n of (await m1.listNodes({ filters: JSON.stringify({ name: [worker.name] }) })) as any[]) await m1.getNode(n.ID).remove({ force: true });
            await waitFor(`${service}'s containers to go`, async () => {
                const left = await Promise.all(nodes.map(async (n) => (await engine(n.name).listContainers({ filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`] }) })).length));
                return left.every((count) => count === 0) ? true : undefined;
            }, 60_000);
        }
    });

    it("a worker scaled in whose completion of the hook fails completes it on its lifecycle check's next run", async () => {
        await ensureSwarm();
        const m1 = engine("m1");
        const worker = extraNode("wt", 31, 1, stack.workerGroup);
        createNode(worker, trustRegistry);
        const fault = path.join(STATE, "faults", `${worker.name}-complete-lifecycle-action`);
        try {
            const result = await boot(worker.name, stack.workerUserData);
            expect(result.status, result.output.split("\n").slice(-20).join("\n")).to.equal(0);
            await waitFor(`${worker.name} ready in the swarm`, async () => ((await swarmView("m1")).ready.includes(worker.name) ? true : undefined), 60_000, 2000);
            const before = calls().length;
            fs.mkdirSync(path.dirname(fault), { recursive: true });
            fs.writeFileSync(fault, "");
            setInstance(worker.name, { lifecycleState: "Terminating:Wait" });

            // No task runs on it, so the check leaves at once; its one call to complete the hook is throttled.
            const first = await execIn(worker.name, ["systemctl", "start", "dockyard-lifecycle.service"]);
            expect(first.status, "a run whose completion failed fails, so systemd shows it").not.to.equal(0);
            expect(first.stderr).to.include("An error occurred (Throttling) when calling the CompleteLifecycleAction operation: Rate exceeded");
            expect((await engine(worker.name).info()).Swarm.LocalNodeState, `${worker.name}'s swarm state`).to.equal("inactive");

            // The timer fires again 15 s later; the instance still waits in Terminating:Wait.
            const second = await execIn(worker.name, ["systemctl", "start", "dockyard-lifecycle.service"]);
            expect(second.status, second.stdout + second.stderr).to.equal(0);
            expect(second.stdout, "the timer's next run").to.include(`left the swarm and completed ${stack.lifecycleHook}`);
            const completions = calls().slice(before).filter((c) => c.tool === "aws" && c.operation === "complete-lifecycle-action");
            expect(completions.map((c) => [c.node, c.exit, c.error ?? "", option(c.args, "--instance-id"), option(c.args, "--lifecycle-action-result")])).to.deep.equal([
                [worker.name, 254, "Throttling", worker.instanceId, "CONTINUE"],
                [worker.name, 0, "", worker.instanceId, "CONTINUE"],
            ]);
            expect(readStore().instances[worker.name], "the instance after the hook").to.include({ lifecycleState: "Terminating:Proceed", lifecycleResult: "CONTINUE" });
        } finally {
            fs.rmSync(fault, { force: true });
            destroyNode(worker.name);
            updateStore((store) => {
                delete store.instances[worker.name];
            });
            for (const n of (await m1.listNodes({ filters: JSON.stringify({ name: [worker.name] }) })) as any[]) await m1.getNode(n.ID).remove({ force: true });
        }
    });
});
