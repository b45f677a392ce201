/**
 * The cluster's managed node group on Amazon Linux 2023: its settings from config (pure, tested),
 * and the node role, launch template and `aws.eks.NodeGroup` that realise them.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CapacityType, StackConfig } from "../config";
import { stackTags } from "../tags";
import { autoscalerDiscoveryTags, NODE_ROLE_POLICY_ARNS, nodeTrustPolicy } from "./iam";

export type AmiType = "AL2023_ARM_64_STANDARD" | "AL2023_x86_64_STANDARD";

/**
 * Whether an instance type runs on AWS Graviton (arm64): the `a1` family, or a `g` among the
 * attribute letters after the generation (t4g, m7g, c7gn, r6gd, im4gn, is4gen, g5g).
 */
export function isGravitonInstanceType(instanceType: string): boolean {
    const match = /^([a-z]+)(\d+)([a-z-]*)\./.exec(instanceType);
    if (!match) return false;
    const [, family, generation, attributes] = match;
    return (family === "a" && generation === "1") || attributes.includes("g");
}

/** The EKS AMI type for the node group's instance types, which must share one architecture. */
export function amiTypeFor(instanceTypes: readonly string[]): AmiType {
    const arm = instanceTypes.filter(isGravitonInstanceType);
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

export interface NodeGroupSettings {
    readonly instanceTypes: string[];
    readonly capacityType: CapacityType;
    readonly amiType: AmiType;
    readonly scaling: { readonly minSize: number; readonly desiredSize: number; readonly maxSize: number };
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
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly version: pulumi.Input<string>;
}

export class EksNodeGroup extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly nodeGroup: aws.eks.NodeGroup;

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

        this.nodeGroup = new aws.eks.NodeGroup(
            `${name}-ng`,
            {
                clusterName: args.cluster,
                version: args.version,
                nodeRoleArn: this.role.arn,
                subnetIds: args.subnetIds,
                instanceTypes: settings.instanceTypes,
                capacityType: settings.capacityType,
                amiType: settings.amiType,
                scalingConfig: settings.scaling,
                updateConfig: { maxUnavailablePercentage: settings.maxUnavailablePercentage },
                nodeRepairConfig: { enabled: true },
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                labels: { "dockyard/stack": args.config.stack },
                // EKS puts the same keys on the group's Auto Scaling group, where Cluster Autoscaler looks for them.
                tags: autoscalerDiscoveryTags(args.clusterName),
            },
            // The Cluster Autoscaler owns the desired size after creation; `pulumi up` must not reset it.
            { parent: this, dependsOn: attachments, ignoreChanges: ["scalingConfig.desiredSize"] },
        );
        this.registerOutputs({ role: this.role, nodeGroup: this.nodeGroup });
    }
}
