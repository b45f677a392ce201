/**
 * EKS control planes log, encrypt Secrets with a customer KMS key, and keep the API endpoint off
 * the open internet. Both the `@pulumi/eks` component (a remote component: its inputs are all the
 * engine sees) and a plain `aws.eks.Cluster` are checked.
 */
import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { cidrProblem, coversTheInternet } from "../../components/cidr";
import { describe } from "./common";

/** The type token of `eks.Cluster` from `@pulumi/eks`. */
export const EKS_COMPONENT = "eks:index:Cluster";

/** The log types that matter for security investigations; scheduler and controllerManager are optional. */
export const DEFAULT_REQUIRED_LOG_TYPES: readonly string[] = ["api", "audit", "authenticator"];

/** What both cluster types say about the three concerns, in one shape. */
interface ClusterFacts {
    readonly logTypes: readonly string[];
    readonly secretsKeyArn: string | undefined;
    /** EKS defaults the public endpoint to on, open to 0.0.0.0/0. */
    readonly publicEndpoint: boolean;
    readonly publicAccessCidrs: readonly string[];
}

function componentFacts(props: Record<string, any>): ClusterFacts {
    return {
        logTypes: props.enabledClusterLogTypes ?? [],
        secretsKeyArn: props.encryptionConfigKeyArn || undefined,
        publicEndpoint: props.endpointPublicAccess !== false,
        publicAccessCidrs: props.publicAccessCidrs ?? [],
    };
}

function awsClusterFacts(props: Record<string, any>): ClusterFacts {
    const encryption = props.encryptionConfig;
    return {
        logTypes: props.enabledClusterLogTypes ?? [],
        secretsKeyArn: encryption?.resources?.includes("secrets") ? encryption.provider?.keyArn || undefined : undefined,
        publicEndpoint: props.vpcConfig?.endpointPublicAccess !== false,
        publicAccessCidrs: props.vpcConfig?.publicAccessCidrs ?? [],
    };
}

type FactCheck = (facts: ClusterFacts, args: ResourceValidationArgs, report: (message: string) => void) => void;

/** A validation for both cluster types: the component by its type token, the AWS resource by class. */
function onEveryClusterType(check: FactCheck) {
    return [
        (args: ResourceValidationArgs, report: (message: string) => void) => {
            if (args.type !== EKS_COMPONENT) return args.notApplicable(`Policy only applies to resources of type '${EKS_COMPONENT}'`);
            check(componentFacts(args.props), args, report);
        },
        validateResourceOfType(aws.eks.Cluster, (props, args, report) => check(awsClusterFacts(props), args, report)),
    ];
}

interface LogConfig {
    readonly requiredLogTypes?: string[];
}

export const eksControlPlaneLogs: ResourceValidationPolicy = {
    name: "eks-control-plane-logs",
    description: `EKS control-plane logs are on (at least ${DEFAULT_REQUIRED_LOG_TYPES.join(", ")}; Checkov CKV_AWS_37, CIS EKS 2.1.1, AWS FSBP EKS.8).`,
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: { properties: { requiredLogTypes: { type: "array", items: { type: "string" }, default: [...DEFAULT_REQUIRED_LOG_TYPES] } } },
    validateResource: onEveryClusterType((facts, args, report) => {
        const required = args.getConfig<LogConfig>().requiredLogTypes ?? DEFAULT_REQUIRED_LOG_TYPES;
        const missing = required.filter((t) => !facts.logTypes.includes(t));
        if (missing.length > 0) report(`${describe(args)}: enabledClusterLogTypes lacks ${missing.join(", ")}`);
    }),
};

export const eksSecretsEncryption: ResourceValidationPolicy = {
    name: "eks-secrets-encryption",
    description: "EKS encrypts Kubernetes Secrets with a customer-managed KMS key (Checkov CKV_AWS_58, CIS EKS 5.3.1, AWS FSBP EKS.3).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryClusterType((facts, args, report) => {
        if (!facts.secretsKeyArn) report(`${describe(args)}: Secrets are not envelope-encrypted; set encryptionConfigKeyArn (or encryptionConfig for "secrets") to a KMS key`);
    }),
};

export const eksEndpointNotPublic: ResourceValidationPolicy = {
    name: "eks-endpoint-not-public",
    description: "The EKS API endpoint is private, or public only to listed CIDRs that do not cover the internet (Checkov CKV_AWS_38/39, CIS EKS 5.4.2, AWS FSBP EKS.1).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryClusterType((facts, args, report) => {
        if (!facts.publicEndpoint) return;
        const cidrs = facts.publicAccessCidrs;
        const malformed = cidrs.filter((c) => cidrProblem(c, "any") !== undefined);
        if (cidrs.length === 0) {
            report(`${describe(args)}: the public endpoint is on with no publicAccessCidrs, which EKS opens to 0.0.0.0/0; set endpointPublicAccess: false or list CIDRs`);
        } else if (malformed.length > 0) {
            report(`${describe(args)}: publicAccessCidrs ${JSON.stringify(malformed)} are not CIDR blocks, so nobody can tell whom they admit`);
        } else if (coversTheInternet(cidrs)) {
            const alone = cidrs.filter((c) => coversTheInternet([c]));
            report(`${describe(args)}: publicAccessCidrs opens the API endpoint to ${alone.length > 0 ? alone.join(" and ") : `the whole internet (${cidrs.join(" + ")})`}`);
        }
    }),
};

export const eksNodeGroupNoRemoteAccess: ResourceValidationPolicy = {
    name: "eks-node-group-no-remote-access",
    description: "Managed node groups have no SSH remote access (nodes are reached through Session Manager; Checkov CKV_AWS_100).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: validateResourceOfType(aws.eks.NodeGroup, (group, args, report) => {
        const remote = group.remoteAccess;
        if (!remote) return;
        // Without sourceSecurityGroupIds, EKS opens port 22 to 0.0.0.0/0 (EKS API reference, RemoteAccessConfig).
        const scope = (remote.sourceSecurityGroupIds ?? []).length > 0 ? `from ${remote.sourceSecurityGroupIds!.join(", ")}` : "from 0.0.0.0/0 (no sourceSecurityGroupIds)";
        report(`${describe(args)}: remoteAccess opens SSH to the nodes ${scope}; remove remoteAccess and use Session Manager`);
    }),
};
