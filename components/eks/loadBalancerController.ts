/**
 * The AWS Load Balancer Controller: turns the workloads' `alb` Ingresses into one internet-facing
 * ALB per stack (the adapter puts them in one ingress group). Installed from its Helm chart, with
 * its IAM policy on a Pod Identity role.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { stackTags } from "../tags";
import { loadBalancerControllerPolicy } from "./iam";
import { PodIdentityRole } from "./podIdentity";
import { HELM_TIMEOUT_SECONDS } from "./timeouts";

export const LOAD_BALANCER_CONTROLLER_CHART = { repo: "https://aws.github.io/eks-charts", chart: "aws-load-balancer-controller", version: "1.14.0" } as const;
export const INGRESS_CLASS = "alb";
const NAMESPACE = "kube-system";
const SERVICE_ACCOUNT = "aws-load-balancer-controller";

/** Helm values: region and VPC given explicitly, because pods cannot read IMDS (hop limit 1). */
export function loadBalancerControllerValues(config: StackConfig, clusterName: string, vpcId: pulumi.Input<string>) {
    return {
        clusterName,
        region: config.region,
        vpcId,
        replicaCount: 2,
        // A drain or a node-group roll-out evicts one replica at a time, so one always answers webhooks and reconciles.
        podDisruptionBudget: { maxUnavailable: 1 },
        // The pod webhook (readiness gates) stays fail-closed, or a pod created while the controller is away would run
        // without its gate and a rollout would drop requests; but it sees only dockyard's pods in namespaces that ask
        // for gates, so nothing else in the cluster waits for the controller (chart templates/webhook.yaml: mpod).
        webhookNamespaceSelectors: [{ key: "elbv2.k8s.aws/pod-readiness-gate-inject", operator: "In", values: ["enabled"] }],
        objectSelector: { matchExpressions: [{ key: "app.kubernetes.io/part-of", operator: "In", values: ["dockyard"] }] },
        // Ingress validation is advice the controller repeats when it reconciles; it must not block every Ingress when down.
        ingressValidatorWebhookConfig: { failurePolicy: "Ignore" },
        serviceAccount: { create: true, name: SERVICE_ACCOUNT },
        ingressClass: INGRESS_CLASS,
        createIngressClassResource: true,
        // Services of type LoadBalancer stay with whoever asks for them; this controller serves Ingresses.
        enableServiceMutatorWebhook: false,
        // The ALB is created outside Pulumi: tag it like everything else the stack owns.
        defaultTags: stackTags(config),
    };
}

export interface LoadBalancerControllerArgs {
    readonly config: StackConfig;
    readonly cluster: pulumi.Input<string>;
    readonly clusterName: string;
    readonly vpcId: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** What must run first: the nodes and the add-ons (DNS) the controller needs. */
    readonly dependsOn: readonly pulumi.Resource[];
}

export class LoadBalancerController extends pulumi.ComponentResource {
    public readonly identity: PodIdentityRole;
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: LoadBalancerControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:LoadBalancerController", name, {}, opts);
        this.identity = new PodIdentityRole(
            `${name}-identity`,
            { cluster: args.cluster, clusterName: args.clusterName, namespace: NAMESPACE, serviceAccount: SERVICE_ACCOUNT, inlinePolicy: JSON.stringify(loadBalancerControllerPolicy()) },
            { parent: this },
        );
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "aws-load-balancer-controller",
                chart: LOAD_BALANCER_CONTROLLER_CHART.chart,
                version: LOAD_BALANCER_CONTROLLER_CHART.version,
                repositoryOpts: { repo: LOAD_BALANCER_CONTROLLER_CHART.repo },
                namespace: NAMESPACE,
                values: loadBalancerControllerValues(args.config, args.clusterName, args.vpcId),
                atomic: true,
                timeout: HELM_TIMEOUT_SECONDS,
            },
            { parent: this, provider: args.provider, dependsOn: [...args.dependsOn, this.identity.association] },
        );
        this.registerOutputs({ release: this.release });
    }
}
