/**
 * The cloud-init user data of the swarm's nodes, rendered by a pure function of the stack's plain
 * settings (no Outputs), so the three variants are golden files a test compares and lints.
 *
 * Bootstrap: install Docker and the ECR credential helper; write daemon.json (awslogs to the
 * stack's log group, node labels); then by role:
 * - first manager: join the existing swarm if its parameters name a live manager (a replaced first
 *   manager must not start a second swarm), else `swarm init` and publish the join tokens
 *   (SecureString, the stack's KMS key) and its address in the join parameters the stack created
 *   (joinParameters.ts);
 * - other managers and workers: wait for those parameters (bounded, logged retries) and join
 *   through every published manager in turn, undoing a failed attempt before the next.
 * Managers run a reaper (the leader keeps the list of reachable managers current, labels nodes with their AZ,
 * drains workers the Auto Scaling group is terminating, removes nodes whose instance is gone);
 * workers watch their own termination notice, wait for the drain, leave the swarm and complete the
 * lifecycle hook, so a scale-in leaves no ghosts that would break quorum arithmetic.
 */
import { gzipSync } from "node:zlib";
import * as YAML from "yaml";
import { JOIN_PARAMETER_UNSET, joinParameterPath } from "./joinParameters";
import { REGISTRY_REFRESH_PATH, REGISTRY_REFRESH_TIMER, registryRefreshScript, registryRefreshUnits } from "./registryRefresh";

export type NodeRole = "first-manager" | "manager" | "worker";

export interface BootstrapSettings {
    readonly role: NodeRole;
    readonly region: string;
    /** SSM path of the stack's swarm parameters, e.g. `/dockyard/dev/swarm`. */
    readonly parameterPath: string;
    readonly logGroupName: string;
    /** Alias of the stack's KMS key for the SecureString tokens, e.g. `alias/dockyard-dev-swarm`. */
    readonly kmsKeyAlias: string;
    /** How many managers the stack runs: a lone first manager may start a new swarm when its old one is gone. */
    readonly managers: number;
    readonly workerGroupName: string;
    readonly sshUser: string;
    /** Authorized for `sshUser`; empty for none (Session Manager shell only). */
    readonly sshPublicKey: string;
    /** `swarm.overlayAddressPool`: the overlays' /24s come from here, never from the VPC's block. */
    readonly overlayAddressPool: string;
}

/** Prefix length of each overlay network's subnet taken from the pool (Docker's default, 24). */
export const OVERLAY_SUBNET_PREFIX = 24;

/** Name of the worker group's termination hook; the worker completes it after leaving the swarm. */
export const LIFECYCLE_HOOK_NAME = "drain-and-leave";
/** Seconds the hook holds a terminating worker before the group proceeds anyway. */
export const LIFECYCLE_HOOK_TIMEOUT_SECONDS = 600;

const q = (value: string | number) => `'${String(value).replace(/'/g, `'"'"'`)}'`;

const ROLE_TITLE: Record<NodeRole, string> = { "first-manager": "first manager", manager: "manager", worker: "worker" };

/** Settings and helpers every script starts with. */
function prelude(s: BootstrapSettings, tag: string): string {
    return `#!/bin/bash
# dockyard swarm ${ROLE_TITLE[s.role]}: ${tag} (rendered by components/swarm/cloudInit.ts)
set -euo pipefail

REGION=${q(s.region)}
JOIN_PATH=${q(joinParameterPath(s.parameterPath))}

log() { echo "${tag}: $*"; }

# IMDSv2 only: every read takes a session token.
imds() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}

read_param() {
  aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --query Parameter.Value --output text 2>/dev/null
}

# get_param NAME: the stack's join parameter NAME. The stack creates each one holding
# ${JOIN_PARAMETER_UNSET} (joinParameters.ts): until a node has written it, it counts as absent.
get_param() {
  local value
  value=$(read_param "$JOIN_PATH/$1") || return 1
  [ "$value" != ${q(JOIN_PARAMETER_UNSET)} ] || return 1
  printf '%s\\n' "$value"
}
`;
}

/** The systemd timers a node runs once it has joined: its role's and the image prune. */
export function nodeTimers(role: NodeRole): string[] {
    return [...(role === "worker" ? ["dockyard-lifecycle.timer"] : ["dockyard-reaper.timer", REGISTRY_REFRESH_TIMER]), "dockyard-prune.timer"];
}

/**
 * A worker whose bootstrap fails tells its Auto Scaling group, which terminates and replaces an
 * unhealthy instance (Auto Scaling API reference, SetInstanceHealth). Without
 * `--no-should-respect-grace-period` the call respects the group's health check grace period
 * (300 s), inside which a failed first boot usually falls, and the broken worker would stay.
 */
const WORKER_FAILURE_REPORT = `
# The EXIT trap's handler: only a failed run reports.
# shellcheck disable=SC2317
report_failed_bootstrap() {
  local status=$?
  [ "$status" -eq 0 ] && return 0
  log "bootstrap failed (exit $status); marking $INSTANCE_ID unhealthy so the worker group replaces it"
  aws autoscaling set-instance-health --region "$REGION" --instance-id "$INSTANCE_ID" \\
    --health-status Unhealthy --no-should-respect-grace-period || log "could not mark $INSTANCE_ID unhealthy"
  return "$status"
}
`;

/** Managers' writer of a join parameter, for the bootstrap and the reaper (`KMS_KEY` set). */
const PUT_PARAM = `
# put_param NAME TYPE: the value comes on stdin, so no token ever appears in a process list.
put_param() {
  local extra=()
  if [ "$2" = SecureString ]; then extra=(--key-id "$KMS_KEY"); fi
  jq -Rn --arg name "$JOIN_PATH/$1" --arg type "$2" '{Name: $name, Type: $type, Value: input, Overwrite: true}' |
    aws ssm put-parameter --region "$REGION" "\${extra[@]}" --cli-input-json file:///dev/stdin >/dev/null
}
`;

function bootstrapScript(s: BootstrapSettings): string {
    const manager = s.role !== "worker";
    const common = `${prelude(s, "dockyard-bootstrap")}
ROLE=${q(s.role)}
PARAMETER_PATH=${q(s.parameterPath)}
LOG_GROUP=${q(s.logGroupName)}
${manager ? `KMS_KEY=${q(s.kmsKeyAlias)}\n` : ""}${s.role === "first-manager" ? `EXPECTED_MANAGERS=${s.managers}\nOVERLAY_POOL=${q(s.overlayAddressPool)}\n` : ""}SSH_USER=${q(s.sshUser)}
JOIN_ATTEMPTS=30
WAIT_ATTEMPTS=60
${manager ? "PUBLISH_ATTEMPTS=12\n" : ""}
RETRY_SECONDS=10

INSTANCE_ID=$(imds meta-data/instance-id)
${s.role === "worker" ? "trap report_failed_bootstrap EXIT\n" : ""}AZ=$(imds meta-data/placement/availability-zone)
PRIVATE_IP=$(imds meta-data/local-ipv4)
ACCOUNT_ID=$(imds dynamic/instance-identity/document | jq -r .accountId)
log "$ROLE $INSTANCE_ID in $AZ at $PRIVATE_IP"

# live-restore stays off: dockerd refuses to start its swarm component with it (docker/docs#16059).
configure_docker() {
  mkdir -p /etc/docker
  jq -n --arg region "$REGION" --arg group "$LOG_GROUP" --arg az "$AZ" --arg id "$INSTANCE_ID" --arg role "$ROLE" '{
    "log-driver": "awslogs",
    "log-opts": {"awslogs-region": $region, "awslogs-group": $group, "tag": "{{.Name}}/{{.ID}}", "mode": "non-blocking", "max-buffer-size": "4m"},
    "live-restore": false,
    "labels": ["dockyard.az=\\($az)", "dockyard.instance-id=\\($id)", "dockyard.role=\\($role)"]
  }' > /etc/docker/daemon.json
  local registry="$ACCOUNT_ID.dkr.ecr.$REGION.amazonaws.com" home
  for home in /root "/home/$SSH_USER"; do
    mkdir -p "$home/.docker"
    jq -n --arg registry "$registry" '{credHelpers: {($registry): "ecr-login"}}' > "$home/.docker/config.json"
  done
  if id "$SSH_USER" >/dev/null 2>&1; then
    chown -R "$SSH_USER:" "/home/$SSH_USER/.docker"
    usermod -aG docker "$SSH_USER"
  fi
  systemctl enable --now docker
}

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }

# The node's timers start only once it is in the swarm: cloud-init runs every runcmd entry even
# after one fails, so they are this script's last step rather than runcmd's next ones.
start_timers() {
  local timer
  systemctl daemon-reload
  for timer in ${nodeTimers(s.role).join(" ")}; do systemctl enable --now "$timer"; done
  log "in the swarm; started ${nodeTimers(s.role).join(", ")}"
}
${s.role === "worker" ? WORKER_FAILURE_REPORT : ""}
# find_param NAME: the stack's join parameter, else what the nodes of a stack older than those
# parameters published at $PARAMETER_PATH/NAME. Managers keep their user data (ignoreChanges,
# components/swarm/nodes.ts), so their old reaper publishes only there until an up brings them the
# current node files (nodeFileSync.ts), which the stack syncs last. Only while this deployment's key
# decrypts the old worker token: after a destroy, what is left there is an earlier swarm's,
# encrypted with a key this node may not use and that is pending deletion.
find_param() {
  get_param "$1" || { read_param "$PARAMETER_PATH/worker-token" >/dev/null && read_param "$PARAMETER_PATH/$1"; }
}

# Every published manager address, once each: manager-addresses, then join-address, the one address
# that managers bootstrapped before manager-addresses existed still publish (at the old path).
manager_addresses() {
  { find_param manager-addresses || true; find_param join-address || true; } | xargs -n1 | awk '!seen[$0]++' | xargs
}

# Waits (bounded, logged) until the first manager has published the join parameters.
wait_for_swarm() {
  local attempt
  for attempt in $(seq 1 "$WAIT_ATTEMPTS"); do
    if [ -n "$(manager_addresses)" ]; then return 0; fi
    log "waiting for $JOIN_PATH/manager-addresses (attempt $attempt of $WAIT_ATTEMPTS)"
    sleep "$RETRY_SECONDS"
  done
  log "gave up: no swarm published its join parameters under $JOIN_PATH"
  return 1
}

# A join that fails (an address whose manager is dead times out after 20 s "will continue in the
# background") leaves the node pending, and every later join or init then fails with "This node is
# already part of a swarm" (issue 14 item 3, reproduced on a real engine): undo it before the next.
# leave --force is how a node leaves in any state (docs.docker.com, "docker swarm leave").
undo_failed_join() {
  if [ "$(swarm_state)" != inactive ]; then
    docker swarm leave --force >/dev/null 2>&1 || true
    log "left the half-joined swarm before the next attempt"
  fi
}

# join_swarm manager|worker ATTEMPTS: tries every published manager in turn, retrying with logs.
join_swarm() {
  local kind=$1 attempts=$2 attempt addresses address token
  for attempt in $(seq 1 "$attempts"); do
    addresses=$(manager_addresses)
    token=$(find_param "$kind-token" || true)
    if [ -n "$token" ]; then
      for address in $addresses; do
        if docker swarm join --token "$token" --advertise-addr "$PRIVATE_IP" --listen-addr "$PRIVATE_IP:2377" "$address:2377"; then
          log "joined the swarm through $address as a $kind"
          return 0
        fi
        log "could not join through $address as a $kind"
        undo_failed_join
      done
    fi
    log "no published manager (\${addresses:-none}) let this node join as a $kind (attempt $attempt of $attempts)"
    sleep "$RETRY_SECONDS"
  done
  return 1
}
`;
    const publish = `${PUT_PARAM}
# publish NAME TYPE CMD…: CMD's output becomes the parameter's value, retried with logs: the
# role's policy may not have reached SSM yet when a fresh instance first calls it (IAM is
# eventually consistent: IAM User Guide, "Troubleshoot IAM", changes that I make are not always
# immediately visible), and a failed publish would leave every other node waiting.
publish() {
  local name=$1 type=$2 attempt
  shift 2
  for attempt in $(seq 1 "$PUBLISH_ATTEMPTS"); do
    if "$@" | put_param "$name" "$type"; then return 0; fi
    log "could not publish $JOIN_PATH/$name (attempt $attempt of $PUBLISH_ATTEMPTS)"
    sleep "$RETRY_SECONDS"
  done
  log "gave up publishing $JOIN_PATH/$name"
  return 1
}

publish_swarm() {
  publish manager-token SecureString docker swarm join-token -q manager
  publish worker-token SecureString docker swarm join-token -q worker
  publish manager-addresses String echo "$PRIVATE_IP"
  log "published the join parameters under $JOIN_PATH"
}
`;
    const main: Record<NodeRole, string> = {
        "first-manager": `
# A lone manager's replacement takes over while the old one still counts for quorum (2 of 2).
take_over_as_single_manager() {
  local node
  for node in $(docker node ls --filter role=manager --format '{{if not .Self}}{{.ID}}{{end}}'); do
    docker node demote "$node" && log "demoted the old manager $node; the reaper removes it once its instance is gone"
  done
}

# Nothing published: a swarm is started only on the stack's own word, its manager-addresses
# parameter holding the placeholder; a read that failed (the role's policy not yet visible to SSM,
# throttling) is asked again, bounded, rather than taken for "no swarm" (cold review of 70c7b30, M-C).
wait_for_published_state() {
  local attempt
  for attempt in $(seq 1 "$WAIT_ATTEMPTS"); do
    if [ -n "$(manager_addresses)" ] || [ "$(read_param "$JOIN_PATH/manager-addresses" || true)" = ${q(JOIN_PARAMETER_UNSET)} ]; then return 0; fi
    log "could not read $JOIN_PATH/manager-addresses (attempt $attempt of $WAIT_ATTEMPTS)"
    sleep "$RETRY_SECONDS"
  done
  log "gave up: $JOIN_PATH/manager-addresses could not be read; refusing to start a swarm without it"
  return 1
}

start_or_rejoin() {
  wait_for_published_state
  if [ -n "$(manager_addresses)" ]; then
    local attempts=$JOIN_ATTEMPTS
    if [ "$EXPECTED_MANAGERS" -eq 1 ]; then attempts=3; fi
    log "found parameters of an existing swarm; joining it instead of starting a second one"
    if join_swarm manager "$attempts"; then
      if [ "$EXPECTED_MANAGERS" -eq 1 ]; then take_over_as_single_manager; fi
      return 0
    fi
    if [ "$EXPECTED_MANAGERS" -gt 1 ]; then
      log "no manager of the existing swarm answered; refusing to start a second swarm (see docs/swarm.md, replacing a manager)"
      return 1
    fi
    log "the single manager of the old swarm is gone; starting a new swarm"
  fi
  # The pool is fixed at init for the swarm's life (docs.docker.com, "docker swarm init":
  # --default-addr-pool, --default-addr-pool-mask-length); Docker's own is 10.0.0.0/8, the VPC's range.
  # Its standard output is the join command with the worker token (docker/cli
  # cli/command/swarm/init.go prints it after "Swarm initialized"), which would land in
  # cloud-init-output.log and the EC2 console output: dropped; errors still go to standard error.
  docker swarm init --advertise-addr "$PRIVATE_IP" --listen-addr "$PRIVATE_IP:2377" \\
    --default-addr-pool "$OVERLAY_POOL" --default-addr-pool-mask-length ${OVERLAY_SUBNET_PREFIX} >/dev/null
  log "started a new swarm"
  publish_swarm
}

configure_docker
if [ "$(swarm_state)" = active ]; then log "already in a swarm"; else start_or_rejoin; fi
start_timers
`,
        manager: `
configure_docker
if [ "$(swarm_state)" = active ]; then
  log "already in a swarm"
else
  wait_for_swarm
  join_swarm manager "$JOIN_ATTEMPTS"
fi
start_timers
`,
        worker: `
configure_docker
if [ "$(swarm_state)" = active ]; then
  log "already in a swarm"
else
  wait_for_swarm
  join_swarm worker "$JOIN_ATTEMPTS"
fi
start_timers
`,
    };
    return common + (manager ? publish : "") + main[s.role];
}

/** Managers, every minute; only the leader acts. */
function reaperScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-reaper")}
WORKER_GROUP=${q(s.workerGroupName)}
KMS_KEY=${q(s.kmsKeyAlias)}
${PUT_PARAM}
[ "$(docker node inspect self --format '{{if .ManagerStatus}}{{.ManagerStatus.Leader}}{{end}}')" = true ] || exit 0

# Every reachable manager's address, so a new node never depends on one manager being alive.
# ManagerStatus.Addr is the Raft address (ip:2377).
addresses=$(docker node ls --filter role=manager -q | xargs docker node inspect \\
  --format '{{if eq .ManagerStatus.Reachability "reachable"}}{{.ManagerStatus.Addr}}{{end}}' | sed 's/:[0-9]*$//' | sort | xargs)
if [ -n "$addresses" ] && [ "$(get_param manager-addresses || true)" != "$addresses" ]; then
  aws ssm put-parameter --region "$REGION" --name "$JOIN_PATH/manager-addresses" --type String --overwrite --value "$addresses" >/dev/null
  log "manager addresses are now $addresses"
fi

# The join tokens, whenever the published ones are not the swarm's: the stack creates their
# parameters unset, under a swarm that runs already too; an up after a pulumi refresh can write
# back a token read then (the provider's update PUTs the value in state, joinParameters.ts); and
# docker swarm join-token --rotate makes new ones. Tokens stay in builtins and pipes, never argv.
publish_tokens() {
  local kind token
  for kind in manager worker; do
    if ! token=$(docker swarm join-token -q "$kind"); then
      log "could not read the swarm's $kind token"
      continue
    fi
    [ "$(get_param "$kind-token" || true)" = "$token" ] && continue
    if printf '%s\\n' "$token" | put_param "$kind-token" SecureString; then
      log "published $JOIN_PATH/$kind-token"
    else
      log "could not publish $JOIN_PATH/$kind-token"
    fi
  done
}
publish_tokens

# The CLI pages through the account's Auto Scaling instances, 50 a call, and in text prints each
# page's query result on its own line (aws/aws-cli awscli/formatter.py TextFormatter): newlines join
# the pages, tabs an answer's ids, and both must become the spaces the match below looks for.
terminating=" $(aws autoscaling describe-auto-scaling-instances --region "$REGION" \\
  --query "AutoScalingInstances[?AutoScalingGroupName=='$WORKER_GROUP' && LifecycleState=='Terminating:Wait'].InstanceId" --output text | tr '\\t\\n' '  ') "

instance_gone() {
  local state
  state=$(aws ec2 describe-instances --region "$REGION" --instance-ids "$1" --query 'Reservations[].Instances[].State.Name' --output text 2>&1 || true)
  case "$state" in
    terminated | shutting-down | *InvalidInstanceID.NotFound*) return 0 ;;
    *) return 1 ;;
  esac
}

for node in $(docker node ls --format '{{.ID}}'); do
  IFS='|' read -r state role availability instance az label <<<"$(docker node inspect "$node" --format \\
    '{{.Status.State}}|{{.Spec.Role}}|{{.Spec.Availability}}|{{index .Description.Engine.Labels "dockyard.instance-id"}}|{{index .Description.Engine.Labels "dockyard.az"}}|{{index .Spec.Labels "dockyard.az"}}')"
  [ -n "$instance" ] || continue
  if [ "$state" = down ] && instance_gone "$instance"; then
    if [ "$role" = manager ]; then docker node demote "$node"; fi
    docker node rm --force "$node"
    log "removed node $node: its instance $instance is gone"
    continue
  fi
  if [ "$availability" != drain ] && [[ "$terminating" == *" $instance "* ]]; then
    docker node update --availability drain "$node" >/dev/null
    log "draining node $node: the worker group is terminating $instance"
  fi
  if [ -n "$az" ] && [ "$label" != "$az" ]; then
    docker node update --label-add "dockyard.az=$az" --label-add "dockyard.instance-id=$instance" "$node" >/dev/null
    log "labelled node $node with dockyard.az=$az"
  fi
done
`;
}

/** Workers, every 15 seconds: leave the swarm when the group announces this instance's termination. */
function lifecycleScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-lifecycle")}
WORKER_GROUP=${q(s.workerGroupName)}
HOOK=${q(LIFECYCLE_HOOK_NAME)}
DONE=/run/dockyard-left-swarm

[ -e "$DONE" ] && exit 0
[ "$(imds meta-data/autoscaling/target-lifecycle-state || true)" = Terminated ] || exit 0

log "termination announced; waiting for the managers to drain this node"
for _ in $(seq 1 60); do
  [ -z "$(docker ps -q --filter label=com.docker.swarm.task.id)" ] && break
  sleep 5
done
# A run whose completion failed comes back with the timer's next run, out of the swarm already.
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != inactive ]; then
  docker swarm leave || log "leaving the swarm failed; the managers' reaper removes the node once the instance is gone"
fi
aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$WORKER_GROUP" \\
  --lifecycle-hook-name "$HOOK" --instance-id "$(imds meta-data/instance-id)" --lifecycle-action-result CONTINUE
# Only once the hook is completed: a failed call ends the run (set -e) and the next run retries it,
# where a mark set before it would stop every later run and leave the group to wait out the hook's
# heartbeat timeout (LIFECYCLE_HOOK_TIMEOUT_SECONDS) before it applies the default result.
touch "$DONE"
log "left the swarm and completed $HOOK"
`;
}

function timerUnits(name: string, description: string, everySeconds: number) {
    return [
        {
            path: `/etc/systemd/system/${name}.service`,
            permissions: "0644",
            owner: "root:root",
            content: `[Unit]\nDescription=${description}\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/${name}\n`,
        },
        {
            path: `/etc/systemd/system/${name}.timer`,
            permissions: "0644",
            owner: "root:root",
            content: `[Unit]\nDescription=${description} (every ${everySeconds} s)\n\n[Timer]\nOnBootSec=120\nOnUnitInactiveSec=${everySeconds}\nAccuracySec=5\n\n[Install]\nWantedBy=timers.target\n`,
        },
    ];
}

/** The shell scripts a node's cloud-init installs, by path: for shellcheck and for reading. */
export function nodeScripts(s: BootstrapSettings): Record<string, string> {
    return {
        "/usr/local/sbin/dockyard-bootstrap": bootstrapScript(s),
        ...(s.role === "worker"
            ? { "/usr/local/sbin/dockyard-lifecycle": lifecycleScript(s) }
            : { "/usr/local/sbin/dockyard-reaper": reaperScript(s), [REGISTRY_REFRESH_PATH]: registryRefreshScript() }),
        "/usr/local/sbin/dockyard-prune": pruneScript(),
    };
}

/**
 * The default user (ec2-user, whom AL2023's cloud-init already gives passwordless sudo) takes the
 * key directly. Another `swarm.sshUser` is created, with or without a key, and gets the same sudo
 * rule, because Pulumi runs `sudo` as that user on the first manager (components/swarm/volumes.ts);
 * `sudo` is cloud-init's users-and-groups key (docs.cloud-init.io, "Cloud config examples",
 * "Including users and groups": `sudo: ALL=(ALL) NOPASSWD:ALL`).
 */
export const CUSTOM_USER_SUDO = "ALL=(ALL) NOPASSWD:ALL";

function sshUsers(s: BootstrapSettings) {
    const keys = s.sshPublicKey ? { ssh_authorized_keys: [s.sshPublicKey] } : {};
    if (s.sshUser === "ec2-user") return keys;
    return { users: ["default", { name: s.sshUser, shell: "/bin/bash", sudo: CUSTOM_USER_SUDO, ...keys }] };
}

/**
 * Every node, daily: removes images no container uses. Swarm pulls every new image version and
 * never deletes old ones, and the root volume is 20 GiB. `--all` also removes tagged images that
 * no container references (docs.docker.com, `docker image prune`); an image a running or recent
 * task's container still uses is kept (Swarm keeps a few finished tasks per slot, so a rollback
 * still finds its image), and one removed by mistake is pulled again.
 */
function pruneScript(): string {
    return `#!/bin/bash
# dockyard swarm node: dockyard-prune (rendered by components/swarm/cloudInit.ts)
set -euo pipefail
# The last line docker prints is "Total reclaimed space: …".
echo "dockyard-prune: $(docker image prune --all --force | tail -n 1)"
`;
}

/** Seconds between two image prunes: a day. */
export const PRUNE_EVERY_SECONDS = 86_400;

/**
 * A script as it goes into the user data: without its whole-line comments, which stay here in the
 * source. EC2 refuses user data over 16 KB in raw form, before base64 (EC2 User Guide, "Work with
 * instance user data"; RunInstances fails validation, kubicorn/kubicorn#667), and the first
 * manager's comments alone were over 3 KB of it. Kept: the shebang, the "rendered by" line that
 * tells an operator on the node where the script comes from, and shellcheck directives. Safe
 * because no script has a here-document or a multi-line string, where a `#` line is data; a test
 * compares what bash parses from both forms.
 */
export function withoutComments(script: string): string {
    return script
        .split("\n")
        .filter((line, i) => i === 0 || !/^\s*#/.test(line) || /^\s*# shellcheck |\(rendered by /.test(line))
        .join("\n");
}

/** A file as cloud-init's write_files writes it; without permissions or owner, cloud-init's 0644 root:root. */
export interface NodeFile {
    readonly path: string;
    readonly content: string;
    readonly permissions?: string;
    readonly owner?: string;
}

/** The files a node's bootstrap brings: its scripts, as they ship, and its systemd units. */
export function nodeFiles(s: BootstrapSettings): NodeFile[] {
    const timer = s.role === "worker" ? "dockyard-lifecycle" : "dockyard-reaper";
    return [
        ...Object.entries(nodeScripts(s)).map(([path, script]) => ({ path, permissions: "0750", owner: "root:root", content: withoutComments(script) })),
        ...(s.role === "worker"
            ? timerUnits(timer, "dockyard: leave the swarm when the worker group terminates this instance", 15)
            : [...timerUnits(timer, "dockyard: keep the swarm's join address, node labels and node list current", 60), ...registryRefreshUnits()]),
        ...timerUnits("dockyard-prune", "dockyard: remove images no container uses", PRUNE_EVERY_SECONDS),
    ];
}

/** The node's whole user data: a `#cloud-config` document. */
export function renderCloudInit(s: BootstrapSettings): string {
    const doc = {
        package_update: true,
        packages: ["docker", "amazon-ecr-credential-helper", "jq", "nfs-utils"],
        ...sshUsers(s),
        write_files: nodeFiles(s),
        // The bootstrap starts the node's timers itself, once the node has joined (nodeTimers).
        runcmd: [["/usr/local/sbin/dockyard-bootstrap"]],
    };
    const header = `#cloud-config\n# dockyard swarm ${ROLE_TITLE[s.role]}: rendered by components/swarm/cloudInit.ts\n`;
    return header + YAML.stringify(doc, { lineWidth: 0 });
}

/**
 * The bytes EC2 is given as a node's user data. EC2 counts its 16 KB limit on these bytes, after
 * base64 decoding (InvalidUserData.Malformed "User data is limited to 16384 bytes",
 * braintrustdata/terraform-aws-braintrust-data-plane#301), and cloud-init uncompresses gzip content
 * before it reads it (canonical/cloud-init doc/rtd/explanation/format.rst, "Gzip compressed
 * content"; cloudinit/util.py `decomp_gzip`). Managers' user data is compressed: the first
 * manager's bootstrap is the largest and grows with the stack, and compressed it takes about a
 * third of the limit. Workers' stays plain: their launch template's user data is compared on every
 * `up`, and gzip's bytes depend on the zlib build Node ships, so a Node upgrade alone could show a
 * diff and roll a new template version; a manager's user data is ignored after launch
 * (`nodeIgnoreChanges`). The EC2 console shows compressed user data as unreadable (or none,
 * cattle-ops/terraform-aws-gitlab-runner#565); docs/swarm.md gives the command that reads it.
 */
export function userDataBytes(s: BootstrapSettings): Buffer {
    const text = renderCloudInit(s);
    return s.role === "worker" ? Buffer.from(text, "utf8") : gzipSync(text, { level: 9 });
}
