/**
 * Container images of the stack's workloads: built from a folder and pushed to ECR, built locally
 * for the zero-cloud `local` engine, promoted from another stack by digest, or used as is.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, RepositoryEncryption, StackConfig } from "./config";
import { ImageSource, WorkloadSpec, withTag } from "./workload";

export type BuildSpec = Extract<ImageSource, { build: unknown }>["build"];
export type Architecture = "arm64" | "amd64";

/** The one mutable tag of a repository: it follows the newest build so the next one reuses its layers. */
export const BUILD_CACHE_TAG = "buildcache";

/** Graviton families (t4g, m7g, c7gn, r8g, x2gd, im4gn, is4gen, g5g, ...) and the first-generation a1. */
const ARM_FAMILY = /^(a1|[a-z]+\d+g[a-z]*)$/;

/** The CPU architecture of nodes of these instance types; they must all share one. */
export function nodeArchitecture(instanceTypes: readonly string[]): Architecture {
    if (instanceTypes.length === 0) throw new Error("nodeArchitecture: no instance types given; allowed: one or more EC2 instance types");
    const archOf = (type: string): Architecture => (ARM_FAMILY.test(type.split(".")[0]) ? "arm64" : "amd64");
    const arches = new Set(instanceTypes.map(archOf));
    if (arches.size > 1) {
        const describe = instanceTypes.map((t) => `${t} (${archOf(t)})`).join(", ");
        throw new Error(`instance types ${describe} mix CPU architectures; allowed: all arm64 (Graviton) or all amd64, because every image is built for one platform`);
    }
    return [...arches][0];
}

/** The instance types the stack's workloads run on. */
export function nodeInstanceTypes(config: StackConfig): readonly string[] {
    return config.target === "eks" ? config.eks.instanceTypes : [config.swarm.managerInstanceType, config.swarm.workerInstanceType];
}

/** ECR lifecycle policy: expire untagged images after `untaggedExpiryDays`, keep the newest `keepTagged` tagged ones. */
export function lifecyclePolicy(keepTagged: number, untaggedExpiryDays: number): string {
    for (const [key, value] of [
        ["images.keepTagged", keepTagged],
        ["images.untaggedExpiryDays", untaggedExpiryDays],
    ] as const) {
        if (!Number.isInteger(value) || value < 1) throw new Error(`${NAMESPACE}:${key} is ${value}; allowed: an integer of 1 or more`);
    }
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

/** `dockyard/dev/api`: one namespace per stack, so IAM can scope pulls to `repository/<project>/<stack>/*`. */
export function repositoryName(project: string, stack: string, workload: string): string {
    return [project, stack, workload].map((part) => part.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")).join("/");
}

/** Turns one `.dockerignore` pattern into a test on a context-relative path (or any of its parent folders). */
function ignorePattern(pattern: string): RegExp {
    const body = pattern
        .replace(/^\/+|\/+$/g, "")
        .split("/")
        .map((part) => (part === "**" ? "(?:.*)" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/")
        .replace(/\(\?:\.\*\)\//g, "(?:.*/)?");
    return new RegExp(`^${body}(?:/.*)?$`);
}

/** The `.dockerignore` rules of a context: later rules win; `!` re-includes. */
function ignoreRules(context: string): { exclude: boolean; test: RegExp }[] {
    const file = path.join(context, ".dockerignore");
    if (!fs.existsSync(file)) return [];
    return fs
        .readFileSync(file, "utf8")
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => (line.startsWith("!") ? { exclude: false, test: ignorePattern(line.slice(1).trim()) } : { exclude: true, test: ignorePattern(line) }));
}

/**
 * A hash of everything a build reads: every file of the context that `.dockerignore` does not
 * exclude (names, modes and contents), the Dockerfile, build args, target and platform. Same inputs,
 * same tag, so an unchanged service never rebuilds or rolls.
 */
export function contextHash(context: string, build: Omit<BuildSpec, "context"> = {}, platform = ""): string {
    const root = path.resolve(context);
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`build context ${JSON.stringify(context)} is not a folder (resolved to ${root})`);
    const rules = ignoreRules(root);
    const ignored = (rel: string) => rules.reduce((result, rule) => (rule.test.test(rel) ? rule.exclude : result), false);
    const everyRuleExcludes = rules.every((rule) => rule.exclude);
    const hash = crypto.createHash("sha256");

    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
            const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
            if (entry.isDirectory()) {
                // A `!` rule can re-include a file below an ignored folder, so such folders are still read.
                if (!ignored(rel) || !everyRuleExcludes) walk(rel);
                continue;
            }
            if (ignored(rel) && rel !== ".dockerignore") continue;
            const full = path.join(root, rel);
            if (entry.isSymbolicLink()) {
                hash.update(`link\0${rel}\0${fs.readlinkSync(full)}\0`);
            } else if (entry.isFile()) {
                hash.update(`file\0${rel}\0${fs.statSync(full).mode & 0o777}\0`);
                hash.update(fs.readFileSync(full));
                hash.update("\0");
            }
        }
    };
    walk("");

    const dockerfile = path.resolve(root, build.dockerfile ?? "Dockerfile");
    if (!fs.existsSync(dockerfile)) throw new Error(`Dockerfile ${JSON.stringify(build.dockerfile ?? "Dockerfile")} not found in build context ${JSON.stringify(context)}`);
    hash.update(`dockerfile\0${path.relative(root, dockerfile)}\0`);
    hash.update(fs.readFileSync(dockerfile));
    const args = Object.entries(build.args ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    hash.update(`\0args\0${JSON.stringify(args)}\0target\0${build.target ?? ""}\0platform\0${platform}`);
    return hash.digest("hex").slice(0, 16);
}

const DIGEST_REF = /^[^\s@]+@sha256:[a-f0-9]{64}$/;

export interface ContainerImageArgs {
    /** ECR repository name, from `repositoryName()`. */
    readonly repositoryName: string;
    /** Context (relative to the project root) and Dockerfile (relative to the context), args, target. */
    readonly build: BuildSpec;
    /** Immutable tag of this build: `images.tag` or `contextHash()`. */
    readonly tag: string;
    /** `linux/arm64` or `linux/amd64`, matching the nodes. */
    readonly platform: string;
    readonly encryption: RepositoryEncryption;
    /** Delete the repository with its images on destroy; never in production. */
    readonly forceDelete: boolean;
    readonly keepTagged: number;
    readonly untaggedExpiryDays: number;
}

/** The build arguments and paths `docker.Image` takes, shared by the ECR and the local build. */
function dockerBuild(build: BuildSpec, platform?: string): docker.types.input.DockerBuild {
    return {
        context: build.context,
        // docker.Image resolves the Dockerfile from the working directory, not from the context.
        dockerfile: path.join(build.context, build.dockerfile ?? "Dockerfile"),
        args: { ...build.args },
        target: build.target,
        platform,
        builderVersion: "BuilderBuildKit",
    };
}

/** An ECR repository and the image built from a folder and pushed to it. */
export class ContainerImage extends pulumi.ComponentResource {
    public readonly repositoryUrl: pulumi.Output<string>;
    /** `<repository>:<tag>` as pushed. */
    public readonly imageName: pulumi.Output<string>;
    /** `<repository>@sha256:<digest>`: what workloads deploy, so they roll exactly when content changes. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:ContainerImage", name, {}, opts);

        const repository = new aws.ecr.Repository(
            `${name}-repo`,
            {
                name: args.repositoryName,
                imageScanningConfiguration: { scanOnPush: true },
                imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                imageTagMutabilityExclusionFilters: [{ filter: BUILD_CACHE_TAG, filterType: "WILDCARD" }],
                encryptionConfigurations: [{ encryptionType: args.encryption }],
                forceDelete: args.forceDelete,
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-lifecycle`,
            { repository: repository.name, policy: lifecyclePolicy(args.keepTagged, args.untaggedExpiryDays) },
            { parent: this },
        );

        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent: this });
        const registry = { server: repository.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) };
        const cacheImage = pulumi.interpolate`${repository.repositoryUrl}:${BUILD_CACHE_TAG}`;
        const build = {
            ...dockerBuild(args.build, args.platform),
            // Inline cache metadata lets the next build reuse these layers straight from ECR.
            args: { ...args.build.args, BUILDKIT_INLINE_CACHE: "1" },
            cacheFrom: { images: [cacheImage] },
        };

        const image = new docker.Image(`${name}-image`, { imageName: pulumi.interpolate`${repository.repositoryUrl}:${args.tag}`, build, registry }, { parent: this });
        // Moving the cache tag rebuilds from the local layer cache (seconds) and pushes only a manifest.
        new docker.Image(`${name}-buildcache`, { imageName: cacheImage, build, registry }, { parent: this, dependsOn: [image] });

        this.repositoryUrl = repository.repositoryUrl;
        this.imageName = image.imageName;
        this.imageRef = image.repoDigest;
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageName: this.imageName, imageRef: this.imageRef });
    }
}

export interface LocalImageArgs {
    /** Local image name without a tag, e.g. `dockyard/local/api`. */
    readonly imageName: string;
    readonly build: BuildSpec;
    /** `contextHash()` (or `images.tag`), so a service rolls only when the content changes. */
    readonly tag: string;
}

/** An image built on this machine's Docker engine for the `local` stack: no registry, no push. */
export class LocalImage extends pulumi.ComponentResource {
    /** `<name>:<tag>` in the local engine's image store. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: LocalImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:LocalImage", name, {}, opts);
        const image = new docker.Image(`${name}-image`, { imageName: `${args.imageName}:${args.tag}`, build: dockerBuild(args.build), skipPush: true }, { parent: this });
        this.imageRef = image.imageName;
        this.registerOutputs({ imageRef: this.imageRef });
    }
}

export interface ResolvedImages {
    /** Image reference to deploy, by workload name. */
    readonly images: Record<string, pulumi.Output<string>>;
    /** Pushed or promoted digests of the built workloads: the `imageDigests` stack output other stacks promote. */
    readonly digests: pulumi.Output<Record<string, string>>;
}

/** Reads the digests a source stack exported as `imageDigests`, checking each workload has one. */
function promotedDigests(config: StackConfig, names: readonly string[], opts: pulumi.ComponentResourceOptions): Record<string, pulumi.Output<string>> {
    const source = new pulumi.StackReference(`${config.stack}-images-from`, { name: config.images.from }, { parent: opts.parent });
    const digests = source.getOutput("imageDigests");
    return Object.fromEntries(
        names.map((workload) => [
            workload,
            digests.apply((all: Record<string, unknown> | undefined) => {
                const digest = all?.[workload];
                if (typeof digest !== "string" || !DIGEST_REF.test(digest)) {
                    const has = Object.keys(all ?? {});
                    throw new Error(
                        `${NAMESPACE}:images.from is ${JSON.stringify(config.images.from)}, but that stack's imageDigests output has ` +
                            `${digest === undefined ? "no image" : `${JSON.stringify(digest)}, not a digest reference,`} for workload ${JSON.stringify(workload)} ` +
                            `(it has: ${has.length > 0 ? has.join(", ") : "none"}); deploy ${workload} there first, or set ${NAMESPACE}:images.digests instead`,
                    );
                }
                return digest;
            }),
        ]),
    );
}

/**
 * The image every workload deploys. Existing references are used as is, with the stack's
 * `workloads.imageTags` override (which `prepareWorkloads` validates; applying it twice is harmless).
 * Built images come, in this order, from the stack named by `images.from`, from `images.digests`,
 * from a local build on the `local` engine, or from a build pushed to ECR.
 */
export function resolveImages(stack: string, specs: readonly WorkloadSpec[], config: StackConfig, opts: pulumi.ComponentResourceOptions): ResolvedImages {
    const images: Record<string, pulumi.Output<string>> = {};
    const digests: Record<string, pulumi.Output<string>> = {};
    const built = specs.filter((spec) => "build" in spec.image);

    for (const spec of specs) {
        if ("ref" in spec.image) {
            const tag = config.workloads.imageTags[spec.name];
            images[spec.name] = pulumi.output(tag === undefined ? spec.image.ref : withTag(spec.image.ref, tag));
        }
    }

    const promoted = config.images.from !== "" ? promotedDigests(config, built.map((s) => s.name), opts) : {};
    const platform = () => `linux/${nodeArchitecture(nodeInstanceTypes(config))}`;

    for (const spec of built) {
        const build = (spec.image as Extract<ImageSource, { build: unknown }>).build;
        const explicit = config.images.digests[spec.name];
        const repository = repositoryName(config.project, stack, spec.name);
        if (promoted[spec.name]) {
            images[spec.name] = digests[spec.name] = promoted[spec.name];
        } else if (explicit !== undefined) {
            images[spec.name] = digests[spec.name] = pulumi.output(explicit);
        } else if (config.swarm.engine === "local") {
            const tag = config.images.tag || contextHash(build.context, build);
            images[spec.name] = new LocalImage(`${stack}-${spec.name}`, { imageName: repository, build, tag }, opts).imageRef;
        } else {
            const tag = config.images.tag || contextHash(build.context, build, platform());
            const image = new ContainerImage(
                `${stack}-${spec.name}`,
                {
                    repositoryName: repository,
                    build,
                    tag,
                    platform: platform(),
                    encryption: config.images.encryption,
                    forceDelete: !config.production,
                    keepTagged: config.images.keepTagged,
                    untaggedExpiryDays: config.images.untaggedExpiryDays,
                },
                opts,
            );
            images[spec.name] = digests[spec.name] = image.imageRef;
        }
    }

    const unknownDigests = Object.keys(config.images.digests).filter((name) => !built.some((s) => s.name === name));
    if (unknownDigests.length > 0) {
        throw new Error(`${NAMESPACE}:images.digests has ${unknownDigests.join(", ")}; allowed: workloads built from source (${built.map((s) => s.name).join(", ") || "none"})`);
    }
    return { images, digests: pulumi.output(digests) as pulumi.Output<Record<string, string>> };
}
