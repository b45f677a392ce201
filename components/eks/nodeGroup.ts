/**
 * The cluster's managed node groups on Amazon Linux 2023, one per AZ: their settings from config
 * (pure, tested), and the node role, launch template and `aws.eks.NodeGroup`s that realise them.
 *
 * Why one group per AZ: EBS volumes are zonal. A pending pod bound to a volume in zone b can only
 * run on a node in zone b, and the Cluster Autoscaler cannot choose the zone of a new node in a
 * group that spans several AZs, so that pod may never get one (EKS Best Practices Guide, "Cluster
 * Autoscaler": "configure a node group per AZ" for EBS-backed workloads). With a group per AZ and
 * `--balance-similar-node-groups` the autoscaler grows the right zone and keeps the zones even.
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { isGraviton } from "../architecture";
import type { CapacityType, StackConfig } from "../config";
import { shellQuote as q } from "../swarm/readiness";
import { stackTags } from "../tags";
import { autoscalerDiscoveryTags, NODE_ROLE_POLICY_ARNS, nodeTrustPolicy } from "./iam";

export type AmiType = "AL2023_ARM_64_STANDARD" | "AL2023_x86_64_STANDARD";

/** The EKS AMI type for the node group's instance types, which must share one architecture. */
export function amiTypeFor(instanceTypes: readonly string[]): AmiType {
    const arm = instanceTypes.filter(isGraviton);
    if (arm.length > 0 && arm.length < instanceTypes.length) {
        throw new Error(
            `dockyard:eks.instanceTypes is ${JSON.stringify(instanceTypes)}; allowed: instance types of one architecture ` +
                `(arm64: ${arm.join(", ")}; x86_64: ${instanceTypes.filter((t) => !arm.includes(t)).join(", ")}), because one node group runs one AMI`,
        );
    }
    return arm.length > 0 ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}

/**
 * IMDS hop limit 1: pods (one network hop away) cannot reach the node's metadata service and so
 * cannot borrow the node role. Everything in dockyard that calls AWS from a pod gets Pod Identity
 * credentials and is told its region and VPC explicitly, so none needs IMDS. AWS recommends 2 only
 * for pods that must read IMDS themselves; raise it here if a workload truly does.
 */
export const NODE_METADATA_HOP_LIMIT = 1;

export interface Scaling {
    readonly minSize: number;
    readonly desiredSize: number;
    readonly maxSize: number;
}

export interface NodeGroupSettings {
    readonly instanceTypes: string[];
    readonly capacityType: CapacityType;
    readonly amiType: AmiType;
    /** The stack's totals (`eks.nodesMin/Desired/Max`); `zonalScaling` splits them over the AZs. */
    readonly scaling: Scaling;
    readonly diskGb: number;
    /** One in three nodes at a time during AMI or version roll-outs. */
    readonly maxUnavailablePercentage: number;
}

export function nodeGroupSettings(config: StackConfig): NodeGroupSettings {
    const eks = config.eks;
    return {
        instanceTypes: [...eks.instanceTypes],
        capacityType: eks.capacityType,
        amiType: amiTypeFor(eks.instanceTypes),
        scaling: { minSize: eks.nodesMin, desiredSize: eks.nodesDesired, maxSize: eks.nodesMax },
        diskGb: eks.diskGb,
        maxUnavailablePercentage: 33,
    };
}

/** `total` split over `groups` as evenly as whole numbers allow, the larger shares first. */
const share = (total: number, groups: number, i: number) => Math.floor(total / groups) + (i < total % groups ? 1 : 0);

/** The scaling of each AZ's group: the totals split evenly, so the groups sum to the config's numbers. */
export function zonalScaling(scaling: Scaling, azs: number): Scaling[] {
    return Array.from({ length: azs }, (_, i) => ({ minSize: share(scaling.minSize, azs, i), desiredSize: share(scaling.desiredSize, azs, i), maxSize: share(scaling.maxSize, azs, i) }));
}

/**
 * Timeouts for a node group: a version or AMI roll-out drains and replaces every node a third at a
 * time, and each drain waits up to the pods' grace periods and disruption budgets (EKS gives up on
 * a pod after 15 minutes, "Managed node update behavior"). Deleting a replaced group drains its
 * nodes too, so it keeps the provider's default of 60 minutes (hashicorp/terraform-provider-aws
 * internal/service/eks/node_group.go: 60m for each operation); a create drains nothing.
 * components/eks/timeouts.ts adds these up for the CI job's limit.
 */
export const NODE_GROUP_TIMEOUTS = { create: "40m", update: "90m", delete: "60m" } as const;

/**
 * Sets a group's min and max against its *live* desired size, clamped into the new range. EKS
 * refuses a minimum above the desired size ("Minimum capacity can't be greater than desired size";
 * terraform-aws-eks #3521, #2508), and sending the creation-time desired size (what the provider
 * holds while the autoscaler owns it) would undo the autoscaler's scale-up. Does nothing when the
 * live group already has these bounds, so a re-run is harmless.
 */
export function scalingScript(clusterName: string, nodeGroupName: string, region: string, scaling: Scaling): string {
    const group = `--cluster-name ${q(clusterName)} --nodegroup-name "$group" --region ${q(region)}`;
    return [
        "set -eu",
        `group=${q(nodeGroupName)}`,
        `live=$(aws eks describe-nodegroup ${group} --query 'nodegroup.scalingConfig.[minSize,maxSize,desiredSize]' --output text)`,
        "# shellcheck disable=SC2086 # split the three numbers into $1 $2 $3",
        `set -- $live`,
        `min=${scaling.minSize} max=${scaling.maxSize} desired=$3`,
        `[ "$desired" -lt "$min" ] && desired=$min`,
        `[ "$desired" -gt "$max" ] && desired=$max`,
        `if [ "$1" = "$min" ] && [ "$2" = "$max" ] && [ "$3" = "$desired" ]; then exit 0; fi`,
        `aws eks update-nodegroup-config ${group} --scaling-config "minSize=$min,maxSize=$max,desiredSize=$desired" >/dev/null`,
        `aws eks wait nodegroup-active ${group}`,
    ].join("\n");
}

/** The launch template's metadata and disk settings: IMDSv2 only, an encrypted gp3 root volume. */
export function nodeLaunchTemplateSettings(settings: NodeGroupSettings) {
    return {
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: NODE_METADATA_HOP_LIMIT },
        blockDeviceMappings: [
            { deviceName: "/dev/xvda", ebs: { volumeSize: settings.diskGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
        ],
    };
}

export interface EksNodeGroupArgs {
    readonly config: StackConfig;
    /** The cluster's name as an output of the cluster. */
    readonly cluster: pulumi.Input<string>;
    readonly clusterName: string;
    /** One node subnet per AZ, in AZ order; group `i` runs in subnet `i`. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly version: pulumi.Input<string>;
}

/** `dockyard:eks:NodeGroup`: the node role and launch template, and a managed node group per AZ. */
export class EksNodeGroup extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly nodeGroups: aws.eks.NodeGroup[];

    constructor(name: string, args: EksNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:NodeGroup", name, {}, opts);
        const settings = nodeGroupSettings(args.config);

        this.role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: JSON.stringify(nodeTrustPolicy()), description: `EKS nodes of ${args.clusterName}` }, { parent: this });
        const attachments = NODE_ROLE_POLICY_ARNS.map(
            (policyArn, i) => new aws.iam.RolePolicyAttachment(`${name}-role-policy-${i}`, { role: this.role.name, policyArn }, { parent: this }),
        );

        // defaultTags reach the template itself, not what EKS launches from it: tag instances and volumes for cost allocation.
        const instanceTags = { ...stackTags(args.config), Name: `${args.clusterName}-node` };
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: `Nodes of ${args.clusterName}: IMDSv2 only, encrypted gp3 root volume`,
                ...nodeLaunchTemplateSettings(settings),
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: instanceTags })),
                updateDefaultVersion: true,
            },
            { parent: this },
        );

        const subnets = pulumi.output(args.subnetIds);
        this.nodeGroups = zonalScaling(settings.scaling, args.config.network.azs).map((scaling, i) => {
            // A prefix, not a name: changing instance or AMI type replaces the group, and the new one is created
            // before the old one is deleted. EKS allows 63 characters; the provider appends 26.
            const nodeGroupNamePrefix = `${args.clusterName.slice(0, 32)}-az${i + 1}-`;
            const nodeGroup = new aws.eks.NodeGroup(
                `${name}-ng-${i}`,
                {
                    clusterName: args.cluster,
                    nodeGroupNamePrefix,
                    version: args.version,
                    nodeRoleArn: this.role.arn,
                    subnetIds: [subnets.apply((ids) => ids[i])],
                    instanceTypes: settings.instanceTypes,
                    capacityType: settings.capacityType,
                    amiType: settings.amiType,
                    scalingConfig: scaling,
                    updateConfig: { maxUnavailablePercentage: settings.maxUnavailablePercentage },
                    nodeRepairConfig: { enabled: true },
                    launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                    labels: { "dockyard/stack": args.config.stack },
                    // EKS puts the same keys on the group's Auto Scaling group, where Cluster Autoscaler looks for them.
                    tags: autoscalerDiscoveryTags(args.clusterName),
                },
                // After creation the sizes are the autoscaler's (desired) and the scaling command's (min, max) below.
                { parent: this, dependsOn: attachments, ignoreChanges: ["scalingConfig"], customTimeouts: NODE_GROUP_TIMEOUTS },
            );
            new command.local.Command(
                `${name}-ng-${i}-scaling`,
                {
                    create: nodeGroup.nodeGroupName.apply((groupName) => scalingScript(args.clusterName, groupName, args.config.region, scaling)),
                    interpreter: ["/bin/sh", "-c"],
                    triggers: [nodeGroup.nodeGroupName, scaling.minSize, scaling.maxSize],
                },
                { parent: this, dependsOn: [nodeGroup] },
            );
            return nodeGroup;
        });
        this.registerOutputs({ role: this.role, nodeGroups: this.nodeGroups });
    }
}
