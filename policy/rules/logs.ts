/**
 * CloudWatch log groups expire their events: a group without `retentionInDays` (or with 0) keeps
 * everything forever, at storage cost and with no end to what a leak exposes (Checkov CKV_AWS_66
 * "Ensure that CloudWatch Log Group specifies retention days"; AWS FSBP CloudWatch.16).
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { describe } from "./common";

export const logGroupRetention: ResourceValidationPolicy = {
    name: "log-group-retention",
    description: "CloudWatch log groups set a retention period (Checkov CKV_AWS_66, AWS FSBP CloudWatch.16).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        if (args.type !== "aws:cloudwatch/logGroup:LogGroup") return args.notApplicable("not a log group");
        const days = Number(args.props.retentionInDays ?? 0);
        if (!(days > 0)) report(`${describe(args)}: retentionInDays must be set (1 to 3653 days), found ${JSON.stringify(args.props.retentionInDays ?? "unset")}, which keeps events forever`);
    },
};
