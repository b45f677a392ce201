/**
 * Stack tags, applied to every taggable AWS resource through one mechanism: the `defaultTags` of
 * the stack's explicit AWS provider, which every AWS resource in the program uses.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";

export function stackTags(config: Pick<StackConfig, "project" | "stack">): Record<string, string> {
    return { "dockyard:project": config.project, "dockyard:stack": config.stack, "managed-by": "pulumi" };
}

/** The AWS provider of the stack: its region and its tags. */
export function stackAwsProvider(config: StackConfig, opts?: pulumi.CustomResourceOptions): aws.Provider {
    return new aws.Provider(
        `${config.stack}-aws`,
        { region: config.region as aws.Region, defaultTags: { tags: stackTags(config) } },
        opts,
    );
}
