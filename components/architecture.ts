/**
 * The one answer to "which CPU does this EC2 instance type have", shared by the Swarm AMI lookup,
 * the EKS AMI type and the platforms images are built for, so the three can never disagree
 * (issue 14 item 18: the Swarm nodes used to miss the `a1` family the images knew).
 *
 * EC2 names a type `<family><generation><processor family><capabilities>.<size>`, and the
 * processor letter `g` (right after the generation) means AWS Graviton (EC2 User Guide, "Amazon EC2
 * instance type naming conventions"): t4g, m7g, c7gn, r6gd, x2gd, im4gn, is4gen, g5g. The
 * first-generation Graviton type `a1` predates that scheme. `g5`, `g4dn` (GPU families) and
 * `m7i-flex` are x86_64.
 */
const GRAVITON_FAMILY = /^(a1|[a-z]+\d+g[a-z]*)$/;

export function isGraviton(instanceType: string): boolean {
    return GRAVITON_FAMILY.test(instanceType.split(".")[0]);
}

/** The architecture as EC2 and the AL2023 AMI parameters spell it. */
export function cpuArchitecture(instanceType: string): "arm64" | "x86_64" {
    return isGraviton(instanceType) ? "arm64" : "x86_64";
}
