/**
 * Keeps every manager's node files (its scripts and systemd units, `nodeFiles` in cloudInit.ts)
 * those of the running program. A manager's user data is ignored after launch (nodes.ts
 * `nodeIgnoreChanges`: changing it would stop and start every manager at once), and Pulumi keeps
 * the recorded value even for a replacement, so without this a manager ran the scripts of its first
 * `up` for its whole life: a fix to the reaper or the registry refresh never reached a running
 * swarm, and a swarm older than the refresh never got it (cold review of the registry refresh, F2).
 *
 * How: once the readiness gate has seen every manager joined and the workloads are deployed, one
 * `@pulumi/command` local command per manager (components/stack.ts creates them last) runs `ssh … sudo -n bash -s` over the same path and options as the gate and the Docker
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
import { BootstrapSettings, NodeFile, nodeFiles, NodeRole, nodeTimers } from "./cloudInit";
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

/** How the program reaches one manager. */
export interface ManagerAccess {
    /** `user@host` as SSH sees it (the instance id with Session Manager). */
    readonly sshTarget: pulumi.Input<string>;
    /** The manager's instance: a new one gets the files again. */
    readonly instanceId: pulumi.Input<string>;
}

export interface SwarmNodeFilesArgs {
    /** The stack's bootstrap settings; each manager's role comes from its place (the first is `first-manager`). */
    readonly bootstrap: Omit<BootstrapSettings, "role">;
    /** The managers, in index order. */
    readonly managers: readonly ManagerAccess[];
    readonly sshOptions: pulumi.Input<string[]>;
    /**
     * Pulumi waits for these first: the readiness gate, and the stack's workloads, so that a manager
     * that cannot be reached fails the `up` only once everything else is deployed, and a timer a
     * manager newly gets (systemd starts it at once) never meets this `up`'s own service updates.
     */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

/** One sync command per manager (see the file comment). */
export class SwarmNodeFiles extends pulumi.ComponentResource {
    public readonly syncs: command.local.Command[];

    constructor(name: string, args: SwarmNodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:NodeFiles", name, {}, opts);
        this.syncs = args.managers.map((manager, i) => {
            const role: NodeRole = i === 0 ? "first-manager" : "manager";
            const local = pulumi.all([manager.sshTarget, args.sshOptions]).apply(([target, options]) => nodeFileSyncCommand(target, options));
            return new command.local.Command(
                `${name}-manager-${i}`,
                {
                    create: local,
                    update: local,
                    interpreter: ["/bin/bash", "-c"],
                    stdin: nodeFileSyncScript(nodeFiles({ ...args.bootstrap, role }), nodeTimers(role)),
                    triggers: [manager.instanceId],
                },
                { parent: this, dependsOn: args.after, customTimeouts: { create: "5m", update: "5m" } },
            );
        });
        this.registerOutputs({});
    }
}
