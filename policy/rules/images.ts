/**
 * Build caches and deployed images never mix (issues 15 and 17): nothing deploys an image from a
 * build-cache repository or under the cache tag, no build pushes its image into a cache repository
 * or writes its cache into a deploy repository, and every other ECR repository is fully immutable.
 * A cache anyone could push to would otherwise poison layers of "immutable", promoted images.
 *
 * Cache repositories are named `<project>/<stack>/buildcache/<image>` and hold the one moving tag
 * `buildcache` (components/images/plan.ts).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { describe } from "./common";

const CACHE_SEGMENT = "buildcache";
const CACHE_TAG = "buildcache";

/** Whether an image reference points into a build cache: a `buildcache` path segment, or the `buildcache` tag. */
export function isCacheReference(image: unknown): boolean {
    if (typeof image !== "string") return false;
    const withoutDigest = image.split("@")[0];
    const segments = withoutDigest.split("/");
    const last = segments[segments.length - 1];
    const colon = last.indexOf(":");
    const tag = colon >= 0 ? last.slice(colon + 1) : "";
    segments[segments.length - 1] = colon >= 0 ? last.slice(0, colon) : last;
    // The first segment is the registry host when there is more than one.
    const path = segments.length > 1 ? segments.slice(1) : segments;
    return tag === CACHE_TAG || path.includes(CACHE_SEGMENT);
}

/** Whether an ECR repository name is a build-cache repository. */
export const isCacheRepositoryName = (name: unknown) => typeof name === "string" && name.split("/").slice(0, -1).includes(CACHE_SEGMENT);

const POD_TEMPLATE: Record<string, (props: Record<string, any>) => Record<string, any> | undefined> = {
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:ReplicaSet": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template?.spec,
    "kubernetes:core/v1:Pod": (p) => p.spec,
};

/** Every image a resource runs, with where it is declared. */
function deployedImages(type: string, props: Record<string, any>): { where: string; image: unknown }[] {
    if (type === "docker:index/service:Service") return [{ where: "taskSpec.containerSpec.image", image: props.taskSpec?.containerSpec?.image }];
    const pod = POD_TEMPLATE[type]?.(props);
    if (!pod) return [];
    return [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((c: Record<string, any>) => ({ where: `container "${c.name}"`, image: c.image }));
}

/** The names a docker-build image is pushed under: its tags and the names of its registry and image exports. */
const pushedNames = (props: Record<string, any>): unknown[] => [
    ...(props.tags ?? []),
    ...(Array.isArray(props.exports) ? props.exports.flatMap((e: Record<string, any>) => [...(e?.registry?.names ?? []), ...(e?.image?.names ?? [])]) : []),
];

const registryRefs = (entries: unknown): unknown[] => (Array.isArray(entries) ? entries.map((e) => e?.registry?.ref).filter((r) => r !== undefined) : []);

function checkSeparation(args: ResourceValidationArgs, report: ReportViolation): void {
    const props = args.props as Record<string, any>;
    if (args.type === "docker-build:index:Image") {
        for (const tag of pushedNames(props)) {
            if (isCacheReference(tag)) report(`${describe(args)}: pushes its image as ${JSON.stringify(tag)}, into a build cache; push to the image's deploy repository`);
        }
        for (const ref of registryRefs(props.cacheTo)) {
            if (!isCacheReference(ref)) report(`${describe(args)}: writes its build cache to ${JSON.stringify(ref)}, outside a build-cache repository (<project>/<stack>/${CACHE_SEGMENT}/<image>); a cache there could poison deployed images`);
        }
        return;
    }
    const images = deployedImages(args.type, props);
    if (images.length === 0) return args.notApplicable("runs no image");
    for (const { where, image } of images) {
        if (isCacheReference(image)) report(`${describe(args)}: ${where} deploys ${JSON.stringify(image)}, a build-cache reference; deploy the image's digest from its deploy repository`);
    }
}

export const imagesNoCacheDeploys: ResourceValidationPolicy = {
    name: "images-no-cache-deploys",
    description: "Workloads never run an image from a build cache, and builds keep cache and images in separate repositories.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: checkSeparation,
};

export const imagesImmutableDeployRepositories: ResourceValidationPolicy = {
    name: "images-immutable-deploy-repositories",
    description: "ECR repositories workloads deploy from are fully immutable: no tag, not even a cache tag, may move.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== "aws:ecr/repository:Repository") return args.notApplicable("not an ECR repository");
        const repo = args.props as Record<string, any>;
        if (isCacheRepositoryName(repo.name)) return args.notApplicable("a build-cache repository");
        if (repo.imageTagMutability !== "IMMUTABLE") {
            const found = repo.imageTagMutability ?? "MUTABLE (the default)";
            const exclusions = (repo.imageTagMutabilityExclusionFilters ?? []).map((f: { filter?: string }) => f.filter);
            report(
                `${describe(args)}: imageTagMutability must be "IMMUTABLE" in a deploy repository, found ${JSON.stringify(found)}` +
                    (exclusions.length > 0 ? ` with moving tags ${JSON.stringify(exclusions)}; keep a build cache in <project>/<stack>/${CACHE_SEGMENT}/<image> instead` : ""),
            );
        }
    },
};
