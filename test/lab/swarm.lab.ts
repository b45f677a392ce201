/**
 * The Swarm lab's scenarios that pass on main (issue 13; docs/lab.md says how to run one alone and
 * how to add one). Run as root through `npm run test:lab` (scripts/lab/run cleans up on exit and
 * interrupt). Scenarios that wait for a fix of issue 14 live in pending.lab.ts until it lands.
 */
import { expect } from "chai";
import { formSwarm, nodes, setUp, swarmView, tally } from "./world";

describe("Swarm lab", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("three managers and a worker form one swarm from a cold start, booting in reverse order", async () => {
        // Worker first, the first manager last: every other node must wait for it, not fail.
        await formSwarm([...nodes].reverse());
        const view = await swarmView("m1");
        expect(view.clusterIds, "cluster ids the nodes report").to.have.length(1);
        expect(view.ready.sort()).to.deep.equal(nodes.map((n) => n.name).sort());
        expect(view.managers.filter((m) => m.leader), "leaders").to.have.length(1);
    });
});
