/**
 * Jobs before services on Swarm. A finished job's task is never "running", so the Docker provider
 * cannot wait for it (convergence counts running tasks); this waits instead: a `@pulumi/command`
 * local command that polls `docker service ps` until the job's newest task is Complete, or fails
 * with the job's last logs once Swarm has used up its restart attempts. Services that run `after`
 * the job depend on this wait, as Kubernetes Deployments depend on a completed Job.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmShell } from "../platform";
import { shellQuote as q } from "./readiness";
import { onSwarmFunction } from "./shell";
import { JOB_MAX_ATTEMPTS } from "./service";

export const JOB_TIMEOUT_SECONDS = 900;

export interface JobWaitSettings {
    readonly serviceName: string;
    readonly shell: SwarmShell;
    readonly maxAttempts: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
}

/** The bash script that waits for a Swarm job service to run to completion. */
export function jobWaitScript(s: JobWaitSettings): string {
    return `#!/bin/bash
# dockyard: wait for a swarm job to complete (rendered by components/swarm/jobs.ts)
set -uo pipefail
job=${q(s.serviceName)}
${onSwarmFunction(s.shell)}
deadline=$((SECONDS + ${s.timeoutSeconds}))
last="no task yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  if tasks=$(on_swarm docker service ps --format '{{.DesiredState}} {{.CurrentState}}' "$job" 2>&1); then
    newest=$(head -n 1 <<<"$tasks")
    if [[ "$newest" == "Shutdown Complete"* ]]; then
      echo "job $job completed"
      exit 0
    fi
    failures=$(grep -cE '^Shutdown (Failed|Rejected)' <<<"$tasks" || true)
    if [ "$failures" -ge ${s.maxAttempts} ]; then
      echo "dockyard: job $job failed ${s.maxAttempts} times; its last logs:" >&2
      on_swarm docker service logs --tail 20 "$job" >&2 || true
      exit 1
    fi
    last="$newest"
  else
    last=$(tail -n 1 <<<"$tasks")
  fi
  sleep ${s.pollSeconds}
done
echo "dockyard: job $job did not complete within ${s.timeoutSeconds} s (last: $last)" >&2
exit 1
`;
}

export interface JobCompletionArgs {
    readonly service: pulumi.Resource;
    readonly serviceName: pulumi.Input<string>;
    readonly shell: pulumi.Input<SwarmShell>;
    /** The wait runs again when these change: the job's image, command and arguments. */
    readonly triggers: pulumi.Input<unknown>[];
}

export function jobCompletion(name: string, args: JobCompletionArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi
        .all([args.serviceName, args.shell])
        .apply(([serviceName, shell]) => jobWaitScript({ serviceName, shell, maxAttempts: JOB_MAX_ATTEMPTS, timeoutSeconds: JOB_TIMEOUT_SECONDS, pollSeconds: 5 }));
    const timeouts = { create: `${JOB_TIMEOUT_SECONDS + 60}s`, update: `${JOB_TIMEOUT_SECONDS + 60}s` };
    return new command.local.Command(
        name,
        { create: script, update: script, interpreter: ["/bin/bash", "-c"], triggers: args.triggers },
        { ...opts, dependsOn: [args.service], customTimeouts: timeouts },
    );
}
