/**
 * Small helpers the rules share: how a violation names its resource, what "the internet" is for an
 * ingress rule (address coverage, not spelling), and when an image reference is pinned.
 */
import { PolicyResource, ResourceValidationArgs, UnknownValueError } from "@pulumi/policy";
import { coversTheInternet, parseCidr, worldOpenFamilies } from "../../components/cidr";

/** `aws:ec2/securityGroup:SecurityGroup "dev-nodes"`: the prefix of every violation message. */
export function describe(resource: Pick<ResourceValidationArgs | PolicyResource, "type" | "name">): string {
    return `${resource.type} "${resource.name}"`;
}

/** One ingress permission with the CIDR blocks it admits (IPv4 and IPv6), whatever resource declared it. */
export interface IngressPermission {
    /** `tcp`, `udp`, `icmp`, `-1` (all) ... as the resource spells it. */
    readonly protocol: string;
    readonly fromPort: number;
    readonly toPort: number;
    readonly cidrs: readonly string[];
}

/** One ingress permission from the internet: `cidr` is the block, or the blocks joined by "+", that cover it. */
export interface PublicIngress {
    readonly protocol: string;
    readonly fromPort: number;
    readonly toPort: number;
    readonly cidr: string;
}

const ALL_PROTOCOLS = new Set(["-1", "all"]);

const listOf = (...lists: unknown[]): string[] => lists.flatMap((list) => (Array.isArray(list) ? list.map(String) : list === undefined || list === null ? [] : [String(list)]));

function permission(protocol: unknown, fromPort: unknown, toPort: unknown, cidrs: string[]): IngressPermission {
    const proto = String(protocol ?? "-1").toLowerCase();
    const all = ALL_PROTOCOLS.has(proto);
    return { protocol: proto, fromPort: all || fromPort === undefined ? 0 : Number(fromPort), toPort: all || toPort === undefined ? 65535 : Number(toPort), cidrs };
}

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/** Every ingress permission of the three resource types that declare ingress (egress rules have none). */
export function ingressPermissionsOf(type: string, props: Record<string, any>): IngressPermission[] {
    switch (type) {
        case SECURITY_GROUP:
            return (Array.isArray(props.ingress) ? props.ingress : []).map((b: Record<string, any>) => permission(b.protocol, b.fromPort, b.toPort, listOf(b.cidrBlocks, b.ipv6CidrBlocks)));
        case SECURITY_GROUP_RULE:
            return props.type === "ingress" ? [permission(props.protocol, props.fromPort, props.toPort, listOf(props.cidrBlocks, props.ipv6CidrBlocks))] : [];
        case INGRESS_RULE:
            return [permission(props.ipProtocol, props.fromPort, props.toPort, listOf(props.cidrIpv4, props.cidrIpv6))];
        default:
            return [];
    }
}

/**
 * The internet ingress a permission amounts to, judged by the addresses its blocks cover together
 * (components/cidr.ts): `0.0.0.0/0`, `::/0` and `["0.0.0.0/1", "128.0.0.0/1"]` all do. A block that
 * covers a family alone is named alone; otherwise the covering blocks are joined by "+".
 */
export function internetIngressOf(p: IngressPermission): PublicIngress[] {
    return worldOpenFamilies(p.cidrs).flatMap((family) => {
        const ofFamily = p.cidrs.filter((c) => parseCidr(c)?.family === family);
        const alone = ofFamily.filter((c) => coversTheInternet([c]));
        const labels = alone.length > 0 ? alone : [ofFamily.join("+")];
        return labels.map((cidr) => ({ protocol: p.protocol, fromPort: p.fromPort, toPort: p.toPort, cidr }));
    });
}

/** Internet ingress of any of the three resource types that declare ingress, or none. */
export function publicIngressOf(type: string, props: Record<string, any>): PublicIngress[] {
    return ingressPermissionsOf(type, props).flatMap(internetIngressOf);
}

/** CIDR entries of a resource's ingress that are not CIDR blocks at all (`0.0.0.0/00`): nobody can tell what they admit. */
export function malformedIngressCidrs(type: string, props: Record<string, any>): string[] {
    return ingressPermissionsOf(type, props).flatMap((p) => p.cidrs.filter((c) => parseCidr(c) === undefined));
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

/** A property that may be unknown during preview: undefined instead of an UnknownValueError. */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (err) {
        if (err instanceof UnknownValueError) return undefined;
        throw err;
    }
}
