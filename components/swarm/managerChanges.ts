/**
 * Managers change one at a time. A manager is a Raft member, and Pulumi replaces or updates every
 * changed instance of an `up` in parallel: a new `swarm.amiId` on three managers would create three
 * and delete the three old ones together (3 of 6 members left: no quorum), a new instance type
 * would stop all three at once. Raft accepts no change without a majority of the members it
 * knows, and a swarm that lost it is recovered only by hand with `docker swarm init
 * --force-new-cluster` (Docker docs, "Administer and maintain a swarm of Docker Engines",
 * "Recover from losing the quorum").
 *
 * So the program asks EC2 what each manager runs now (`liveManagers`), keeps that, and moves one
 * manager per `up` towards the configured AMI and instance type (`planManagers`), the last manager
 * first, so the first manager (the provider's) moves last. What it cannot spread over several
 * `up`s (a manager moved to another subnet, 3 managers down to 1) it refuses at preview when more
 * than one manager would go at once.
 *
 * The AMI of a running manager is taken from EC2 rather than left to `ignoreChanges`: an ignored
 * input keeps its recorded value even when the resource is replaced (pulumi v3.248.0
 * pkg/resource/deploy/step_generator.go: `processIgnoreChanges` sets every ignored input back to
 * its old value before the diff), so an ignored AMI could never change at all.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cpuArchitecture } from "../architecture";
import type { StackConfig } from "../config";
import { stackTags } from "../tags";
import type { GateCheck } from "./readiness";

/** A running manager as EC2 reports it. */
export interface LiveManager {
    readonly instanceId: string;
    /** The dockyard:swarm-index tag as EC2 has it (undefined when missing). */
    readonly indexTag?: string;
    readonly index: number;
    readonly ami: string;
    readonly instanceType: string;
    readonly subnetId: string;
    /** Its public IPv4 address ("" without one): where `swarm.access: ssh` reaches it. */
    readonly publicIp: string;
    readonly launchTime: string;
}

/** What a manager instance runs: a change to either replaces (AMI) or stops (type) it. */
export interface ManagerRuntime {
    readonly ami: string;
    readonly instanceType: string;
}

export interface DesiredManagers {
    /** The subnet each manager belongs in, in order; undefined while the subnet does not exist yet. */
    readonly subnetIds: readonly (string | undefined)[];
    /** The configured instance type and the AMI for it: the pin, or the current Amazon Linux release. */
    readonly desired: ManagerRuntime;
    /** Whether `desired.ami` is the operator's pin (`swarm.amiId`): only a pin moves running managers to a new AMI. */
    readonly amiPinned: boolean;
}

export interface ManagerPlan {
    readonly runtimes: ManagerRuntime[];
    /** Managers this `up` replaces, stops or removes. */
    readonly disrupted: number[];
    /** The manager this `up` moves to a new AMI or type, if any (at most one). */
    readonly rolled: number[];
    /** The instance EC2 runs now as each manager, by index; undefined for a manager still to create. */
    readonly current: (LiveManager | undefined)[];
    readonly problem?: string;
}

/**
 * Each manager's runtime after this `up`. A new manager gets the desired runtime. A running one
 * keeps its own, except that one of them (the last that differs) moves to the configured instance
 * type and, when pinned, AMI; a type of another architecture brings the AMI for it too, since an
 * AMI serves one architecture. Nothing moves while a manager is added, removed or changes subnet in the same `up`.
 */
export function planManagers(live: readonly LiveManager[], want: DesiredManagers): ManagerPlan {
    const count = want.subnetIds.length;
    // Fail closed (cold review of b62a90a, H2): a manager without a usable index would count as
    // missing and get the desired runtime, so every such manager would be replaced in one update.
    const unindexed = live.filter((m) => !Number.isInteger(m.index) || m.index < 0);
    if (unindexed.length > 0) {
        return {
            runtimes: want.subnetIds.map(() => want.desired),
            disrupted: [],
            rolled: [],
            current: [],
            problem:
                `dockyard:swarm.managers: ${unindexed.length} of the stack's ${live.length} manager instances have no usable dockyard:swarm-index tag ` +
                `(${unindexed.map((m) => `${m.instanceId}: ${JSON.stringify(m.indexTag ?? null)}`).join(", ")}); allowed: an integer 0 to ${count - 1}. ` +
                "Without it the update would replace those managers at once; restore the tag (see docs/swarm.md, \"Replacing a manager\")",
        };
    }
    const current = new Map<number, LiveManager>();
    // Two instances with one index: an interrupted replacement; the newer one is the manager Pulumi keeps.
    for (const m of [...live].sort((a, b) => a.launchTime.localeCompare(b.launchTime))) current.set(m.index, m);
    // This up deletes the older one (Pulumi's pending delete), so it rolls nothing else (cold review of b62a90a, M3).
    const duplicated = [...current.keys()].filter((i) => live.filter((m) => m.index === i).length > 1);
    const removed = [...current.keys()].filter((i) => i >= count).sort((a, b) => a - b);
    const moved = want.subnetIds.map((subnet, i) => (current.has(i) && subnet !== current.get(i)!.subnetId ? i : -1)).filter((i) => i >= 0);
    const runtimes = want.subnetIds.map((_, i) => {
        const m = current.get(i);
        return m ? { ami: m.ami, instanceType: m.instanceType } : want.desired;
    });
    const rolled: number[] = [];
    // Nor while new managers are still to join: rolling one then could take the old majority away (1 → 3 with a new pin).
    const added = want.subnetIds.some((_, i) => !current.has(i)) && current.size > 0;
    if (removed.length === 0 && moved.length === 0 && !added && duplicated.length === 0) {
        for (let i = count - 1; i >= 0; i--) {
            if (!current.has(i)) continue;
            const typeChanged = runtimes[i].instanceType !== want.desired.instanceType;
            const archChanged = cpuArchitecture(runtimes[i].instanceType) !== cpuArchitecture(want.desired.instanceType);
            const next = { ami: want.amiPinned || archChanged ? want.desired.ami : runtimes[i].ami, instanceType: want.desired.instanceType };
            if (next.ami !== runtimes[i].ami || typeChanged) {
                runtimes[i] = next;
                rolled.push(i);
                break;
            }
        }
    }
    const disrupted = [...new Set([...removed, ...moved, ...rolled, ...duplicated])].sort((a, b) => a - b);
    return { runtimes, disrupted, rolled, current: want.subnetIds.map((_, i) => current.get(i)), problem: disruptionProblem(current.size, count, removed, moved) };
}

/**
 * What must hold before this `up` moves a manager (cold review of b62a90a, H1): the swarm whole,
 * every manager EC2 runs a Ready, Reachable manager and no other manager listed. Moving a manager
 * takes one Raft member away; with another one Down, or the member an earlier replacement left
 * behind still counted (Pulumi deletes a replaced instance only after every create and update of
 * the `up`: pulumi/pulumi pkg/resource/deploy/step_generator.go, "the delete step is generated
 * later on, after all creates/updates finish", and deployment_executor.go performPostSteps; the
 * leader's reaper removes it from the swarm a minute or two later), it would take the majority.
 * Raft counts every member it knows, Down or not (Docker docs, "Administer and maintain a swarm of
 * Docker Engines"). Asked of the first manager EC2 runs, over the same SSH path as the provider.
 * Undefined when no manager moves.
 */
export function managerRollCheck(plan: ManagerPlan, access: { readonly via: "ssm" | "ssh"; readonly sshUser: string }): GateCheck | undefined {
    if (plan.rolled.length === 0) return undefined;
    const live = plan.current.filter((m): m is LiveManager => m !== undefined);
    const first = live[0];
    const host = access.via === "ssm" ? first.instanceId : first.publicIp;
    if (host === "") throw new pulumi.RunError(`dockyard:swarm.access is "ssh" but manager ${first.instanceId} has no public address to check the swarm through before moving manager-${plan.rolled[0]}`);
    return { sshTarget: `${access.sshUser}@${host}`, managerIds: live.map((m) => m.instanceId), whole: true, workersNeeded: 0 };
}

/**
 * What the check before a roll runs again on: every manager's instance, AMI and type as this `up`
 * leaves them, so it runs whenever a manager is about to move and after one was replaced.
 */
export function managerRollTriggers(plan: ManagerPlan): string[] {
    return plan.runtimes.flatMap((r, i) => [plan.current[i]?.instanceId ?? "new", r.ami, r.instanceType]);
}

/** Why removing `removed` and moving `moved` of `running` managers in one `up` would lose the swarm, or undefined. */
export function disruptionProblem(running: number, count: number, removed: readonly number[], moved: readonly number[]): string | undefined {
    const gone = removed.length + moved.length;
    if (gone <= 1) return undefined;
    // Removing managers while the others stay keeps a majority of the old members answering
    // (5 → 3: 3 of 5), and the leader's reaper then removes the terminated ones.
    if (moved.length === 0 && running - removed.length > running / 2) return undefined;
    const what = [...removed.map((i) => `manager-${i} removed`), ...moved.map((i) => `manager-${i} moved to another subnet`)];
    return (
        `dockyard:swarm.managers: this update would replace or remove ${gone} of the ${running} running managers at once (${what.join(", ")}; swarm.managers is ${count}), ` +
        "and a swarm that loses the majority of its managers loses its control plane for good; " +
        "allowed: one manager replaced or removed per `pulumi up`, or 5 down to 3 managers. " +
        "A new swarm.amiId or swarm.managerInstanceType moves one manager per `up` by itself; 3 managers down to 1, or a new network.cidr, " +
        "network.natGateways or network.azs under 3 or 5 managers cannot keep the swarm: see docs/swarm.md, \"Replacing a manager\""
    );
}

/** EC2 states of an instance that is (or may again be) a swarm member. */
const LIVE_STATES = ["pending", "running", "stopping", "stopped"];

/** The stack's manager instances that EC2 has not terminated, with the AMI and type each runs. */
export function liveManagers(config: StackConfig, opts: pulumi.InvokeOutputOptions): pulumi.Output<LiveManager[]> {
    const tags = stackTags(config);
    const found = aws.ec2.getInstancesOutput(
        {
            filters: [
                { name: "tag:dockyard:project", values: [tags["dockyard:project"]] },
                { name: "tag:dockyard:stack", values: [tags["dockyard:stack"]] },
                { name: "tag:dockyard:role", values: ["first-manager", "manager"] },
            ],
            instanceStateNames: [...LIVE_STATES],
        },
        opts,
    );
    // getInstance by id also returns an instance terminated since getInstances listed it
    // (terraform-provider-aws internal/service/ec2 findInstance only asserts a single result), so
    // its state is checked again (cold review of b62a90a, L1).
    return found.ids.apply((ids) =>
        pulumi
            .all(
                [...ids].sort().map((instanceId) =>
                    aws.ec2.getInstanceOutput({ instanceId }, opts).apply((i): LiveManager | undefined =>
                        LIVE_STATES.includes(i.instanceState)
                            ? {
                                  instanceId,
                                  indexTag: i.tags["dockyard:swarm-index"],
                                  index: /^\d+$/.test(i.tags["dockyard:swarm-index"] ?? "") ? Number(i.tags["dockyard:swarm-index"]) : NaN,
                                  ami: i.ami,
                                  instanceType: i.instanceType,
                                  subnetId: i.subnetId,
                                  publicIp: i.publicIp,
                                  launchTime: i.launchTime,
                              }
                            : undefined,
                    ),
                ),
            )
            .apply((ms) => ms.filter((m): m is LiveManager => m !== undefined)),
    );
}
