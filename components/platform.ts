/**
 * What a target hands the workload adapters: the provider to deploy with and how ports, volumes and
 * dependencies work there. A workload never knows which target it runs on; an adapter reads this.
 */
import type * as docker from "@pulumi/docker";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { NodePlacement } from "./swarm/service";
import type { PortPublishing } from "./workload";

export interface KubernetesPlatform {
    readonly kind: "kubernetes";
    readonly provider: k8s.Provider;
    /** Storage class for `persistent` volumes (EBS gp3). */
    readonly persistentStorageClass: string;
    /** Storage class for `shared` volumes (EFS). */
    readonly sharedStorageClass: string;
    /** Ingress class of the AWS Load Balancer Controller. */
    readonly ingressClass: string;
    /**
     * Keep a StatefulSet's claims (and so its volumes) when it is deleted: production does; other
     * stacks delete them with it, so a `destroy` leaves no volume for the CSI driver to miss.
     */
    readonly retainClaims: boolean;
    /** The VPC's CIDR: where the load balancers reach pods from, and what NetworkPolicies keep workloads out of. */
    readonly vpcCidr: string;
    /** ACM certificate for HTTPS on the ALB, when the stack has one. */
    readonly certificateArn?: pulumi.Input<string>;
    /** Resources that must exist before any workload (the cluster's add-ons and controller). */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** How a script reaches the swarm's Docker CLI: on this machine, or on the manager over SSH. */
export interface SwarmShell {
    /** `user@host` as SSH sees it; absent means the docker CLI of the machine running Pulumi. */
    readonly sshTarget?: string;
    readonly sshOptions?: readonly string[];
    /** `DOCKER_HOST` for the local CLI, when the engine is not the CLI's default. */
    readonly dockerHost?: string;
}

export interface SwarmPlatform {
    readonly kind: "swarm";
    /** Docker provider bound to a swarm manager. */
    readonly provider: docker.Provider;
    /** `ec2`: volumes on EFS, ports behind the load balancer; `local`: local volumes, ports on localhost. */
    readonly engine: "ec2" | "local";
    /** How `publicEndpoints()` publishes public ports on this swarm: numbered from a port, or `direct` on the node itself. */
    readonly portPublishing: PortPublishing;
    /** EFS file system backing `persistent` and `shared` volumes on EC2. */
    readonly efs?: { readonly fileSystemId: pulumi.Input<string>; readonly dnsName: pulumi.Input<string> };
    /** Where scripts that wait on the swarm (jobs before services) run the docker CLI. */
    readonly shell: pulumi.Input<SwarmShell>;
    /** The readiness gate (and anything else) every Swarm resource waits for. */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
    /** Which nodes run the workloads and what they spread over; absent: any node, no spreading. */
    readonly placement?: NodePlacement;
}

export type Platform = KubernetesPlatform | SwarmPlatform;
