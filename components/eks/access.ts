/**
 * Who reaches the cluster's API, and as whom: access entries from config (pure plan, tested), the
 * creator's bootstrap entry, and 443 rules for networks connected to the VPC.
 *
 * pulumi-eks 4.3 sets `bootstrapClusterCreatorAdminPermissions: true` whenever `authenticationMode`
 * is set and does not let it be overridden (pulumi/pulumi-eks#2373), so EKS gives the identity that
 * creates the cluster its own cluster-admin access entry. Creating a second entry for that principal
 * fails with `ResourceInUseException` (409; terraform-aws-modules/terraform-aws-eks#3293). So the
 * creator (`eks.creatorPrincipal`) is skipped among `eks.adminPrincipals` while it keeps that entry;
 * with `eks.creatorAdmin: false` the bootstrap entry is deleted and, if the creator is listed as an
 * admin, granted again as an entry this program owns (visible in code, revocable by removing it).
 */
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { EksConfig } from "../config";
import { shellQuote as q } from "../swarm/readiness";
import { CLUSTER_ADMIN_ACCESS_POLICY_ARN, CLUSTER_VIEW_ACCESS_POLICY_ARN } from "./iam";

export interface AccessEntryPlan {
    /** Stable resource-name suffix. */
    readonly key: string;
    readonly principalArn: string;
    readonly policyArn: string;
}

/** The access entries this program creates: admins (without the bootstrap creator) and viewers. */
export function accessEntryPlan(eks: Pick<EksConfig, "adminPrincipals" | "viewerPrincipals" | "creatorPrincipal" | "creatorAdmin">): AccessEntryPlan[] {
    const creatorHasBootstrapEntry = eks.creatorPrincipal !== "" && eks.creatorAdmin;
    return [
        ...eks.adminPrincipals
            .filter((arn) => !(creatorHasBootstrapEntry && arn === eks.creatorPrincipal))
            .map((principalArn) => ({ key: `admin-${principalKey(principalArn)}`, principalArn, policyArn: CLUSTER_ADMIN_ACCESS_POLICY_ARN })),
        ...eks.viewerPrincipals.map((principalArn) => ({ key: `viewer-${principalKey(principalArn)}`, principalArn, policyArn: CLUSTER_VIEW_ACCESS_POLICY_ARN })),
    ];
}

/** A resource-name part from an ARN (`arn:aws:iam::123:role/ci/deploy` → `123-role-ci-deploy`): stable when the list is reordered. */
export function principalKey(arn: string): string {
    return arn.replace(/^arn:aws[a-z-]*:iam::/, "").replace(/[^A-Za-z0-9-]+/g, "-");
}

/**
 * The IAM principal behind a caller ARN: an assumed-role session (`arn:aws:sts::123:assumed-role/deploy/gha`)
 * is its role's name, since STS drops the role's path; a user is its ARN.
 */
export function callerMatches(callerArn: string, principalArn: string): boolean {
    const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
    if (!session) return callerArn === principalArn;
    const role = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principalArn);
    return role !== null && role[1] === session[1] && role[2] === session[2];
}

/**
 * What to tell the person running the update about its own identity, or undefined: listing the
 * deployer as an admin without saying it creates the cluster is the 409 above on the first `up`.
 */
export function deployerNotice(eks: Pick<EksConfig, "adminPrincipals" | "creatorPrincipal">, callerArn: string): string | undefined {
    const listed = eks.adminPrincipals.find((arn) => callerMatches(callerArn, arn));
    if (eks.creatorPrincipal === "" && listed) {
        return (
            `dockyard:eks.adminPrincipals lists ${listed}, the identity running this update (${callerArn}). If this update creates the cluster, EKS makes it ` +
            `cluster-admin itself and a second access entry fails with ResourceInUseException: set dockyard:eks.creatorPrincipal to ${listed}.`
        );
    }
    return undefined;
}

/** Deletes the creator's bootstrap access entry; "not found" counts as done, so a re-run is harmless. */
export function revokeCreatorScript(clusterName: string, principalArn: string, region: string): string {
    return [
        "set -eu",
        `out=$(aws eks delete-access-entry --cluster-name ${q(clusterName)} --principal-arn ${q(principalArn)} --region ${q(region)} 2>&1) && exit 0`,
        `case "$out" in *ResourceNotFoundException*) exit 0 ;; esac`,
        `printf '%s\\n' "$out" >&2`,
        "exit 1",
    ].join("\n");
}

export interface ClusterAccessArgs {
    readonly config: { readonly region: string; readonly eks: EksConfig };
    /** The cluster's name as an output of the cluster, so everything waits for it. */
    readonly cluster: pulumi.Input<string>;
    readonly clusterName: string;
    /** The security group EKS made for the control plane's ENIs. */
    readonly clusterSecurityGroupId: pulumi.Input<string>;
}

export class ClusterAccess extends pulumi.ComponentResource {
    /** Everything a Kubernetes object must wait for so that its deployer is authorised. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: ClusterAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:eks:ClusterAccess", name, {}, opts);
        const eks = args.config.eks;

        // With only the cluster security group, the private endpoint admits nothing but the cluster itself;
        // EKS asks for an explicit 443 rule for bastions and connected networks (EKS user guide, "Cluster endpoint access").
        for (const [i, cidr] of eks.privateAccessCidrs.entries()) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-api-${i}`,
                { securityGroupId: args.clusterSecurityGroupId, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: cidr, description: `Kubernetes API from ${cidr} (dockyard:eks.privateAccessCidrs)` },
                { parent: this },
            );
        }

        const revoked =
            !eks.creatorAdmin && eks.creatorPrincipal !== ""
                ? [
                      new command.local.Command(
                          `${name}-revoke-creator`,
                          { create: revokeCreatorScript(args.clusterName, eks.creatorPrincipal, args.config.region), interpreter: ["/bin/sh", "-c"], triggers: [args.cluster, eks.creatorPrincipal] },
                          { parent: this },
                      ),
                  ]
                : [];

        this.ready = accessEntryPlan(eks).flatMap((plan) => {
            const entry = new aws.eks.AccessEntry(`${name}-${plan.key}`, { clusterName: args.cluster, principalArn: plan.principalArn, type: "STANDARD" }, { parent: this, dependsOn: revoked });
            const association = new aws.eks.AccessPolicyAssociation(
                `${name}-${plan.key}-policy`,
                { clusterName: args.cluster, principalArn: entry.principalArn, policyArn: plan.policyArn, accessScope: { type: "cluster" } },
                { parent: this },
            );
            return [entry, association];
        });
        this.ready.push(...revoked);

        aws.getCallerIdentityOutput({}, { parent: this }).arn.apply((arn) => {
            const notice = deployerNotice(eks, arn);
            if (notice) pulumi.log.warn(notice, this);
        });
        this.registerOutputs({});
    }
}
