/**
 * The swarm's machines: managers as fixed instances spread over the AZs (a manager is a Raft member
 * with state; an Auto Scaling group would replace two at once and lose quorum), and workers in an
 * Auto Scaling group whose scale-in goes through the drain-and-leave lifecycle hook.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cpuArchitecture } from "../architecture";
import type { StackConfig } from "../config";
import { stackTags } from "../tags";
import { BootstrapSettings, LIFECYCLE_HOOK_NAME, LIFECYCLE_HOOK_TIMEOUT_SECONDS, NodeRole, userDataBytes } from "./cloudInit";
import { NODE_MANAGED_POLICIES, EC2_TRUST_POLICY } from "./iam";
import { liveManagers, managerRollCheck, managerRollTriggers, planManagers } from "./managerChanges";
import { readinessGate } from "./readiness";

export const MANAGER_COUNTS = [1, 3, 5] as const;

/** The AZ (index into the node subnets) of each manager: one per AZ in turn. */
export function managerPlacement(managers: number, azCount: number): number[] {
    if (!(MANAGER_COUNTS as readonly number[]).includes(managers)) {
        throw new Error(`dockyard:swarm.managers is ${managers}; allowed: 1, 3 or 5 (a swarm needs an odd number of managers)`);
    }
    if (!Number.isInteger(azCount) || azCount < 1) throw new Error(`the network has ${azCount} AZs; a swarm needs at least one`);
    return Array.from({ length: managers }, (_, i) => i % azCount);
}

/** The public SSM parameter holding the current Amazon Linux 2023 AMI for an architecture. */
export function amiParameterName(architecture: "arm64" | "x86_64"): string {
    return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
}

/**
 * What `pulumi up` leaves alone on a node: the AMI unless `swarm.amiId` pins it, so a manager the
 * EC2 lookup of `planManagers` missed can never be replaced for a newer release; and a manager's
 * user data, because changing it would stop and start every manager at once. The engine keeps the
 * recorded value of an ignored input even for a replacement (pulumi v3.248.0
 * pkg/resource/deploy/step_generator.go, `processIgnoreChanges`), so a manager runs the bootstrap
 * of the stack's first `up` for its whole life, replaced or not.
 */
export function nodeIgnoreChanges(kind: "manager" | "worker", amiId: string): string[] {
    const ami = amiId === "" ? [kind === "manager" ? "ami" : "imageId"] : [];
    // Both user data inputs: a manager launched before its user data was compressed holds userData,
    // which the engine sets back from the old inputs while it drops userDataBase64, absent there
    // (pulumi/pulumi sdk/go/common/resource/properties_path.go PropertyPath.Reset). Taking either
    // off this list would update every such manager in place: a stop and start of all at once.
    return kind === "manager" ? [...ami, "userData", "userDataBase64"] : ami;
}

export interface ScheduledCapacity {
    readonly recurrence: string;
    readonly minSize: number;
    readonly desiredCapacity: number;
    readonly maxSize: number;
}

/** `swarm.workerSchedule` entries (`"<cron> min/desired/max"`, validated by the config) as scheduled actions. */
export function workerSchedule(entries: readonly string[]): ScheduledCapacity[] {
    return entries.map((entry) => {
        const fields = entry.trim().split(/\s+/);
        const [minSize, desiredCapacity, maxSize] = fields[5].split("/").map(Number);
        return { recurrence: fields.slice(0, 5).join(" "), minSize, desiredCapacity, maxSize };
    });
}

/** IMDSv2 only, and one hop: containers on bridge networks cannot borrow the node's role. */
export const METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } as const;

export interface SwarmNodesArgs {
    readonly config: StackConfig;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly nodeSecurityGroupId: pulumi.Input<string>;
    readonly managerSecurityGroupId: pulumi.Input<string>;
    /** Everything of the bootstrap but the role. */
    readonly bootstrap: Omit<BootstrapSettings, "role">;
    readonly managerPolicy: pulumi.Input<string>;
    readonly workerPolicy: pulumi.Input<string>;
    readonly partition: pulumi.Input<string>;
    /** Target groups every node joins, each on its published port. */
    readonly targetGroups: readonly { readonly key: string; readonly arn: pulumi.Input<string>; readonly port: number }[];
    /** SSH options of the provider: the check before a manager moves reaches the swarm the same way. */
    readonly sshOptions: pulumi.Input<string[]>;
}

export class SwarmNodes extends pulumi.ComponentResource {
    public readonly managers: aws.ec2.Instance[];
    /** The check that the swarm is whole, which every manager waits for before it changes. */
    public readonly rollCheck: pulumi.Resource;
    public readonly workerGroup?: aws.autoscaling.Group;

    constructor(name: string, args: SwarmNodesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:Nodes", name, {}, opts);
        const { config } = args;
        const swarm = config.swarm;
        const placement = managerPlacement(swarm.managers, config.network.azs);
        const publicIp = config.network.natGateways === "none";
        const amiOf = (instanceType: string) =>
            swarm.amiId !== "" ? pulumi.output(swarm.amiId) : aws.ssm.getParameterOutput({ name: amiParameterName(cpuArchitecture(instanceType)) }, { parent: this }).value;
        const userDataBase64 = (role: NodeRole) => userDataBytes({ ...args.bootstrap, role }).toString("base64");

        // The profile, and what a node must wait for: its role's policies. An instance profile exists
        // before the role's policies are attached, and a node that boots first finds SSM refusing it.
        const role = (kind: "manager" | "worker", policy: pulumi.Input<string>) => {
            const r = new aws.iam.Role(`${name}-${kind}`, { assumeRolePolicy: JSON.stringify(EC2_TRUST_POLICY), description: `dockyard swarm ${kind}s of ${config.project}/${config.stack}` }, { parent: this });
            const grants: pulumi.Resource[] = NODE_MANAGED_POLICIES.map(
                (managed) => new aws.iam.RolePolicyAttachment(`${name}-${kind}-${managed}`, { role: r.name, policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/${managed}` }, { parent: this }),
            );
            grants.push(new aws.iam.RolePolicy(`${name}-${kind}`, { role: r.name, policy }, { parent: this }));
            return { profile: new aws.iam.InstanceProfile(`${name}-${kind}`, { role: r.name }, { parent: this }), grants };
        };
        const manager = role("manager", args.managerPolicy);

        // What each manager runs: what it runs now, one of them moved towards the config (managerChanges.ts).
        const managerPlan = pulumi
            .all([liveManagers(config, { parent: this }), amiOf(swarm.managerInstanceType), pulumi.output(args.subnetIds)])
            .apply(([live, ami, subnetIds]) => {
                const plan = planManagers(live, { subnetIds: placement.map((az) => subnetIds[az]), desired: { ami, instanceType: swarm.managerInstanceType }, amiPinned: swarm.amiId !== "" });
                if (plan.problem) throw new pulumi.RunError(plan.problem);
                return plan;
            });
        this.rollCheck = readinessGate(
            `${name}-managers-whole`,
            {
                after: [],
                check: managerPlan.apply((plan) => managerRollCheck(plan, { via: swarm.access, sshUser: swarm.sshUser })),
                sshOptions: args.sshOptions,
                triggers: managerPlan.apply(managerRollTriggers),
            },
            { parent: this },
        );
        this.managers = [];
        placement.forEach((az, i) => {
            const nodeRole: NodeRole = i === 0 ? "first-manager" : "manager";
            const instance = new aws.ec2.Instance(
                `${name}-manager-${i}`,
                {
                    ami: managerPlan.apply((plan) => plan.runtimes[i].ami),
                    instanceType: managerPlan.apply((plan) => plan.runtimes[i].instanceType),
                    subnetId: pulumi.output(args.subnetIds).apply((ids) => ids[az]),
                    vpcSecurityGroupIds: [args.nodeSecurityGroupId, args.managerSecurityGroupId],
                    iamInstanceProfile: manager.profile.name,
                    associatePublicIpAddress: publicIp,
                    metadataOptions: METADATA_OPTIONS,
                    rootBlockDevice: { volumeType: "gp3", volumeSize: swarm.rootVolumeGb, encrypted: true, deleteOnTermination: true, tags: { Name: `${name}-manager-${i}` } },
                    // Compressed bytes are not UTF-8: userDataBase64 carries them unchanged (its docs in @pulumi/aws ec2/instance.d.ts).
                    userDataBase64: userDataBase64(nodeRole),
                    disableApiTermination: config.production,
                    tags: { Name: `${name}-manager-${i}`, "dockyard:role": nodeRole, "dockyard:swarm-index": String(i) },
                },
                {
                    parent: this,
                    dependsOn: [...manager.grants, this.rollCheck, ...(i === 0 ? [] : [this.managers[0]])],
                    ignoreChanges: nodeIgnoreChanges("manager", swarm.amiId),
                },
            );
            this.managers.push(instance);
            for (const tg of args.targetGroups) {
                new aws.lb.TargetGroupAttachment(`${name}-manager-${i}-tg-${tg.key}`, { targetGroupArn: tg.arn, targetId: instance.id, port: tg.port }, { parent: this });
            }
        });

        if (swarm.workersMax > 0) {
            const worker = role("worker", args.workerPolicy);
            const tags = { ...stackTags(config), Name: `${name}-worker`, "dockyard:role": "worker" };
            const template = new aws.ec2.LaunchTemplate(
                `${name}-worker`,
                {
                    imageId: amiOf(swarm.workerInstanceType),
                    instanceType: swarm.workerInstanceType,
                    updateDefaultVersion: true,
                    iamInstanceProfile: { arn: worker.profile.arn },
                    metadataOptions: METADATA_OPTIONS,
                    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: swarm.rootVolumeGb, encrypted: "true", deleteOnTermination: "true" } }],
                    networkInterfaces: [{ associatePublicIpAddress: String(publicIp), securityGroups: [args.nodeSecurityGroupId], deleteOnTermination: "true" }],
                    userData: userDataBase64("worker"),
                    // Instances an Auto Scaling group launches get no provider default tags: tag them here.
                    tagSpecifications: [
                        { resourceType: "instance", tags },
                        { resourceType: "volume", tags },
                    ],
                },
                { parent: this, ignoreChanges: nodeIgnoreChanges("worker", swarm.amiId) },
            );
            this.workerGroup = new aws.autoscaling.Group(
                `${name}-workers`,
                {
                    name: args.bootstrap.workerGroupName,
                    minSize: swarm.workersMin,
                    maxSize: swarm.workersMax,
                    desiredCapacity: swarm.workersDesired,
                    vpcZoneIdentifiers: args.subnetIds,
                    launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
                    healthCheckType: "EC2",
                    healthCheckGracePeriod: 300,
                    defaultInstanceWarmup: 300,
                    targetGroupArns: args.targetGroups.map((tg) => tg.arn),
                    initialLifecycleHooks: [
                        { name: LIFECYCLE_HOOK_NAME, lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeatTimeout: LIFECYCLE_HOOK_TIMEOUT_SECONDS, defaultResult: "CONTINUE" },
                    ],
                    // A new launch template version rolls the workers one batch at a time, each through the hook.
                    instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 50 } },
                    tags: Object.entries({ ...stackTags(config), "dockyard:role": "worker" }).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
                },
                // The autoscaler owns the desired count after creation.
                { parent: this, dependsOn: [this.managers[0], ...worker.grants], ignoreChanges: ["desiredCapacity"] },
            );
            // No CPU target tracking: Swarm never moves running tasks to a new node and replica counts
            // are fixed, so a node added for load would sit idle (docs/swarm.md, "Scaling"; issue 14 item 9).
            // Scheduled scale-in terminates through the same drain-and-leave hook as any other.
            workerSchedule(swarm.workerSchedule).forEach((action, i) => {
                new aws.autoscaling.Schedule(
                    `${name}-workers-schedule-${i}`,
                    { autoscalingGroupName: this.workerGroup!.name, scheduledActionName: `dockyard-${i}`, timeZone: "Etc/UTC", ...action },
                    { parent: this },
                );
            });
        }
        this.registerOutputs({ managerIds: this.managers.map((m) => m.id) });
    }
}
