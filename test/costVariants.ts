/**
 * The stacks whose cost the docs quote: each a stack file with overrides. `test/docs.test.ts`
 * renders them and checks that every dollar figure in README.md and docs/*.md is one of theirs.
 */
export interface CostVariant {
    readonly name: string;
    readonly stack: string;
    readonly overrides: Record<string, unknown>;
}

export const COST_VARIANTS: readonly CostVariant[] = [
    { name: "dev", stack: "dev", overrides: {} },
    { name: "dev with an ALB", stack: "dev", overrides: { "swarm.ingress": "alb" } },
    { name: "prod", stack: "prod", overrides: {} },
    { name: "EKS with its defaults on dev's network", stack: "dev", overrides: { target: "eks", "eks.publicAccessCidrs": ["203.0.113.0/24"] } },
    { name: "prod with one NAT gateway", stack: "prod", overrides: { "network.natGateways": "single" } },
    {
        name: "prod-shaped Swarm",
        stack: "prod",
        overrides: { target: "swarm", "swarm.managers": 3, "swarm.workersMin": 2, "swarm.workersDesired": 2, "swarm.workersMax": 4, "swarm.ingress": "alb" },
    },
];
