/**
 * A guard that refuses, at preview, a `persistent` volume smaller than the one deployed. Kubernetes
 * can grow a claim but never shrink it (the API answers "field can not be less than previous
 * value" only when the update reaches the claim, after the rest of the update has run), and the
 * program itself cannot see the deployed size. This resource keeps the size in the stack's state,
 * and its `check` compares old and new before anything changes.
 */
import * as pulumi from "@pulumi/pulumi";

export interface VolumeSizeInputs {
    /** `workload "redis": volumes[0] (data)`, for the message. */
    readonly label: string;
    readonly size: string;
    readonly bytes: number;
}

/** Why `news` may not replace `olds`, or undefined. Pure: the provider below calls only this. */
export function shrinkProblem(olds: Partial<VolumeSizeInputs> | undefined, news: VolumeSizeInputs): string | undefined {
    if (olds?.bytes === undefined || news.bytes >= olds.bytes) return undefined;
    return `${news.label}: size is ${JSON.stringify(news.size)} but the deployed claims are ${JSON.stringify(olds.size)}; allowed: ${olds.size} or larger (a volume's claim can grow, never shrink; to start smaller, move the data to a new volume name)`;
}

const provider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<VolumeSizeInputs>, news: VolumeSizeInputs) {
        const problem = shrinkProblem(olds, news);
        return problem ? { inputs: news, failures: [{ property: "size", reason: problem }] } : { inputs: news };
    },
    async create(inputs: VolumeSizeInputs) {
        return { id: inputs.label, outs: inputs };
    },
    async update(_id: string, _olds: VolumeSizeInputs, news: VolumeSizeInputs) {
        return { outs: news };
    },
};

/** The deployed size of one `persistent` volume, as a resource whose preview refuses shrinking. */
export class VolumeSize extends pulumi.dynamic.Resource {
    constructor(name: string, args: VolumeSizeInputs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args }, opts, "dockyard-volume-size");
    }
}
