/**
 * How the scripts that wait on or prepare the swarm (job waits, EFS volume directories) reach it:
 * the docker CLI and a shell on this machine for the local engine, or on the first manager through
 * the same SSH path (and options) as the Docker provider on EC2.
 */
import type { SwarmShell } from "../platform";
import { shellQuote as q } from "./readiness";

/** Bash that defines `on_swarm CMD ARGS…`, running one command where the swarm's docker CLI is. */
export function onSwarmFunction(shell: SwarmShell): string {
    if (shell.sshTarget === undefined) {
        return `${shell.dockerHost ? `export DOCKER_HOST=${q(shell.dockerHost)}\n` : ""}on_swarm() { "$@"; }`;
    }
    return `ssh_opts=(${(shell.sshOptions ?? []).map(q).join(" ")})
# ssh hands the remote shell one string, so each argument is quoted for it here, on purpose.
# shellcheck disable=SC2029
on_swarm() { ssh "\${ssh_opts[@]}" ${q(shell.sshTarget)} "$(printf '%q ' "$@")"; }`;
}
