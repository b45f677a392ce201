/**
 * Nothing is reachable from the internet (any CIDR list that covers every IPv4 or IPv6 address,
 * however it is spelled or split across rules) except a load balancer's listener
 * ports. "A load balancer's security group" is not a naming or tag convention: it is a security
 * group that a load balancer in the same stack lists in its `securityGroups`, which the stack
 * policy reads from the engine's property dependencies (ids are unknown during a first preview).
 */
import {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import { cidrProblem, parseCidr, worldOpenFamilies } from "../../components/cidr";
import {
    describe,
    formatIngress,
    INGRESS_RULE,
    IngressPermission,
    ingressPermissionsOf,
    known,
    malformedIngressCidrs,
    opensPort,
    PublicIngress,
    publicIngressOf,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
} from "./common";

/** The only ports a load balancer may take from the internet: HTTP (redirected) and HTTPS. */
export const LISTENER_PORTS: readonly number[] = [80, 443];

/** SSH and the Docker Engine / swarm control ports: never from the internet. */
export const ADMIN_PORTS: Readonly<Record<number, string>> = { 22: "SSH", 2375: "the Docker API", 2376: "the Docker API (TLS)", 2377: "swarm cluster management" };

const isListenerIngress = (ingress: Pick<PublicIngress, "protocol" | "fromPort" | "toPort">) =>
    ingress.protocol === "tcp" && ingress.fromPort === ingress.toPort && LISTENER_PORTS.includes(ingress.fromPort);

const INGRESS_TYPES = new Set([SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE]);

/** The same check on each of the three resource types that can open ingress. */
function onEveryIngressType(check: (ingress: PublicIngress[], args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
    return (args, report) => {
        if (!INGRESS_TYPES.has(args.type)) return args.notApplicable("declares no ingress");
        check(publicIngressOf(args.type, args.props), args, report);
    };
}

export const noPublicIngressExceptListeners: ResourceValidationPolicy = {
    name: "no-public-ingress-except-listeners",
    description: `Ingress from the internet (any CIDR list covering every IPv4 or IPv6 address: 0.0.0.0/0, ::/0, 0.0.0.0/1+128.0.0.0/1) is limited to TCP listener ports ${LISTENER_PORTS.join(" and ")} (Checkov CKV_AWS_24/25/260/277, AWS FSBP EC2.18/EC2.19).`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryIngressType((ingress, args, report) => {
        for (const rule of ingress.filter((i) => !isListenerIngress(i))) {
            report(`${describe(args)}: allows ${formatIngress(rule)}; only TCP ${LISTENER_PORTS.join(" or ")} on a load balancer may be open to the internet`);
        }
        for (const cidr of malformedIngressCidrs(args.type, args.props)) {
            report(`${describe(args)}: ingress CIDR ${JSON.stringify(cidr)} is not a CIDR block (${cidrProblem(cidr, "any")}), so nobody can tell what it admits`);
        }
    }),
};

export const noAdminPortsFromInternet: ResourceValidationPolicy = {
    name: "no-admin-ports-from-internet",
    description: "SSH (22) and the Docker API and swarm control ports (2375, 2376, 2377) are never open to the internet (Checkov CKV_AWS_24, AWS FSBP EC2.13).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: onEveryIngressType((ingress, args, report) => {
        for (const rule of ingress) {
            for (const [port, what] of Object.entries(ADMIN_PORTS)) {
                if (opensPort(rule, Number(port))) report(`${describe(args)}: opens ${what} (port ${port}) to ${rule.cidr}; reach it through Session Manager or a listed CIDR`);
            }
        }
    }),
};

const LOAD_BALANCER_TYPES = new Set(["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer"]);

/** URNs of the security groups some load balancer of the stack is attached to. */
export function loadBalancerSecurityGroups(resources: readonly PolicyResource[]): Set<string> {
    const attached = new Set<string>();
    for (const lb of resources.filter((r) => LOAD_BALANCER_TYPES.has(r.type))) {
        for (const sg of lb.propertyDependencies.securityGroups ?? []) attached.add(sg.urn);
    }
    return attached;
}

/**
 * A node security group with `direct` ingress is its own listener (no load balancer in front);
 * dockyard tags it `dockyard:ingress: direct`, and it may take listener ports like a load balancer.
 */
export function directIngressSecurityGroups(resources: readonly PolicyResource[]): Set<string> {
    return new Set(resources.filter((r) => r.type === SECURITY_GROUP && r.props.tags?.["dockyard:ingress"] === "direct").map((r) => r.urn));
}

/** The URN of the security group an ingress resource belongs to (itself for an inline rule). */
function ownerSecurityGroup(resource: PolicyResource): string | undefined {
    if (resource.type === SECURITY_GROUP) return resource.urn;
    return resource.propertyDependencies.securityGroupId?.[0]?.urn;
}

export const listenersOnlyOnLoadBalancers: StackValidationPolicy = {
    name: "public-listeners-only-on-load-balancers",
    description: `Internet ingress on ${LISTENER_PORTS.join("/")} is allowed only on a security group attached to a load balancer of the stack, or tagged dockyard:ingress=direct (a node that is its own listener).`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const attached = new Set([...loadBalancerSecurityGroups(args.resources), ...directIngressSecurityGroups(args.resources)]);
        for (const resource of args.resources) {
            const listenerIngress = (known(() => publicIngressOf(resource.type, resource.props)) ?? []).filter(isListenerIngress);
            if (listenerIngress.length === 0) continue;
            const owner = ownerSecurityGroup(resource);
            if (owner !== undefined && attached.has(owner)) continue;
            for (const rule of listenerIngress) {
                report(`${describe(resource)}: allows ${formatIngress(rule)} but its security group is not attached to any load balancer of the stack`, resource.urn);
            }
        }
    },
};

/** Owner security group (URN, or the id when the engine recorded no dependency) of an ingress resource. */
const ownerKey = (resource: PolicyResource) => ownerSecurityGroup(resource) ?? known(() => resource.props.securityGroupId as string | undefined);

/** An ingress permission with what declared it. */
export interface SourcedPermission<T> extends IngressPermission {
    readonly source: T;
}

/** Internet ingress that only several permissions of one group open together, with the permissions' sources. */
export interface CombinedIngress<T> extends PublicIngress {
    readonly sources: readonly T[];
}

const familyOf = (cidr: string) => parseCidr(cidr)?.family;

/**
 * Sweeps one security group's ingress permissions (inline, SecurityGroupRule and
 * SecurityGroupIngressRule alike, protocols already canonical) and returns every protocol and port
 * range whose permissions, taken together, admit every IPv4 or every IPv6 address, although no one
 * of them does on its own (that one the per-resource rules report). A permission reaches a port
 * when its protocol is the port's protocol or `all`, and its range holds the port, whatever ranges
 * the others use: tcp 22 from 0.0.0.0/1 and all protocols from 128.0.0.0/1 open SSH to the
 * internet. Ranges open only because all-protocol permissions cover the internet together are
 * reported once, as `all`. `allowedTcpPorts` (the listener ports, on a group that is a listener) are
 * left out, and what remains is reported in as few ranges as the sources allow.
 */
export function combinedInternetIngress<T>(permissions: readonly SourcedPermission<T>[], allowedTcpPorts: readonly number[] = []): CombinedIngress<T>[] {
    const usable = permissions.filter((p) => p.cidrs.length > 0);
    const found: CombinedIngress<T>[] = [];
    for (const protocol of [...new Set(usable.map((p) => p.protocol))].sort()) {
        const reaching = usable.filter((p) => p.protocol === protocol || p.protocol === "all");
        const allOnly = reaching.filter((p) => p.protocol === "all");
        const allowed = protocol === "tcp" ? allowedTcpPorts : [];
        const extra = allowed.flatMap((port) => [port, port + 1]);
        const bounds = [...new Set([...reaching.flatMap((p) => [p.fromPort, p.toPort + 1]), ...extra])].sort((a, b) => a - b);
        for (let i = 0; i + 1 < bounds.length; i++) {
            const [from, to] = [bounds[i], bounds[i + 1] - 1];
            if (from === to && allowed.includes(from)) continue;
            const covering = reaching.filter((p) => p.fromPort <= from && to <= p.toPort);
            for (const family of worldOpenFamilies(covering.flatMap((p) => p.cidrs))) {
                if (covering.some((p) => worldOpenFamilies(p.cidrs).includes(family))) continue;
                if (protocol !== "all" && worldOpenFamilies(allOnly.flatMap((p) => p.cidrs)).includes(family)) continue;
                const contributing = covering.filter((p) => p.cidrs.some((c) => familyOf(c) === family));
                const sources = [...new Set(contributing.map((p) => p.source))];
                const cidr = contributing.flatMap((p) => p.cidrs.filter((c) => familyOf(c) === family)).join("+");
                const last = found[found.length - 1];
                const sameAsLast = last && last.protocol === protocol && last.toPort + 1 === from && last.cidr === cidr && last.sources.length === sources.length && last.sources.every((s) => sources.includes(s));
                if (sameAsLast) found[found.length - 1] = { ...last, toPort: to };
                else found.push({ protocol, fromPort: from, toPort: to, cidr, sources });
            }
        }
    }
    return found;
}

export const noInternetIngressAcrossRules: StackValidationPolicy = {
    name: "no-internet-ingress-across-rules",
    description:
        "A security group's ingress is judged as a whole: rules that together cover the internet (0.0.0.0/1 on one, 128.0.0.0/1 on another; tcp 22 beside tcp 0-65535, protocol 6 or -1/all; IPv6 halves) are judged like one rule, so SSH, the Docker API and swarm control stay closed and only listener ports of a load balancer or direct-ingress group are open.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const attached = new Set([...loadBalancerSecurityGroups(args.resources), ...directIngressSecurityGroups(args.resources)]);
        const byOwner = new Map<string, SourcedPermission<PolicyResource>[]>();
        for (const resource of args.resources.filter((r) => INGRESS_TYPES.has(r.type))) {
            const owner = ownerKey(resource);
            if (owner === undefined) continue;
            const permissions = known(() => ingressPermissionsOf(resource.type, resource.props)) ?? [];
            byOwner.set(owner, [...(byOwner.get(owner) ?? []), ...permissions.map((p) => ({ ...p, source: resource }))]);
        }
        for (const [owner, permissions] of byOwner) {
            for (const ingress of combinedInternetIngress(permissions, attached.has(owner) ? LISTENER_PORTS : [])) {
                const admin = Object.entries(ADMIN_PORTS).filter(([port]) => opensPort(ingress, Number(port)));
                const opens = admin.length > 0 ? `, opening ${admin.map(([port, what]) => `${what} (port ${port})`).join(", ")} to it` : "";
                const names = ingress.sources.map((r) => `"${r.name}"`).join(", ");
                for (const resource of ingress.sources) {
                    report(`${describe(resource)}: together with ${names} allows ${formatIngress(ingress)}, which is the whole internet${opens}; only TCP ${LISTENER_PORTS.join(" or ")} on a load balancer may be open to it`, resource.urn);
                }
            }
        }
    },
};
