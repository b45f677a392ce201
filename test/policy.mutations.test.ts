import { expect } from "chai";
import { policies } from "../policy/rules";
import { formatResults, MutableStack, MUTATIONS, renderedResources, runMutations } from "./policyMutations";

describe("policy pack against mutated renders (test/policyMutations.ts)", function () {
    this.timeout(300_000);

    it("every mutation has a unique id and changes its stack's render", async () => {
        expect(new Set(MUTATIONS.map((m) => m.id)).size).to.equal(MUTATIONS.length);
        for (const mutation of MUTATIONS) {
            const original = await renderedResources(mutation.stack);
            const stack = new MutableStack(structuredClone(original));
            mutation.mutate(stack);
            expect(JSON.stringify(stack.resources), mutation.id).to.not.equal(JSON.stringify(original));
            expect(stack.resources.some((r) => r.type === mutation.target.type && r.name === mutation.target.name), `${mutation.id} target`).to.equal(true);
        }
    });

    it("catches every mutation with a mandatory finding that names the changed resource", async () => {
        const results = await runMutations(policies);
        const report = formatResults(results);
        console.log(`    ${report.split("\n").pop()}`);
        expect(
            results.filter((r) => !r.caught).map((r) => `${r.mutation.stack} ${r.mutation.id}: ${r.mutation.what}`),
            report,
        ).to.deep.equal([]);
    });
});
