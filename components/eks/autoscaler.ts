/**
 * Node autoscaling: the Kubernetes Cluster Autoscaler, which grows the managed node group when pods
 * cannot be scheduled and shrinks it when nodes sit idle, always within eks.nodesMin..nodesMax.
 * It finds the node groups by the tags EKS puts on their Auto Scaling groups; its Pod Identity role
 * may resize only groups tagged as this cluster's.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { autoscalerDiscoveryTags, clusterAutoscalerPolicy } from "./iam";
import { PodIdentityRole } from "./podIdentity";
import { HELM_TIMEOUT_SECONDS } from "./timeouts";
import { autoscalerImageTag } from "./versions";

export const CLUSTER_AUTOSCALER_CHART = { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.50.1" } as const;

const NAMESPACE = "kube-system";
const SERVICE_ACCOUNT = "cluster-autoscaler";

export function clusterAutoscalerValues(config: StackConfig, clusterName: string) {
    return {
        cloudProvider: "aws",
        awsRegion: config.region,
        autoDiscovery: { clusterName, tags: Object.keys(autoscalerDiscoveryTags(clusterName)) },
        // The autoscaler's minor must match the cluster's; the chart's own default image may not (versions.ts).
        image: { tag: autoscalerImageTag(config.eks.version) },
        rbac: { serviceAccount: { create: true, name: SERVICE_ACCOUNT } },
        extraArgs: {
            // Pick the instance type that leaves the least CPU and memory unused after scale-up.
            expander: "least-waste",
            // One node group per AZ (nodeGroup.ts): keep the zones even as it grows and shrinks.
            "balance-similar-node-groups": true,
            // kube-system pods are all replicated or DaemonSets here; let their nodes go too.
            "skip-nodes-with-system-pods": false,
            "scale-down-unneeded-time": "10m",
            "scale-down-delay-after-add": "10m",
            // "skip-nodes-with-local-storage" stays at its default (true): dockyard's pods name the emptyDirs that
            // may be lost in the cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes annotation instead
            // (kubernetes/autoscaler cluster-autoscaler/FAQ.md), so a pod with data of its own still blocks scale-down.
        },
    };
}

export interface ClusterAutoscalerArgs {
    readonly config: StackConfig;
    readonly cluster: pulumi.Input<string>;
    readonly clusterName: string;
    readonly clusterArn: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** The node group (and anything else) that must exist first. */
    readonly dependsOn: readonly pulumi.Resource[];
}

export class ClusterAutoscaler extends pulumi.ComponentResource {
    public readonly identity: PodIdentityRole;
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:ClusterAutoscaler", name, {}, opts);
        this.identity = new PodIdentityRole(
            `${name}-identity`,
            {
                cluster: args.cluster,
                clusterName: args.clusterName,
                namespace: NAMESPACE,
                serviceAccount: SERVICE_ACCOUNT,
                inlinePolicy: pulumi.output(args.clusterArn).apply((arn) => JSON.stringify(clusterAutoscalerPolicy(args.clusterName, arn))),
            },
            { parent: this },
        );
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "cluster-autoscaler",
                chart: CLUSTER_AUTOSCALER_CHART.chart,
                version: CLUSTER_AUTOSCALER_CHART.version,
                repositoryOpts: { repo: CLUSTER_AUTOSCALER_CHART.repo },
                namespace: NAMESPACE,
                values: clusterAutoscalerValues(args.config, args.clusterName),
                atomic: true,
                timeout: HELM_TIMEOUT_SECONDS,
            },
            { parent: this, provider: args.provider, dependsOn: [...args.dependsOn, this.identity.association] },
        );
        this.registerOutputs({ release: this.release });
    }
}
