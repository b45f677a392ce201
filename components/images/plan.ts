/**
 * Pure decisions about a stack's images: which builds are distinct, what each image and its
 * repositories are called, which platforms the nodes need, and the ECR lifecycle rules.
 */
import * as path from "node:path";
import { isGraviton } from "../architecture";
import { NAMESPACE, StackConfig } from "../config";
import type { WorkloadSpec } from "../workload";
import type { BuildSpec } from "./context";

export type Architecture = "arm64" | "amd64";

/** The architecture as OCI platforms spell it, from the one Graviton test (components/architecture.ts). */
export function architectureOf(instanceType: string): Architecture {
    return isGraviton(instanceType) ? "arm64" : "amd64";
}

/**
 * The platforms images are built for: one per CPU architecture among the node instance types.
 * Mixed types (a common way to widen spot capacity) get a multi-platform image — one manifest
 * list, so every node pulls its own architecture from the same digest — instead of a refusal.
 */
export function nodePlatforms(instanceTypes: readonly string[]): string[] {
    if (instanceTypes.length === 0) throw new Error("nodePlatforms: no instance types given; allowed: one or more EC2 instance types");
    return [...new Set(instanceTypes.map((t) => `linux/${architectureOf(t)}`))].sort();
}

/** The instance types the stack's workloads run on. */
export function nodeInstanceTypes(config: StackConfig): readonly string[] {
    return config.target === "eks" ? config.eks.instanceTypes : [config.swarm.managerInstanceType, config.swarm.workerInstanceType];
}

/** One distinct build and the workloads that run it. */
export interface PlannedImage {
    /** Names the image's repositories: by default the context folder (`services/api` -> `api`). */
    readonly name: string;
    readonly build: BuildSpec;
    /** Workloads deploying this image, in declaration order. */
    readonly workloads: readonly string[];
}

const repoPart = (part: string) => part.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");

/** What makes two builds the same build: context, Dockerfile, args and target (the platform is per stack). */
export function buildKey(build: BuildSpec): string {
    const context = path.posix.normalize(build.context.replace(/\\/g, "/")).replace(/\/+$/, "");
    const dockerfile = path.posix.normalize(build.dockerfile ?? "Dockerfile");
    const args = Object.entries(build.args ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    return JSON.stringify([context, dockerfile, args, build.target ?? ""]);
}

/**
 * One image per distinct build. Workloads whose builds are equal share one image (and so one build,
 * one repository, one digest); the image is named after its context folder, or after the context
 * folder and its first workload when two different builds share a folder (`api-worker`).
 */
export function planImages(specs: readonly WorkloadSpec[]): PlannedImage[] {
    const byKey = new Map<string, { name: string; build: BuildSpec; workloads: string[] }>();
    const taken = new Set<string>();
    for (const spec of specs) {
        if (!("build" in spec.image)) continue;
        const build = spec.image.build;
        const key = buildKey(build);
        const existing = byKey.get(key);
        if (existing) {
            existing.workloads.push(spec.name);
            continue;
        }
        const base = repoPart(path.posix.basename(path.posix.normalize(build.context.replace(/\\/g, "/")).replace(/\/+$/, ""))) || "image";
        // `buildcache` marks cache repositories (see CACHE_SEGMENT); an image never takes that name.
        const folder = base === CACHE_SEGMENT ? `${base}-image` : base;
        let name = taken.has(folder) ? `${folder}-${repoPart(spec.name)}` : folder;
        for (let n = 2; taken.has(name); n++) name = `${folder}-${repoPart(spec.name)}-${n}`;
        taken.add(name);
        byKey.set(key, { name, build, workloads: [spec.name] });
    }
    return [...byKey.values()];
}

/** `dockyard/dev/api`: one namespace per stack, so IAM can scope pulls to `repository/<project>/<stack>/*`. */
export function repositoryName(project: string, stack: string, image: string): string {
    return [project, stack, image].map(repoPart).join("/");
}

/** The path segment that marks a build-cache repository; nothing deploys from one. */
export const CACHE_SEGMENT = "buildcache";
/** The one tag a cache repository holds; it moves with every build (a cache, never deployed). */
export const CACHE_TAG = "buildcache";

/**
 * `dockyard/dev/buildcache/api`: the image's layer cache, apart from what workloads deploy, so a
 * poisoned or stale cache can never be deployed or promoted, and the deploy repository can be fully
 * immutable.
 */
export function cacheRepositoryName(project: string, stack: string, image: string): string {
    return [project, stack, CACHE_SEGMENT, image].map(repoPart).join("/");
}

function checkCount(key: string, value: number): void {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${NAMESPACE}:${key} is ${value}; allowed: an integer of 1 or more`);
}

/** ECR lifecycle policy: expire untagged images after `untaggedExpiryDays`, keep the newest `keepTagged` tagged ones. */
export function lifecyclePolicy(keepTagged: number, untaggedExpiryDays: number): string {
    checkCount("images.keepTagged", keepTagged);
    checkCount("images.untaggedExpiryDays", untaggedExpiryDays);
    // ECR wants the rules in ascending priority, or every deploy shows a replacement.
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `Expire untagged images after ${untaggedExpiryDays} days`,
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: untaggedExpiryDays },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Keep the newest ${keepTagged} tagged images`,
                selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keepTagged },
                action: { type: "expire" },
            },
        ],
    });
}

/**
 * A cache repository's own rules: the cache manifest a build replaces becomes untagged and goes
 * after a day; the cache is rebuilt from scratch at worst, so nothing there is worth keeping.
 * Expiring untagged manifests here can never break an image index a live tag references: a cache
 * repository holds no index. The cache is exported as one OCI image manifest
 * (`image-manifest=true`, build.ts `registryCache`), and only single-platform builds have a cache
 * at all; multi-platform images, whose per-platform manifests are untagged children of an index,
 * live only in deploy repositories (see docs/dependencies.md on what ECR does with those).
 */
export function cacheLifecyclePolicy(): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: "Expire replaced build-cache manifests after 1 day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
        ],
    });
}

/** What may write a cache repository: BuildKit's cache export and ECR's delete. */
export const CACHE_WRITE_ACTIONS = ["ecr:BatchDeleteImage", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"];

/**
 * The cache repository's policy: nobody but `builderArn`, the identity that runs the build (an
 * IAM role or user, not a role session), may push to the cache or delete from it, whatever their
 * IAM policies allow; an explicit deny in a resource policy wins over any allow (IAM User Guide,
 * "Policy evaluation logic"). `aws:PrincipalArn` is a role's ARN for any session of that role
 * (IAM User Guide, "AWS global condition context keys"), so every deploy of the stack's role may
 * write, and a preview's read-only role, a node role or another team's role may not, even where an
 * account-wide policy would let them.
 */
export function cacheRepositoryPolicy(builderArn: string): string {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+|^arn:aws[a-z-]*:iam::\d{12}:root$/.test(builderArn)) {
        throw new Error(`cacheRepositoryPolicy: builder ${JSON.stringify(builderArn)} is not an IAM role, user or account root ARN; allowed: arn:aws:iam::<account>:role/<name> (a session's issuer), user/<name> or root`);
    }
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "OnlyTheBuildWritesTheCache",
                Effect: "Deny",
                Principal: "*",
                Action: CACHE_WRITE_ACTIONS,
                Condition: { ArnNotEquals: { "aws:PrincipalArn": builderArn } },
            },
        ],
    });
}
