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
import { cidrProblem } from "../../components/cidr";
import {
    describe,
    formatIngress,
    INGRESS_RULE,
    ingressPermissionsOf,
    internetIngressOf,
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

const isListenerIngress = (ingress: PublicIngress) =>
    ["tcp", "6"].includes(ingress.protocol) && ingress.fromPort === ingress.toPort && LISTENER_PORTS.includes(ingress.fromPort);

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

export const noInternetIngressAcrossRules: StackValidationPolicy = {
    name: "no-internet-ingress-across-rules",
    description:
        "A security group's rules taken together (one rule 0.0.0.0/1, another 128.0.0.0/1 on the same port) are judged like one rule: internet ingress only on listener ports of a load balancer or direct-ingress group.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const attached = new Set([...loadBalancerSecurityGroups(args.resources), ...directIngressSecurityGroups(args.resources)]);
        /** owner + protocol + ports -> the resources that contribute blocks, and the blocks. */
        const groups = new Map<string, { owner: string; resources: PolicyResource[]; protocol: string; fromPort: number; toPort: number; cidrs: string[] }>();
        for (const resource of args.resources.filter((r) => INGRESS_TYPES.has(r.type))) {
            const owner = ownerKey(resource);
            const permissions = known(() => ingressPermissionsOf(resource.type, resource.props)) ?? [];
            if (owner === undefined) continue;
            for (const p of permissions) {
                // A permission that covers the internet on its own is the per-resource rules' business.
                if (p.cidrs.length === 0 || internetIngressOf(p).length > 0) continue;
                const key = `${owner}|${p.protocol}|${p.fromPort}|${p.toPort}`;
                const group = groups.get(key) ?? { owner, resources: [], protocol: p.protocol, fromPort: p.fromPort, toPort: p.toPort, cidrs: [] };
                if (!group.resources.includes(resource)) group.resources.push(resource);
                group.cidrs.push(...p.cidrs);
                groups.set(key, group);
            }
        }
        for (const group of groups.values()) {
            for (const ingress of internetIngressOf(group)) {
                if (isListenerIngress(ingress) && attached.has(group.owner)) continue;
                const names = group.resources.map((r) => `"${r.name}"`).join(", ");
                for (const resource of group.resources) {
                    report(`${describe(resource)}: together with ${names} allows ${formatIngress(ingress)}, which is the whole internet; only TCP ${LISTENER_PORTS.join(" or ")} on a load balancer may be open to it`, resource.urn);
                }
            }
        }
    },
};
