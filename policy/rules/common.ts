/**
 * Small helpers the rules share: how a violation names its resource, what "the internet" is for an
 * ingress rule, and when an image reference is pinned.
 */
import type { PolicyResource, ResourceValidationArgs } from "@pulumi/policy";

/** `aws:ec2/securityGroup:SecurityGroup "dev-nodes"`: the prefix of every violation message. */
export function describe(resource: Pick<ResourceValidationArgs | PolicyResource, "type" | "name">): string {
    return `${resource.type} "${resource.name}"`;
}

export const WORLD_CIDRS: readonly string[] = ["0.0.0.0/0", "::/0"];

/** One ingress permission from the internet, whatever resource declared it. */
export interface PublicIngress {
    /** `tcp`, `udp`, `icmp`, `-1` (all) ... as the resource spells it. */
    readonly protocol: string;
    readonly fromPort: number;
    readonly toPort: number;
    readonly cidr: string;
}

const ALL_PROTOCOLS = new Set(["-1", "all"]);

function worldCidrs(...lists: unknown[]): string[] {
    return lists.flatMap((list) => (Array.isArray(list) ? list : list === undefined ? [] : [list])).filter((c): c is string => WORLD_CIDRS.includes(c as string));
}

function toPublicIngress(protocol: unknown, fromPort: unknown, toPort: unknown, cidrs: string[]): PublicIngress[] {
    const proto = String(protocol ?? "-1").toLowerCase();
    const all = ALL_PROTOCOLS.has(proto);
    return cidrs.map((cidr) => ({
        protocol: proto,
        fromPort: all || fromPort === undefined ? 0 : Number(fromPort),
        toPort: all || toPort === undefined ? 65535 : Number(toPort),
        cidr,
    }));
}

/** Internet ingress of an `aws.ec2.SecurityGroup`'s inline `ingress` blocks. */
export function securityGroupPublicIngress(props: Record<string, any>): PublicIngress[] {
    const blocks: Record<string, any>[] = Array.isArray(props.ingress) ? props.ingress : [];
    return blocks.flatMap((b) => toPublicIngress(b.protocol, b.fromPort, b.toPort, worldCidrs(b.cidrBlocks, b.ipv6CidrBlocks)));
}

/** Internet ingress of an `aws.ec2.SecurityGroupRule` (egress rules have none). */
export function securityGroupRulePublicIngress(props: Record<string, any>): PublicIngress[] {
    if (props.type !== "ingress") return [];
    return toPublicIngress(props.protocol, props.fromPort, props.toPort, worldCidrs(props.cidrBlocks, props.ipv6CidrBlocks));
}

/** Internet ingress of an `aws.vpc.SecurityGroupIngressRule`. */
export function ingressRulePublicIngress(props: Record<string, any>): PublicIngress[] {
    return toPublicIngress(props.ipProtocol, props.fromPort, props.toPort, worldCidrs(props.cidrIpv4, props.cidrIpv6));
}

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/** Internet ingress of any of the three resource types that declare ingress, or none. */
export function publicIngressOf(type: string, props: Record<string, any>): PublicIngress[] {
    switch (type) {
        case SECURITY_GROUP:
            return securityGroupPublicIngress(props);
        case SECURITY_GROUP_RULE:
            return securityGroupRulePublicIngress(props);
        case INGRESS_RULE:
            return ingressRulePublicIngress(props);
        default:
            return [];
    }
}

/** Whether the permission lets TCP or UDP traffic reach `port` (ICMP has no ports). */
export function opensPort(ingress: PublicIngress, port: number): boolean {
    const carriesPorts = ALL_PROTOCOLS.has(ingress.protocol) || ["tcp", "udp", "6", "17"].includes(ingress.protocol);
    return carriesPorts && ingress.fromPort <= port && port <= ingress.toPort;
}

/** `tcp 0-65535 from 0.0.0.0/0` */
export function formatIngress(ingress: PublicIngress): string {
    const protocol = ALL_PROTOCOLS.has(ingress.protocol) ? "all protocols" : ingress.protocol;
    const ports = ingress.fromPort === ingress.toPort ? `port ${ingress.fromPort}` : `ports ${ingress.fromPort}-${ingress.toPort}`;
    return `${protocol} ${ports} from ${ingress.cidr}`;
}

/**
 * Why an image reference is not pinned, or undefined when it is: a digest (`@sha256:`) always
 * pins; otherwise the last path segment needs a tag other than `latest`.
 */
export function unpinnedImageReason(image: unknown): string | undefined {
    if (typeof image !== "string" || image === "") return "has no image";
    if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    if (colon < 0) return `image "${image}" has no tag (it means :latest); pin a version tag or a digest`;
    if (lastSegment.slice(colon + 1) === "latest") return `image "${image}" uses :latest; pin a version tag or a digest`;
    return undefined;
}
