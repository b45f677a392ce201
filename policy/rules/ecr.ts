/** ECR repositories scan every pushed image and never let a tag move to another image. */
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe } from "./common";

/** The one tag dockyard lets move: a layer cache that is never deployed (components/images.ts). */
export const BUILD_CACHE_TAG = "buildcache";

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
        if (repo.imageTagMutability === "IMMUTABLE") return;
        if (repo.imageTagMutability === "IMMUTABLE_WITH_EXCLUSION") {
            const moving = (repo.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter).filter((f) => f !== BUILD_CACHE_TAG);
            if (moving.length > 0) report(`${describe(args)}: only the "${BUILD_CACHE_TAG}" tag may move; exclusion filters ${JSON.stringify(moving)} let deployable tags change`);
            return;
        }
        report(`${describe(args)}: imageTagMutability must be "IMMUTABLE", found ${JSON.stringify(repo.imageTagMutability ?? "MUTABLE (the default)")}`);
    }),
};
