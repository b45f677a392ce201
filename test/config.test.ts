import { expect } from "chai";
import { ConfigError, parseStackConfig } from "../components/config";
import { stackConfig, stackConfigMap } from "./harness";

function problemsOf(stack: string, overrides: Record<string, unknown>): readonly string[] {
    try {
        parseStackConfig(stackConfigMap(stack, overrides).config, "dockyard", stack);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
}

describe("config", () => {
    it("loads the dev stack file: swarm, small and cheap", () => {
        const config = stackConfig("dev");
        expect(config.target).to.equal("swarm");
        expect(config.swarm.managers).to.equal(1);
        expect(config.network.natGateways).to.equal("none");
        expect(config.production).to.equal(false);
        expect(Object.isFrozen(config.swarm)).to.equal(true);
    });

    it("loads the prod stack file: eks, highly available", () => {
        const config = stackConfig("prod");
        expect(config.target).to.equal("eks");
        expect(config.network.azs).to.equal(3);
        expect(config.network.natGateways).to.equal("perAz");
        expect(config.production).to.equal(true);
        expect(config.workloads.replicas).to.deep.equal({ api: 3, web: 3 });
    });

    it("rejects an even number of managers with the exact message", () => {
        expect(problemsOf("dev", { "swarm.managers": 2 })).to.deep.equal([
            "dockyard:swarm.managers is 2; a swarm needs an odd number of managers: 1, 3 or 5",
        ]);
    });
});
