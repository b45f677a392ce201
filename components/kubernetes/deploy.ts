/**
 * Deploys a stack's workloads on Kubernetes: a namespace per stack, jobs first, and every workload
 * after the jobs its `after` names.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { KubernetesPlatform } from "../platform";
import { podSecurityLevel, PRIVILEGES_MARK, validateWorkloads, WorkloadSpec } from "../workload";
import { namespaceNetworkPolicies } from "./manifests";
import { KubernetesWorkload } from "./workload";

/** The stack's namespace: its name as a DNS-1123 label (`Prod_EU` → `prod-eu`). */
export function namespaceName(stack: string): string {
    const name = stack
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 63)
        .replace(/-+$/, "");
    if (name === "") throw new Error(`dockyard: stack name ${JSON.stringify(stack)} gives no Kubernetes namespace name; allowed: a stack name with a letter or digit`);
    return name;
}

/**
 * The Pod Security Admission labels and annotations of the stack's namespace
 * (kubernetes.io/docs/concepts/security/pod-security-admission/). It enforces `restricted` unless a
 * workload asks for what restricted refuses (root, a capability other than NET_BIND_SERVICE:
 * `podSecurityLevel`); then it enforces `baseline` and still warns and audits against restricted,
 * so every pod that needs the exception shows in `kubectl` warnings and the audit log, and the
 * annotation names the workloads that need it (the policy pack accepts baseline only with it).
 */
export function namespacePodSecurity(specs: readonly WorkloadSpec[]): { labels: Record<string, string>; annotations: Record<string, string>; reasons: string[] } {
    const { level, reasons } = podSecurityLevel(specs);
    return {
        labels: {
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        },
        annotations: reasons.length > 0 ? { [PRIVILEGES_MARK.kubernetes]: reasons.join("; ") } : {},
        reasons,
    };
}

/** The ALB group every public workload of the stack joins, so the stack has one load balancer. */
export const ingressGroupName = (stack: string) => `dockyard-${namespaceName(stack)}`;

/**
 * The specs in deployment order: jobs before services, and every workload after the jobs it names
 * in `after` (the specs are validated, so `after` has no cycles).
 */
export function deploymentOrder(specs: readonly WorkloadSpec[]): WorkloadSpec[] {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const ordered: WorkloadSpec[] = [];
    const placed = new Set<string>();
    const place = (spec: WorkloadSpec) => {
        if (placed.has(spec.name)) return;
        placed.add(spec.name);
        for (const dependency of spec.after ?? []) place(byName.get(dependency)!);
        ordered.push(spec);
    };
    for (const spec of specs) if ((spec.kind ?? "service") === "job") place(spec);
    for (const spec of specs) place(spec);
    return ordered;
}

export interface KubernetesDeployment {
    readonly namespace: k8s.core.v1.Namespace;
    readonly workloads: Record<string, KubernetesWorkload>;
    /** DNS name of the stack's shared ALB, when a workload has a public http port. */
    readonly ingressHostname: pulumi.Output<string | undefined>;
}

export function deployKubernetesWorkloads(
    stack: string,
    specs: readonly WorkloadSpec[],
    images: Record<string, pulumi.Input<string>>,
    platform: KubernetesPlatform,
    options: pulumi.ComponentResourceOptions & { readonly commit?: string } = {},
): KubernetesDeployment {
    const { commit, ...opts } = options;
    const problems = validateWorkloads(specs);
    const missing = specs.filter((s) => images[s.name] === undefined).map((s) => `workload ${JSON.stringify(s.name)}: no image was built or resolved for it`);
    if (problems.length + missing.length > 0) throw new Error(`dockyard: cannot deploy the workloads on Kubernetes:\n  - ${[...problems, ...missing].join("\n  - ")}`);

    const name = namespaceName(stack);
    const security = namespacePodSecurity(specs);
    const namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        {
            metadata: {
                name,
                ...(Object.keys(security.annotations).length > 0 ? { annotations: security.annotations } : {}),
                labels: {
                    "app.kubernetes.io/part-of": "dockyard",
                    ...security.labels,
                    // The Load Balancer Controller adds readiness gates to pods here, so a rollout waits until the ALB
                    // has registered each new pod healthy before it stops an old one (LBC docs, "Pod readiness gate").
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
        },
        { ...opts, provider: platform.provider, dependsOn: platform.dependsOn },
    );
    if (security.reasons.length > 0) {
        pulumi.log.warn(`namespace ${name} enforces the baseline Pod Security Standard, not restricted: ${security.reasons.join("; ")} (privileges in the spec)`, namespace);
    }

    const baseline = namespaceNetworkPolicies().map(
        (policy) =>
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${policy.name}`,
                { metadata: { name: policy.name, namespace: namespace.metadata.name, labels: { "app.kubernetes.io/part-of": "dockyard" } }, spec: policy.spec },
                { ...opts, provider: platform.provider, dependsOn: platform.dependsOn },
            ),
    );

    const workloads: Record<string, KubernetesWorkload> = {};
    for (const spec of deploymentOrder(specs)) {
        workloads[spec.name] = new KubernetesWorkload(
            spec.name,
            {
                spec,
                image: images[spec.name],
                namespace: namespace.metadata.name,
                platform,
                ingressGroup: ingressGroupName(stack),
                waitFor: [...(spec.after ?? []).map((job) => workloads[job].job!), ...baseline],
                stackSpecs: specs,
                commit,
            },
            opts,
        );
    }
    const hostnames = Object.values(workloads).filter((w) => w.ingress).map((w) => w.ingressHostname);
    const ingressHostname = hostnames.length > 0 ? pulumi.all(hostnames).apply((names) => names.find((n) => n !== undefined)) : pulumi.output(undefined);
    return { namespace, workloads, ingressHostname };
}
