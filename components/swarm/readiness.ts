/**
 * The readiness gate: nothing uses the swarm's Docker provider until this has seen, through the
 * very SSH path the provider uses, the manager report the swarm active with the expected nodes.
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
    /** Managers plus the workers the group starts with. */
    readonly expectedNodes: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
}

export const READINESS_TIMEOUT_SECONDS = 900;

/** A value as one single-quoted shell word. */
export const shellQuote = (value: string) => `'${value.replace(/'/g, `'"'"'`)}'`;
const q = shellQuote;

/** The bash script the gate runs: polls `docker info` over SSH until ready or the deadline passes. */
export function readinessScript(s: ReadinessSettings): string {
    return `#!/bin/bash
# dockyard swarm readiness gate (rendered by components/swarm/readiness.ts)
set -uo pipefail
target=${q(s.sshTarget)}
expected=${s.expectedNodes}
ssh_opts=(${s.sshOptions.map(q).join(" ")})
deadline=$((SECONDS + ${s.timeoutSeconds}))
last="no answer yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  if out=$(ssh "\${ssh_opts[@]}" "$target" "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.Nodes}}'" 2>&1); then
    read -r state nodes <<<"$out"
    if [ "$state" = active ] && [ "\${nodes:-0}" -ge "$expected" ]; then
      echo "swarm active on $target with $nodes nodes"
      exit 0
    fi
    last="swarm state $state with \${nodes:-0} of $expected nodes"
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
    readonly expectedNodes: number;
    /** The gate runs again when this changes (the first manager's instance id). */
    readonly managerInstanceId: pulumi.Input<string>;
}

export function readinessGate(name: string, args: ReadinessGateArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi.all([args.sshTarget, args.sshOptions]).apply(([sshTarget, sshOptions]) =>
        readinessScript({ sshTarget, sshOptions, expectedNodes: args.expectedNodes, timeoutSeconds: READINESS_TIMEOUT_SECONDS, pollSeconds: 15 }),
    );
    return new command.local.Command(
        name,
        { create: script, update: script, interpreter: ["/bin/bash", "-c"], triggers: [args.managerInstanceId] },
        { ...opts, dependsOn: args.after, customTimeouts: { create: `${READINESS_TIMEOUT_SECONDS + 60}s`, update: `${READINESS_TIMEOUT_SECONDS + 60}s` } },
    );
}
