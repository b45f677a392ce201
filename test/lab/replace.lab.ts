/**
 * Issue 13's scenario "a manager is killed and its replacement joins; quorum holds throughout", on
 * issue 14's manager paths. On EC2 a manager is an `aws.ec2.Instance` (components/swarm/nodes.ts):
 * when one dies, the next `up` launches a new instance from the same user data (its index's), with
 * a new instance id and a new private address, and EC2 reports the dead one `terminated`. The
 * leader's reaper (components/swarm/cloudInit.ts) then publishes the live managers' addresses and
 * demotes and removes the node whose instance is gone.
 *
 * The replacement keeps the dead manager's lab name (m1, m2), and the world's `nodes` entry takes
 * its address and instance id: it fills the same slot of the stack (the same `-manager-<i>`
 * resource), and the other scenarios reach the swarm through "m1" and count managers from `nodes`,
 * so they run unchanged after this one. The dead instance stays in the store under its instance id,
 * terminated, as DescribeInstances shows a terminated instance for about an hour (EC2 API
 * reference, DescribeInstances: "Terminated instances remain visible after termination").
 *
 * Timers do not fire by themselves in the lab (scripts/lab/fakes/systemctl): the scenario fires the
 * leader's reaper where its timer (every 60 s, from 120 s after boot) would have run.
 */
import { expect } from "chai";
import * as path from "node:path";
import Docker from "dockerode";
import { boot, calls, createNode, destroyNode, engine, Exec, execIn, killNode, nodeDir, NodeSpec, readStore, sleep, updateStore, waitFor } from "./lab";
import { extraNode } from "./stack";
import { ensureSwarm, figures, nodes, removeExtraNode, seconds, setUp, stack, swarmView, tally, trustRegistry } from "./world";

/**
 * How long a swarm may have no leader after its leader dies. Swarm's raft ticks every second with
 * ElectionTick 10 (moby/swarmkit manager/state/raft/raft.go DefaultNodeConfig, DefaultRaftConfig;
 * TickInterval defaults to time.Second), and etcd raft draws each election timeout from
 * [ElectionTick, 2 × ElectionTick) ticks: a new leader within 20 s. The bound adds a margin for a
 * split vote and for the polls' own granularity: a manager without a leader does not answer the node
 * list at all, so each poll of the election waits out POLL_TIMEOUT_MS (in the lab the first answer
 * came 17 s after the leader's death).
 */
const ELECTION_BOUND_MS = 30_000;
/** The poll's own client timeout: a manager without a leader answers at once, but no poll may hang the record. */
const POLL_TIMEOUT_MS = 5_000;

/** One `docker node ls` (the Engine API's node list) from a surviving manager. */
interface Poll {
    readonly at: number;
    readonly phase: string;
    /** The leader's node id, when the manager answered and named one. */
    readonly leader?: string;
    readonly reachableManagers?: number;
    readonly error?: string;
}

/** Polls a surviving manager's node list until stopped: the record of whether quorum held. */
class QuorumWatch {
    readonly polls: Poll[] = [];
    phase = "steady state";
    private running = true;
    private readonly client: Docker;
    private readonly loop: Promise<void>;

    constructor(readonly from: string, everyMs = 500) {
        this.client = new Docker({ socketPath: path.join(nodeDir(from), "run", "docker.sock"), timeout: POLL_TIMEOUT_MS });
        this.loop = this.run(everyMs);
    }

    private async run(everyMs: number): Promise<void> {
        while (this.running) {
            const at = Date.now();
            const phase = this.phase;
            try {
                const managers = (await this.client.listNodes()).filter((n: any) => n.ManagerStatus);
                this.polls.push({
                    at,
                    phase,
                    leader: managers.find((n: any) => n.ManagerStatus.Leader)?.ID,
                    reachableManagers: managers.filter((n: any) => n.ManagerStatus.Reachability === "reachable").length,
                });
            } catch (err) {
                this.polls.push({ at, phase, error: String((err as Error)?.message ?? err).split("\n")[0] });
            }
            await sleep(everyMs);
        }
    }

    async stop(): Promise<Poll[]> {
        this.running = false;
        await this.loop;
        return this.polls;
    }
}

/** The polls as runs of equal answers, for the log and for assertion messages. */
function pollSummary(polls: readonly Poll[], since: number, hostOf: Record<string, string>): string {
    const runs: string[] = [];
    let start = 0;
    const key = (p: Poll) => `${p.phase}|${p.error ?? `leader ${hostOf[p.leader ?? ""] ?? p.leader ?? "none"}, ${p.reachableManagers} managers reachable`}`;
    for (let i = 1; i <= polls.length; i++) {
        if (i < polls.length && key(polls[i]) === key(polls[start])) continue;
        const [phase, answer] = key(polls[start]).split("|");
        const t = (p: Poll) => ((p.at - since) / 1000).toFixed(1);
        runs.push(`${phase}: ${i - start} polls, ${t(polls[start])}..${t(polls[i - 1])} s: ${answer}`);
        start = i;
    }
    return runs.join("\n");
}

/**
 * What breaks "quorum held": a poll without an answer or a leader anywhere except the election
 * that follows the death of the leader itself (bounded by ELECTION_BOUND_MS); fewer than 2 managers
 * reachable (a majority of 3); the dead manager leading again; or a gap in the record.
 */
function quorumProblems(polls: readonly Poll[], killedAt: number, deadId: string, deadLed: boolean): string[] {
    const problems: string[] = [];
    const answered = (p: Poll) => !p.error && p.leader !== undefined && (p.reachableManagers ?? 0) >= 2;
    const healthy = (p: Poll) => answered(p) && p.leader !== deadId;
    const before = polls.filter((p) => p.at < killedAt);
    if (before.length === 0 || !before.every(answered)) problems.push("the swarm had no quorum before the kill");
    const elected = polls.findIndex((p) => p.at >= killedAt && healthy(p));
    if (elected < 0) return [...problems, "no poll after the kill found a live leader"];
    const window = polls.slice(polls.indexOf(before[before.length - 1]) + 1, elected);
    if (!deadLed && window.some((p) => !healthy(p))) problems.push(`the dead manager did not lead, yet ${window.filter((p) => !healthy(p)).length} polls after its death found no live leader`);
    if (polls[elected].at - killedAt > ELECTION_BOUND_MS) problems.push(`no live leader for ${polls[elected].at - killedAt} ms after the kill (raft elects within ${ELECTION_BOUND_MS} ms)`);
    const later = polls.slice(elected).filter((p) => !healthy(p));
    if (later.length > 0) problems.push(`${later.length} polls after the election found no quorum, first: ${JSON.stringify(later[0])}`);
    for (let i = 1; i < polls.length; i++) {
        if (polls[i].at - polls[i - 1].at > POLL_TIMEOUT_MS + 2000) problems.push(`no poll between ${polls[i - 1].at - killedAt} and ${polls[i].at - killedAt} ms after the kill`);
    }
    return problems;
}

const instanceIdOf = (n: any): string | undefined => n.Description?.Engine?.Labels?.["dockyard.instance-id"];
const managersIn = async (from: string) => (await engine(from).listNodes()).filter((n: any) => n.ManagerStatus);
const leaderIn = async (from: string) => (await managersIn(from)).find((n: any) => n.ManagerStatus.Leader)?.Description?.Hostname as string | undefined;
const fireReaper = (on: string): Promise<Exec> => execIn(on, ["systemctl", "start", "dockyard-reaper.service"]);
const publishedAddresses = () => readStore().parameters[`${stack.joinPath}/manager-addresses`]?.Value;
/** The live managers' addresses as the reaper publishes them: `sort`ed in the C locale (the node's environment sets none), space-separated. */
const liveManagerAddresses = () => nodes.filter((n) => !n.group).map((n) => n.ip).sort().join(" ");
const lastLines = (text: string, count = 25) => text.split("\n").slice(-count).join("\n");

/**
 * Kills manager `name`, terminates its instance, and boots its replacement from the same user data;
 * the leader's reaper runs after the replacement joined, or (`reaperFirst`) before it boots too.
 * Asserts the replacement is a reachable manager, the dead node is demoted and gone from the node
 * list and from raft, the published addresses are the live managers', a worker joins through them,
 * and quorum held throughout.
 */
async function replaceManager(name: string, reaperFirst: boolean): Promise<void> {
    await ensureSwarm();
    const slot = nodes.findIndex((n) => n.name === name);
    const dead = nodes[slot];
    const watchFrom = nodes.find((n) => !n.group && n.name !== name)!.name;
    const managerCount = stack.managerUserData.length;

    const steady = await managersIn(watchFrom);
    expect(steady.map((n: any) => n.ManagerStatus.Reachability), "the managers before the kill").to.deep.equal(Array(managerCount).fill("reachable"));
    const deadNode = steady.find((n: any) => instanceIdOf(n) === dead.instanceId);
    expect(deadNode, `the swarm's node for ${name} (${dead.instanceId})`).not.to.equal(undefined);
    const deadLed = deadNode.ManagerStatus.Leader === true;
    const hostOf: Record<string, string> = Object.fromEntries(steady.map((n: any) => [n.ID, n.Description.Hostname]));
    // The steady state on EC2: the leader's reaper has published every manager's address.
    const published = await fireReaper((await leaderIn(watchFrom))!);
    expect(published.status, published.stdout + published.stderr).to.equal(0);
    expect(publishedAddresses(), "manager-addresses before the kill").to.equal(liveManagerAddresses());

    const watch = new QuorumWatch(watchFrom);
    let worker: string | undefined;
    const killedAt = Date.now() + 2000;
    try {
        await sleep(killedAt - Date.now());
        watch.phase = `${name} killed`;
        killNode(name);
        updateStore((store) => {
            store.instances[dead.instanceId] = { ...store.instances[name], state: "terminated" };
            delete store.instances[name];
        });
        // A terminated instance's address answers nothing: no refused connections, only timeouts.
        destroyNode(name);
        await waitFor(`a live leader after ${name}'s death (${deadLed ? "it led" : "it did not lead"})`, async () => (watch.polls.some((p) => p.at >= killedAt && !p.error && p.leader && p.leader !== deadNode.ID) ? true : undefined), 60_000, 500);

        const reap = async (expectRemoval: boolean) => {
            watch.phase = "reaper";
            if (expectRemoval) {
                // The reaper removes only a node that is down: after a leadership change a dead node is "unknown" for
                // 5 s × 3 × 2 (moby/swarmkit manager/dispatcher/dispatcher.go DefaultHeartBeatPeriod and
                // defaultGracePeriodMultiplier, nodes.go AddUnknown), then down.
                await waitFor(`the dead ${name} (${deadNode.ID}) down`, async () => ((await engine(watchFrom).getNode(deadNode.ID).inspect()).Status.State === "down" ? true : undefined), 120_000, 1000);
            }
            const leader = (await leaderIn(watchFrom))!;
            const callsBefore = calls().length;
            const run = await fireReaper(leader);
            const output = run.stdout + run.stderr;
            expect(run.status, output).to.equal(0);
            if (expectRemoval) {
                expect((await engine(watchFrom).listNodes()).map((n: any) => n.ID), `the node list after the reaper ran:\n${output}`).not.to.include(deadNode.ID);
                // docker/cli cli/command/node/demote.go prints "Manager <node> demoted in the swarm."
                expect(run.stdout, output).to.include(`Manager ${deadNode.ID} demoted in the swarm.`);
                expect(run.stdout, output).to.include(`removed node ${deadNode.ID}: its instance ${dead.instanceId} is gone`);
                const asked = calls().slice(callsBefore).filter((c) => c.node === leader && c.operation === "describe-instances" && c.args.includes(dead.instanceId));
                expect(asked.map((c) => c.exit), "the reaper's DescribeInstances of the dead instance, which EC2 still shows terminated").to.deep.equal([0]);
            }
        };
        if (reaperFirst) {
            await reap(true);
            expect(publishedAddresses(), "manager-addresses once the dead manager is removed").to.equal(nodes.filter((n) => !n.group && n.name !== name).map((n) => n.ip).sort().join(" "));
        }

        watch.phase = "replacement boots";
        const zone = "abc".indexOf(dead.az.slice(-1));
        // A new instance: a new id and the next free address in the same AZ, as EC2 gives a new launch.
        const replacement: NodeSpec = { ...extraNode(name, 100 + slot, zone), instanceId: `${dead.instanceId}r` };
        createNode(replacement, trustRegistry);
        nodes[slot] = replacement;
        const booting = Date.now();
        const result = await boot(name, stack.managerUserData[slot]);
        expect(result.status, lastLines(result.output)).to.equal(0);
        const joined = await waitFor(`${name}'s replacement (${replacement.instanceId}) a reachable manager of the swarm; its bootstrap's last lines:\n${lastLines(result.output, 12)}\n`, async () => {
            const node = (await managersIn(watchFrom)).find((n: any) => instanceIdOf(n) === replacement.instanceId);
            return node?.ManagerStatus.Reachability === "reachable" ? node : undefined;
        }, 120_000);
        if (slot === 0) expect(result.output, lastLines(result.output)).to.include("found parameters of an existing swarm; joining it instead of starting a second one");
        expect(result.output, lastLines(result.output)).to.match(/joined the swarm through \S+ as a manager/);
        expect(result.output, lastLines(result.output)).not.to.include("started a new swarm");
        hostOf[joined.ID] = `${name} (replacement)`;
        figures[`time for a replacement manager to join (${name}${reaperFirst ? ", after the reaper removed it" : ", before the reaper runs"})`] = seconds(booting);

        await reap(!reaperFirst);

        const managers = await managersIn(watchFrom);
        expect(managers.map((n: any) => [n.Description.Hostname, instanceIdOf(n), n.ManagerStatus.Reachability]).sort(), "the managers after the reaper").to.deep.equal(
            nodes.filter((n) => !n.group).map((n) => [n.name, n.instanceId, "reachable"]).sort(),
        );
        expect(managers.filter((n: any) => n.ManagerStatus.Leader), "leaders").to.have.length(1);
        expect((await engine(watchFrom).listNodes()).map((n: any) => n.ID), "the node list").not.to.include(deadNode.ID);
        expect((await swarmView(watchFrom)).clusterIds, "cluster ids the managers report").to.have.length(1);
        expect(publishedAddresses(), "manager-addresses after the reaper").to.equal(liveManagerAddresses());
        // Raft's members, as the dispatcher gives them to every agent (moby/swarmkit manager/dispatcher/dispatcher.go
        // getWeightedPeers; agent/agent.go handleSessionMessage drops the others) and `docker info` shows them
        // (moby/moby daemon/cluster/swarm.go Info): the dead manager is out of raft, not only out of the node list.
        const members = nodes.filter((n) => !n.group).map((n) => `${n.ip}:2377`).sort();
        await waitFor(`w1's remote managers ${members.join(" ")}`, async () => {
            const seen = ((await engine("w1").info()).Swarm.RemoteManagers ?? []).map((p: any) => p.Addr as string).sort();
            if (JSON.stringify(seen) !== JSON.stringify(members)) throw new Error(seen.join(" "));
            return true;
        }, 60_000);

        // A worker launched now joins through the published addresses, the replacement's among them.
        watch.phase = "worker joins";
        worker = "w4";
        createNode(extraNode(worker, 4, 1, stack.workerGroup), trustRegistry);
        const workerBoot = await boot(worker, stack.workerUserData);
        expect(workerBoot.status, lastLines(workerBoot.output)).to.equal(0);
        expect(workerBoot.output, lastLines(workerBoot.output)).to.include(`joined the swarm through ${publishedAddresses()!.split(" ")[0]} as a worker`);
        expect(workerBoot.output, lastLines(workerBoot.output)).not.to.include("could not join through");
        await waitFor(`${worker} ready in the swarm`, async () => ((await swarmView(watchFrom)).ready.includes(worker!) ? true : undefined), 60_000, 2000);

        const polls = await watch.stop();
        const summary = pollSummary(polls, killedAt, hostOf);
        console.log(`      quorum polls from ${watchFrom} (seconds after the kill of ${name}):\n${summary.replace(/^/gm, "        ")}`);
        expect(new Set(polls.map((p) => p.phase)), "the phases the polls cover").to.have.keys(["steady state", `${name} killed`, "reaper", "replacement boots", "worker joins"]);
        expect(quorumProblems(polls, killedAt, deadNode.ID, deadLed), summary).to.deep.equal([]);
        const elected = polls.find((p) => p.at >= killedAt && !p.error && p.leader && p.leader !== deadNode.ID)!;
        figures[`no live leader after ${name}'s death (${deadLed ? "it led" : "it did not lead"})`] = `${((elected.at - killedAt) / 1000).toFixed(1)} s; then ${polls.filter((p) => p.at > elected.at).length} polls, every one with a leader`;
    } finally {
        await watch.stop();
        if (worker) await removeExtraNode(worker);
    }
}

describe("Swarm lab: a manager's replacement", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("a manager is killed and its replacement joins; quorum holds throughout: the first manager, whose replacement joins before the reaper removes it (issue 13, issue 14's first-manager path)", async () => {
        await replaceManager("m1", false);
    });

    it("a manager is killed and its replacement joins; quorum holds throughout: another manager, which the reaper removes before its replacement boots (issue 13, issue 14's manager path)", async () => {
        await replaceManager("m2", true);
    });
});
