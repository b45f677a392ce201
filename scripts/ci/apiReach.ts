/**
 * Before `pulumi up` of an EKS stack: is this machine's egress address one the cluster's public
 * endpoint answers (`eks.publicAccessCidrs`)? Without it every Kubernetes object times out about 25
 * minutes into the first `up` (docs/eks.md, "Reaching the API"); this says so in a second.
 *
 *   node_modules/.bin/ts-node --transpile-only scripts/ci/apiReach.ts <Pulumi.<stack>.yaml> <egress IPv4 address>
 *
 * Exit 0 when the address is covered (or the stack is not EKS), NOT_LISTED (3) when it is not, 2 when
 * the check cannot be made (bad usage, an address that is not IPv4, a stack file that does not load).
 * "Not listed" is 3, not 1, because 1 is also what Node exits with on an exception while modules load
 * (nodejs/node doc/api/process.md, "Exit codes": 1 Uncaught Fatal Exception) and what npx exits with
 * when it cannot run ts-node: the PR preview skips a prod preview on 3 only and fails on anything else,
 * so a broken check never passes for "unreachable".
 */
import * as net from "node:net";
import { cidrsOverlap, parseStackConfig } from "../../components/config";
import { loadStackFile } from "../offline/stackFile";

/** The exit code for "this address is not in eks.publicAccessCidrs"; no other failure exits with it. */
export const NOT_LISTED = 3;

/** Why `address` cannot reach the endpoint of the stack in `stackFile`, or undefined when it can; throws when it cannot tell. */
export function apiReachProblem(stackFile: string, address: string): string | undefined {
    if (!net.isIPv4(address)) throw new Error(`egress address ${JSON.stringify(address)} is not an IPv4 address`);
    const { project, config: raw } = loadStackFile(stackFile);
    const config = parseStackConfig(raw, project, "ci");
    if (config.target !== "eks") return undefined;
    if (config.eks.publicAccessCidrs.some((text) => cidrsOverlap(`${address}/32`, text))) return undefined;
    return (
        `this runner's egress address ${address} is not in dockyard:eks.publicAccessCidrs of ${stackFile} ` +
        `(${JSON.stringify(config.eks.publicAccessCidrs)}), so it cannot reach the cluster's API; run the job on a runner ` +
        "with a static egress listed there (the runner group the PROD_RUNNER_GROUP repository variable names, docs/ci.md \"EKS: reaching the API and access entries\")"
    );
}

if (require.main === module) {
    const [stackFile, address] = process.argv.slice(2);
    if (!stackFile || !address) {
        console.error("usage: scripts/ci/apiReach.ts <Pulumi.<stack>.yaml> <egress IPv4 address>");
        process.exit(2);
    }
    let problem: string | undefined;
    try {
        problem = apiReachProblem(stackFile, address);
    } catch (error) {
        console.error(`dockyard: cannot check whether this runner may reach the API: ${(error as Error).message}`);
        process.exit(2);
    }
    if (problem) {
        console.error(`dockyard: ${problem}`);
        process.exit(NOT_LISTED);
    }
    console.log(`dockyard: ${address} may reach the API of the stack in ${stackFile}`);
}
