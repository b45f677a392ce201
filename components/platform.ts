/**
 * What a target hands the workload adapters: the provider to deploy with and how ports, volumes and
 * dependencies work there. A workload never knows which target it runs on; an adapter reads this.
 */
import type * as docker from "@pulumi/docker";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface KubernetesPlatform {
    readonly kind: "kubernetes";
    readonly provider: k8s.Provider;
    /** Storage class for `persistent` volumes (EBS gp3). */
    readonly persistentStorageClass: string;
    /** Storage class for `shared` volumes (EFS). */
    readonly sharedStorageClass: string;
    /** Ingress class of the AWS Load Balancer Controller. */
    readonly ingressClass: string;
    /** ACM certificate for HTTPS on the ALB, when the stack has one. */
    readonly certificateArn?: pulumi.Input<string>;
    /** Resources that must exist before any workload (the cluster's add-ons and controller). */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export interface SwarmPlatform {
    readonly kind: "swarm";
    /** Docker provider bound to a swarm manager. */
    readonly provider: docker.Provider;
    /** `ec2`: volumes on EFS, ports behind the load balancer; `local`: local volumes, ports on localhost. */
    readonly engine: "ec2" | "local";
    /** Where `publicEndpoints()` numbering starts on this swarm (80 when the node itself is the listener). */
    readonly firstPublishedPort: number;
    /** EFS file system backing `persistent` and `shared` volumes on EC2. */
    readonly efs?: { readonly fileSystemId: pulumi.Input<string>; readonly dnsName: pulumi.Input<string> };
    /** The readiness gate (and anything else) every Swarm resource waits for. */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export type Platform = KubernetesPlatform | SwarmPlatform;
