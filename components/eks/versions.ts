/**
 * The Kubernetes versions dockyard deploys on EKS, with the date each leaves EKS standard support
 * and the Cluster Autoscaler image that matches its minor. Pure data and pure functions: the config
 * rule, the cluster's warning and the autoscaler all read this one table.
 *
 * Dates: the EKS user guide's release calendar (docs.aws.amazon.com/eks/latest/userguide/
 * kubernetes-versions.html; standard support lasts 14 months from the EKS release). With
 * `upgradePolicy.supportType: STANDARD` (cluster.ts) AWS upgrades the control plane by itself at the
 * end of standard support, so a version past that date is refused rather than left for AWS to move.
 * Autoscaler tags: kubernetes/autoscaler releases, as mapped in aws-ia/terraform-aws-eks-blueprints-addons#516.
 */

export interface KubernetesVersion {
    readonly version: string;
    /** Last day of EKS standard support (ISO date, UTC). */
    readonly standardSupportEnds: string;
    /** The Cluster Autoscaler release built for this minor (the autoscaler's minor must match the cluster's). */
    readonly autoscalerImageTag: string;
}

/** Oldest first; adding a minor means adding its row here (and, for its add-ons, nothing: EKS picks them). */
export const KUBERNETES_VERSIONS: readonly KubernetesVersion[] = [
    { version: "1.33", standardSupportEnds: "2026-07-29", autoscalerImageTag: "v1.33.5" },
    { version: "1.34", standardSupportEnds: "2026-12-02", autoscalerImageTag: "v1.34.4" },
    { version: "1.35", standardSupportEnds: "2027-03-27", autoscalerImageTag: "v1.35.1" },
];

export const DEFAULT_KUBERNETES_VERSION = "1.35";

/** Warn this many days before a version leaves standard support. */
export const SUPPORT_WARNING_DAYS = 90;

const DAY_MS = 86_400_000;
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

export function kubernetesVersion(version: string): KubernetesVersion | undefined {
    return KUBERNETES_VERSIONS.find((v) => v.version === version);
}

/** Versions still in standard support on `today`. */
export function supportedVersions(today: Date): string[] {
    return KUBERNETES_VERSIONS.filter((v) => v.standardSupportEnds > isoDay(today)).map((v) => v.version);
}

/** What is allowed when `version` cannot be deployed on `today`, or undefined. */
export function versionProblem(version: string, today: Date): string | undefined {
    const allowed = supportedVersions(today);
    const known = kubernetesVersion(version);
    if (known && allowed.includes(version)) return undefined;
    const why = known
        ? `EKS standard support for ${version} ended on ${known.standardSupportEnds} and AWS upgrades STANDARD clusters by itself after that; upgrade one minor at a time (docs/eks.md, "Upgrading")`
        : `not a version dockyard knows the support dates of`;
    return `${why}; allowed: ${allowed.join(", ")}`;
}

/** A warning when `version` leaves standard support within SUPPORT_WARNING_DAYS of `today`, or undefined. */
export function supportNotice(version: string, today: Date): string | undefined {
    const known = kubernetesVersion(version);
    if (!known) return undefined;
    const daysLeft = Math.ceil((Date.parse(`${known.standardSupportEnds}T00:00:00Z`) - today.getTime()) / DAY_MS);
    if (daysLeft > SUPPORT_WARNING_DAYS || daysLeft <= 0) return undefined;
    const next = KUBERNETES_VERSIONS[KUBERNETES_VERSIONS.indexOf(known) + 1];
    return (
        `dockyard:eks.version ${version} leaves EKS standard support on ${known.standardSupportEnds} (in ${daysLeft} days); ` +
        `AWS then upgrades the control plane by itself. ${next ? `Set dockyard:eks.version ${next.version} and run pulumi up before then.` : "Add the next minor to components/eks/versions.ts and upgrade before then."}`
    );
}

/** The Cluster Autoscaler image tag for a Kubernetes minor. */
export function autoscalerImageTag(version: string): string {
    const known = kubernetesVersion(version);
    if (!known) throw new Error(`dockyard:eks.version is ${JSON.stringify(version)}; allowed for the Cluster Autoscaler: ${KUBERNETES_VERSIONS.map((v) => v.version).join(", ")}`);
    return known.autoscalerImageTag;
}
