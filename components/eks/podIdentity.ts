/**
 * An IAM role for one Kubernetes service account, handed to its pods through EKS Pod Identity
 * (no OIDC provider, no service-account annotations): the role, its policies and the association.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { podIdentityTrustPolicy } from "./iam";

export interface PodIdentityRoleArgs {
    /** The cluster's name as an output of the cluster, so the association waits for it. */
    readonly cluster: pulumi.Input<string>;
    /** The same name, known before the cluster exists, for the role's trust policy. */
    readonly clusterName: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly managedPolicyArns?: readonly string[];
    /** An inline policy document (JSON). */
    readonly inlinePolicy?: pulumi.Input<string>;
}

export class PodIdentityRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly association: aws.eks.PodIdentityAssociation;

    constructor(name: string, args: PodIdentityRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:PodIdentityRole", name, {}, opts);
        const ref = { clusterName: args.clusterName, namespace: args.namespace, serviceAccount: args.serviceAccount };

        this.role = new aws.iam.Role(
            `${name}-role`,
            { assumeRolePolicy: JSON.stringify(podIdentityTrustPolicy(ref)), description: `Pod Identity role of ${args.namespace}/${args.serviceAccount} in ${args.clusterName}` },
            { parent: this },
        );
        const policies: pulumi.Resource[] = (args.managedPolicyArns ?? []).map(
            (policyArn, i) => new aws.iam.RolePolicyAttachment(`${name}-policy-${i}`, { role: this.role.name, policyArn }, { parent: this }),
        );
        if (args.inlinePolicy !== undefined) {
            policies.push(new aws.iam.RolePolicy(`${name}-inline`, { role: this.role.id, policy: args.inlinePolicy }, { parent: this }));
        }
        this.association = new aws.eks.PodIdentityAssociation(
            `${name}-association`,
            { clusterName: args.cluster, namespace: args.namespace, serviceAccount: args.serviceAccount, roleArn: this.role.arn },
            { parent: this, dependsOn: policies },
        );
        this.registerOutputs({ role: this.role, association: this.association });
    }
}
