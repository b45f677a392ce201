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
 * Every spec update also makes the refreshed spec the service's PreviousSpec (same UpdateService),
 * so `docker service rollback` after a refresh returns to the same spec (docs/swarm.md says so).
 *
 * No token is ever in the script's hands: the CLI runs the helper and sends the auth to dockerd;
 * the update's standard output (the service id) is dropped and the log names services only.
 */

export const REGISTRY_REFRESH = "dockyard-registry-refresh";
export const REGISTRY_REFRESH_PATH = `/usr/local/sbin/${REGISTRY_REFRESH}`;
export const REGISTRY_REFRESH_TIMER = `${REGISTRY_REFRESH}.timer`;

/**
 * Seconds between two refreshes: 4 hours. ECR authorization tokens are valid 12 hours (ECR API
 * reference, GetAuthorizationToken), and each run fetches a new one (AWS_ECR_DISABLE_CACHE: the
 * helper's cache would hand back a token up to half its life old, awslabs/amazon-ecr-credential-helper
 * ecr-login/cache/credentials.go IsValid), so the stored token always has 8 hours left and two
 * missed runs (a leader change, ECR unreachable) still leave a valid one.
 */
export const REGISTRY_REFRESH_EVERY_SECONDS = 4 * 3600;

/** The update states in which a spec update would resume or restart an update (see above). */
export const UPDATES_NOT_TO_TOUCH = ["updating", "paused", "rollback_started", "rollback_paused"] as const;

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
[ "$(docker node inspect self --format '{{.ManagerStatus.Leader}}')" = true ] || exit 0
ids=$(docker service ls -q --filter label=dockyard.kind=service)
failed=0
for id in $ids; do
  IFS='|' read -r name image state <<<"$(docker service inspect "$id" --format \\
    '{{.Spec.Name}}|{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{with .UpdateStatus}}{{.State}}{{end}}')"
  jq -e --arg host "\${image%%/*}" '.credHelpers[$host]' "$DOCKER_CONFIG/config.json" >/dev/null || continue
  case "$state" in ${UPDATES_NOT_TO_TOUCH.join(" | ")}) echo "skipped $name: its update is $state"; continue ;; esac
  if docker service update --with-registry-auth --detach "$id" >/dev/null; then echo "refreshed $name"; else echo "could not refresh $name" >&2; failed=1; fi
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
        unit("service", `[Unit]\nDescription=dockyard: refresh the services' registry auth\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nType=oneshot\nExecStart=${REGISTRY_REFRESH_PATH}\n`),
        unit("timer", `[Timer]\nOnBootSec=300\nOnUnitInactiveSec=${REGISTRY_REFRESH_EVERY_SECONDS}\n\n[Install]\nWantedBy=timers.target\n`),
    ];
}
