/**
 * Subnet math for the stack's VPC, kept pure so every layout is tested without a cloud.
 *
 * The layout is fixed by the VPC block alone, never by the AZ count, so going from 2 to 3 AZs adds
 * subnets without renumbering the ones that exist:
 *
 *   first half      private subnets, 4 AZ slots of 1/8 each (nodes, pods: the big ones)
 *   next quarter    public subnets, 4 AZ slots of 1/16 each (load balancers, NAT gateways)
 *   last quarter    free, for tiers added later (databases, caches)
 *
 * For the default 10.0.0.0/16: private /19 (8,187 usable addresses each), public /20 (4,091).
 */
import { cidrProblem, intToIpv4, ipv4ToInt, NAMESPACE } from "./config";

export interface SubnetPlan {
    readonly public: string[];
    readonly private: string[];
}

/** AZ slots each tier reserves: the 2 or 3 zones in use plus room for one more. */
export const AZ_SLOTS = 4;
/** AWS accepts nothing smaller than a /28 subnet. */
export const SMALLEST_SUBNET_PREFIX = 28;

const PRIVATE_EXTRA_BITS = 3;
const PUBLIC_EXTRA_BITS = 4;

/** The `index`-th block of size `/prefix` starting at `base`. */
const block = (base: number, prefix: number, index: number): string => `${intToIpv4(base + index * 2 ** (32 - prefix))}/${prefix}`;

/** Public and private subnet CIDRs for `azCount` zones of the VPC block `cidr`, in AZ order. */
export function subnetPlan(cidr: string, azCount: number): SubnetPlan {
    const key = `${NAMESPACE}:network.cidr`;
    const problem = cidrProblem(cidr);
    if (problem) throw new Error(`${key} is ${JSON.stringify(cidr)}; ${problem}`);
    if (!Number.isInteger(azCount) || azCount < 1 || azCount > AZ_SLOTS) {
        throw new Error(`${NAMESPACE}:network.azs is ${azCount}; allowed: an integer from 1 to ${AZ_SLOTS}`);
    }

    const [address, bits] = cidr.split("/");
    const vpcPrefix = Number(bits);
    const privatePrefix = vpcPrefix + PRIVATE_EXTRA_BITS;
    const publicPrefix = vpcPrefix + PUBLIC_EXTRA_BITS;
    if (publicPrefix > SMALLEST_SUBNET_PREFIX) {
        throw new Error(
            `${key} is ${JSON.stringify(cidr)}: too small; with ${AZ_SLOTS} AZ slots per tier its public subnets would be /${publicPrefix}, ` +
                `smaller than AWS's smallest subnet (/${SMALLEST_SUBNET_PREFIX}); allowed: a /${SMALLEST_SUBNET_PREFIX - PUBLIC_EXTRA_BITS} or larger block`,
        );
    }

    const base = ipv4ToInt(address);
    const publicBase = base + 2 ** (32 - vpcPrefix) / 2;
    const zones = Array.from({ length: azCount }, (_, i) => i);
    return {
        private: zones.map((i) => block(base, privatePrefix, i)),
        public: zones.map((i) => block(publicBase, publicPrefix, i)),
    };
}
