/**
 * Promotion: the exact image another stack built (same digest, no rebuild) copied into this stack's
 * own immutable repository before this stack deploys it, so the source stack's lifecycle policy or
 * destroy can never delete what this stack runs.
 *
 * The copy is ./copy.ts's digest-exact skopeo copy. ECR's own features do not fit: replication copies every push of
 * whole repository prefixes, not the one release that was checked, and only to other regions or
 * accounts; pull-through cache rules serve what a node asks for and expire it on their own terms.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../config";
import { deployRepository, DeployRepositoryArgs } from "./build";
import { copyByDigest, parseDigestRef } from "./copy";

export interface PromotedImageArgs extends DeployRepositoryArgs {
    /** The image to promote, pinned by digest (validated by `parseDigestRef` first). */
    readonly source: pulumi.Input<string>;
}

/** This stack's own repository holding a digest-exact copy of an image another stack built. */
export class PromotedImage extends pulumi.ComponentResource {
    public readonly repositoryUrl: pulumi.Output<string>;
    /** `<this stack's repository>@<the source's digest>`, once the copy is verified. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: PromotedImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:PromotedImage", name, {}, opts);
        const repo = deployRepository(`${name}-repo`, args, this);
        const source = pulumi.output(args.source).apply((ref) => parseDigestRef(ref, `${NAMESPACE}:images promotion source`));
        const copy = copyByDigest(`${name}-copy`, { source: args.source, targetRepository: repo.repositoryUrl }, this);
        this.repositoryUrl = repo.repositoryUrl;
        this.imageRef = pulumi.all([copy.stdout, repo.repositoryUrl, source]).apply(([, url, src]) => `${url}@${src.digest}`);
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageRef: this.imageRef });
    }
}
