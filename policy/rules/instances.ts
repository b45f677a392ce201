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
    description: "EC2 instances and launch templates require IMDSv2 (httpTokens: required).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: [
        validateResourceOfType(aws.ec2.Instance, (instance, args, report) => requireTokens(instance.metadataOptions, describe(args), report)),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, report) => requireTokens(template.metadataOptions, describe(args), report)),
    ],
};
