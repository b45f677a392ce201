/**
 * `dockyard:eks:Cluster`: an EKS control plane in the shared network, a managed node group on
 * AL2023, the EKS add-ons, storage classes, the AWS Load Balancer Controller and the Cluster
 * Autoscaler, and the `KubernetesPlatform` the workload adapter deploys to.
 */
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import type { KubernetesPlatform } from "../platform";
import { ClusterAccess } from "./access";
import { EksAddons } from "./addons";
import { ClusterAutoscaler } from "./autoscaler";
import { INGRESS_CLASS, LoadBalancerController } from "./loadBalancerController";
import { EksNodeGroup } from "./nodeGroup";
import { EksStorage, PERSISTENT_STORAGE_CLASS, SHARED_STORAGE_CLASS } from "./storage";
import { supportNotice } from "./versions";

export interface EksNetwork {
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Private subnets behind NAT, or the public ones when the network has no NAT. */
    readonly nodeSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly azs: pulumi.Input<pulumi.Input<string>[]>;
}

export interface EksClusterArgs {
    readonly config: StackConfig;
    readonly network: EksNetwork;
    /** ACM certificate for HTTPS on the ALB. */
    readonly certificateArn?: pulumi.Input<string>;
}

export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator"] as const;

/** The EKS cluster's name: project and stack, so the log group, IAM conditions and tags can name it up front. */
export function clusterNameFor(config: Pick<StackConfig, "project" | "stack">): string {
    return `${config.project}-${config.stack}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 100);
}

/** CloudWatch only sets a retention on a group it did not create itself, so the group comes first. */
export function controlPlaneLogGroupName(clusterName: string): string {
    return `/aws/eks/${clusterName}/cluster`;
}

/**
 * The control plane's posture from config: where its API is reachable, what it logs. Who may use it
 * is decided by access entries (access.ts), not here: pulumi-eks would create them inside its
 * component, where they cannot wait for the creator's bootstrap entry to be revoked.
 */
export function controlPlaneSettings(config: StackConfig) {
    const publicAccess = config.eks.publicAccessCidrs.length > 0;
    return {
        version: config.eks.version,
        authenticationMode: eks.AuthenticationMode.Api,
        // Nodes and in-VPC tooling always reach the API privately; the public endpoint exists only for listed CIDRs
        // (the config requires them for this target: the deployer must reach the API during the first `up`).
        endpointPrivateAccess: true,
        endpointPublicAccess: publicAccess,
        ...(publicAccess ? { publicAccessCidrs: [...config.eks.publicAccessCidrs] } : {}),
        enabledClusterLogTypes: [...CONTROL_PLANE_LOG_TYPES],
        deletionProtection: config.production,
        // Never drift into extended support, which costs six times the standard control-plane price.
        upgradePolicy: { supportType: "STANDARD" },
    };
}

export function updateKubeconfigCommand(clusterName: string, region: string): string {
    return `aws eks update-kubeconfig --name ${clusterName} --region ${region}`;
}

export class EksCluster extends pulumi.ComponentResource {
    public readonly platform: KubernetesPlatform;
    public readonly clusterName: pulumi.Output<string>;
    public readonly endpoint: pulumi.Output<string>;
    /** The kubeconfig (aws eks get-token authentication), always a secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly updateKubeconfigCommand: pulumi.Output<string>;
    public readonly nodeGroup: EksNodeGroup;
    public readonly access: ClusterAccess;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:Cluster", name, {}, opts);
        const config = args.config;
        const clusterName = clusterNameFor(config);
        const notice = supportNotice(config.eks.version, new Date());
        if (notice) pulumi.log.warn(notice, this);

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: controlPlaneLogGroupName(clusterName), retentionInDays: config.logRetentionDays },
            { parent: this },
        );
        const secretsKey = new aws.kms.Key(
            `${name}-secrets-key`,
            { description: `Envelope encryption of Kubernetes Secrets in ${clusterName}`, enableKeyRotation: true, deletionWindowInDays: config.production ? 30 : 7 },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-secrets-key-alias`, { name: `alias/${clusterName}-eks-secrets`, targetKeyId: secretsKey.keyId }, { parent: this });

        const cluster = new eks.Cluster(
            `${name}-cluster`,
            {
                name: clusterName,
                ...controlPlaneSettings(config),
                vpcId: args.network.vpcId,
                // The control plane's ENIs go in private subnets only; the ALB finds the public ones by their tags.
                privateSubnetIds: args.network.privateSubnetIds,
                encryptionConfigKeyArn: secretsKey.arn,
                skipDefaultNodeGroup: true,
                // Managed nodes use the security group EKS creates for the cluster; pulumi-eks' extra pair would sit unused.
                skipDefaultSecurityGroups: true,
                // Pod Identity gives pods their roles; no OIDC provider to manage.
                createOidcProvider: false,
                // Every add-on is an EKS add-on at a pinned version (addons.ts), so none is installed self-managed or twice.
                bootstrapSelfManagedAddons: false,
                useDefaultVpcCni: true,
                corednsAddonOptions: { enabled: false },
                kubeProxyAddonOptions: { enabled: false },
            },
            { parent: this, dependsOn: [logGroup] },
        );
        const eksCluster = cluster.eksCluster;
        this.clusterName = eksCluster.apply((c) => c.name);
        this.endpoint = eksCluster.apply((c) => c.endpoint);
        const clusterArn = eksCluster.apply((c) => c.arn);
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.updateKubeconfigCommand = this.clusterName.apply((n) => updateKubeconfigCommand(n, config.region));

        const systemAddons = new EksAddons(`${name}-system-addons`, { config, phase: "beforeNodes", cluster: this.clusterName, clusterName }, { parent: this });
        this.nodeGroup = new EksNodeGroup(
            `${name}-nodes`,
            { config, cluster: this.clusterName, clusterName, subnetIds: args.network.nodeSubnetIds, version: config.eks.version },
            { parent: this, dependsOn: [systemAddons] },
        );
        const addons = new EksAddons(`${name}-addons`, { config, phase: "afterNodes", cluster: this.clusterName, clusterName }, { parent: this, dependsOn: [this.nodeGroup] });

        this.access = new ClusterAccess(
            `${name}-access`,
            { config, cluster: this.clusterName, clusterName, clusterSecurityGroupId: eksCluster.apply((c) => c.vpcConfig.clusterSecurityGroupId) },
            { parent: this },
        );

        const provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // Outside production, a cluster that is already gone must not block `destroy` of the objects that were on it
                // (pulumi-kubernetes provider option); production keeps them in state when the API is only briefly unreachable.
                deleteUnreachable: !config.production,
            },
            { parent: this, dependsOn: [this.nodeGroup, ...this.access.ready] },
        );
        const storage = new EksStorage(
            `${name}-storage`,
            {
                config,
                clusterName,
                vpcId: args.network.vpcId,
                nodeSecurityGroupId: eksCluster.apply((c) => c.vpcConfig.clusterSecurityGroupId),
                subnetIds: args.network.nodeSubnetIds,
                provider,
            },
            { parent: this },
        );
        const loadBalancerController = new LoadBalancerController(
            `${name}-lbc`,
            { config, cluster: this.clusterName, clusterName, vpcId: args.network.vpcId, provider, dependsOn: [this.nodeGroup, addons] },
            { parent: this },
        );
        new ClusterAutoscaler(
            `${name}-autoscaler`,
            { config, cluster: this.clusterName, clusterName, clusterArn, provider, dependsOn: [this.nodeGroup, addons] },
            { parent: this },
        );

        this.platform = {
            kind: "kubernetes",
            provider,
            persistentStorageClass: PERSISTENT_STORAGE_CLASS,
            sharedStorageClass: SHARED_STORAGE_CLASS,
            ingressClass: INGRESS_CLASS,
            vpcCidr: config.network.cidr,
            retainClaims: config.production,
            certificateArn: args.certificateArn,
            dependsOn: [systemAddons, addons, loadBalancerController, ...storage.storageClasses],
        };
        this.registerOutputs({
            clusterName: this.clusterName,
            endpoint: this.endpoint,
            kubeconfig: this.kubeconfig,
            updateKubeconfigCommand: this.updateKubeconfigCommand,
        });
    }
}
