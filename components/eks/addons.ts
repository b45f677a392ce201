/**
 * The cluster's EKS add-ons: which ones, at which version, when (before or after the nodes) and
 * with which Pod Identity role (pure, tested), and the `aws.eks.Addon` resources for a phase.
 *
 * Versions follow the Kubernetes version: an add-on not pinned in `eks.addonVersions` runs the
 * version EKS marks as default for `eks.version` (`aws.eks.getAddonVersion` with `mostRecent: false`,
 * i.e. DescribeAddonVersions' defaultVersion), so upgrading the cluster one minor moves its add-ons
 * with it. A pin is checked at preview against the newest version EKS offers for that Kubernetes
 * version, so a pin from another minor fails in seconds, not twenty minutes into an update.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EKS_ADDON_NAMES, StackConfig } from "../config";
import { EBS_CSI_POLICY_ARN, EFS_CSI_POLICY_ARN } from "./iam";
import { PodIdentityRole } from "./podIdentity";

/**
 * `beforeNodes`: DaemonSets a node needs to become Ready (the cluster is created without the
 * self-managed defaults); `afterNodes`: Deployments, which only turn ACTIVE once nodes exist.
 */
export type AddonPhase = "beforeNodes" | "afterNodes";

export interface AddonPlan {
    readonly name: string;
    /** The version from `eks.addonVersions`; absent means EKS's default for the cluster's version. */
    readonly pinned?: string;
    readonly phase: AddonPhase;
    /** The controller's service account and the managed policy its Pod Identity role gets. */
    readonly podIdentity?: { readonly namespace: string; readonly serviceAccount: string; readonly policyArn: string };
    /** Keep the software on the cluster when the add-on resource is deleted. */
    readonly preserve: boolean;
    /** The add-on's configuration values (JSON, the schema of `aws eks describe-addon-configuration`). */
    readonly configurationValues?: string;
}

const ADDONS: readonly Omit<AddonPlan, "version">[] = [
    // Deleting the CNI before the nodes strands their ENIs, so it stays until the cluster goes.
    // The VPC CNI's network policy agent enforces the workloads' NetworkPolicies (EKS user guide, "Restrict pod
    // network traffic with Kubernetes network policies"); without it the policies are accepted and do nothing.
    { name: "vpc-cni", phase: "beforeNodes", preserve: true, configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }) },
    { name: "kube-proxy", phase: "beforeNodes", preserve: false },
    { name: "eks-pod-identity-agent", phase: "beforeNodes", preserve: false },
    { name: "coredns", phase: "afterNodes", preserve: false },
    { name: "aws-ebs-csi-driver", phase: "afterNodes", preserve: false, podIdentity: { namespace: "kube-system", serviceAccount: "ebs-csi-controller-sa", policyArn: EBS_CSI_POLICY_ARN } },
    { name: "aws-efs-csi-driver", phase: "afterNodes", preserve: false, podIdentity: { namespace: "kube-system", serviceAccount: "efs-csi-controller-sa", policyArn: EFS_CSI_POLICY_ARN } },
    // The EKS community add-on, so HPAs get resource metrics without a Helm release to maintain.
    { name: "metrics-server", phase: "afterNodes", preserve: false },
];

/** Every add-on with its pinned version, if any; a pinned kube-proxy must match the cluster's minor version. */
export function addonPlan(config: StackConfig): AddonPlan[] {
    const plan = ADDONS.map((addon) => {
        const pinned = config.eks.addonVersions[addon.name];
        return pinned === undefined ? { ...addon } : { ...addon, pinned };
    });
    const kubeProxy = plan.find((a) => a.name === "kube-proxy")!.pinned;
    if (kubeProxy !== undefined && !kubeProxy.startsWith(`v${config.eks.version}.`)) {
        throw new Error(
            `dockyard:eks.addonVersions.kube-proxy is "${kubeProxy}" but dockyard:eks.version is "${config.eks.version}"; ` +
                `allowed: a kube-proxy v${config.eks.version}.x version, or no pin (EKS's default for the version)`,
        );
    }
    return plan;
}

/** `v1.20.4-eksbuild.2` as comparable numbers. */
export function parseAddonVersion(version: string): number[] {
    const match = /^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$/.exec(version);
    if (!match) throw new Error(`not an EKS add-on version: ${JSON.stringify(version)}`);
    return match.slice(1).map(Number);
}

/** What is wrong with pinning `pinned` when the newest version EKS offers for the cluster's Kubernetes version is `newest`, or undefined. */
export function pinProblem(addon: string, pinned: string, newest: string, kubernetesVersion: string): string | undefined {
    const [a, b] = [parseAddonVersion(pinned), parseAddonVersion(newest)];
    const cmp = a.map((n, i) => n - b[i]).find((d) => d !== 0) ?? 0;
    if (cmp <= 0) return undefined;
    return (
        `dockyard:eks.addonVersions.${addon} is "${pinned}", newer than any version EKS offers for Kubernetes ${kubernetesVersion} (newest: ${newest}); ` +
        `allowed: a version from \`aws eks describe-addon-versions --addon-name ${addon} --kubernetes-version ${kubernetesVersion}\`, or no pin`
    );
}

// Every add-on in the plan is one the config may pin, and the other way round.
if (ADDONS.map((a) => a.name).join() !== EKS_ADDON_NAMES.join()) throw new Error("components/eks/addons.ts: ADDONS and EKS_ADDON_NAMES list different add-ons");

/**
 * The provider's defaults are 20 minutes to create or update and 40 to delete
 * (hashicorp/terraform-provider-aws internal/service/eks/addon.go); an add-on on a fresh cluster
 * waits for its nodes, and a version change rolls a DaemonSet over every node.
 */
export const ADDON_TIMEOUTS = { create: "30m", update: "30m", delete: "40m" } as const;

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
                const kubernetesVersion = args.config.eks.version;
                const eksVersion = (mostRecent: boolean) => aws.eks.getAddonVersionOutput({ addonName: addon.name, kubernetesVersion, mostRecent }, { parent: this }).version;
                const pinned = addon.pinned;
                const version =
                    pinned === undefined
                        ? eksVersion(false)
                        : eksVersion(true).apply((newest) => {
                              const problem = pinProblem(addon.name, pinned, newest, kubernetesVersion);
                              if (problem) throw new Error(problem);
                              return pinned;
                          });
                return new aws.eks.Addon(
                    `${name}-${addon.name}`,
                    {
                        clusterName: args.cluster,
                        addonName: addon.name,
                        addonVersion: version,
                        resolveConflictsOnCreate: "OVERWRITE",
                        resolveConflictsOnUpdate: "OVERWRITE",
                        preserve: addon.preserve,
                        ...(addon.configurationValues ? { configurationValues: addon.configurationValues } : {}),
                    },
                    // The association must exist before the controller's pods start, or they run without credentials.
                    // Add-ons on a fresh cluster wait for nodes, and a version change rolls DaemonSets over every node.
                    { parent: this, dependsOn: identity ? [identity.association] : [], customTimeouts: ADDON_TIMEOUTS },
                );
            });
        this.registerOutputs({ addons: this.addons });
    }
}
