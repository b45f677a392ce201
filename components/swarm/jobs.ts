/**
 * Jobs before services on Swarm. A finished job's task is never "running", so the Docker provider
 * cannot wait for it (convergence counts running tasks); this waits instead: a `@pulumi/command`
 * local command that polls the job's tasks until one of the spec Pulumi deployed is complete, or
 * fails with the job's last logs once that spec has failed as often as Swarm runs it. Services that
 * run `after` the job depend on this wait, as Kubernetes Deployments depend on a completed Job: when
 * it fails, `up` fails and they are not updated.
 *
 * Only tasks labelled with the deployed spec's digest count (`JOB_SPEC_LABEL`): `docker service ps`
 * lists every task the service kept, those of earlier specs too, so a fixed job after a failed one
 * would otherwise fail at once, and a rolled-back job would pass on the old spec's run.
 */
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmShell } from "../platform";
import { shellQuote as q } from "./readiness";
import { onSwarmFunction } from "./shell";
import { JOB_MAX_RUNS, JOB_SPEC_LABEL } from "./service";

export const JOB_TIMEOUT_SECONDS = 900;

export interface JobWaitSettings {
    readonly serviceName: string;
    /** The deployed spec's digest, the value of the tasks' `JOB_SPEC_LABEL`. */
    readonly specDigest: string;
    readonly shell: SwarmShell;
    /**
     * Failed runs of the deployed spec after which the job has failed: `JOB_MAX_RUNS`, as the restart
     * policy allows. Swarm keeps exactly that many tasks of the job's slot (with `MaxAttempts` set,
     * `MaxAttempts + 1` replaces the cluster's task history limit: moby/swarmkit
     * manager/orchestrator/taskreaper/task_reaper.go tick), so every failed run is still listed when
     * the last one fails.
     */
    readonly maxRuns: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
}

/** The bash script that waits for the deployed spec of a Swarm job service to run to completion. */
export function jobWaitScript(s: JobWaitSettings): string {
    return `#!/bin/bash
# dockyard: wait for a swarm job to complete (rendered by components/swarm/jobs.ts)
set -uo pipefail
job=${q(s.serviceName)}
spec=${q(s.specDigest)}
${onSwarmFunction(s.shell)}
deadline=$((SECONDS + ${s.timeoutSeconds}))
last="no task of spec $spec yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  if ids=$(on_swarm docker service ps --no-trunc --quiet "$job" 2>&1); then
    mapfile -t task_ids <<<"$ids"
    if states=$(on_swarm docker inspect --type task --format ${q(`{{index .Spec.ContainerSpec.Labels "${JOB_SPEC_LABEL}"}} {{.Status.State}}`)} "\${task_ids[@]}" 2>&1); then
      mine=$(awk -v spec="$spec" '$1 == spec { print $2 }' <<<"$states")
      if grep -qx complete <<<"$mine"; then
        echo "job $job completed (spec $spec)"
        exit 0
      fi
      failures=$(grep -cxE 'failed|rejected' <<<"$mine" || true)
      if [ "$failures" -ge ${s.maxRuns} ]; then
        echo "dockyard: job $job failed ${s.maxRuns} times (spec $spec); its last logs:" >&2
        on_swarm docker service logs --tail 20 "$job" >&2 || true
        exit 1
      fi
      if [ -n "$mine" ]; then last="spec $spec: $(paste -sd ' ' <<<"$mine")"; fi
    else
      last=$(tail -n 1 <<<"$states")
    fi
  else
    last=$(tail -n 1 <<<"$ids")
  fi
  sleep ${s.pollSeconds}
done
echo "dockyard: job $job did not complete within ${s.timeoutSeconds} s (last: $last)" >&2
exit 1
`;
}

export interface JobCompletionArgs {
    /** The job's service, replaced on any change (`swarmServiceOptions`). */
    readonly service: docker.Service;
    readonly shell: pulumi.Input<SwarmShell>;
    /** The deployed spec's digest (`jobSpecDigest`). */
    readonly specDigest: pulumi.Input<string>;
}

/**
 * The wait runs again whenever the spec's digest or the service's id changes: a replaced service
 * (any change to it, `swarmServiceOptions`) runs the job again, its spec changed or not, and what
 * runs after the job must wait for that run too.
 */
export function jobCompletion(name: string, args: JobCompletionArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi
        .all([args.service.name, args.shell, args.specDigest])
        .apply(([serviceName, shell, specDigest]) => jobWaitScript({ serviceName, specDigest, shell, maxRuns: JOB_MAX_RUNS, timeoutSeconds: JOB_TIMEOUT_SECONDS, pollSeconds: 5 }));
    const timeouts = { create: `${JOB_TIMEOUT_SECONDS + 60}s`, update: `${JOB_TIMEOUT_SECONDS + 60}s` };
    return new command.local.Command(
        name,
        { create: script, update: script, interpreter: ["/bin/bash", "-c"], triggers: [args.specDigest, args.service.id] },
        { ...opts, dependsOn: [args.service], customTimeouts: timeouts },
    );
}
