/**
 * The readiness gate: nothing uses the swarm's Docker provider until this has seen, through the
 * very SSH path the provider uses, the manager report enough Ready nodes (`readinessScript`).
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
    /** Ready managers the swarm needs: a majority of `swarm.managers` (`readyManagersNeeded`). */
    readonly managersNeeded: number;
    /** Ready, active workers the workloads need: 1 when they run on workers only, else 0. */
    readonly workersNeeded: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
}

export const READINESS_TIMEOUT_SECONDS = 900;

/**
 * The Raft quorum: with a majority of managers Ready the swarm accepts every change Pulumi makes,
 * and waiting for the rest would tie `up` to a manager that may be down or still booting.
 */
export const readyManagersNeeded = (managers: number) => Math.floor(managers / 2) + 1;

/** A value as one single-quoted shell word. */
export const shellQuote = (value: string) => `'${value.replace(/'/g, `'"'"'`)}'`;
const q = shellQuote;

/**
 * The bash script the gate runs: polls `docker node ls` on the manager over SSH until enough nodes
 * are Ready, or the deadline passes. Only Ready nodes count: a node that died stays in the list as
 * `Down` until it is removed, and the worker count belongs to the autoscaler, so the gate expects
 * no more workers than the workloads need to start. The columns are `docker node ls` template
 * fields (docker/cli cli/command/formatter/node.go: Status, Availability, ManagerStatus, which is
 * empty for a worker and Leader, Reachable or Unreachable for a manager).
 */
export function readinessScript(s: ReadinessSettings): string {
    return `#!/bin/bash
# dockyard swarm readiness gate (rendered by components/swarm/readiness.ts)
set -uo pipefail
target=${q(s.sshTarget)}
managers_needed=${s.managersNeeded}
workers_needed=${s.workersNeeded}
ssh_opts=(${s.sshOptions.map(q).join(" ")})
deadline=$((SECONDS + ${s.timeoutSeconds}))
last="no answer yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  if out=$(ssh "\${ssh_opts[@]}" "$target" "docker node ls --format '{{.Status}} {{.Availability}} {{.ManagerStatus}}'" 2>&1); then
    managers=$(awk '$1 == "Ready" && ($3 == "Leader" || $3 == "Reachable")' <<<"$out" | wc -l)
    workers=$(awk '$1 == "Ready" && $2 == "Active" && NF == 2' <<<"$out" | wc -l)
    if [ "$managers" -ge "$managers_needed" ] && [ "$workers" -ge "$workers_needed" ]; then
      echo "swarm ready on $target: $managers managers and $workers workers Ready"
      exit 0
    fi
    last="$managers of $managers_needed managers and $workers of $workers_needed workers Ready"
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

export interface ReadinessGateArgs {
    /** Pulumi waits for these (the nodes) before running the gate. */
    readonly after: pulumi.Input<pulumi.Resource>[];
    readonly sshTarget: pulumi.Input<string>;
    readonly sshOptions: pulumi.Input<string[]>;
    readonly managersNeeded: number;
    readonly workersNeeded: number;
    /** The gate runs again when this changes (the first manager's instance id). */
    readonly managerInstanceId: pulumi.Input<string>;
}

export function readinessGate(name: string, args: ReadinessGateArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi.all([args.sshTarget, args.sshOptions]).apply(([sshTarget, sshOptions]) =>
        readinessScript({ sshTarget, sshOptions, managersNeeded: args.managersNeeded, workersNeeded: args.workersNeeded, timeoutSeconds: READINESS_TIMEOUT_SECONDS, pollSeconds: 15 }),
    );
    return new command.local.Command(
        name,
        { create: script, update: script, interpreter: ["/bin/bash", "-c"], triggers: [args.managerInstanceId] },
        { ...opts, dependsOn: args.after, customTimeouts: { create: `${READINESS_TIMEOUT_SECONDS + 60}s`, update: `${READINESS_TIMEOUT_SECONDS + 60}s` } },
    );
}
