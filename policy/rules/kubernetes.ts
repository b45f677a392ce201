/**
 * Every container of every pod template the stack declares (Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, CronJob, Pod) runs as non-root, unprivileged, outside the host's network and
 * PID namespaces, with CPU and memory limits, a read-only root filesystem and a pinned image.
 *
 * Namespaces listed in the `exemptNamespaces` policy config (default `kube-system`) are skipped:
 * they hold the add-ons and controllers that third-party charts install, which dockyard does not
 * author.
 */
import * as k8s from "@pulumi/kubernetes";
import { ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe, unpinnedImageReason } from "./common";

export const DEFAULT_EXEMPT_NAMESPACES: readonly string[] = ["kube-system"];

interface SecurityContext {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly privileged?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
}

export interface Container {
    readonly name?: string;
    readonly image?: string;
    readonly securityContext?: SecurityContext;
    readonly resources?: { readonly limits?: Record<string, unknown> };
}

export interface PodSpec {
    readonly containers?: Container[];
    readonly initContainers?: Container[];
    readonly securityContext?: SecurityContext;
    readonly hostNetwork?: boolean;
    readonly hostPID?: boolean;
    readonly hostIPC?: boolean;
}

type PodCheck = (pod: PodSpec, args: ResourceValidationArgs, report: ReportViolation) => void;

interface ExemptionConfig {
    readonly exemptNamespaces?: string[];
}

const exemptionSchema = {
    properties: { exemptNamespaces: { type: "array" as const, items: { type: "string" as const }, default: [...DEFAULT_EXEMPT_NAMESPACES] } },
};

/** Runs `check` on the pod template of each workload kind, skipping exempt namespaces. */
function onEveryPodTemplate(check: PodCheck): ResourceValidation[] {
    const run = (metadata: { namespace?: string } | undefined, pod: PodSpec | undefined, args: ResourceValidationArgs, report: ReportViolation) => {
        const exempt = args.getConfig<ExemptionConfig>().exemptNamespaces ?? DEFAULT_EXEMPT_NAMESPACES;
        if (metadata?.namespace && exempt.includes(metadata.namespace)) return args.notApplicable(`namespace ${metadata.namespace} is exempt`);
        check(pod ?? {}, args, report);
    };
    return [
        validateResourceOfType(k8s.apps.v1.Deployment, (p, args, report) => run(p.metadata, p.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.apps.v1.StatefulSet, (p, args, report) => run(p.metadata, p.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.apps.v1.DaemonSet, (p, args, report) => run(p.metadata, p.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.apps.v1.ReplicaSet, (p, args, report) => run(p.metadata, p.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.batch.v1.Job, (p, args, report) => run(p.metadata, p.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.batch.v1.CronJob, (p, args, report) => run(p.metadata, p.spec?.jobTemplate?.spec?.template?.spec as PodSpec, args, report)),
        validateResourceOfType(k8s.core.v1.Pod, (p, args, report) => run(p.metadata, p.spec as PodSpec, args, report)),
    ];
}

const containersOf = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...(pod.containers ?? [])];

const where = (args: ResourceValidationArgs, c: Container) => `${describe(args)} container "${c.name}"`;

function k8sPolicy(name: string, description: string, check: PodCheck): ResourceValidationPolicy {
    return { name, description, enforcementLevel: "mandatory", severity: "high", configSchema: exemptionSchema, validateResource: onEveryPodTemplate(check) };
}

export const k8sRunAsNonRoot = k8sPolicy("k8s-run-as-non-root", "Containers run as a non-root user (runAsNonRoot, and never runAsUser 0).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        const user = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        if (user === 0) report(`${where(args, c)}: runs as root (runAsUser 0)`);
        else if (nonRoot !== true && !(typeof user === "number" && user > 0)) report(`${where(args, c)}: set securityContext.runAsNonRoot: true (or a non-zero runAsUser)`);
    }
});

export const k8sNotPrivileged = k8sPolicy("k8s-not-privileged", "No privileged containers.", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        if (c.securityContext?.privileged === true) report(`${where(args, c)}: must not be privileged`);
    }
});

export const k8sNoHostNamespaces = k8sPolicy("k8s-no-host-namespaces", "Pods do not share the node's network, PID or IPC namespace.", (pod, args, report) => {
    for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
        if (pod[field] === true) report(`${describe(args)}: ${field} must not be true`);
    }
});

export const k8sResourceLimits = k8sPolicy("k8s-resource-limits", "Every container sets CPU and memory limits.", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        const missing = ["cpu", "memory"].filter((r) => c.resources?.limits?.[r] === undefined);
        if (missing.length > 0) report(`${where(args, c)}: resources.limits lacks ${missing.join(" and ")}`);
    }
});

export const k8sReadOnlyRootFilesystem = k8sPolicy("k8s-read-only-root-filesystem", "Containers have a read-only root filesystem.", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        if (c.securityContext?.readOnlyRootFilesystem !== true) report(`${where(args, c)}: set securityContext.readOnlyRootFilesystem: true`);
    }
});

export const k8sPinnedImages = k8sPolicy("k8s-pinned-images", "Container images are pinned by a version tag or a digest (no :latest, no missing tag).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        const reason = unpinnedImageReason(c.image);
        if (reason) report(`${where(args, c)}: ${reason}`);
    }
});
