/** ECR repositories scan every pushed image and never let a tag move to another image. */
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe } from "./common";

export const ecrScanOnPush: ResourceValidationPolicy = {
    name: "ecr-scan-on-push",
    description: "ECR repositories scan images on push.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, args, report) => {
        if (repo.imageScanningConfiguration?.scanOnPush !== true) report(`${describe(args)}: imageScanningConfiguration.scanOnPush must be true`);
    }),
};

export const ecrImmutableTags: ResourceValidationPolicy = {
    name: "ecr-immutable-tags",
    description: "ECR repositories have immutable tags, so a deployed tag always means the same image.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, args, report) => {
        if (repo.imageTagMutability !== "IMMUTABLE") {
            report(`${describe(args)}: imageTagMutability must be "IMMUTABLE", found ${JSON.stringify(repo.imageTagMutability ?? "MUTABLE (the default)")}`);
        }
    }),
};
