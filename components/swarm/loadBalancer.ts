/**
 * The load balancer in front of the swarm: a plan (pure: listeners, target groups and routing rules
 * from the stack's public endpoints) and the resources built from it. Every node publishes every
 * public port through Swarm's routing mesh, so every node is a target of every target group (the
 * nodes register themselves: see nodes.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmIngress } from "../config";
import type { PublicEndpoint } from "../workload";

/** Modern TLS: TLS 1.3 and 1.2 with forward-secret ciphers only. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface TargetGroupPlan {
    /** Stable part of the resource name: the published port. */
    readonly key: string;
    readonly endpoint: PublicEndpoint;
    readonly port: number;
    readonly protocol: "HTTP" | "TCP";
    readonly healthCheck: { readonly protocol: "HTTP" | "TCP"; readonly path?: string; readonly matcher?: string };
}

export interface ListenerRulePlan {
    readonly priority: number;
    readonly targetGroupKey: string;
    readonly pathPatterns?: readonly string[];
    readonly hostHeaders?: readonly string[];
}

export interface ListenerPlanEntry {
    readonly port: number;
    readonly protocol: "HTTP" | "HTTPS" | "TCP";
    /** `redirect`: HTTP to HTTPS; `route`: the listener rules; `forward`: straight to one target group. */
    readonly action: "redirect" | "route" | "forward";
    readonly targetGroupKey?: string;
}

export interface ListenerPlan {
    readonly kind: "application" | "network" | "none";
    readonly listeners: readonly ListenerPlanEntry[];
    readonly targetGroups: readonly TargetGroupPlan[];
    readonly rules: readonly ListenerRulePlan[];
    /** Target group of the catch-all route (path `/`, no host), if an endpoint has one. */
    readonly defaultTargetGroupKey?: string;
}

const pathPatterns = (path: string): string[] => {
    const base = path.replace(/\/+$/, "");
    return base === "" ? ["/*"] : [base, `${base}/*`];
};

/** Most specific first: a host beats no host, a longer path beats a shorter one. */
const specificity = (e: PublicEndpoint) => (e.host ? 10000 : 0) + e.path.length;

/**
 * Listeners, target groups and routing rules for the stack's public endpoints.
 * Throws a clear error for endpoints the chosen ingress cannot route.
 */
export function listenerPlan(endpoints: readonly PublicEndpoint[], ingress: SwarmIngress, hasCertificate: boolean): ListenerPlan {
    if (ingress === "direct" || endpoints.length === 0) return { kind: "none", listeners: [], targetGroups: [], rules: [] };
    const key = (e: PublicEndpoint) => `${e.publishedPort}`;

    if (ingress === "nlb") {
        const byPort = new Map<number, PublicEndpoint>();
        for (const e of endpoints) {
            const clash = byPort.get(e.containerPort);
            if (clash) {
                throw new Error(
                    `dockyard:swarm.ingress is "nlb": ${clash.workload}/${clash.portName} and ${e.workload}/${e.portName} both listen on port ${e.containerPort}; ` +
                        `allowed: one public port per number on a network load balancer (use "alb" to route http by path or host)`,
                );
            }
            byPort.set(e.containerPort, e);
        }
        return {
            kind: "network",
            listeners: endpoints.map((e) => ({ port: e.containerPort, protocol: "TCP" as const, action: "forward" as const, targetGroupKey: key(e) })),
            targetGroups: endpoints.map((e) => ({ key: key(e), endpoint: e, port: e.publishedPort, protocol: "TCP" as const, healthCheck: { protocol: "TCP" as const } })),
            rules: [],
        };
    }

    const tcp = endpoints.filter((e) => e.protocol === "tcp");
    if (tcp.length > 0) {
        throw new Error(
            `dockyard:swarm.ingress is "alb" but ${tcp.map((e) => `${e.workload}/${e.portName}`).join(", ")} ${tcp.length === 1 ? "is a" : "are"} tcp port${tcp.length === 1 ? "" : "s"}; ` +
                `allowed: http ports only behind an application load balancer (set dockyard:swarm.ingress to "nlb" or "direct" for tcp)`,
        );
    }
    const seen = new Map<string, PublicEndpoint>();
    for (const e of endpoints) {
        const route = `${e.host ?? "*"}${e.path}`;
        const clash = seen.get(route);
        if (clash) throw new Error(`public route ${route} is claimed by both ${clash.workload}/${clash.portName} and ${e.workload}/${e.portName}; allowed: one workload per host and path`);
        seen.set(route, e);
    }
    const catchAll = endpoints.find((e) => !e.host && pathPatterns(e.path)[0] === "/*");
    const routed = endpoints.filter((e) => e !== catchAll).sort((a, b) => specificity(b) - specificity(a));
    const rules = routed.map((e, i) => ({
        priority: 100 + i * 10,
        targetGroupKey: key(e),
        ...(pathPatterns(e.path)[0] === "/*" ? {} : { pathPatterns: pathPatterns(e.path) }),
        ...(e.host ? { hostHeaders: [e.host] } : {}),
    }));
    const listeners: ListenerPlanEntry[] = hasCertificate
        ? [
              { port: 80, protocol: "HTTP", action: "redirect" },
              { port: 443, protocol: "HTTPS", action: "route" },
          ]
        : [{ port: 80, protocol: "HTTP", action: "route" }];
    return {
        kind: "application",
        listeners,
        targetGroups: endpoints.map((e) => ({ key: key(e), endpoint: e, port: e.publishedPort, protocol: "HTTP" as const, healthCheck: { protocol: "HTTP" as const, path: e.path, matcher: "200-499" } })),
        rules,
        defaultTargetGroupKey: catchAll ? key(catchAll) : undefined,
    };
}

export interface SwarmLoadBalancerArgs {
    readonly plan: ListenerPlan;
    readonly vpcId: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly certificateArn?: pulumi.Input<string>;
    /** Production keeps the load balancer from being deleted by accident. */
    readonly deletionProtection: boolean;
}

export class SwarmLoadBalancer extends pulumi.ComponentResource {
    public readonly dnsName: pulumi.Output<string>;
    public readonly zoneId: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;
    public readonly targetGroupArns: pulumi.Output<string>[];

    constructor(name: string, args: SwarmLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:LoadBalancer", name, {}, opts);
        const { plan } = args;
        if (plan.kind === "none") throw new Error(`${name}: a load balancer needs at least one public endpoint`);
        const lb = new aws.lb.LoadBalancer(
            `${name}-${plan.kind === "application" ? "alb" : "nlb"}`,
            {
                loadBalancerType: plan.kind,
                internal: false,
                subnets: args.subnetIds,
                securityGroups: [args.securityGroupId],
                dropInvalidHeaderFields: plan.kind === "application" ? true : undefined,
                enableDeletionProtection: args.deletionProtection,
            },
            { parent: this },
        );
        const targetGroups = new Map<string, aws.lb.TargetGroup>();
        for (const tg of plan.targetGroups) {
            const group = new aws.lb.TargetGroup(
                `${name}-tg-${tg.key}`,
                {
                    vpcId: args.vpcId,
                    port: tg.port,
                    protocol: tg.protocol,
                    targetType: "instance",
                    deregistrationDelay: 30,
                    healthCheck: { enabled: true, protocol: tg.healthCheck.protocol, path: tg.healthCheck.path, matcher: tg.healthCheck.matcher, interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
                    tags: { "dockyard:workload": tg.endpoint.workload, "dockyard:port": tg.endpoint.portName },
                },
                { parent: this },
            );
            targetGroups.set(tg.key, group);
        }
        const forward = (key: string) => ({ type: "forward", targetGroupArn: targetGroups.get(key)!.arn });
        const notFound = { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" } };
        let routedListener: aws.lb.Listener | undefined;
        for (const l of plan.listeners) {
            const listener = new aws.lb.Listener(
                `${name}-${l.protocol.toLowerCase()}-${l.port}`,
                {
                    loadBalancerArn: lb.arn,
                    port: l.port,
                    protocol: l.protocol,
                    ...(l.protocol === "HTTPS" ? { certificateArn: args.certificateArn, sslPolicy: TLS_POLICY } : {}),
                    defaultActions: [
                        l.action === "redirect"
                            ? { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }
                            : l.action === "forward"
                              ? forward(l.targetGroupKey!)
                              : plan.defaultTargetGroupKey
                                ? forward(plan.defaultTargetGroupKey)
                                : notFound,
                    ],
                },
                { parent: this },
            );
            if (l.action === "route") routedListener = listener;
        }
        if (routedListener) {
            for (const rule of plan.rules) {
                new aws.lb.ListenerRule(
                    `${name}-rule-${rule.targetGroupKey}`,
                    {
                        listenerArn: routedListener.arn,
                        priority: rule.priority,
                        actions: [forward(rule.targetGroupKey)],
                        conditions: [
                            ...(rule.pathPatterns ? [{ pathPattern: { values: [...rule.pathPatterns] } }] : []),
                            ...(rule.hostHeaders ? [{ hostHeader: { values: [...rule.hostHeaders] } }] : []),
                        ],
                    },
                    { parent: this },
                );
            }
        }
        this.dnsName = lb.dnsName;
        this.zoneId = lb.zoneId;
        this.arn = lb.arn;
        this.targetGroupArns = [...targetGroups.values()].map((g) => g.arn);
        this.registerOutputs({ dnsName: this.dnsName, zoneId: this.zoneId, arn: this.arn });
    }
}
