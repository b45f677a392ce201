import { expect } from "chai";
import { validateWorkloads } from "../components/workload";
import { countDifferences, linearity, measure, Measurement, syntheticSpecs, TARGETS } from "../scripts/bench";

const m = (workloads: number, cpuSeconds: number, customByType: Record<string, number> = {}, variant: "bare" | "dockyard" = "bare"): Measurement => ({
    target: "swarm",
    variant,
    workloads,
    seconds: cpuSeconds,
    cpuSeconds,
    maxRssMb: 100,
    resources: 0,
    customByType,
});

describe("bench", () => {
    it("generates valid, distinct synthetic workloads", () => {
        const specs = syntheticSpecs(12);
        expect(validateWorkloads(specs)).to.deep.equal([]);
        expect(new Set(specs.map((s) => s.name)).size).to.equal(12);
    });

    for (const target of TARGETS) {
        it(`declares the same custom resources bare as through dockyard on ${target}`, async () => {
            const [dockyard, bare] = [await measure(target, "dockyard", 3), await measure(target, "bare", 3)];
            expect(countDifferences(dockyard, bare)).to.deep.equal([]);
            expect(Object.values(bare.customByType).reduce((a, b) => a + b, 0)).to.be.greaterThan(3 * 2);
        });

        it(`runs the whole stack with synthetic workloads on ${target}, adding the stack's fixed resources to theirs`, async () => {
            const [stack, bare] = [await measure(target, "stack", 2), await measure(target, "bare", 2)];
            for (const [type, count] of Object.entries(bare.customByType)) expect(stack.customByType[type] ?? 0, type).to.be.at.least(count);
            expect(Object.keys(stack.customByType).some((t) => t.startsWith("aws:"))).to.equal(true);
        });
    }

    it("names the types whose counts differ", () => {
        expect(countDifferences(m(1, 1, { a: 1, b: 2 }, "dockyard"), m(1, 1, { a: 1, c: 1 }))).to.deep.equal(["b: dockyard 2, bare 0", "c: dockyard 0, bare 1"]);
    });

    it("compares CPU time per workload at the two largest sizes", () => {
        expect(linearity([m(10, 1), m(100, 2), m(500, 10)])).to.be.closeTo(1, 1e-9);
        expect(linearity([m(500, 50), m(100, 2), m(10, 1)])).to.be.closeTo(5, 1e-9);
    });
});
