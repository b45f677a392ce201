/**
 * ECR repositories scan every pushed image (Checkov CKV_AWS_163, CIS EKS 5.1.1), never let a tag
 * move to another image (CKV_AWS_51) and expire old images through a lifecycle policy (AWS FSBP ECR.3).
 */
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe, known } from "./common";

/** The one tag dockyard lets move: a layer cache that is never deployed (components/images.ts). */
export const BUILD_CACHE_TAG = "buildcache";

export const ecrScanOnPush: ResourceValidationPolicy = {
    name: "ecr-scan-on-push",
    description: "ECR repositories scan images on push (Checkov CKV_AWS_163, CIS EKS 5.1.1, AWS FSBP ECR.1).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, args, report) => {
        if (repo.imageScanningConfiguration?.scanOnPush !== true) report(`${describe(args)}: imageScanningConfiguration.scanOnPush must be true`);
    }),
};

export const ecrImmutableTags: ResourceValidationPolicy = {
    name: "ecr-immutable-tags",
    description: "ECR repositories have immutable tags, so a deployed tag always means the same image (Checkov CKV_AWS_51, AWS FSBP ECR.2).",
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

const REPOSITORY = "aws:ecr/repository:Repository";
const LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy";

export const ecrLifecyclePolicy: StackValidationPolicy = {
    name: "ecr-lifecycle-policy",
    description: "Every ECR repository has a lifecycle policy, so old images expire (AWS FSBP ECR.3).",
    enforcementLevel: "mandatory",
    severity: "low",
    validateStack: (args, report) => {
        const policies = args.resources.filter((r) => r.type === LIFECYCLE_POLICY);
        // The policy names its repository by name; the engine also records the dependency on it.
        const covered = new Set(policies.flatMap((p) => [known(() => p.props.repository), ...(p.propertyDependencies.repository ?? []).map((d) => d.urn)]));
        for (const repo of args.resources.filter((r) => r.type === REPOSITORY)) {
            const name = known(() => repo.props.name);
            if (covered.has(repo.urn) || (name !== undefined && covered.has(name))) continue;
            report(`${describe(repo)}: no aws.ecr.LifecyclePolicy applies to it, so its images never expire`, repo.urn);
        }
    },
};
