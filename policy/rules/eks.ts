/**
 * EKS control planes log, encrypt Secrets with a customer KMS key, and keep the API endpoint off
 * the open internet. Both the `@pulumi/eks` component (a remote component: its inputs are all the
 * engine sees) and a plain `aws.eks.Cluster` are checked.
 */
import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe, WORLD_CIDRS } from "./common";

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
    description: `EKS control-plane logs are on (at least ${DEFAULT_REQUIRED_LOG_TYPES.join(", ")}).`,
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
    description: "EKS encrypts Kubernetes Secrets with a customer-managed KMS key (envelope encryption).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryClusterType((facts, args, report) => {
        if (!facts.secretsKeyArn) report(`${describe(args)}: Secrets are not envelope-encrypted; set encryptionConfigKeyArn (or encryptionConfig for "secrets") to a KMS key`);
    }),
};

export const eksEndpointNotPublic: ResourceValidationPolicy = {
    name: "eks-endpoint-not-public",
    description: "The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onEveryClusterType((facts, args, report) => {
        if (!facts.publicEndpoint) return;
        const open = facts.publicAccessCidrs.filter((c) => WORLD_CIDRS.includes(c));
        if (facts.publicAccessCidrs.length === 0) {
            report(`${describe(args)}: the public endpoint is on with no publicAccessCidrs, which EKS opens to 0.0.0.0/0; set endpointPublicAccess: false or list CIDRs`);
        } else if (open.length > 0) {
            report(`${describe(args)}: publicAccessCidrs opens the API endpoint to ${open.join(" and ")}`);
        }
    }),
};
