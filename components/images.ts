/**
 * Container images of the stack's workloads: one build per distinct image, pushed to ECR (or
 * loaded into the `local` engine), promoted from another stack by a digest-exact copy into this
 * stack's own repositories, or used as is. The decisions live in ./images/plan.ts and
 * ./images/context.ts; the resources in ./images/build.ts and ./images/promote.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, StackConfig } from "./config";
import { ContainerImage, LocalImage } from "./images/build";
import { contextHash } from "./images/context";
import { cacheRepositoryName, nodeInstanceTypes, nodePlatforms, PlannedImage, planImages, repositoryName } from "./images/plan";
import { parseDigestRef } from "./images/copy";
import { PromotedImage } from "./images/promote";
import { WorkloadSpec, withTag } from "./workload";

export { contextFiles, contextHash } from "./images/context";
export { CACHE_TAG, cacheRepositoryName, lifecyclePolicy, nodePlatforms, planImages, repositoryName } from "./images/plan";

export interface ResolvedImages {
    /** Image reference to deploy, by workload name. */
    readonly images: Record<string, pulumi.Output<string>>;
    /** Pushed or promoted digests of the built workloads: the `imageDigests` stack output other stacks promote. */
    readonly digests: pulumi.Output<Record<string, string>>;
}

/**
 * The digest each planned image promotes from `images.digests`, checked before any resource: a
 * digest reference for every workload that builds its image (the check that passed them is the
 * check of all of them), none for any other workload, and one digest per image when workloads share
 * a build (dev built them once).
 */
export function explicitPromotions(images: readonly PlannedImage[], digests: Readonly<Record<string, string>>): Map<string, string> {
    const key = `${NAMESPACE}:images.digests`;
    const built = images.flatMap((image) => image.workloads);
    const problems: string[] = [];
    const unknown = Object.keys(digests).filter((name) => !built.includes(name));
    if (unknown.length > 0) problems.push(`${key} has ${unknown.join(", ")}; allowed: workloads built from source (${built.join(", ") || "none"})`);
    const missing = built.filter((name) => digests[name] === undefined);
    if (missing.length > 0) problems.push(`${key} has no digest for ${missing.join(", ")}; allowed: a digest for every workload built from source (${built.join(", ")}), as the source stack's imageDigests output lists them`);
    const sources = new Map<string, string>();
    for (const image of images) {
        const given = [...new Set(image.workloads.map((w) => digests[w]).filter((d): d is string => d !== undefined))];
        for (const workload of image.workloads) {
            if (digests[workload] === undefined) continue;
            try {
                parseDigestRef(digests[workload], `${key}.${workload}`);
            } catch (err) {
                problems.push((err as Error).message);
            }
        }
        if (given.length > 1) {
            problems.push(`${key} gives ${image.workloads.join(" and ")} different digests (${given.join(", ")}); allowed: one digest, as they share one build (${image.build.context})`);
        } else if (given.length === 1) {
            sources.set(image.name, given[0]);
        }
    }
    if (problems.length > 0) throw new Error(problems.join("\n"));
    return sources;
}

/** The digest `images.from`'s stack exported for an image's workloads, checked like `images.digests` once it is known. */
function referencedPromotion(from: string, image: PlannedImage, exported: pulumi.Output<unknown>): pulumi.Output<string> {
    return exported.apply((all) => {
        const digests = (all ?? {}) as Record<string, unknown>;
        const has = Object.keys(digests);
        const refs = image.workloads.map((workload) => {
            const digest = digests[workload];
            if (digest === undefined) {
                throw new Error(
                    `${NAMESPACE}:images.from is ${JSON.stringify(from)}, but that stack's imageDigests output has no image for workload ${JSON.stringify(workload)} ` +
                        `(it has: ${has.length > 0 ? has.join(", ") : "none"}); deploy ${workload} there first, or set ${NAMESPACE}:images.digests instead`,
                );
            }
            return parseDigestRef(digest, `${NAMESPACE}:images.from ${JSON.stringify(from)}: imageDigests.${workload}`);
        });
        const distinct = [...new Set(refs.map((r) => `${r.repository}@${r.digest}`))];
        if (distinct.length > 1) throw new Error(`${NAMESPACE}:images.from ${JSON.stringify(from)} gives ${image.workloads.join(" and ")} different digests (${distinct.join(", ")}); they share one build here`);
        return distinct[0];
    });
}

/**
 * The image every workload deploys. Existing references are used as is, with the stack's
 * `workloads.imageTags` override (which `prepareWorkloads` validates; applying it twice is harmless).
 * Built images are planned once per distinct build, then come from `images.digests` or the stack
 * named by `images.from` (copied into this stack's repositories), from a local build on the `local`
 * engine, or from a build pushed to ECR.
 */
export function resolveImages(stack: string, specs: readonly WorkloadSpec[], config: StackConfig, opts: pulumi.ComponentResourceOptions): ResolvedImages {
    const images: Record<string, pulumi.Output<string>> = {};
    const digests: Record<string, pulumi.Output<string>> = {};

    for (const spec of specs) {
        if ("ref" in spec.image) {
            const tag = config.workloads.imageTags[spec.name];
            images[spec.name] = pulumi.output(tag === undefined ? spec.image.ref : withTag(spec.image.ref, tag));
        }
    }

    const plan = planImages(specs);
    const explicit = Object.keys(config.images.digests).length > 0 ? explicitPromotions(plan, config.images.digests) : undefined;
    const exported = config.images.from !== "" ? new pulumi.StackReference(`${stack}-images-from`, { name: config.images.from }, { parent: opts.parent }).getOutput("imageDigests") : undefined;
    const repository = (image: PlannedImage) => ({
        repositoryName: repositoryName(config.project, stack, image.name),
        encryption: config.images.encryption,
        forceDelete: !config.production,
        keepTagged: config.images.keepTagged,
        untaggedExpiryDays: config.images.untaggedExpiryDays,
    });

    for (const image of plan) {
        let ref: pulumi.Output<string>;
        let exportsDigest = true;
        const name = `${stack}-${image.name}`;
        if (explicit || exported) {
            const source = explicit ? pulumi.output(explicit.get(image.name)!) : referencedPromotion(config.images.from, image, exported!);
            ref = new PromotedImage(name, { ...repository(image), source }, opts).imageRef;
        } else if (config.swarm.engine === "local") {
            ref = new LocalImage(name, { imageName: repositoryName(config.project, stack, image.name), build: image.build, tag: contextHash(image.build.context, image.build) }, opts).imageRef;
            exportsDigest = false;
        } else {
            const platforms = nodePlatforms(nodeInstanceTypes(config));
            ref = new ContainerImage(
                name,
                {
                    ...repository(image),
                    cacheRepositoryName: cacheRepositoryName(config.project, stack, image.name),
                    build: image.build,
                    contextHash: contextHash(image.build.context, image.build, platforms),
                    platforms,
                },
                opts,
            ).imageRef;
        }
        for (const workload of image.workloads) {
            images[workload] = ref;
            if (exportsDigest) digests[workload] = ref;
        }
    }
    return { images, digests: pulumi.output(digests) as pulumi.Output<Record<string, string>> };
}
