/**
 * The managers' registry-auth refresh (issue 14 item 1, the nodes' half), rendered by pure
 * functions like the rest of the node scripts in cloudInit.ts, which installs them.
 *
 * Why: a task pulls with the registry auth stored in its service's spec (PullOptions.RegistryAuth),
 * which the Docker provider sets on create and update (cluster.ts ecrRegistryAuth). That is an
 * ECR token, valid 12 hours; a task started later on a node without the image (a replaced worker,
 * a task rescheduled off a dead node) pulls again with it and is rejected once it has expired. So
 * every few hours the Raft leader stores a fresh token in each long-running service's spec with
 * `docker service update --with-registry-auth --detach <service>`, and nothing else.
 *
 * What that update changes: with no other flag the CLI sends the service's own spec back, with
 * only the encoded auth of the spec's image's registry added, and asks no registry to re-resolve
 * the image (docker/cli cli/command/service/update.go runUpdate: QueryRegistry only when --image
 * changed; RetrieveAuthTokenFromImage in cli/command/registry.go reads the auth through the CLI's
 * config, so through the ECR credential helper the bootstrap names there, with the instance role).
 * Running tasks are not restarted: swarmkit ignores PullOptions when it judges a task that is
 * between READY and RUNNING against the new spec (moby/swarmkit manager/orchestrator/task.go
 * IsTaskDirty, "A difference in only the `PullOptions` field should not cause a running (or ready
 * to run) task to be considered 'dirty'", swarmkit#971), and the updater leaves a service whose
 * tasks are all clean alone (manager/orchestrator/update/updater.go Run, "Abort immediately if all
 * tasks are clean"). A task that has not pulled yet (pending, or rejected by an expired token) is
 * dirty and is replaced by one with the new auth, which is the point.
 *
 * What it must never touch:
 * - jobs (`dockyard.kind=job`, service.ts swarmLabels): a job's finished tasks are COMPLETE, past
 *   RUNNING, so the same IsTaskDirty counts the changed PullOptions and the job would run again.
 *   Only services labelled `dockyard.kind=service` are refreshed.
 * - a service whose update is in flight or halted (updating, paused, rollback_started,
 *   rollback_paused): swarmkit resets UpdateStatus on every spec update (manager/controlapi/service.go
 *   UpdateService, "Reset update status"), so a refresh would resume a paused update. Skipped; the
 *   next run takes it.
 * - images from other registries: the helper knows only the stack's registry, and their auth
 *   would become empty for nothing. Only images whose host the CLI config's credHelpers names.
 * - a registry the helper has no token for: amazon-ecr-credential-helper answers every failed AWS
 *   call (no permission, ECR or the metadata service unreachable) "credentials not found"
 *   (ecr-login/ecr.go Get), which the CLI turns into an empty auth (docker/cli
 *   cli/config/credentials/native_store.go getCredentialsFromStore), encoded as `{}`, which dockerd
 *   stores in place of the token that was still valid (moby daemon/cluster/services.go
 *   UpdateService keeps the old one only for an empty string). So the script asks the helper
 *   first, once per registry, and touches no service of a registry it got no token for.
 * A halted update, a registry without a token, a refused update and a service the daemon cannot
 * inspect fail the run (after the others are done); a service removed between the listing and its
 * inspect is skipped (the CLI says "no such service", docker/cli cli/command/service/inspect.go).
 * The inspect's answer is read only once the call succeeded: read from a failed command
 * substitution it was an empty line, and the service was passed over as one of another registry,
 * with the run still succeeding. A failed run shows in `systemctl --failed` on a leader whose
 * services are not refreshed; a manager that is not the leader says so and succeeds, and one that
 * cannot ask dockerd fails.
 * Every spec update also makes the refreshed spec the service's PreviousSpec (same UpdateService),
 * so `docker service rollback` after a refresh returns to the same spec (docs/swarm.md says so).
 *
 * No token is ever printed: the helper's answer goes through a pipe to jq, which writes the run's
 * config for that registry (REGISTRY_REFRESH_RUN_DIR); the CLI sends it to dockerd; the update's
 * standard output (the service id) is dropped and the log names services only. The only copy at
 * rest is that config, in the run's tmpfs runtime directory, gone when the run ends.
 */

export const REGISTRY_REFRESH = "dockyard-registry-refresh";
export const REGISTRY_REFRESH_PATH = `/usr/local/sbin/${REGISTRY_REFRESH}`;
export const REGISTRY_REFRESH_TIMER = `${REGISTRY_REFRESH}.timer`;

/**
 * Seconds between two refreshes: 3 hours. ECR authorization tokens are valid 12 hours (ECR API
 * reference, GetAuthorizationToken), and each run fetches a new one (see REGISTRY_REFRESH_RUN_DIR).
 * The timer counts from the end of the last run (OnUnitInactiveSec=, systemd.timer(5)), so the
 * third run after a good one starts at most three intervals and three run timeouts later: 9¾ hours,
 * and two missed runs (a leader change, ECR unreachable) still leave a valid token. Every 4 hours
 * would leave none, to the minute.
 */
export const REGISTRY_REFRESH_EVERY_SECONDS = 3 * 3600;

/**
 * Where a run keeps the token it checked: the unit's runtime directory (systemd.exec(5),
 * RuntimeDirectory=: a tmpfs under /run, mode 0700, removed when the run ends), with one Docker CLI
 * config per registry that holds only that token (`auths`). Every `docker service update` of the
 * run reads it there and runs no credential helper, so what dockerd stores is the token the run
 * checked: the CLI turns any failure of a helper it runs into an empty auth (docker/cli
 * cli/command/registry.go ResolveAuthConfig drops the error), and the helper can fail after the
 * check for reasons of its own (the instance role's credentials unavailable from the metadata
 * service turn its cache off: ecr-login/cache/build.go). The check itself fetches a fresh token
 * (AWS_ECR_DISABLE_CACHE: the default cache would hand back one up to six hours old,
 * ecr-login/cache/credentials.go IsValid).
 */
export const REGISTRY_REFRESH_RUN_DIR = `/run/${REGISTRY_REFRESH}`;

/**
 * A run that hangs (a manager that lost quorum mid-call, a helper waiting on the instance metadata
 * service) is stopped after 15 minutes: a oneshot unit has no start timeout by default
 * (systemd.service(5), TimeoutStartSec), and a timer never starts a unit that is still activating
 * (systemd/systemd#28698), so one hung run would end every later one.
 */
export const REGISTRY_REFRESH_TIMEOUT_SECONDS = 900;

/** Update states in which a spec update would restart an update under way (see above): the next run takes the service. */
export const IN_FLIGHT_UPDATES = ["updating", "rollback_started"] as const;

/**
 * An update still under way an hour after it started is stuck, not slow (StartedAt is the update's
 * start even once swarmkit rolls it back by itself: manager/orchestrator/update/updater.go
 * rollbackUpdate changes only the state, so a message names it as the update's start): the provider waits five minutes for
 * a service to converge (service.ts CONVERGE_TIMEOUT), and swarmkit's updater waits without a limit
 * for a new task that cannot be scheduled. The run then fails, so systemd shows a service whose
 * token is left to expire, instead of skipping it quietly on every run.
 */
export const STUCK_UPDATE_SECONDS = 3600;

/** Update states in which a spec update would resume a halted update (see above): the run fails, so systemd shows it, until an operator acts. */
export const HALTED_UPDATES = ["paused", "rollback_paused"] as const;

/**
 * The script, on every manager; only the leader acts. Where the CLI config is: the bootstrap
 * writes root's (cloudInit.ts configure_docker), and DOCKER_CONFIG names it whatever HOME systemd
 * gives the unit (docker/cli cli/config/config.go Dir); only a test sets it elsewhere.
 */
export function registryRefreshScript(): string {
    return `#!/bin/bash
# ${REGISTRY_REFRESH} (rendered by components/swarm/registryRefresh.ts)
set -euo pipefail
export DOCKER_CONFIG=\${DOCKER_CONFIG:-/root/.docker} AWS_ECR_DISABLE_CACHE=1
run=\${RUNTIME_DIRECTORY:?run it with systemctl start ${REGISTRY_REFRESH}}
leader=$(docker node inspect self --format '{{.ManagerStatus.Leader}}')
[ "$leader" = true ] || { echo "not the leader: nothing to refresh"; exit 0; }
ids=$(docker service ls -q --filter label=dockyard.kind=service)
failed=0
declare -A token=()
for id in $ids; do
  if ! info=$(docker service inspect "$id" --format \\
    '{{.Spec.Name}}|{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{with .UpdateStatus}}{{.State}}|{{with .StartedAt}}{{.Unix}}{{end}}{{end}}' 2>"$run/inspect-error"); then
    if grep -qi 'no such service' "$run/inspect-error"; then echo "skipped $id: removed since it was listed"; else echo "could not inspect service $id: $(cat "$run/inspect-error")" >&2; failed=1; fi
    continue
  fi
  IFS='|' read -r name image state started <<<"$info"
  host=\${image%%/*}
  helper=$(jq -r --arg host "$host" '.credHelpers[$host] // empty' "$DOCKER_CONFIG/config.json")
  [ -n "$helper" ] || continue
  case "$state" in
    ${IN_FLIGHT_UPDATES.join(" | ")})
      if [ -n "$started" ] && [ $(($(date +%s) - started)) -gt ${STUCK_UPDATE_SECONDS} ]; then
        echo "not refreshed $name: its update, started $(date -u -d "@$started" +%FT%TZ), is still $state after more than ${STUCK_UPDATE_SECONDS / 3600} h" >&2
        failed=1
      else
        echo "skipped $name: its update is $state"
      fi
      continue ;;
    ${HALTED_UPDATES.join(" | ")}) echo "not refreshed $name: its update is $state" >&2; failed=1; continue ;;
  esac
  checked=$run/$host
  if [ -z "\${token[$host]:-}" ]; then
    token[$host]=none
    mkdir -m 0700 "$checked"
    if printf '%s' "$host" | "docker-credential-$helper" get | jq -e --arg host "$host" \\
      'select(.Secret | length > 0) | {auths: {($host): {auth: ("\\(.Username):\\(.Secret)" | @base64)}}}' >"$checked/config.json" 2>/dev/null; then
      token[$host]=ok
    fi
  fi
  if [ "\${token[$host]}" != ok ]; then echo "not refreshed $name: docker-credential-$helper has no token for $host" >&2; failed=1; continue; fi
  if DOCKER_CONFIG=$checked docker service update --with-registry-auth --detach "$id" >/dev/null; then echo "refreshed $name"; else echo "could not refresh $name" >&2; failed=1; fi
done
exit "$failed"
`;
}

/**
 * The unit and the timer that runs it, as cloud-init write_files entries. They leave permissions
 * and owner to cloud-init's defaults, 0644 and root:root (cloud-init docs, module write_files),
 * because the first manager's user data is near EC2's 16 KB limit.
 */
export function registryRefreshUnits(): { path: string; content: string }[] {
    const unit = (suffix: string, content: string) => ({ path: `/etc/systemd/system/${REGISTRY_REFRESH}.${suffix}`, content });
    return [
        unit("service", `[Unit]\nDescription=dockyard: refresh the services' registry auth\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nType=oneshot\nTimeoutStartSec=${REGISTRY_REFRESH_TIMEOUT_SECONDS}\nRuntimeDirectory=${REGISTRY_REFRESH_RUN_DIR.slice("/run/".length)}\nRuntimeDirectoryMode=0700\nExecStart=${REGISTRY_REFRESH_PATH}\n`),
        unit("timer", `[Timer]\nOnBootSec=300\nOnUnitInactiveSec=${REGISTRY_REFRESH_EVERY_SECONDS}\n\n[Install]\nWantedBy=timers.target\n`),
    ];
}
