/**
 * Shared storage for Swarm volumes: one encrypted EFS file system with a mount target in every
 * node subnet, reachable over NFS from the swarm's nodes only (the `efs` security group).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface SwarmStorageArgs {
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** How many node subnets there are (one per AZ); known before the subnets exist. */
    readonly subnetCount: number;
    readonly securityGroupId: pulumi.Input<string>;
    /** Production protects the file system from deletion. */
    readonly production: boolean;
}

export class SwarmStorage extends pulumi.ComponentResource {
    public readonly fileSystemId: pulumi.Output<string>;
    public readonly dnsName: pulumi.Output<string>;

    constructor(name: string, args: SwarmStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:Storage", name, {}, opts);
        const fileSystem = new aws.efs.FileSystem(
            `${name}-efs`,
            {
                encrypted: true,
                performanceMode: "generalPurpose",
                // Elastic, as on EKS (components/eks/storage.ts): a small file system (a database
                // volume) gets its throughput when it needs it instead of first banking burst credits
                // in proportion to its size (EFS User Guide, "Throughput modes"); billed per use.
                throughputMode: "elastic",
                lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }],
                tags: { Name: `${name}-efs` },
            },
            { parent: this, protect: args.production },
        );
        const mountTargets = Array.from({ length: args.subnetCount }, (_, i) =>
            new aws.efs.MountTarget(
                `${name}-efs-${i}`,
                { fileSystemId: fileSystem.id, subnetId: pulumi.output(args.subnetIds).apply((ids) => ids[i]), securityGroups: [args.securityGroupId] },
                { parent: this },
            ),
        );
        this.fileSystemId = fileSystem.id;
        // Volumes mount by DNS name, which resolves only once the mount targets exist.
        this.dnsName = pulumi.all([fileSystem.dnsName, ...mountTargets.map((m) => m.id)]).apply(([dns]) => dns);
        this.registerOutputs({ fileSystemId: this.fileSystemId, dnsName: this.dnsName });
    }
}
