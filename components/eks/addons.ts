/**
 * The cluster's EKS add-ons: which ones, at which pinned version, when (before or after the nodes)
 * and with which Pod Identity role (pure, tested), and the `aws.eks.Addon` resources for a phase.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { EBS_CSI_POLICY_ARN, EFS_CSI_POLICY_ARN } from "./iam";
import { PodIdentityRole } from "./podIdentity";

/**
 * `beforeNodes`: DaemonSets a node needs to become Ready (the cluster is created without the
 * self-managed defaults); `afterNodes`: Deployments, which only turn ACTIVE once nodes exist.
 */
export type AddonPhase = "beforeNodes" | "afterNodes";

export interface AddonPlan {
    readonly name: string;
    readonly version: string;
    readonly phase: AddonPhase;
    /** The controller's service account and the managed policy its Pod Identity role gets. */
    readonly podIdentity?: { readonly namespace: string; readonly serviceAccount: string; readonly policyArn: string };
    /** Keep the software on the cluster when the add-on resource is deleted. */
    readonly preserve: boolean;
}

const ADDONS: readonly Omit<AddonPlan, "version">[] = [
    // Deleting the CNI before the nodes strands their ENIs, so it stays until the cluster goes.
    { name: "vpc-cni", phase: "beforeNodes", preserve: true },
    { name: "kube-proxy", phase: "beforeNodes", preserve: false },
    { name: "eks-pod-identity-agent", phase: "beforeNodes", preserve: false },
    { name: "coredns", phase: "afterNodes", preserve: false },
    { name: "aws-ebs-csi-driver", phase: "afterNodes", preserve: false, podIdentity: { namespace: "kube-system", serviceAccount: "ebs-csi-controller-sa", policyArn: EBS_CSI_POLICY_ARN } },
    { name: "aws-efs-csi-driver", phase: "afterNodes", preserve: false, podIdentity: { namespace: "kube-system", serviceAccount: "efs-csi-controller-sa", policyArn: EFS_CSI_POLICY_ARN } },
    // The EKS community add-on, so HPAs get resource metrics without a Helm release to maintain.
    { name: "metrics-server", phase: "afterNodes", preserve: false },
];

/** Every add-on with its version from `eks.addonVersions`; kube-proxy must match the cluster's minor version. */
export function addonPlan(config: StackConfig): AddonPlan[] {
    const versions = config.eks.addonVersions;
    const plan = ADDONS.map((addon) => {
        const version = versions[addon.name];
        if (!version) throw new Error(`dockyard:eks.addonVersions has no version for ${addon.name}; allowed: a version from \`aws eks describe-addon-versions --addon-name ${addon.name} --kubernetes-version ${config.eks.version}\``);
        return { ...addon, version };
    });
    const kubeProxy = plan.find((a) => a.name === "kube-proxy")!.version;
    if (!kubeProxy.startsWith(`v${config.eks.version}.`)) {
        throw new Error(
            `dockyard:eks.addonVersions.kube-proxy is "${kubeProxy}" but dockyard:eks.version is "${config.eks.version}"; ` +
                `allowed: a kube-proxy v${config.eks.version}.x version (set the add-on versions for the Kubernetes version you choose)`,
        );
    }
    return plan;
}

export interface EksAddonsArgs {
    readonly config: StackConfig;
    readonly phase: AddonPhase;
    /** The cluster's name as an output of the cluster. */
    readonly cluster: pulumi.Input<string>;
    readonly clusterName: string;
}

/** The add-ons of one phase, each with its Pod Identity role where it calls AWS. */
export class EksAddons extends pulumi.ComponentResource {
    public readonly addons: aws.eks.Addon[];
    public readonly podIdentityRoles: PodIdentityRole[] = [];

    constructor(name: string, args: EksAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:Addons", name, {}, opts);
        this.addons = addonPlan(args.config)
            .filter((addon) => addon.phase === args.phase)
            .map((addon) => {
                const identity = addon.podIdentity
                    ? new PodIdentityRole(
                          `${name}-${addon.name}`,
                          { cluster: args.cluster, clusterName: args.clusterName, namespace: addon.podIdentity.namespace, serviceAccount: addon.podIdentity.serviceAccount, managedPolicyArns: [addon.podIdentity.policyArn] },
                          { parent: this },
                      )
                    : undefined;
                if (identity) this.podIdentityRoles.push(identity);
                return new aws.eks.Addon(
                    `${name}-${addon.name}`,
                    {
                        clusterName: args.cluster,
                        addonName: addon.name,
                        addonVersion: addon.version,
                        resolveConflictsOnCreate: "OVERWRITE",
                        resolveConflictsOnUpdate: "OVERWRITE",
                        preserve: addon.preserve,
                    },
                    // The association must exist before the controller's pods start, or they run without credentials.
                    { parent: this, dependsOn: identity ? [identity.association] : [] },
                );
            });
        this.registerOutputs({ addons: this.addons });
    }
}
