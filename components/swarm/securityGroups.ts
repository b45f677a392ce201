/**
 * The swarm's security groups as one table of rules (a pure function tests read directly) and the
 * resources built from it. Nothing is open to the internet except the load balancer's listener
 * ports (or, with `direct` ingress, the manager's published ports), and SSH from listed CIDRs only.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmAccess, SwarmIngress } from "../config";
import type { PublicEndpoint } from "../workload";
import type { ListenerPlan } from "./loadBalancer";

/** `lb`: the load balancer; `nodes`: every swarm node; `managers`: managers only; `efs`: mount targets. */
export type GroupName = "lb" | "nodes" | "managers" | "efs";

export interface SecurityGroupRule {
    readonly group: GroupName;
    readonly direction: "ingress" | "egress";
    /** `tcp`, `udp`, `50` (ESP) or `-1` (all). */
    readonly protocol: "tcp" | "udp" | "50" | "-1";
    readonly fromPort?: number;
    readonly toPort?: number;
    /** The peer: another group of the swarm, or a CIDR block. */
    readonly peer: { readonly group: GroupName } | { readonly cidr: string };
    readonly description: string;
}

export const ANYWHERE = "0.0.0.0/0";

export interface RuleInputs {
    readonly ingress: SwarmIngress;
    readonly access: SwarmAccess;
    readonly sshCidrs: readonly string[];
    readonly endpoints: readonly PublicEndpoint[];
    readonly listeners: ListenerPlan;
}

const port = (p: number) => ({ fromPort: p, toPort: p });

/** Every rule of the swarm's security groups. */
export function securityGroupRules(input: RuleInputs): SecurityGroupRule[] {
    const nodes = { group: "nodes" } as const;
    const rules: SecurityGroupRule[] = [
        { group: "managers", direction: "ingress", protocol: "tcp", ...port(2377), peer: nodes, description: "swarm cluster management from nodes" },
        { group: "nodes", direction: "ingress", protocol: "tcp", ...port(7946), peer: nodes, description: "swarm gossip (tcp) between nodes" },
        { group: "nodes", direction: "ingress", protocol: "udp", ...port(7946), peer: nodes, description: "swarm gossip (udp) between nodes" },
        { group: "nodes", direction: "ingress", protocol: "udp", ...port(4789), peer: nodes, description: "overlay network (VXLAN) between nodes" },
        { group: "nodes", direction: "ingress", protocol: "50", peer: nodes, description: "ESP for encrypted overlay networks between nodes" },
        { group: "nodes", direction: "egress", protocol: "-1", peer: { cidr: ANYWHERE }, description: "image pulls, AWS APIs and Session Manager" },
        { group: "efs", direction: "ingress", protocol: "tcp", ...port(2049), peer: nodes, description: "NFS from swarm nodes" },
    ];
    // A public tcp port admits only its workload's `public.sourceRanges`; http ports admit everyone.
    const sources = (e: PublicEndpoint | undefined) => (e?.protocol === "tcp" ? (e.sourceRanges ?? []) : [ANYWHERE]);
    if (input.ingress === "direct") {
        for (const e of input.endpoints) {
            for (const cidr of sources(e)) {
                rules.push({ group: "managers", direction: "ingress", protocol: "tcp", ...port(e.publishedPort), peer: { cidr }, description: `public ${e.workload}/${e.portName} on the manager's address` });
            }
        }
    } else {
        const endpointOf = new Map(input.listeners.targetGroups.map((tg) => [tg.key, tg.endpoint]));
        for (const listener of input.listeners.listeners) {
            const endpoint = listener.targetGroupKey === undefined ? undefined : endpointOf.get(listener.targetGroupKey);
            for (const cidr of sources(endpoint)) {
                rules.push({ group: "lb", direction: "ingress", protocol: "tcp", ...port(listener.port), peer: { cidr }, description: `${listener.protocol} listener` });
            }
        }
        for (const e of input.endpoints) {
            rules.push({ group: "nodes", direction: "ingress", protocol: "tcp", ...port(e.publishedPort), peer: { group: "lb" }, description: `${e.workload}/${e.portName} from the load balancer` });
            rules.push({ group: "lb", direction: "egress", protocol: "tcp", ...port(e.publishedPort), peer: nodes, description: `${e.workload}/${e.portName} to the nodes` });
        }
    }
    if (input.access === "ssh") {
        for (const cidr of input.sshCidrs) {
            rules.push({ group: "managers", direction: "ingress", protocol: "tcp", ...port(22), peer: { cidr }, description: "SSH from an operator CIDR" });
        }
    }
    return rules;
}

/** A name for a rule made from what it allows, so adding a rule never renames (and replaces) the others. */
export function ruleKey(rule: SecurityGroupRule): string {
    const peer = "cidr" in rule.peer ? rule.peer.cidr.replace(/[./]/g, "-") : rule.peer.group;
    const ports = rule.fromPort === undefined ? "all" : `${rule.fromPort}`;
    const protocol = rule.protocol === "50" ? "esp" : rule.protocol === "-1" ? "any" : rule.protocol;
    return `${rule.group}-${rule.direction === "ingress" ? "in" : "out"}-${protocol}-${ports}-${peer}`;
}

/** Tag on a node security group that takes public traffic itself (`direct` ingress, no load balancer). */
export const DIRECT_INGRESS_TAG = "dockyard:ingress";

export interface SwarmSecurityGroupsArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly rules: readonly SecurityGroupRule[];
}

const GROUP_PURPOSE: Record<GroupName, string> = {
    lb: "swarm load balancer",
    nodes: "every swarm node",
    managers: "swarm managers",
    efs: "swarm EFS mount targets",
};

/** One security group per group name the rules use, and one rule resource per table row. */
export class SwarmSecurityGroups extends pulumi.ComponentResource {
    public readonly ids: Readonly<Partial<Record<GroupName, pulumi.Output<string>>>>;

    constructor(name: string, args: SwarmSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:SecurityGroups", name, {}, opts);
        const used = new Set<GroupName>(args.rules.flatMap((r) => ["group" in r.peer ? r.peer.group : r.group, r.group]));
        const groups: Partial<Record<GroupName, aws.ec2.SecurityGroup>> = {};
        for (const group of used) {
            // Marks the node group that is its own listener (direct ingress), which the policy pack accepts like a load balancer's.
            const listener = group !== "lb" && args.rules.some((r) => r.group === group && r.direction === "ingress" && "cidr" in r.peer && r.peer.cidr === ANYWHERE);
            groups[group] = new aws.ec2.SecurityGroup(
                `${name}-${group}`,
                { vpcId: args.vpcId, description: `dockyard: ${GROUP_PURPOSE[group]}`, revokeRulesOnDelete: true, tags: { Name: `${name}-${group}`, ...(listener ? { [DIRECT_INGRESS_TAG]: "direct" } : {}) } },
                { parent: this },
            );
        }
        for (const rule of args.rules) {
            const common = {
                securityGroupId: groups[rule.group]!.id,
                ipProtocol: rule.protocol,
                fromPort: rule.fromPort,
                toPort: rule.toPort,
                description: rule.description,
                ...("cidr" in rule.peer ? { cidrIpv4: rule.peer.cidr } : { referencedSecurityGroupId: groups[rule.peer.group]!.id }),
            };
            const ruleName = `${name}-${ruleKey(rule)}`;
            if (rule.direction === "ingress") new aws.vpc.SecurityGroupIngressRule(ruleName, common, { parent: this });
            else new aws.vpc.SecurityGroupEgressRule(ruleName, common, { parent: this });
        }
        this.ids = Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g!.id]));
        this.registerOutputs({ ids: this.ids });
    }
}
