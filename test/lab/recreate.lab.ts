/**
 * The Swarm lab's re-created stack (issue 13; issue 14 item 4). It destroys the whole swarm and
 * forms a new one, so it runs after every other scenario (test/lab/.mocharc.json lists it last) and
 * leaves the new swarm formed, with the same nodes, for anything run after it.
 */
import { expect } from "chai";
import * as path from "node:path";
import { collectedLogs, createNode, destroyNode, engine, execIn, readStore, STATE, updateStore, waitFor } from "./lab";
import { bootAll, createDeclaredParameters, ensureSwarm, figures, nodes, seconds, setUp, stack, swarmView, tally, trustRegistry } from "./world";

describe("Swarm lab: a re-created stack", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("a stack destroyed and re-created, with the old swarm's join parameters and an older stack's leftovers still in SSM and its key pending deletion, starts one new swarm (issue 14 item 4)", async () => {
        await ensureSwarm();
        const oldCluster = (await engine("m1").swarmInspect()).ID as string;
        const path = stack.joinPath;
        // As on EC2 a minute after the swarm formed: the leader's reaper has published every manager.
        const leader = (await swarmView("m1")).managers.find((m) => m.leader)!.host;
        const reaper = await execIn(leader, ["systemctl", "start", "dockyard-reaper.service"]);
        expect(reaper.status, reaper.stdout + reaper.stderr).to.equal(0);
        // `pulumi destroy`: every instance goes, and the stack's key is scheduled for deletion. The join
        // parameters stay behind, as a destroy cut short leaves them: the old swarm's tokens and its
        // managers' addresses, which are the addresses the new managers get. So does what the nodes
        // of an older dockyard published at the stack's path itself, which no destroy deletes.
        for (const node of nodes) destroyNode(node.name);
        const stale = updateStore((store) => {
            const old = store.kms[stack.kmsKeyAlias];
            store.kms[old.KeyId] = { KeyId: old.KeyId, KeyState: "PendingDeletion" };
            store.kms[stack.kmsKeyAlias] = { KeyId: `${old.KeyId}-recreated`, KeyState: "Enabled" };
            for (const name of Object.keys(store.instances)) store.instances[name].state = "terminated";
            const older = (name: string) => ({ ...store.parameters[`${path}/${name}`], Name: `${stack.parameterPath}/${name}` });
            for (const name of ["manager-token", "worker-token", "manager-addresses"]) store.parameters[`${stack.parameterPath}/${name}`] = older(name);
            store.parameters[`${stack.parameterPath}/join-address`] = { ...older("manager-addresses"), Name: `${stack.parameterPath}/join-address`, Value: nodes[0].ip };
            return Object.fromEntries(["manager-token", "worker-token", "manager-addresses"].map((name) => [name, store.parameters[`${path}/${name}`]]));
        });
        expect(stale["manager-addresses"].Value.split(" "), "the old swarm's published managers").to.have.length(3);

        // `pulumi up`: the parameters the stack declares come first, then the nodes boot.
        createDeclaredParameters();
        const started = Date.now();
        for (const node of nodes) createNode(node, trustRegistry);
        const booted = bootAll(nodes, 3000);
        booted.catch(() => undefined);
        await waitFor(
            "one new swarm of every node",
            async () => {
                const view = await swarmView("m1");
                const whole = view.clusterIds.length === 1 && view.ready.length === nodes.length && view.managers.filter((m) => m.reachability === "reachable").length === stack.managerUserData.length;
                if (!whole) throw new Error(JSON.stringify(view));
                return true;
            },
            180_000,
            2000,
        );
        await booted;
        figures["time to form the swarm of a re-created stack"] = seconds(started);
        const cluster = (await engine("m1").swarmInspect()).ID as string;
        expect(cluster, "a new swarm, not the old one").not.to.equal(oldCluster);
        const view = await swarmView("m1");
        expect(view.clusterIds).to.deep.equal([cluster]);
        expect(view.managers.filter((m) => m.leader).map((m) => m.host)).to.have.length(1);
        // Published again by this deployment, encrypted with its key.
        const store = readStore();
        for (const kind of ["manager", "worker"]) {
            const token = store.parameters[`${path}/${kind}-token`];
            expect(token.KeyId, `${kind}-token's key`).to.equal(store.kms[stack.kmsKeyAlias].KeyId);
            expect(token.Value, `${kind}-token`).not.to.equal(stale[`${kind}-token`].Value);
        }
    });

    // Last of the run: every log of every node that ran (destroyed ones are kept in collected/), the
    // units' output (the lab's journal, var-log/dylab-units.log), dockerd's, cloud-init's and the call record.
    it("no join token appears in any log the lab collected, of either swarm, destroyed nodes and the units' output included (issue 14 item 13)", async () => {
        await ensureSwarm();
        const { JoinTokens } = await engine("m1").swarmInspect();
        expect(JoinTokens.Worker).to.match(/^SWMTKN-1-/);
        const logs = collectedLogs();
        expect(logs.map((l) => path.basename(l.file))).to.include.members(["cloud-init-output.log", "dockerd.log", "calls.jsonl", "dylab-units.log"]);
        // Any swarm token at all (SWMTKN-1-<root CA digest>-<secret>), this swarm's or another's.
        const leaks = logs.filter((l) => /SWMTKN-1-[0-9a-z]+-[0-9a-z]+/.test(l.text) || l.text.includes(JoinTokens.Manager) || l.text.includes(JoinTokens.Worker));
        expect(leaks.map((l) => path.relative(STATE, l.file))).to.deep.equal([]);
    });
});
