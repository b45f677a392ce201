/**
 * Nothing is reachable from the internet (0.0.0.0/0 or ::/0) except a load balancer's listener
 * ports. "A load balancer's security group" is not a naming or tag convention: it is a security
 * group that a load balancer in the same stack lists in its `securityGroups`, which the stack
 * policy reads from the engine's property dependencies (ids are unknown during a first preview).
 */
import * as aws from "@pulumi/aws";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    UnknownValueError,
    validateResourceOfType,
} from "@pulumi/policy";
import {
    describe,
    formatIngress,
    ingressRulePublicIngress,
    opensPort,
    PublicIngress,
    publicIngressOf,
    SECURITY_GROUP,
    securityGroupPublicIngress,
    securityGroupRulePublicIngress,
} from "./common";

/** The only ports a load balancer may take from the internet: HTTP (redirected) and HTTPS. */
export const LISTENER_PORTS: readonly number[] = [80, 443];

/** SSH and the Docker Engine / swarm control ports: never from the internet. */
export const ADMIN_PORTS: Readonly<Record<number, string>> = { 22: "SSH", 2375: "the Docker API", 2376: "the Docker API (TLS)", 2377: "swarm cluster management" };

const isListenerIngress = (ingress: PublicIngress) =>
    ["tcp", "6"].includes(ingress.protocol) && ingress.fromPort === ingress.toPort && LISTENER_PORTS.includes(ingress.fromPort);

/** The same check on each of the three resource types that can open ingress. */
function onEveryIngressType(check: (ingress: PublicIngress[], args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation[] {
    return [
        validateResourceOfType(aws.ec2.SecurityGroup, (props, args, report) => check(securityGroupPublicIngress(props), args, report)),
        validateResourceOfType(aws.ec2.SecurityGroupRule, (props, args, report) => check(securityGroupRulePublicIngress(props), args, report)),
        validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (props, args, report) => check(ingressRulePublicIngress(props), args, report)),
    ];
}

export const noPublicIngressExceptListeners: ResourceValidationPolicy = {
    name: "no-public-ingress-except-listeners",
    description: `Ingress from 0.0.0.0/0 or ::/0 is limited to TCP listener ports ${LISTENER_PORTS.join(" and ")}.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryIngressType((ingress, args, report) => {
        for (const rule of ingress.filter((i) => !isListenerIngress(i))) {
            report(`${describe(args)}: allows ${formatIngress(rule)}; only TCP ${LISTENER_PORTS.join(" or ")} on a load balancer may be open to the internet`);
        }
    }),
};

export const noAdminPortsFromInternet: ResourceValidationPolicy = {
    name: "no-admin-ports-from-internet",
    description: "SSH (22) and the Docker API and swarm control ports (2375, 2376, 2377) are never open to the internet.",
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

/** A property that may be unknown during preview: undefined instead of an UnknownValueError. */
function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (err) {
        if (err instanceof UnknownValueError) return undefined;
        throw err;
    }
}

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
