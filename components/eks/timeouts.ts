/**
 * How long one `pulumi up` of an EKS stack may take at worst: the longest chain of waits, each
 * bounded by its resource's timeout. The prod CI job's `timeout-minutes` must be at least that
 * (test/workflows.test.ts checks it), so every wait ends in Pulumi's own timeout — a failed
 * resource, a written checkpoint and a released lock — before GitHub kills the job and leaves
 * pending operations and a locked stack (docs/ci.md, "Recovering a cancelled or timed-out update").
 * GitHub-hosted runners stop any job after 6 hours ("Usage limits", docs.github.com), so the chain
 * must also fit in 360 minutes.
 *
 * Two chains, the longer one counts:
 * - **create** (the first `up`): network (NAT gateways), control plane, the node-side add-ons, the
 *   node groups (in parallel, one per AZ) and their scaling commands, the other add-ons, the Load
 *   Balancer Controller's Helm release, then the workloads.
 * - **update** (a one-minor upgrade, the slowest update): control plane, node-side add-ons, every
 *   node group rolls with drains (or is replaced: created, and the old one drained and deleted),
 *   scaling commands, the other add-ons, the Helm release, the workloads.
 * Everything else runs beside a link of the chain and is shorter (IAM, access entries, the
 * autoscaler's release, storage classes).
 */
import { JOB_TIMEOUTS, ROLLOUT_TIMEOUTS } from "../kubernetes/workload";
import type { WorkloadSpec } from "../workload";
import { ADDON_TIMEOUTS } from "./addons";
import { NODE_GROUP_TIMEOUTS } from "./nodeGroup";

/**
 * Helm's wait for each release. pulumi-kubernetes' default is 300 s (`defaultTimeoutSeconds`,
 * pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go); a controller whose pods wait
 * for new nodes after a node-group roll can take longer.
 */
export const HELM_TIMEOUT_SECONDS = 600;

/**
 * With `atomic`, a failed install or upgrade is rolled back (or uninstalled) with the same timeout
 * (helm/helm pkg/action/upgrade.go `failRelease`: `rollin.Timeout = u.Timeout`), so a release
 * can wait twice.
 */
export const HELM_ATOMIC_WAITS = 2;

/**
 * pulumi-eks creates the `aws.eks.Cluster` inside its component and takes no timeouts for it, so
 * the provider's defaults apply (hashicorp/terraform-provider-aws internal/service/eks/cluster.go:
 * create 30m, update 60m, delete 15m). A create takes about 10-15 minutes and a version upgrade
 * well under an hour, so the defaults hold.
 */
export const CONTROL_PLANE_TIMEOUTS = { create: "30m", update: "60m", delete: "15m" } as const;

/** NAT gateways are the slowest part of the network: the provider's create timeout (terraform-provider-aws `aws_nat_gateway`: 10m). */
export const NETWORK_CREATE_MINUTES = 10;

/**
 * A node group's scaling command ends in `aws eks wait nodegroup-active`, which polls every 30 s
 * and gives up after 80 checks (AWS CLI reference, `eks wait nodegroup-active`).
 */
export const SCALING_COMMAND_MINUTES = (80 * 30) / 60;

/**
 * Services and Ingresses have no `customTimeouts`: pulumi-kubernetes waits up to 10 minutes for
 * each (`DefaultServiceTimeoutMins`, `DefaultIngressTimeoutMins`, pulumi/pulumi-kubernetes
 * provider/pkg/await), and an Ingress waits for its Service.
 */
export const KUBERNETES_AWAIT_DEFAULT_MINUTES = 10;

/** Checkout, `npm ci`, credentials, the Pulumi CLI and the digest check before `pulumi up` starts. */
export const JOB_SETUP_MINUTES = 10;

/** GitHub-hosted runners terminate a job after 6 hours ("Usage limits", docs.github.com/actions). */
export const GITHUB_HOSTED_JOB_LIMIT_MINUTES = 360;

/** `"40m"` as 40. */
export function minutes(duration: string): number {
    const match = /^(\d+)m$/.exec(duration);
    if (!match) throw new Error(`not a duration in minutes: ${JSON.stringify(duration)}`);
    return Number(match[1]);
}

/**
 * The longest chain of waits through the workloads: a workload starts when the Jobs it runs
 * `after` have finished; a Job waits for completion, a Deployment or StatefulSet for its rollout,
 * and a public one also for its Service and then its Ingress or load-balancer Service.
 */
export function workloadChainMinutes(specs: readonly WorkloadSpec[]): number {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const done = new Map<string, number>();
    const finish = (spec: WorkloadSpec, path: readonly string[]): number => {
        const known = done.get(spec.name);
        if (known !== undefined) return known;
        if (path.includes(spec.name)) throw new Error(`workloads run after each other in a cycle: ${[...path, spec.name].join(" -> ")}`);
        const start = Math.max(0, ...(spec.after ?? []).map((name) => (byName.has(name) ? finish(byName.get(name)!, [...path, spec.name]) : 0)));
        const ports = spec.ports ?? [];
        const isPublic = ports.some((p) => p.public);
        const own =
            (spec.kind ?? "service") === "job"
                ? minutes(JOB_TIMEOUTS.create)
                : Math.max(minutes(ROLLOUT_TIMEOUTS.update), isPublic ? 2 * KUBERNETES_AWAIT_DEFAULT_MINUTES : ports.length > 0 ? KUBERNETES_AWAIT_DEFAULT_MINUTES : 0);
        done.set(spec.name, start + own);
        return start + own;
    };
    return Math.max(0, ...specs.map((s) => finish(s, [])));
}

export interface TimeBound {
    readonly step: string;
    readonly minutes: number;
}

export interface WorstCase {
    readonly chain: "create" | "update";
    readonly steps: readonly TimeBound[];
    readonly total: number;
}

/** The two chains of an EKS stack's `pulumi up` and the longer of them. */
export function worstCaseUp(specs: readonly WorkloadSpec[]): WorstCase {
    const helm = (HELM_TIMEOUT_SECONDS / 60) * HELM_ATOMIC_WAITS;
    const workloads = workloadChainMinutes(specs);
    const create: TimeBound[] = [
        { step: "job setup", minutes: JOB_SETUP_MINUTES },
        { step: "network (NAT gateways)", minutes: NETWORK_CREATE_MINUTES },
        { step: "control plane create", minutes: minutes(CONTROL_PLANE_TIMEOUTS.create) },
        { step: "add-ons before the nodes", minutes: minutes(ADDON_TIMEOUTS.create) },
        { step: "node groups create (in parallel)", minutes: minutes(NODE_GROUP_TIMEOUTS.create) },
        { step: "node group scaling commands", minutes: SCALING_COMMAND_MINUTES },
        { step: "add-ons after the nodes", minutes: minutes(ADDON_TIMEOUTS.create) },
        { step: "Load Balancer Controller release (atomic)", minutes: helm },
        { step: "workloads (Jobs, then rollouts and Ingresses)", minutes: workloads },
    ];
    const update: TimeBound[] = [
        { step: "job setup", minutes: JOB_SETUP_MINUTES },
        { step: "control plane update", minutes: minutes(CONTROL_PLANE_TIMEOUTS.update) },
        { step: "add-ons before the nodes", minutes: minutes(ADDON_TIMEOUTS.update) },
        // A roll drains in place; a replacement (new instance or AMI type) creates the new group, and the old one is
        // drained and deleted at the end of the update, after everything that depends on it.
        {
            step: "node groups roll or are replaced (in parallel)",
            minutes: Math.max(minutes(NODE_GROUP_TIMEOUTS.update), minutes(NODE_GROUP_TIMEOUTS.create) + minutes(NODE_GROUP_TIMEOUTS.delete)),
        },
        { step: "node group scaling commands", minutes: SCALING_COMMAND_MINUTES },
        { step: "add-ons after the nodes", minutes: minutes(ADDON_TIMEOUTS.update) },
        { step: "Load Balancer Controller release (atomic)", minutes: helm },
        { step: "workloads (Jobs, then rollouts and Ingresses)", minutes: workloads },
    ];
    const total = (steps: readonly TimeBound[]) => steps.reduce((sum, s) => sum + s.minutes, 0);
    return total(update) >= total(create) ? { chain: "update", steps: update, total: total(update) } : { chain: "create", steps: create, total: total(create) };
}
