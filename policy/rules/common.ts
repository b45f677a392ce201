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

/**
 * One ingress permission with the CIDR blocks it admits (IPv4 and IPv6), whatever resource declared
 * it, with its protocol and ports as EC2 applies them (see `canonicalProtocol` and `permission`).
 */
export interface IngressPermission {
    /** `all`, `tcp`, `udp`, `icmp`, `icmpv6`, or the decimal number of any other IP protocol (`50`). */
    readonly protocol: string;
    /** Ports for tcp and udp; ICMP types for icmp and icmpv6; 0-65535 for every other protocol. */
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

/**
 * The protocol numbers EC2 security groups name (IANA numbers): terraform-provider-aws keeps these
 * names and turns the numbers into them, and `-1` or `all` into `-1` (`protocolForValue` and
 * `securityGroupProtocolIntegers` in internal/service/ec2/vpc_security_group.go), so `"6"`,
 * `"tcp"` and `"TCP"` are one rule to AWS and must be one to the pack.
 */
const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = { "1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6" };
const NAMED = new Set(Object.values(PROTOCOL_NUMBERS));

/**
 * `all`, a name EC2 knows, or a decimal protocol number. A spelling EC2 does not know is judged as
 * every protocol: the pack errs toward reporting what nobody can read.
 */
export function canonicalProtocol(protocol: unknown): string {
    const text = String(protocol ?? "-1").trim().toLowerCase();
    if (text === "-1" || text === "all") return "all";
    if (NAMED.has(text)) return text;
    if (/^[0-9]+$/.test(text)) return PROTOCOL_NUMBERS[String(Number(text))] ?? String(Number(text));
    return "all";
}

const listOf = (...lists: unknown[]): string[] => lists.flatMap((list) => (Array.isArray(list) ? list.map(String) : list === undefined || list === null ? [] : [String(list)]));

const PORTS = { from: 0, to: 65535 } as const;
const ICMP_TYPES = { from: 0, to: 255 } as const;

/**
 * The ports a permission opens as EC2 applies it. AWS EC2 API reference, IpPermission: "specifying
 * -1 or a protocol number other than tcp, udp, icmp, or icmpv6 allows traffic on all ports,
 * regardless of any port range you specify"; for icmp and icmpv6 FromPort is the ICMP type, -1 (or
 * none, for icmpv6) all types. ICMP codes are not told apart: a type counts as open when any of its
 * codes is.
 */
function permission(protocol: unknown, fromPort: unknown, toPort: unknown, cidrs: string[]): IngressPermission {
    const proto = canonicalProtocol(protocol);
    if (proto === "tcp" || proto === "udp") {
        return { protocol: proto, fromPort: fromPort === undefined ? PORTS.from : Number(fromPort), toPort: toPort === undefined ? PORTS.to : Number(toPort), cidrs };
    }
    if (proto === "icmp" || proto === "icmpv6") {
        const type = fromPort === undefined ? -1 : Number(fromPort);
        return { protocol: proto, fromPort: type < 0 ? ICMP_TYPES.from : type, toPort: type < 0 ? ICMP_TYPES.to : type, cidrs };
    }
    return { protocol: proto, fromPort: PORTS.from, toPort: PORTS.to, cidrs };
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

/** Whether the permission lets TCP or UDP traffic reach `port` (tcp, udp or all protocols; ICMP has no ports). */
export function opensPort(ingress: Pick<PublicIngress, "protocol" | "fromPort" | "toPort">, port: number): boolean {
    return ["tcp", "udp", "all"].includes(ingress.protocol) && ingress.fromPort <= port && port <= ingress.toPort;
}

/** `tcp ports 0-65535 from 0.0.0.0/0`, `all protocols ports 0-65535 from ::/0`, `protocol 50 from ...`, `icmp type 8 from ...` */
export function formatIngress(ingress: PublicIngress): string {
    const range = (unit: string) => (ingress.fromPort === ingress.toPort ? `${unit} ${ingress.fromPort}` : `${unit}s ${ingress.fromPort}-${ingress.toPort}`);
    if (ingress.protocol === "tcp" || ingress.protocol === "udp") return `${ingress.protocol} ${range("port")} from ${ingress.cidr}`;
    if (ingress.protocol === "icmp" || ingress.protocol === "icmpv6") return `${ingress.protocol} ${range("type")} from ${ingress.cidr}`;
    if (ingress.protocol === "all") return `all protocols ${range("port")} from ${ingress.cidr}`;
    return `protocol ${ingress.protocol} from ${ingress.cidr}`;
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

/** The Kubernetes kinds that carry a pod template (or are a pod). */
export const POD_TEMPLATE_TYPES = new Set([
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
]);
