/**
 * The Kubernetes objects around the pods: namespaces enforce the restricted Pod Security
 * Standard, RBAC grants no cluster-admin, wildcards or anonymous access, Services and Ingresses
 * reach the internet only through reviewed listeners with source ranges, EBS storage classes
 * encrypt, every namespace with pods denies traffic by default, disruption budgets allow
 * disruption, and Helm charts are pinned.
 */
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { cidrProblem, coversTheInternet } from "../../components/cidr";
import { PRIVILEGES_MARK } from "../../components/workload";
import { describe, known, POD_TEMPLATE_TYPES } from "./common";
import { kubernetesDeclaration } from "./privileges";
import { LISTENER_PORTS } from "./securityGroups";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const SERVICE = "kubernetes:core/v1:Service";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const RBAC = "kubernetes:rbac.authorization.k8s.io/v1:";
const BINDINGS = new Set([`${RBAC}ClusterRoleBinding`, `${RBAC}RoleBinding`]);
const ROLES = new Set([`${RBAC}ClusterRole`, `${RBAC}Role`]);

const onType = (types: string | Set<string>, check: (props: Record<string, any>, args: ResourceValidationArgs, report: (m: string) => void) => void) => (args: ResourceValidationArgs, report: (m: string) => void) => {
    const applies = typeof types === "string" ? args.type === types : types.has(args.type);
    if (!applies) return args.notApplicable(`not a ${typeof types === "string" ? types : [...types].join(" or ")}`);
    check(args.props, args, report);
};

/** The Pod Security Admission label that rejects pods breaking the restricted profile (kubernetes.io/docs/concepts/security/pod-security-admission/). */
export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** The labels that warn about and audit pods breaking a profile, while the namespace enforces a lower one. */
const WARN_LABEL = "pod-security.kubernetes.io/warn";
const AUDIT_LABEL = "pod-security.kubernetes.io/audit";

export const k8sNamespacePodSecurity: ResourceValidationPolicy = {
    name: "k8s-namespace-pod-security",
    description: `Namespaces enforce the restricted Pod Security Standard (label ${ENFORCE_LABEL}: restricted; CIS EKS 4.2), or baseline when the namespace declares the workloads that need it (annotation ${PRIVILEGES_MARK.kubernetes}, from the spec's privileges) and still warns and audits against restricted.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onType(NAMESPACE, (ns, args, report) => {
        const level = ns.metadata?.labels?.[ENFORCE_LABEL];
        const declared = kubernetesDeclaration(ns.metadata);
        if (level === "baseline" && declared !== undefined && declared !== "") {
            for (const label of [WARN_LABEL, AUDIT_LABEL]) {
                const value = ns.metadata?.labels?.[label];
                if (value !== "restricted") report(`${describe(args)}: enforces baseline for its privileged workloads, so label ${label} must be "restricted" (found ${JSON.stringify(value ?? "unset")}), so each exception stays visible`);
            }
            return;
        }
        // With no label the namespace falls back to the cluster default, which is privileged.
        if (level !== "restricted") {
            const baseline = level === "baseline" ? ` (baseline only with annotation ${PRIVILEGES_MARK.kubernetes} naming the workloads that need it, which the spec's privileges writes)` : "";
            report(`${describe(args)}: label ${ENFORCE_LABEL} is ${JSON.stringify(level ?? "unset (privileged)")}; set it to "restricted"${baseline}`);
        }
    }),
};

/** Subjects no binding may name: everyone, or every signed-in identity (kubesec BindingsToSystemAnonymous). */
const PUBLIC_SUBJECTS = new Set(["system:anonymous", "system:unauthenticated", "system:authenticated"]);

export const k8sNoPowerfulBindings: ResourceValidationPolicy = {
    name: "k8s-no-powerful-bindings",
    description: "No RoleBinding or ClusterRoleBinding grants cluster-admin or binds anonymous, unauthenticated or all authenticated users (CIS EKS 4.1.1, Polaris clusterrolebindingClusterAdmin, kubesec).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: onType(BINDINGS, (binding, args, report) => {
        if (binding.roleRef?.name === "cluster-admin") {
            const who = (binding.subjects ?? []).map((s: Record<string, string>) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ""}${s.name}`).join(", ");
            report(`${describe(args)}: binds cluster-admin to ${who || "nobody yet"}; grant a Role with the verbs needed`);
        }
        for (const subject of binding.subjects ?? []) {
            if (PUBLIC_SUBJECTS.has(subject.name)) report(`${describe(args)}: binds ${binding.roleRef?.name} to ${subject.name}`);
        }
    }),
};

/** Verbs that let a subject grant itself more (CIS EKS 4.1.8). */
const ESCALATING_VERBS = new Set(["escalate", "bind", "impersonate"]);

export const k8sNoRbacWildcards: ResourceValidationPolicy = {
    name: "k8s-no-rbac-wildcards",
    description: "Roles and ClusterRoles name their API groups, resources and verbs: no \"*\", no escalate, bind or impersonate (Checkov CKV_K8S_49, CIS EKS 4.1.3/4.1.8).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onType(ROLES, (role, args, report) => {
        (role.rules ?? []).forEach((rule: Record<string, string[] | undefined>, i: number) => {
            const wild = (["apiGroups", "resources", "verbs"] as const).filter((field) => (rule[field] ?? []).includes("*"));
            if (wild.length > 0) report(`${describe(args)}: rules[${i}] uses "*" in ${wild.join(", ")}`);
            const escalating = (rule.verbs ?? []).filter((v) => ESCALATING_VERBS.has(v));
            if (escalating.length > 0) report(`${describe(args)}: rules[${i}] grants ${escalating.join(", ")}, which lets a subject raise its own permissions`);
        });
    }),
};

/**
 * A LoadBalancer Service is internet-facing unless it says internal: the AWS Load Balancer
 * Controller defaults to internal, but the in-tree controller, which reconciles Services without
 * the controller's class, defaults to internet-facing and 0.0.0.0/0 (LBC docs
 * guide/service/annotations and guide/service/nlb, "Secure by default"; AWS re:Post
 * "eks-cidr-ip-address-loadbalancer").
 */
export function isInternetFacingService(service: Record<string, any>): boolean {
    const annotations = service.metadata?.annotations ?? {};
    if (annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] === "internal") return false;
    if (annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] === "true") return false;
    return true;
}

/** The source ranges of a Service: the spec field, or the annotation the controllers also read. */
export function serviceSourceRanges(service: Record<string, any>): string[] {
    const fromSpec: string[] = service.spec?.loadBalancerSourceRanges ?? [];
    if (fromSpec.length > 0) return fromSpec;
    const annotation: string | undefined = service.metadata?.annotations?.["service.beta.kubernetes.io/load-balancer-source-ranges"];
    return annotation ? annotation.split(",").map((r) => r.trim()).filter((r) => r !== "") : [];
}

export const k8sServiceExposure: ResourceValidationPolicy = {
    name: "k8s-service-exposure",
    description:
        "Services are ClusterIP, or internal LoadBalancers, or internet-facing LoadBalancers with loadBalancerSourceRanges that do not cover the internet; no NodePort, no externalIPs (kube-score service-type, compliance-policies kubernetes-core-v1-service-disallow-load-balancer, CVE-2020-8554).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onType(SERVICE, (service, args, report) => {
        const type = service.spec?.type ?? "ClusterIP";
        if (type === "NodePort") report(`${describe(args)}: type NodePort opens the port on every node; use ClusterIP behind an Ingress, or a LoadBalancer with source ranges`);
        if ((service.spec?.externalIPs ?? []).length > 0) report(`${describe(args)}: spec.externalIPs ${JSON.stringify(service.spec.externalIPs)} lets the Service claim addresses it does not own (CVE-2020-8554)`);
        if (type !== "LoadBalancer" || !isInternetFacingService(service)) return;
        const ranges = serviceSourceRanges(service);
        const malformed = ranges.filter((r) => cidrProblem(r, "any") !== undefined);
        if (ranges.length === 0) report(`${describe(args)}: an internet-facing LoadBalancer with no loadBalancerSourceRanges admits 0.0.0.0/0; list the source ranges, or make it internal`);
        else if (malformed.length > 0) report(`${describe(args)}: loadBalancerSourceRanges ${JSON.stringify(malformed)} are not CIDR blocks`);
        else if (coversTheInternet(ranges)) report(`${describe(args)}: loadBalancerSourceRanges ${JSON.stringify(ranges)} cover the whole internet`);
    }),
};

export const ALB_LISTEN_PORTS = "alb.ingress.kubernetes.io/listen-ports";

export const k8sIngressListenPorts: ResourceValidationPolicy = {
    name: "k8s-ingress-listen-ports",
    description: `ALB Ingresses listen only on HTTP ${LISTENER_PORTS[0]} and HTTPS ${LISTENER_PORTS[1]} (annotation ${ALB_LISTEN_PORTS}; the same ports the security-group rules allow).`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onType(INGRESS, (ingress, args, report) => {
        const raw = ingress.metadata?.annotations?.[ALB_LISTEN_PORTS];
        // Without the annotation the controller listens on HTTP 80 (or HTTPS 443 with a certificate): LBC docs, guide/ingress/annotations.
        if (raw === undefined) return;
        let entries: Record<string, number>[];
        try {
            entries = JSON.parse(raw);
        } catch {
            return report(`${describe(args)}: ${ALB_LISTEN_PORTS} is not JSON: ${raw}`);
        }
        const allowed: Record<string, number> = { HTTP: 80, HTTPS: 443 };
        for (const entry of Array.isArray(entries) ? entries : [entries]) {
            if (!entry || typeof entry !== "object" || Object.keys(entry).length === 0) {
                report(`${describe(args)}: ${ALB_LISTEN_PORTS} entry ${JSON.stringify(entry)} opens ports nobody can tell; write [{"HTTP": 80}, {"HTTPS": 443}]`);
                continue;
            }
            for (const [protocol, port] of Object.entries(entry)) {
                if (allowed[protocol] !== Number(port)) report(`${describe(args)}: ${ALB_LISTEN_PORTS} opens ${protocol} ${port}; only HTTP 80 and HTTPS 443 may face the internet`);
            }
        }
    }),
};

/** Provisioners of EBS volumes, which encrypt only when the class says so (aws-ebs-csi-driver docs/parameters.md: `encrypted`). */
const EBS_PROVISIONERS = new Set(["ebs.csi.aws.com", "kubernetes.io/aws-ebs"]);

export const k8sStorageClassEncrypted: ResourceValidationPolicy = {
    name: "k8s-storage-class-encrypted",
    description: 'EBS StorageClasses create encrypted volumes (parameters.encrypted: "true"; Checkov CKV_AWS_3 for the volumes they create).',
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: onType(STORAGE_CLASS, (sc, args, report) => {
        if (!EBS_PROVISIONERS.has(sc.provisioner)) return args.notApplicable(`provisioner ${sc.provisioner} is not EBS`);
        if (String(sc.parameters?.encrypted) !== "true") report(`${describe(args)}: parameters.encrypted must be "true", found ${JSON.stringify(sc.parameters?.encrypted ?? "unset")}, so its volumes are written unencrypted`);
    }),
};

export const k8sPdbAllowsDisruption: ResourceValidationPolicy = {
    name: "k8s-pdb-allows-disruption",
    description: "PodDisruptionBudgets allow at least one voluntary disruption, or node drains hang (Polaris pdbDisruptionsIsZero, compliance-policies kubernetes-policy-v1-poddisruptionbudget-disallow-zero-voluntary-disruption).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: onType(PDB, (pdb, args, report) => {
        const { maxUnavailable, minAvailable } = pdb.spec ?? {};
        if (maxUnavailable !== undefined && (maxUnavailable === 0 || maxUnavailable === "0" || maxUnavailable === "0%")) report(`${describe(args)}: maxUnavailable ${JSON.stringify(maxUnavailable)} forbids every eviction`);
        if (minAvailable === "100%") report(`${describe(args)}: minAvailable "100%" forbids every eviction`);
    }),
};

const HELM_TYPES = new Set(["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"]);

export const helmPinnedChartVersion: ResourceValidationPolicy = {
    name: "helm-pinned-chart-version",
    description: "Helm charts are pinned to an exact version (Helm installs the latest when none is given; a range moves too).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: onType(HELM_TYPES, (release, args, report) => {
        const version = release.version;
        if (typeof version !== "string" || !/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(version)) {
            report(`${describe(args)}: chart ${JSON.stringify(release.chart)} version ${JSON.stringify(version ?? "unset (latest)")} is not an exact version`);
        }
    }),
};

/** A NetworkPolicy that selects every pod of its namespace and denies all ingress (kubernetes.io/docs/concepts/services-networking/network-policies/, "Default deny all ingress traffic"). */
function isDefaultDeny(policy: Record<string, any>): boolean {
    const selector = policy.spec?.podSelector ?? {};
    const selectsAll = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
    const types: string[] = policy.spec?.policyTypes ?? ["Ingress"];
    return selectsAll && types.includes("Ingress") && (policy.spec?.ingress ?? []).length === 0;
}

export const k8sDefaultDenyNetworkPolicy: StackValidationPolicy = {
    name: "k8s-default-deny-network-policy",
    description: "Every namespace with pods of the stack has a default-deny NetworkPolicy, so pods reach only what their own policies allow (CIS EKS 4.3.2, kube-score pod-networkpolicy).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const denied = new Set(
            args.resources
                .filter((r) => r.type === NETWORK_POLICY)
                .filter((r) => known(() => isDefaultDeny(r.props)) === true)
                .map((r) => known(() => r.props.metadata?.namespace as string | undefined)),
        );
        for (const workload of args.resources.filter((r) => POD_TEMPLATE_TYPES.has(r.type))) {
            const namespace = known(() => workload.props.metadata?.namespace as string | undefined);
            if (namespace === undefined || denied.has(namespace)) continue;
            report(`${describe(workload)}: namespace ${namespace} has no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress, no ingress rules), so every pod can reach it`, workload.urn);
        }
    },
};
