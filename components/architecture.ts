/**
 * The one answer to "which CPU does this EC2 instance type have", shared by the Swarm AMI lookup,
 * the EKS AMI type and the platform images are built for, so they can never disagree.
 */

/**
 * AWS Graviton (arm64): the first-generation `a1`, or a `g` among the attribute letters after the
 * generation (t4g, m7g, c7gn, r6gd, x2gd, im4gn, is4gen, g5g). `g5` and `m7i-flex` are x86_64.
 */
export function isGraviton(instanceType: string): boolean {
    const match = /^([a-z]+)(\d+)([a-z-]*)\./.exec(instanceType);
    if (!match) return false;
    const [, family, generation, attributes] = match;
    return (family === "a" && generation === "1") || attributes.includes("g");
}

/** The architecture as EC2 and AMI names spell it. */
export function cpuArchitecture(instanceType: string): "arm64" | "x86_64" {
    return isGraviton(instanceType) ? "arm64" : "x86_64";
}
