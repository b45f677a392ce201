/**
 * Builds with Pulumi's build provider (`@pulumi/docker-build`, BuildKit through buildx): one
 * `Image` per distinct image, pushed by digest to its own immutable ECR repository and tagged with
 * that digest, with a registry layer cache in a separate repository only the build writes.
 */
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { RepositoryEncryption } from "../config";
import type { BuildSpec } from "./context";
import { copyByDigest } from "./copy";
import { CACHE_TAG, cacheLifecyclePolicy, cacheRepositoryPolicy, lifecyclePolicy } from "./plan";

/** `123456789012.dkr.ecr.us-east-1.amazonaws.com` of `123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api`. */
export const registryHost = (repositoryUrl: string) => repositoryUrl.split("/")[0];

/**
 * BuildKit's registry cache in the form ECR accepts: ECR refuses the cache's default OCI image
 * index, so the cache is exported as an OCI image manifest (`image-manifest=true`, which needs
 * `oci-mediatypes=true`) — aws/containers-roadmap#876 (shipped with BuildKit 0.12) and moby/buildkit
 * README "Registry (push image and cache separately)"; `mode=max` caches every stage's layers, not
 * only the final image's.
 */
export function registryCache(cacheRef: pulumi.Input<string>): Pick<dockerBuild.ImageArgs, "cacheFrom" | "cacheTo"> {
    return {
        cacheFrom: [{ registry: { ref: cacheRef } }],
        cacheTo: [{ registry: { ref: cacheRef, mode: dockerBuild.CacheMode.Max, imageManifest: true, ociMediaTypes: true } }],
    };
}

/** Context, Dockerfile, args and target as `docker-build` takes them (the Dockerfile path is relative to the working directory). */
export function buildInputs(build: BuildSpec): Pick<dockerBuild.ImageArgs, "context" | "dockerfile" | "buildArgs" | "target"> {
    return {
        context: { location: build.context },
        dockerfile: { location: path.join(build.context, build.dockerfile ?? "Dockerfile") },
        buildArgs: { ...build.args },
        target: build.target,
    };
}

/** An immutable, scanned, encrypted ECR repository and its lifecycle policy. */
function repository(name: string, args: { repositoryName: string; mutableTag?: string; encryption: RepositoryEncryption; forceDelete: boolean; lifecycle: string }, parent: pulumi.Resource) {
    const repo = new aws.ecr.Repository(
        name,
        {
            name: args.repositoryName,
            imageScanningConfiguration: { scanOnPush: true },
            ...(args.mutableTag === undefined
                ? { imageTagMutability: "IMMUTABLE" }
                : { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: args.mutableTag, filterType: "WILDCARD" }] }),
            encryptionConfigurations: [{ encryptionType: args.encryption }],
            forceDelete: args.forceDelete,
        },
        { parent },
    );
    new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: args.lifecycle }, { parent });
    return repo;
}

export interface DeployRepositoryArgs {
    readonly repositoryName: string;
    readonly encryption: RepositoryEncryption;
    /** Delete the repository with its images on destroy; never in production. */
    readonly forceDelete: boolean;
    readonly keepTagged: number;
    readonly untaggedExpiryDays: number;
}

/** A repository workloads deploy from: every tag immutable, no exception. */
export function deployRepository(name: string, args: DeployRepositoryArgs, parent: pulumi.Resource): aws.ecr.Repository {
    return repository(name, { ...args, lifecycle: lifecyclePolicy(args.keepTagged, args.untaggedExpiryDays) }, parent);
}

export interface ContainerImageArgs extends DeployRepositoryArgs {
    /** The build cache's repository, from `cacheRepositoryName()`. */
    readonly cacheRepositoryName: string;
    readonly build: BuildSpec;
    /** `contextHash()` of this build: a label of the image, so the image is rebuilt exactly when what the build reads changes. */
    readonly contextHash: string;
    /** `linux/arm64`, `linux/amd64`, or both for a multi-platform image. */
    readonly platforms: readonly string[];
}

/** The image label that carries `contextHash()`. */
export const CONTEXT_HASH_LABEL = "dockyard.context-hash";

/**
 * A deploy repository, a cache repository, and the image built once, pushed by digest and then
 * tagged with its own digest.
 *
 * The build pushes no tag. docker-build rebuilds whenever its own diff says so (any changed input,
 * its own context hash, a replaced resource: pulumi/pulumi-docker-build provider/internal/image.go
 * Diff), and a rebuild of unchanged sources can produce another digest (a cache miss re-runs `RUN`
 * steps with new timestamps). Pushed under a tag derived from the sources, that second digest would
 * hit the IMMUTABLE repository's refusal ("tag invalid: ... cannot be overwritten because the
 * repository is immutable", moby/buildkit#3776) and stop every later `up`. Pushed by digest, a
 * rebuild only adds a manifest; the tag `sha256-<hex>` is then written by `copyByDigest`, which
 * never writes a tag that exists, and a tag named after its digest can never need another one.
 * docker-build's delete removes the digests of the tags it pushed; with none it removes nothing
 * from the immutable repository (image.go Delete), which the lifecycle policy prunes instead.
 */
export class ContainerImage extends pulumi.ComponentResource {
    public readonly repositoryUrl: pulumi.Output<string>;
    /** `<cache repository>:buildcache`, where BuildKit reads and writes the layer cache (single-platform images only). */
    public readonly cacheRef?: pulumi.Output<string>;
    /** `<repository>@sha256:<digest>`: what workloads deploy, so they roll exactly when content changes. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:ContainerImage", name, {}, opts);

        const repo = deployRepository(`${name}-repo`, args, this);
        // docker-build warns that a registry cache is unreliable for multi-platform builds
        // (provider/internal/image.go, citing docker/buildx discussion 1382), so a multi-platform
        // image builds without one. The cache is disposable: always deleted with the stack.
        if (args.platforms.length === 1) {
            const cache = repository(
                `${name}-cache`,
                { repositoryName: args.cacheRepositoryName, mutableTag: CACHE_TAG, encryption: args.encryption, forceDelete: true, lifecycle: cacheLifecyclePolicy() },
                this,
            );
            // The build's own identity: the role behind this session (aws.iam.getSessionContext
            // gives a session's issuer), the one the condition key aws:PrincipalArn reports.
            const caller = aws.getCallerIdentityOutput({}, { parent: this });
            const builder = aws.iam.getSessionContextOutput({ arn: caller.arn }, { parent: this });
            new aws.ecr.RepositoryPolicy(`${name}-cache-policy`, { repository: cache.name, policy: builder.issuerArn.apply(cacheRepositoryPolicy) }, { parent: this });
            this.cacheRef = pulumi.interpolate`${cache.repositoryUrl}:${CACHE_TAG}`;
        }

        // The caller's own registry, where the stack provider creates the repository; its host is
        // known on a first preview, when the repository's URL is not.
        const token = aws.ecr.getAuthorizationTokenOutput({}, { parent: this });
        const host = token.proxyEndpoint.apply((endpoint) => endpoint.replace(/^https:\/\//, ""));
        const image = new dockerBuild.Image(
            `${name}-image`,
            {
                // A known name even on a first preview: docker-build's check refuses a registry push
                // with neither a tag nor a name (provider/internal/export.go), and an unknown name
                // reads as none there.
                exports: [{ registry: { names: [pulumi.interpolate`${host}/${args.repositoryName}`], pushByDigest: true } }],
                // docker-build exports cache manifests even from preview builds (image.go,
                // buildOnPreview), and a pull request's preview runs that PR's Dockerfile with a
                // read-only role: a preview must neither write the cache nor fail on its denial.
                buildOnPreview: false,
                // `push` would add a second registry export, by the tags (there are none).
                push: false,
                labels: { [CONTEXT_HASH_LABEL]: args.contextHash },
                ...buildInputs(args.build),
                platforms: args.platforms as dockerBuild.Platform[],
                registries: [{ address: host, username: token.userName, password: pulumi.secret(token.password) }],
                ...(this.cacheRef ? registryCache(this.cacheRef) : {}),
            },
            { parent: this, dependsOn: [repo] },
        );

        const tagged = copyByDigest(`${name}-tag`, { source: pulumi.interpolate`${repo.repositoryUrl}@${image.digest}`, targetRepository: repo.repositoryUrl }, this);
        this.repositoryUrl = repo.repositoryUrl;
        this.imageRef = pulumi.all([tagged.stdout, repo.repositoryUrl, image.digest]).apply(([, url, digest]) => `${url}@${digest}`);
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, cacheRef: this.cacheRef, imageRef: this.imageRef });
    }
}

export interface LocalImageArgs {
    /** Local image name without a tag, e.g. `dockyard/local/api`. */
    readonly imageName: string;
    readonly build: BuildSpec;
    /** `contextHash()`, so a service rolls only when the content changes. */
    readonly tag: string;
}

/** An image built on this machine's Docker engine for the `local` stack: loaded there, never pushed. */
export class LocalImage extends pulumi.ComponentResource {
    /** `<name>:<tag>` in the local engine's image store. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: LocalImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:LocalImage", name, {}, opts);
        const ref = `${args.imageName}:${args.tag}`;
        const image = new dockerBuild.Image(`${name}-image`, { tags: [ref], ...buildInputs(args.build), push: false, load: true }, { parent: this });
        this.imageRef = image.tags.apply(() => ref);
        this.registerOutputs({ imageRef: this.imageRef });
    }
}
