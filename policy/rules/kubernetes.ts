/**
 * Every container of every pod template the stack declares (Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, CronJob, Pod) meets the Kubernetes Pod Security Standards' "restricted" profile
 * (kubernetes.io/docs/concepts/security/pod-security-standards/) and the pod checks of Checkov
 * (CKV_K8S_*), Polaris and kube-score: non-root, unprivileged, no privilege escalation, all
 * capabilities dropped, a RuntimeDefault seccomp profile, no host namespaces, paths or ports,
 * requests and limits, a read-only root filesystem, a pinned image, probes on long-running pods,
 * no Secrets in environment variables, its own service account without a mounted token, and not
 * the `default` namespace.
 *
 * No namespace is exempt by default: add-ons in `kube-system` come from Helm releases and EKS
 * add-ons, which are not pod templates of the stack, so a pod template placed in `kube-system`
 * is the stack's own and is held to the same rules (moving a privileged pod there must not hide
 * it). The `exemptNamespaces` policy config can list namespaces to skip.
 */
import * as k8s from "@pulumi/kubernetes";
import { ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { PRIVILEGES_MARK, RESTRICTED_CAPABILITIES } from "../../components/workload";
import { describe, unpinnedImageReason } from "./common";
import { addableCapabilities, declaredPrivileges, kubernetesDeclaration } from "./privileges";

export const DEFAULT_EXEMPT_NAMESPACES: readonly string[] = [];

interface SecurityContext {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly privileged?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly capabilities?: { readonly add?: string[]; readonly drop?: string[] };
    readonly seccompProfile?: { readonly type?: string };
    readonly procMount?: string;
}

export interface Container {
    readonly name?: string;
    readonly image?: string;
    readonly securityContext?: SecurityContext;
    readonly resources?: { readonly limits?: Record<string, unknown>; readonly requests?: Record<string, unknown> };
    readonly ports?: { readonly hostPort?: number; readonly containerPort?: number }[];
    readonly env?: { readonly name?: string; readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string } } }[];
    readonly envFrom?: { readonly secretRef?: { readonly name?: string } }[];
    readonly readinessProbe?: unknown;
    readonly livenessProbe?: unknown;
}

export interface PodSpec {
    readonly containers?: Container[];
    readonly initContainers?: Container[];
    readonly securityContext?: SecurityContext;
    readonly hostNetwork?: boolean;
    readonly hostPID?: boolean;
    readonly hostIPC?: boolean;
    readonly volumes?: { readonly name?: string; readonly hostPath?: { readonly path?: string } }[];
    readonly automountServiceAccountToken?: boolean;
    readonly serviceAccountName?: string;
}

interface Metadata {
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
}

type PodCheck = (pod: PodSpec, args: ResourceValidationArgs, report: ReportViolation, metadata: Metadata) => void;

/** What the controller (or the Pod itself) declares it may do beyond the restricted profile (privileges.ts). */
const declared = (metadata: Metadata) => declaredPrivileges(kubernetesDeclaration(metadata));

interface ExemptionConfig {
    readonly exemptNamespaces?: string[];
}

const exemptionSchema = {
    properties: { exemptNamespaces: { type: "array" as const, items: { type: "string" as const }, default: [...DEFAULT_EXEMPT_NAMESPACES] } },
};

/** Runs `check` on the pod template of each workload kind, skipping exempt namespaces. */
function onEveryPodTemplate(check: PodCheck): ResourceValidation[] {
    const run = (metadata: Metadata | undefined, pod: PodSpec | undefined, args: ResourceValidationArgs, report: ReportViolation) => {
        const exempt = args.getConfig<ExemptionConfig>().exemptNamespaces ?? DEFAULT_EXEMPT_NAMESPACES;
        if (metadata?.namespace && exempt.includes(metadata.namespace)) return args.notApplicable(`namespace ${metadata.namespace} is exempt`);
        check(pod ?? {}, args, report, metadata ?? {});
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

/** Kinds whose pods run until stopped: they need probes (a Job's pods run to completion). */
const LONG_RUNNING = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet"]);

/** Seccomp profiles the restricted profile accepts. */
const CONFINED_SECCOMP = new Set(["RuntimeDefault", "Localhost"]);

export const k8sRunAsNonRoot = k8sPolicy(
    "k8s-run-as-non-root",
    `Containers run as a non-root user (runAsNonRoot, never runAsUser 0; Checkov CKV_K8S_23, Polaris runAsRootAllowed, PSS restricted), unless the controller declares root (annotation ${PRIVILEGES_MARK.kubernetes}, from the spec's privileges.root).`,
    (pod, args, report, metadata) => {
    if (declared(metadata).root) return;
    for (const c of containersOf(pod)) {
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        const user = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        if (user === 0) report(`${where(args, c)}: runs as root (runAsUser 0)`);
        else if (nonRoot !== true && !(typeof user === "number" && user > 0)) report(`${where(args, c)}: set securityContext.runAsNonRoot: true (or a non-zero runAsUser)`);
    }
    },
);

export const k8sNotPrivileged = k8sPolicy("k8s-not-privileged", "No privileged containers (Checkov CKV_K8S_16, Polaris runAsPrivileged, CIS EKS 4.2.1, PSS baseline).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        if (c.securityContext?.privileged === true) report(`${where(args, c)}: must not be privileged`);
    }
});

export const k8sNoHostNamespaces = k8sPolicy("k8s-no-host-namespaces", "Pods do not share the node's network, PID or IPC namespace (Checkov CKV_K8S_17/18/19, CIS EKS 4.2.2-4.2.4, PSS baseline).", (pod, args, report) => {
    for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
        if (pod[field] === true) report(`${describe(args)}: ${field} must not be true`);
    }
});

export const k8sResourceLimits = k8sPolicy("k8s-resource-limits", "Every container sets CPU and memory requests and limits (Checkov CKV_K8S_10-13, kube-score container-resources).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        for (const kind of ["limits", "requests"] as const) {
            const missing = ["cpu", "memory"].filter((r) => c.resources?.[kind]?.[r] === undefined);
            if (missing.length > 0) report(`${where(args, c)}: resources.${kind} lacks ${missing.join(" and ")}`);
        }
    }
});

export const k8sReadOnlyRootFilesystem = k8sPolicy("k8s-read-only-root-filesystem", "Containers have a read-only root filesystem (Checkov CKV_K8S_22, Polaris notReadOnlyRootFilesystem).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        if (c.securityContext?.readOnlyRootFilesystem !== true) report(`${where(args, c)}: set securityContext.readOnlyRootFilesystem: true`);
    }
});

export const k8sPinnedImages = k8sPolicy("k8s-pinned-images", "Container images are pinned by a version tag or a digest, no :latest or missing tag (Checkov CKV_K8S_14/43, Polaris tagNotSpecified).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        const reason = unpinnedImageReason(c.image);
        if (reason) report(`${where(args, c)}: ${reason}`);
    }
});

export const k8sNoPrivilegeEscalation = k8sPolicy(
    "k8s-no-privilege-escalation",
    "Containers set allowPrivilegeEscalation: false (Checkov CKV_K8S_20, Polaris privilegeEscalationAllowed, CIS EKS 4.2.5, PSS restricted).",
    (pod, args, report) => {
        for (const c of containersOf(pod)) {
            if (c.securityContext?.allowPrivilegeEscalation !== false) report(`${where(args, c)}: set securityContext.allowPrivilegeEscalation: false`);
        }
    },
);

export const k8sCapabilities = k8sPolicy(
    "k8s-capabilities",
    `Containers drop ALL capabilities and add none but ${RESTRICTED_CAPABILITIES.join(", ")} and those the controller declares (annotation ${PRIVILEGES_MARK.kubernetes}, from the spec's privileges.capabilities, within Docker's default set less NET_RAW) (Checkov CKV_K8S_25/28/37/39, Polaris dangerousCapabilities, PSS restricted and baseline).`,
    (pod, args, report, metadata) => {
        const addable = addableCapabilities(declared(metadata));
        for (const c of containersOf(pod)) {
            const capabilities = c.securityContext?.capabilities;
            if (!(capabilities?.drop ?? []).includes("ALL")) report(`${where(args, c)}: securityContext.capabilities.drop must include "ALL"`);
            const added = (capabilities?.add ?? []).filter((cap) => !addable.includes(cap.replace(/^CAP_/, "")));
            if (added.length > 0) report(`${where(args, c)}: adds capabilities ${added.join(", ")}; only ${addable.join(", ")} may be added (others must be declared in ${PRIVILEGES_MARK.kubernetes} through the spec's privileges.capabilities)`);
        }
    },
);

export const k8sSeccomp = k8sPolicy("k8s-seccomp", "Every container runs under the RuntimeDefault (or a Localhost) seccomp profile, never Unconfined (Checkov CKV_K8S_31, PSS restricted).", (pod, args, report) => {
    const podProfile = pod.securityContext?.seccompProfile?.type;
    for (const c of containersOf(pod)) {
        const profile = c.securityContext?.seccompProfile?.type ?? podProfile;
        if (!CONFINED_SECCOMP.has(profile as string)) {
            report(`${where(args, c)}: seccompProfile.type is ${JSON.stringify(profile ?? "unset (Unconfined)")}; set RuntimeDefault on the pod or the container`);
        }
    }
});

export const k8sDefaultProcMount = k8sPolicy("k8s-default-proc-mount", "Containers keep the default /proc mask (procMount Default; Polaris procMount, PSS baseline).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        const procMount = c.securityContext?.procMount;
        if (procMount !== undefined && procMount !== "Default") report(`${where(args, c)}: securityContext.procMount ${JSON.stringify(procMount)} unmasks /proc`);
    }
});

export const k8sNoHostPaths = k8sPolicy(
    "k8s-no-host-paths",
    "Pods mount no hostPath volume, least of all the container runtime socket (Checkov CKV_K8S_27, Polaris hostPathSet, PSS baseline).",
    (pod, args, report) => {
        for (const v of pod.volumes ?? []) {
            if (!v.hostPath) continue;
            const socket = /(docker|containerd|crio)\.sock$/.test(v.hostPath.path ?? "") ? " (the container runtime socket: root on the node)" : "";
            report(`${describe(args)}: volume "${v.name}" mounts the node's ${JSON.stringify(v.hostPath.path)}${socket}; use an emptyDir, a Secret or a PersistentVolumeClaim`);
        }
    },
);

export const k8sNoHostPorts = k8sPolicy("k8s-no-host-ports", "Containers bind no hostPort (Checkov CKV_K8S_26, Polaris hostPortSet, PSS baseline).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        for (const port of c.ports ?? []) {
            if (port.hostPort !== undefined && port.hostPort !== 0) report(`${where(args, c)}: hostPort ${port.hostPort} publishes the container on the node's address; use a Service`);
        }
    }
});

export const k8sServiceAccountToken = k8sPolicy(
    "k8s-service-account-token",
    "Pods run as their own service account (not default) and do not mount its token (Checkov CKV_K8S_38/41, CIS EKS 4.1.5/4.1.6, Polaris automountServiceAccountToken).",
    (pod, args, report) => {
        if (pod.automountServiceAccountToken !== false) report(`${describe(args)}: set automountServiceAccountToken: false (no workload of the stack talks to the API server)`);
        if (!pod.serviceAccountName || pod.serviceAccountName === "default") report(`${describe(args)}: serviceAccountName must name the workload's own service account, not ${JSON.stringify(pod.serviceAccountName ?? "default")}`);
    },
);

export const k8sProbes = k8sPolicy("k8s-probes", "Containers of long-running pods declare readiness and liveness probes (Checkov CKV_K8S_8/9, kube-score pod-probes).", (pod, args, report) => {
    if (!LONG_RUNNING.has(args.type)) return args.notApplicable("a run-to-completion pod needs no probes");
    for (const c of pod.containers ?? []) {
        const missing = (["readinessProbe", "livenessProbe"] as const).filter((probe) => c[probe] === undefined);
        if (missing.length > 0) report(`${where(args, c)}: declares no ${missing.join(" and no ")}`);
    }
});

export const k8sNoSecretEnv = k8sPolicy("k8s-no-secret-env", "Secrets reach containers as files, not environment variables (Checkov CKV_K8S_35, CIS EKS 4.4.1).", (pod, args, report) => {
    for (const c of containersOf(pod)) {
        for (const e of c.env ?? []) {
            if (e.valueFrom?.secretKeyRef) report(`${where(args, c)}: env ${e.name} reads Secret ${JSON.stringify(e.valueFrom.secretKeyRef.name)}; mount it as a file under /run/secrets`);
        }
        for (const e of c.envFrom ?? []) {
            if (e.secretRef) report(`${where(args, c)}: envFrom loads Secret ${JSON.stringify(e.secretRef.name)} into the environment; mount it as a file`);
        }
    }
});

export const k8sNotDefaultNamespace = k8sPolicy("k8s-not-default-namespace", "Workloads live in the stack's namespace, never default (Checkov CKV_K8S_21, CIS EKS 4.5.2).", (_pod, args, report, metadata) => {
    if (!metadata.namespace || metadata.namespace === "default") report(`${describe(args)}: metadata.namespace is ${JSON.stringify(metadata.namespace ?? "unset (default)")}; use the stack's namespace`);
});
