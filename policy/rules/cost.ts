/**
 * Advisory cost rules: they never block a deploy, they point at money a non-production stack
 * spends without need.
 */
import { PolicyResource, StackValidationPolicy, UnknownValueError } from "@pulumi/policy";

export const NAT_GATEWAY = "aws:ec2/natGateway:NatGateway";
export const DEFAULT_PRODUCTION_STACKS: readonly string[] = ["prod"];
/** us-east-1 hourly price of a NAT gateway (before data processing), for the message. */
const NAT_MONTHLY_USD = 32.85;

const STACK_TAG = "dockyard:stack";

/** A provider's `defaultTags` arrive JSON-encoded (provider inputs are strings) or as an object. */
function defaultTagsOf(resource: PolicyResource): Record<string, string> {
    const raw = resource.provider?.props.defaultTags;
    const parsed = typeof raw === "string" ? JSON.parse(raw) : raw;
    return parsed?.tags ?? {};
}

/** The stack a resource belongs to: the `dockyard:stack` tag the stack's AWS provider sets. */
export function stackOf(resource: PolicyResource): string | undefined {
    try {
        return defaultTagsOf(resource)[STACK_TAG] ?? resource.props.tags?.[STACK_TAG];
    } catch (err) {
        if (err instanceof UnknownValueError) return undefined;
        throw err;
    }
}

interface CostConfig {
    readonly productionStacks?: string[];
}

export const natGatewayPerAzOutsideProduction: StackValidationPolicy = {
    name: "nat-gateway-per-az-outside-production",
    description: "Outside production, one shared NAT gateway (or none) is enough; one per AZ multiplies a fixed hourly cost.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: { properties: { productionStacks: { type: "array", items: { type: "string" }, default: [...DEFAULT_PRODUCTION_STACKS] } } },
    validateStack: (args, report) => {
        const gateways = args.resources.filter((r) => r.type === NAT_GATEWAY);
        if (gateways.length <= 1) return;
        const stack = gateways.map(stackOf).find((s) => s !== undefined);
        if (stack === undefined) return args.notApplicable(`no ${STACK_TAG} tag tells which stack the NAT gateways belong to`);
        const production = args.getConfig<CostConfig>().productionStacks ?? DEFAULT_PRODUCTION_STACKS;
        if (production.includes(stack)) return;
        const extra = gateways.length - 1;
        report(
            `stack ${stack} (not production) has ${gateways.length} NAT gateways (${gateways.map((g) => g.name).join(", ")}); ` +
                `network.natGateways: single saves about $${(extra * NAT_MONTHLY_USD).toFixed(0)}/month`,
        );
    },
};
