/**
 * The readiness gates. Nothing uses the swarm's Docker provider until the gate has seen, through
 * the very SSH path the provider uses, every manager of the stack a Ready, Reachable manager and
 * enough Ready workers (`readinessScript`); it runs again whenever a manager was replaced or
 * changed, so an `up` that moved a manager ends only once the new one has joined. And no manager
 * moves to a new AMI or type until the same check, run before that manager changes, has seen the
 * swarm whole (`managerRollCheck` in managerChanges.ts).
 *
 * A `@pulumi/command` local command rather than a dynamic resource: it runs the same `ssh` binary
 * and options as the Docker provider (so it also proves the Session Manager tunnel and the key),
 * it needs no serialized provider code, and a failure surfaces as the script's own message.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface ReadinessSettings {
    /** `user@host` as SSH sees it (the instance id with Session Manager). */
    readonly sshTarget: string;
    readonly sshOptions: readonly string[];
    /** The managers' instance ids: each must be a Ready, Reachable manager (engine label `dockyard.instance-id`). */
    readonly managerIds: readonly string[];
    /**
     * Whether the swarm must also be whole: no manager listed but these, so none Down, Unreachable or
     * left over from a replacement. The check before a manager moves (`managerRollCheck`).
     */
    readonly whole: boolean;
    /** Ready, active workers the workloads need: 1 when they run on workers only, else 0. */
    readonly workersNeeded: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
}

export const READINESS_TIMEOUT_SECONDS = 900;

/** A value as one single-quoted shell word. */
export const shellQuote = (value: string) => `'${value.replace(/'/g, `'"'"'`)}'`;
const q = shellQuote;

/**
 * What the gate runs on the manager: one line per node, `role state availability reachability
 * instance-id`. The fields are the Engine API's node object (moby api/types/swarm/node.go: Spec.Role
 * worker|manager, Status.State ready|down|unknown|disconnected, Spec.Availability
 * active|pause|drain, ManagerStatus.Reachability reachable|unreachable|unknown, nil for a worker;
 * the leader is reachable too), and the engine label every node's bootstrap sets (cloudInit.ts,
 * daemon.json). `docker node ls` alone names no instance, so it cannot tell a new manager from the
 * old one it replaces, which Pulumi deletes only at the end of the `up`.
 */
export const NODE_LISTING_COMMAND =
    "ids=$(docker node ls -q) && docker node inspect --format " +
    `'{{.Spec.Role}} {{.Status.State}} {{.Spec.Availability}} {{with .ManagerStatus}}{{.Reachability}}{{else}}none{{end}} {{index .Description.Engine.Labels "dockyard.instance-id"}}' $ids`;

/**
 * The bash script the gate runs: polls the node list on the manager over SSH until every manager
 * named is a Ready, Reachable manager (and, when `whole`, no other manager is listed) and enough
 * workers are Ready and Active, or the deadline passes. A dead node stays listed as `down` until
 * the reaper removes it, and the worker count belongs to the autoscaler, so the gate expects no
 * more workers than the workloads need to start.
 */
export function readinessScript(s: ReadinessSettings): string {
    if (s.managerIds.length === 0) throw new Error("the readiness gate needs at least one manager instance id");
    return `#!/bin/bash
# dockyard swarm readiness gate (rendered by components/swarm/readiness.ts)
set -uo pipefail
target=${q(s.sshTarget)}
manager_ids=(${s.managerIds.map(q).join(" ")})
whole=${s.whole ? 1 : 0}
workers_needed=${s.workersNeeded}
ssh_opts=(${s.sshOptions.map(q).join(" ")})
# shellcheck disable=SC2016 # the listing runs in the manager's shell, which expands it
remote=${q(NODE_LISTING_COMMAND)}
deadline=$((SECONDS + ${s.timeoutSeconds}))
last="no answer yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  # shellcheck disable=SC2029 # $remote is expanded here on purpose: it is the command ssh sends
  if out=$(ssh "\${ssh_opts[@]}" "$target" "$remote" 2>&1); then
    joined=0
    waiting=""
    for id in "\${manager_ids[@]}"; do
      if awk -v id="$id" '$1 == "manager" && $2 == "ready" && $4 == "reachable" && $5 == id { found = 1 } END { exit !found }' <<<"$out"; then
        joined=$((joined + 1))
      else
        waiting="$waiting $id"
      fi
    done
    listed=$(awk '$1 == "manager"' <<<"$out" | wc -l)
    workers=$(awk '$1 == "worker" && $2 == "ready" && $3 == "active"' <<<"$out" | wc -l)
    if [ "$joined" -eq "\${#manager_ids[@]}" ] && [ "$workers" -ge "$workers_needed" ] && { [ "$whole" -eq 0 ] || [ "$listed" -eq "\${#manager_ids[@]}" ]; }; then
      echo "swarm ready on $target: $joined managers Ready and Reachable, $workers workers Ready"
      exit 0
    fi
    last="$joined of \${#manager_ids[@]} managers Ready and Reachable\${waiting:+ (not yet:$waiting)}, $listed managers listed, $workers of $workers_needed workers Ready"
  else
    last=$(tail -n 1 <<<"$out")
  fi
  echo "waiting for the swarm on $target: $last" >&2
  sleep ${s.pollSeconds}
done
echo "dockyard: the swarm on $target was not ready within ${s.timeoutSeconds} s (last: $last); see docs/swarm.md, 'When the readiness gate times out'" >&2
exit 1
`;
}

/** What one run of the gate must see (`ReadinessSettings` without the SSH options and timing). */
export type GateCheck = Pick<ReadinessSettings, "sshTarget" | "managerIds" | "whole" | "workersNeeded">;

/** The gate's script when there is nothing to check: no manager moves in this `up`. */
export const NOTHING_TO_CHECK = "#!/bin/bash\necho 'dockyard: no manager moves in this up'\n";

export interface ReadinessGateArgs {
    /** Pulumi waits for these before running the gate. */
    readonly after: pulumi.Input<pulumi.Resource>[];
    /** What the gate checks; undefined for nothing. */
    readonly check: pulumi.Input<GateCheck | undefined>;
    readonly sshOptions: pulumi.Input<string[]>;
    /**
     * The gate runs again when any of these changes: every manager's instance id, AMI and type, so
     * it runs after any manager was replaced, moved to a new AMI or stopped for a new type.
     */
    readonly triggers: pulumi.Input<pulumi.Input<string>[]>;
}

export function readinessGate(name: string, args: ReadinessGateArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi
        .all([args.check, args.sshOptions])
        .apply(([check, sshOptions]) => (check ? readinessScript({ ...check, sshOptions, timeoutSeconds: READINESS_TIMEOUT_SECONDS, pollSeconds: 15 }) : NOTHING_TO_CHECK));
    return new command.local.Command(
        name,
        { create: script, update: script, interpreter: ["/bin/bash", "-c"], triggers: args.triggers },
        { ...opts, dependsOn: args.after, customTimeouts: { create: `${READINESS_TIMEOUT_SECONDS + 60}s`, update: `${READINESS_TIMEOUT_SECONDS + 60}s` } },
    );
}
