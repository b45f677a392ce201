/**
 * Instance metadata only through IMDSv2 session tokens, which blunts SSRF paths to the node's
 * role credentials.
 */
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe } from "./common";

const requireTokens = (metadataOptions: { httpTokens?: string } | undefined, where: string, report: (message: string) => void) => {
    if (metadataOptions?.httpTokens !== "required") {
        report(`${where}: metadataOptions.httpTokens must be "required" (IMDSv2), found ${JSON.stringify(metadataOptions?.httpTokens ?? "unset")}`);
    }
};

export const imdsv2Required: ResourceValidationPolicy = {
    name: "imdsv2-required",
    description: "EC2 instances and launch templates require IMDSv2 (httpTokens: required; Checkov CKV_AWS_79, AWS FSBP EC2.8, EC2.170).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: [
        validateResourceOfType(aws.ec2.Instance, (instance, args, report) => requireTokens(instance.metadataOptions, describe(args), report)),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, report) => requireTokens(template.metadataOptions, describe(args), report)),
    ],
};

/**
 * A hop limit of 1 keeps IMDS replies from crossing the extra network hop into a container, so a
 * Swarm task or pod cannot fetch the node role's credentials (Checkov CKV_AWS_341; AWS EC2 User
 * Guide, "Configure the instance metadata options": containers need a hop limit of 2 to reach
 * IMDS). Unset is refused on launch templates too: AL2023 AMIs default it to 2.
 */
export const MAX_HOP_LIMIT = 1;

const requireHopLimit = (metadataOptions: { httpPutResponseHopLimit?: number; httpEndpoint?: string } | undefined, where: string, report: (message: string) => void) => {
    if (metadataOptions?.httpEndpoint === "disabled") return;
    const limit = metadataOptions?.httpPutResponseHopLimit;
    if (limit === undefined || Number(limit) > MAX_HOP_LIMIT) {
        report(`${where}: metadataOptions.httpPutResponseHopLimit must be ${MAX_HOP_LIMIT}, found ${JSON.stringify(limit ?? "unset (the AMI default, 2 on AL2023)")}, which lets containers reach the node role through IMDS`);
    }
};

export const imdsHopLimit: ResourceValidationPolicy = {
    name: "imds-hop-limit",
    description: `EC2 instances and launch templates set the IMDS hop limit to ${MAX_HOP_LIMIT}, so containers cannot reach the node role (Checkov CKV_AWS_341).`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: [
        validateResourceOfType(aws.ec2.Instance, (instance, args, report) => requireHopLimit(instance.metadataOptions, describe(args), report)),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, report) => requireHopLimit(template.metadataOptions, describe(args), report)),
    ],
};

