/**
 * Keeps every manager's node files (its scripts and systemd units, `nodeFiles` in cloudInit.ts)
 * those of the running program. A manager's user data is ignored after launch (nodes.ts
 * `nodeIgnoreChanges`: changing it would stop and start every manager at once), and Pulumi keeps
 * the recorded value even for a replacement, so without this a manager ran the scripts of its first
 * `up` for its whole life: a fix to the reaper or the registry refresh never reached a running
 * swarm, and a swarm older than the refresh never got it (cold review of the registry refresh, F2).
 *
 * How: after the readiness gate has seen every manager joined, one `@pulumi/command` local command
 * per manager runs `ssh … sudo -n bash -s` over the same path and options as the gate and the Docker
 * provider, with the sync script on standard input. The script writes a file only when its content
 * or mode differs, each through a temporary file renamed over the old one (a script that is
 * running keeps reading the old file), reloads systemd when anything changed, and enables the
 * role's timers. A timer already enabled stays as it is; `daemon-reload` reschedules it with its
 * new settings (systemd/systemd#16578: "a timer unit can be updated with a simple daemon-reload").
 * The bootstrap itself does not run again: a changed `dockyard-bootstrap` takes effect on the next
 * manager launched, as before. The command runs again when the script changes (its standard
 * input is one of its inputs) or the instance does; `pulumi preview --diff` shows the changed
 * lines of the node files themselves. Only `triggers` replace a command (pulumi/pulumi-command
 * provider/pkg/provider/common/inputs.go); a changed stdin runs `update`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeFile } from "./cloudInit";
import { shellQuote as q } from "./readiness";

/** Ends each file's here-document in the sync script; no node file may hold it as a line. */
export const FILE_END = "DOCKYARD_NODE_FILE_END";

/**
 * The script the manager runs as root: its node files, then systemd. Refuses a file it could not
 * carry unchanged in a quoted here-document (one without a final newline, or with the end line).
 * Everything is one function, called on the last line: bash runs a script read from standard
 * input command by command, so a stream cut short would still run what came, a half-written file
 * included; a function cut short is a syntax error, and nothing runs.
 */
export function nodeFileSyncScript(files: readonly NodeFile[], timers: readonly string[]): string {
    const puts = files.map((file) => {
        if (!file.content.endsWith("\n") || file.content.split("\n").includes(FILE_END)) {
            throw new Error(`node file ${file.path}: its content must end with a newline and hold no line ${FILE_END}`);
        }
        if ((file.owner ?? "root:root") !== "root:root") throw new Error(`node file ${file.path}: owner ${file.owner}: the sync writes root's files only`);
        return `  put ${q(file.path)} ${file.permissions ?? "0644"} <<'${FILE_END}'\n${file.content}${FILE_END}\n`;
    });
    return `#!/bin/bash
# dockyard node-file sync (rendered by components/swarm/nodeFileSync.ts)
set -euo pipefail
sync_node_files() {
  local changed=()
  # Global, for the trap: whatever a failed run leaves in mktemp's names goes with it.
  temps=()
  trap 'rm -f -- "\${temps[@]}"' EXIT
  put() {
    local tmp
    tmp=$(mktemp "$1.dockyard-XXXXXX")
    temps+=("$tmp")
    cat >"$tmp"
    chmod "$2" "$tmp"
    if [ -f "$1" ] && [ "$(stat -c %a "$1")" = "\${2#0}" ] && [ "$(sha256sum <"$tmp")" = "$(sha256sum <"$1")" ]; then
      rm -f "$tmp"
    else
      mv -f "$tmp" "$1"
      changed+=("$1")
    fi
  }
${puts.join("")}  # Every run: one that renamed its files and failed before reloading leaves them current for the next.
  systemctl daemon-reload
  if [ "\${#changed[@]}" -gt 0 ]; then
    echo "dockyard: updated on $HOSTNAME: \${changed[*]}"
  else
    echo "dockyard: current on $HOSTNAME"
  fi
  for timer in ${timers.join(" ")}; do systemctl enable --now "$timer"; done
}
sync_node_files
`;
}

/** How many times the local side tries ssh when the connection itself fails (ssh exits 255). */
export const SYNC_SSH_ATTEMPTS = 3;

/**
 * The local side: ssh to the manager, which runs what it reads on standard input as root, never
 * asking for a password. A failed connection (a Session Manager session can drop:
 * aws/amazon-ssm-agent#274) is tried again, with the script kept in a file for that; the script is
 * safe to run twice, even at once. A hang is bounded by the options' ConnectTimeout and
 * ServerAliveInterval (access.ts).
 */
export function nodeFileSyncCommand(sshTarget: string, sshOptions: readonly string[]): string {
    return `#!/bin/bash
# dockyard node-file sync (rendered by components/swarm/nodeFileSync.ts): the script arrives on standard input
set -uo pipefail
ssh_opts=(${sshOptions.map(q).join(" ")})
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat >"$script"
for attempt in $(seq ${SYNC_SSH_ATTEMPTS}); do
  ssh "\${ssh_opts[@]}" ${q(sshTarget)} 'sudo -n bash -s' <"$script"
  status=$?
  [ "$status" -eq 255 ] || exit "$status"
  echo "dockyard: ssh to ${sshTarget} failed (attempt $attempt of ${SYNC_SSH_ATTEMPTS})" >&2
  [ "$attempt" -eq ${SYNC_SSH_ATTEMPTS} ] || sleep 10
done
exit 255
`;
}

export interface NodeFileSyncArgs {
    /** `user@host` as SSH sees it (the instance id with Session Manager). */
    readonly sshTarget: pulumi.Input<string>;
    readonly sshOptions: pulumi.Input<string[]>;
    /** The manager's instance: a new one gets the files again. */
    readonly instanceId: pulumi.Input<string>;
    /** What the manager must hold (`nodeFileSyncScript`). */
    readonly script: string;
    /** Pulumi waits for these (the readiness gate) first. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export function nodeFileSync(name: string, args: NodeFileSyncArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const local = pulumi.all([args.sshTarget, args.sshOptions]).apply(([target, options]) => nodeFileSyncCommand(target, options));
    return new command.local.Command(
        name,
        { create: local, update: local, interpreter: ["/bin/bash", "-c"], stdin: args.script, triggers: [args.instanceId] },
        { ...opts, dependsOn: args.after, customTimeouts: { create: "5m", update: "5m" } },
    );
}
