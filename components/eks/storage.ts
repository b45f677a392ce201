/**
 * What backs the workloads' volumes on EKS: a default encrypted `gp3` StorageClass (EBS CSI) for
 * `persistent` volumes, and an encrypted EFS file system with an `efs` StorageClass (EFS CSI,
 * one access point per volume) for `shared` ones.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";

export const PERSISTENT_STORAGE_CLASS = "gp3";
export const SHARED_STORAGE_CLASS = "efs";

/** Production keeps released volumes for someone to look at; other stacks clean them up. */
export function reclaimPolicy(config: StackConfig): "Retain" | "Delete" {
    return config.production ? "Retain" : "Delete";
}

export function gp3StorageClassSpec(config: StackConfig) {
    return {
        metadata: { name: PERSISTENT_STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true", fsType: "ext4" },
        // An EBS volume lives in one AZ: create it where the scheduler put the pod.
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: reclaimPolicy(config),
    };
}

export function efsStorageClassSpec(config: StackConfig, fileSystemId: pulumi.Input<string>) {
    return {
        metadata: { name: SHARED_STORAGE_CLASS },
        provisioner: "efs.csi.aws.com",
        parameters: { provisioningMode: "efs-ap", fileSystemId, directoryPerms: "700", basePath: "/dynamic" },
        volumeBindingMode: "Immediate",
        reclaimPolicy: reclaimPolicy(config),
    };
}

/** A file-system policy that denies every request not made over TLS (AWS EFS user guide, "Encryption in transit"). */
export function efsTlsOnlyPolicy(fileSystemArn: string) {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "DenyUnencryptedTransport", Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Resource: fileSystemArn, Condition: { Bool: { "aws:SecureTransport": "false" } } }],
    };
}

export interface EksStorageArgs {
    readonly config: StackConfig;
    readonly clusterName: string;
    readonly vpcId: pulumi.Input<string>;
    /** The security group of the nodes (EKS's cluster security group, which managed nodes carry). */
    readonly nodeSecurityGroupId: pulumi.Input<string>;
    /** One subnet per AZ where nodes run; each gets an EFS mount target. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly provider: k8s.Provider;
}

export class EksStorage extends pulumi.ComponentResource {
    public readonly fileSystem: aws.efs.FileSystem;
    public readonly storageClasses: k8s.storage.v1.StorageClass[];

    constructor(name: string, args: EksStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:Storage", name, {}, opts);

        this.fileSystem = new aws.efs.FileSystem(
            `${name}-efs`,
            { encrypted: true, performanceMode: "generalPurpose", throughputMode: "elastic", lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }] },
            { parent: this, protect: args.config.production },
        );
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-efs-sg`,
            {
                vpcId: args.vpcId,
                description: `NFS to the EFS file system of ${args.clusterName} from its nodes`,
                // The EFS CSI node plugin mounts on the node, so only the nodes' security group needs NFS; the rest of
                // the VPC (other stacks' instances, anything in a public subnet) does not.
                ingress: [{ protocol: "tcp", fromPort: 2049, toPort: 2049, securityGroups: [args.nodeSecurityGroupId], description: "NFS from the cluster's nodes" }],
            },
            { parent: this },
        );
        // Refuse unencrypted NFS: the EFS CSI driver mounts with TLS (efs-utils' encryptInTransit, on by default).
        new aws.efs.FileSystemPolicy(
            `${name}-efs-policy`,
            {
                fileSystemId: this.fileSystem.id,
                policy: this.fileSystem.arn.apply((arn) => JSON.stringify(efsTlsOnlyPolicy(arn))),
            },
            { parent: this },
        );
        const subnets = pulumi.output(args.subnetIds);
        const mountTargets = Array.from(
            { length: args.config.network.azs },
            (_, i) => new aws.efs.MountTarget(`${name}-efs-mt-${i}`, { fileSystemId: this.fileSystem.id, subnetId: subnets.apply((ids) => ids[i]), securityGroups: [securityGroup.id] }, { parent: this }),
        );

        this.storageClasses = [
            new k8s.storage.v1.StorageClass(`${name}-gp3`, gp3StorageClassSpec(args.config), { parent: this, provider: args.provider }),
            new k8s.storage.v1.StorageClass(`${name}-efs`, efsStorageClassSpec(args.config, this.fileSystem.id), { parent: this, provider: args.provider, dependsOn: mountTargets }),
        ];
        this.registerOutputs({ fileSystemId: this.fileSystem.id });
    }
}
