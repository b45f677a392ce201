/**
 * The cloud-init user data of the swarm's nodes, rendered by a pure function of the stack's plain
 * settings (no Outputs), so the three variants are golden files a test compares and lints, and
 * test/swarm-cluster.bootstrap.test.ts runs the scripts for real against stand-ins for aws/docker.
 *
 * Bootstrap: install Docker and the ECR credential helper; write daemon.json (awslogs to the
 * stack's log group, node labels); then by role:
 * - first manager: join the existing swarm if its parameters name a live manager (a replaced first
 *   manager must not start a second swarm), else `swarm init` and publish the join tokens
 *   (SecureString, the stack's KMS key) and the managers' addresses;
 * - other managers and workers: wait for those parameters (bounded, logged retries) and join
 *   through any published manager, undoing every failed attempt.
 * The parameters themselves are Pulumi resources (`SWARM_PARAMETERS`, created by nodes.ts with the
 * value `unset`), so `destroy` removes them and a re-created stack starts clean.
 * Timers are enabled only once the bootstrap succeeded; a worker whose bootstrap fails marks itself
 * unhealthy so its Auto Scaling group replaces it.
 * Managers run a reaper (the leader keeps the address list current, labels nodes with their AZ,
 * drains workers the Auto Scaling group is terminating, removes nodes whose instance is gone) and
 * refresh the services' registry auth; workers watch their own termination notice. Every node
 * prunes old images and applies security updates.
 */
import * as zlib from "node:zlib";
import * as YAML from "yaml";

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
    /** `swarm init --default-addr-pool`: the overlay networks' addresses, apart from the VPC's. */
    readonly overlayAddressPool: string;
}

/** Name of the worker group's termination hook; the worker completes it after leaving the swarm. */
export const LIFECYCLE_HOOK_NAME = "drain-and-leave";
/** Seconds the hook holds a terminating worker before the group proceeds anyway. */
export const LIFECYCLE_HOOK_TIMEOUT_SECONDS = 600;

/** What a parameter holds until a node publishes into it: the nodes read it as "nothing yet". */
export const UNSET = "unset";

/**
 * The parameters under the stack's path that the nodes write and read. The stack creates them
 * (value `UNSET`) and deletes them with the stack; the nodes own their values.
 */
export const SWARM_PARAMETERS = {
    /** Space-separated private IPs of the managers a node may join through; the leader keeps it current. */
    "manager-addresses": "String",
    "manager-token": "SecureString",
    "worker-token": "SecureString",
} as const;
export type SwarmParameter = keyof typeof SWARM_PARAMETERS;

/** How often the managers' leader refreshes the registry auth stored in the services (ECR tokens last 12 h). */
export const REGISTRY_AUTH_REFRESH_SECONDS = 6 * 3600;

const q = (value: string | number) => `'${String(value).replace(/'/g, `'"'"'`)}'`;

const ROLE_TITLE: Record<NodeRole, string> = { "first-manager": "first manager", manager: "manager", worker: "worker" };

/** Settings and helpers every script starts with. */
function prelude(s: BootstrapSettings, tag: string): string {
    return `#!/bin/bash
# dockyard swarm ${ROLE_TITLE[s.role]}: ${tag} (rendered by components/swarm/cloudInit.ts)
set -euo pipefail

REGION=${q(s.region)}
PARAMETER_PATH=${q(s.parameterPath)}

log() { echo "${tag}: $*"; }

# IMDSv2 only: every read takes a session token.
imds() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}

# get_param NAME: its value, or failure while it is missing or still the stack's placeholder.
get_param() {
  local value
  value=$(aws ssm get-parameter --region "$REGION" --name "$PARAMETER_PATH/$1" --with-decryption --query Parameter.Value --output text 2>/dev/null) || return 1
  [ -n "$value" ] && [ "$value" != ${UNSET} ] || return 1
  printf '%s\\n' "$value"
}

is_leader() { [ "$(docker node inspect self --format '{{if .ManagerStatus}}{{.ManagerStatus.Leader}}{{end}}' 2>/dev/null)" = true ]; }
`;
}

function bootstrapScript(s: BootstrapSettings): string {
    const manager = s.role !== "worker";
    const worker = s.role === "worker";
    const common = `${prelude(s, "dockyard-bootstrap")}
ROLE=${q(s.role)}
LOG_GROUP=${q(s.logGroupName)}
${manager ? `KMS_KEY=${q(s.kmsKeyAlias)}\n` : ""}${s.role === "first-manager" ? `EXPECTED_MANAGERS=${s.managers}\nOVERLAY_POOL=${q(s.overlayAddressPool)}\n` : ""}${worker ? `WORKER_GROUP=${q(s.workerGroupName)}\n` : ""}SSH_USER=${q(s.sshUser)}
TIMERS=(${timersOf(s.role).join(" ")})
JOIN_ATTEMPTS=30
WAIT_ATTEMPTS=60
RETRY_SECONDS=10

INSTANCE_ID=$(imds meta-data/instance-id)
AZ=$(imds meta-data/placement/availability-zone)
PRIVATE_IP=$(imds meta-data/local-ipv4)
ACCOUNT_ID=$(imds dynamic/instance-identity/document | jq -r .accountId)
log "$ROLE $INSTANCE_ID in $AZ at $PRIVATE_IP"
${
    worker
        ? `
# A worker that cannot join is useless but looks healthy to EC2: tell its group to replace it now
# (without waiting for the grace period, which the call otherwise respects).
mark_unhealthy() {
  local status=$?
  [ "$status" -eq 0 ] && return 0
  log "bootstrap failed (exit $status); marking $INSTANCE_ID unhealthy so $WORKER_GROUP replaces it"
  aws autoscaling set-instance-health --region "$REGION" --instance-id "$INSTANCE_ID" --health-status Unhealthy --no-should-respect-grace-period ||
    log "could not mark $INSTANCE_ID unhealthy"
}
trap mark_unhealthy EXIT
`
        : ""
}
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

# Join errors may echo the command; no token reaches a log.
redact() { sed -E 's/SWMTKN-[A-Za-z0-9-]+/SWMTKN-<redacted>/g' <<<"$1"; }

# Waits (bounded, logged) until the swarm's managers and tokens are published.
wait_for_swarm() {
  local attempt
  for attempt in $(seq 1 "$WAIT_ATTEMPTS"); do
    if get_param manager-addresses >/dev/null; then return 0; fi
    log "waiting for $PARAMETER_PATH/manager-addresses (attempt $attempt of $WAIT_ATTEMPTS)"
    sleep "$RETRY_SECONDS"
  done
  log "gave up: no swarm published its join parameters under $PARAMETER_PATH"
  return 1
}

# try_join KIND TOKEN: through each published manager in turn. A join that fails or times out
# ("Timeout was reached before node joined") leaves the node pending, refusing every later join or
# init ("This node is already part of a swarm"), so each failed attempt is undone first.
try_join() {
  local kind=$1 token=$2 address output
  for address in $(get_param manager-addresses || true); do
    if output=$(docker swarm join --token "$token" --advertise-addr "$PRIVATE_IP" --listen-addr "$PRIVATE_IP:2377" "$address:2377" 2>&1); then
      log "joined the swarm through $address as a $kind"
      return 0
    fi
    log "could not join through $address as a $kind: $(redact "$output")"
    docker swarm leave --force >/dev/null 2>&1 || true
  done
  return 1
}

# join_swarm manager|worker ATTEMPTS: retries with logs, reading the parameters afresh each time.
join_swarm() {
  local kind=$1 attempts=$2 attempt token
  for attempt in $(seq 1 "$attempts"); do
    token=$(get_param "$kind-token" || true)
    if [ -n "$token" ] && try_join "$kind" "$token"; then return 0; fi
    log "no published manager accepted this node as a $kind (attempt $attempt of $attempts)"
    sleep "$RETRY_SECONDS"
  done
  return 1
}

# Enabled only after a successful bootstrap: a failed node must not run half a role.
enable_timers() {
  local timer
  systemctl daemon-reload
  for timer in "\${TIMERS[@]}"; do systemctl enable --now "$timer.timer"; done
  log "bootstrap complete"
}
`;
    const publish = `
# put_param NAME TYPE VALUE: the value goes through stdin, never a command line. Retried with
# backoff: a new instance profile's permissions take a while to reach every AWS endpoint.
put_param() {
  local name=$1 type=$2 value=$3 attempt delay=2 extra=()
  if [ "$type" = SecureString ]; then extra=(--key-id "$KMS_KEY"); fi
  for attempt in $(seq 1 8); do
    if printf '%s' "$value" | jq -Rn --arg name "$PARAMETER_PATH/$name" --arg type "$type" '{Name: $name, Type: $type, Value: input, Overwrite: true}' |
      aws ssm put-parameter --region "$REGION" "\${extra[@]}" --cli-input-json file:///dev/stdin >/dev/null; then
      return 0
    fi
    log "could not publish $PARAMETER_PATH/$name (attempt $attempt of 8); retrying in $delay s"
    sleep "$delay"
    delay=$((delay < 32 ? delay * 2 : 60))
  done
  return 1
}
`;
    const firstManager = `
# Tokens go from the CLI into variables and on to SSM only.
publish_swarm() {
  local token
  token=$(docker swarm join-token -q manager)
  put_param manager-token SecureString "$token"
  token=$(docker swarm join-token -q worker)
  put_param worker-token SecureString "$token"
  put_param manager-addresses String "$PRIVATE_IP"
  log "published the join parameters under $PARAMETER_PATH"
}

# A lone manager's replacement takes over while the old one still counts for quorum (2 of 2).
take_over_as_single_manager() {
  local node
  for node in $(docker node ls --filter role=manager --format '{{if not .Self}}{{.ID}}{{end}}'); do
    docker node demote "$node" && log "demoted the old manager $node; the reaper removes it once its instance is gone"
  done
}

start_or_rejoin() {
  if get_param manager-addresses >/dev/null; then
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
  # Its output carries a join command with the worker token: it never reaches a log or the console.
  docker swarm init --advertise-addr "$PRIVATE_IP" --listen-addr "$PRIVATE_IP:2377" --default-addr-pool "$OVERLAY_POOL" >/dev/null
  log "started a new swarm at $PRIVATE_IP with overlay pool $OVERLAY_POOL"
  publish_swarm
}
`;
    const join = s.role === "first-manager" ? "start_or_rejoin" : `wait_for_swarm\njoin_swarm ${s.role} "$JOIN_ATTEMPTS"`;
    const main = `
configure_docker
case "$(swarm_state)" in
  active) log "already in a swarm" ;;
  *)
    docker swarm leave --force >/dev/null 2>&1 || true
    ${join.split("\n").join("\n    ")}
    ;;
esac
enable_timers
`;
    return common + (manager ? publish : "") + (s.role === "first-manager" ? firstManager : "") + main;
}

/** Managers, every minute; only the leader acts. */
function reaperScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-reaper")}
WORKER_GROUP=${q(s.workerGroupName)}

is_leader || exit 0

# Every reachable manager, so a joining node tries the next one when one is gone.
addresses=$(for node in $(docker node ls --filter role=manager --format '{{.ID}}'); do
  docker node inspect "$node" --format '{{if eq .ManagerStatus.Reachability "reachable"}}{{.ManagerStatus.Addr}}{{end}}'
done | sed 's/:[0-9]*$//' | sort | tr '\\n' ' ' | sed 's/ $//')
if [ -n "$addresses" ] && [ "$(get_param manager-addresses || true)" != "$addresses" ]; then
  aws ssm put-parameter --region "$REGION" --name "$PARAMETER_PATH/manager-addresses" --type String --overwrite --value "$addresses" >/dev/null
  log "manager addresses are now $addresses"
fi

terminating=" $(aws autoscaling describe-auto-scaling-instances --region "$REGION" \\
  --query "AutoScalingInstances[?AutoScalingGroupName=='$WORKER_GROUP' && LifecycleState=='Terminating:Wait'].InstanceId" --output text | tr '\\t' ' ') "

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

/**
 * Managers, every 6 h; only the leader acts. dockerd never asks a credential helper
 * (amazon-ecr-credential-helper#140, moby/moby#24372): a task pulls with the auth stored in its
 * service, and an ECR token lasts 12 h, so a task rescheduled later could not pull. The CLI here
 * resolves fresh auth through the ecr-login helper and `--with-registry-auth` stores it. A running
 * task ignores a change of pull options alone (swarmkit manager/orchestrator/task.go IsTaskDirty,
 * docker/swarmkit#971), but a finished job's task is not running, so the same update would run the
 * job again: jobs are skipped (their tasks pulled already and never pull again).
 */
function registryAuthScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-registry-auth")}
export DOCKER_CONFIG=/root/.docker

is_leader || exit 0
registry="$(imds dynamic/instance-identity/document | jq -r .accountId).dkr.ecr.$REGION.amazonaws.com"

for service in $(docker service ls --quiet); do
  IFS='|' read -r kind mode image <<<"$(docker service inspect "$service" --format \\
    '{{index .Spec.Labels "dockyard.kind"}}|{{if .Spec.Mode.ReplicatedJob}}job{{else if .Spec.Mode.GlobalJob}}job{{end}}|{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
  if [ "$kind" = job ] || [ "$mode" = job ]; then continue; fi
  case "$image" in "$registry"/*) ;; *) continue ;; esac
  if docker service update --with-registry-auth --detach --quiet "$service" >/dev/null; then
    log "refreshed the registry auth of service $service"
  else
    log "could not refresh the registry auth of service $service"
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
docker swarm leave || log "leaving the swarm failed; the managers' reaper removes the node once the instance is gone"
touch "$DONE"
aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$WORKER_GROUP" \\
  --lifecycle-hook-name "$HOOK" --instance-id "$(imds meta-data/instance-id)" --lifecycle-action-result CONTINUE
log "left the swarm and completed $HOOK"
`;
}

/**
 * Every node, daily: security advisories only. AL2023 locks its repositories to the AMI's release,
 * so plain `dnf upgrade` (and dnf-automatic) never sees a newer fix (amazonlinux/amazon-linux-2023
 * discussion #395, AL2023 user guide "Deterministic upgrades"): the latest release is named
 * explicitly. The container runtime is left out: its package restarts dockerd, and every node doing
 * that on the same day would stop every task and, on managers, lose quorum; it is updated by
 * replacing nodes one at a time (docs/swarm.md). A new kernel takes effect at the next replacement.
 */
function securityUpdatesScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-security-updates")}
dnf --releasever=latest --security --assumeyes --quiet --exclude='docker*' --exclude='containerd*' --exclude='runc*' upgrade
log "security updates applied"
`;
}

/** Every node, daily: the 20 GiB root fills with old image versions otherwise. Images a task container still references (the task history keeps the previous versions) stay. */
function pruneScript(s: BootstrapSettings): string {
    return `${prelude(s, "dockyard-image-prune")}
docker image prune --all --force --filter until=72h >/dev/null
log "pruned unused images older than 72 h"
`;
}

interface TimerSpec {
    readonly name: string;
    readonly description: string;
    readonly everySeconds: number;
    /** Spreads daily work so the nodes do not all do it at the same moment. */
    readonly randomizedDelaySeconds?: number;
    readonly script: (s: BootstrapSettings) => string;
}

const DAY = 24 * 3600;
const TIMERS: Record<"reaper" | "registryAuth" | "lifecycle" | "securityUpdates" | "imagePrune", TimerSpec> = {
    reaper: { name: "dockyard-reaper", description: "dockyard: keep the swarm's manager addresses, node labels and node list current", everySeconds: 60, script: reaperScript },
    registryAuth: { name: "dockyard-registry-auth", description: "dockyard: refresh the registry auth stored in the swarm's services", everySeconds: REGISTRY_AUTH_REFRESH_SECONDS, script: registryAuthScript },
    lifecycle: { name: "dockyard-lifecycle", description: "dockyard: leave the swarm when the worker group terminates this instance", everySeconds: 15, script: lifecycleScript },
    securityUpdates: { name: "dockyard-security-updates", description: "dockyard: apply Amazon Linux security updates", everySeconds: DAY, randomizedDelaySeconds: 6 * 3600, script: securityUpdatesScript },
    imagePrune: { name: "dockyard-image-prune", description: "dockyard: remove unused container images", everySeconds: DAY, randomizedDelaySeconds: 3600, script: pruneScript },
};

function timersFor(role: NodeRole): TimerSpec[] {
    const own = role === "worker" ? [TIMERS.lifecycle] : [TIMERS.reaper, TIMERS.registryAuth];
    return [...own, TIMERS.imagePrune, TIMERS.securityUpdates];
}

/** The systemd timers a node of this role enables after its bootstrap. */
export function timersOf(role: NodeRole): string[] {
    return timersFor(role).map((t) => t.name);
}

function timerUnits(t: TimerSpec) {
    const delay = t.randomizedDelaySeconds ? `RandomizedDelaySec=${t.randomizedDelaySeconds}\n` : "";
    return [
        {
            path: `/etc/systemd/system/${t.name}.service`,
            permissions: "0644",
            owner: "root:root",
            content: `[Unit]\nDescription=${t.description}\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/${t.name}\n`,
        },
        {
            path: `/etc/systemd/system/${t.name}.timer`,
            permissions: "0644",
            owner: "root:root",
            content: `[Unit]\nDescription=${t.description} (every ${t.everySeconds} s)\n\n[Timer]\nOnBootSec=120\nOnUnitInactiveSec=${t.everySeconds}\n${delay}AccuracySec=5\n\n[Install]\nWantedBy=timers.target\n`,
        },
    ];
}

/** The shell scripts a node's cloud-init installs, by path: for shellcheck, the bootstrap test and reading. */
export function nodeScripts(s: BootstrapSettings): Record<string, string> {
    return Object.fromEntries([
        ["/usr/local/sbin/dockyard-bootstrap", bootstrapScript(s)],
        ...timersFor(s.role).map((t) => [`/usr/local/sbin/${t.name}`, t.script(s)]),
    ]);
}

/**
 * The default user (ec2-user) takes the key directly; another user is created with it and the
 * same passwordless sudo ec2-user has, because Pulumi's commands on the manager (volume
 * directories) run `sudo` as that user.
 */
function sshKeys(s: BootstrapSettings) {
    if (!s.sshPublicKey) return {};
    if (s.sshUser === "ec2-user") return { ssh_authorized_keys: [s.sshPublicKey] };
    return { users: ["default", { name: s.sshUser, shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: [s.sshPublicKey] }] };
}

/** The node's whole user data: a `#cloud-config` document. */
export function renderCloudInit(s: BootstrapSettings): string {
    const doc = {
        package_update: true,
        packages: ["docker", "amazon-ecr-credential-helper", "jq", "nfs-utils"],
        ...sshKeys(s),
        write_files: [
            ...Object.entries(nodeScripts(s)).map(([path, content]) => ({ path, permissions: "0750", owner: "root:root", content })),
            ...timersFor(s.role).flatMap(timerUnits),
        ],
        // The bootstrap enables the timers itself, and only when it succeeds.
        runcmd: [["/usr/local/sbin/dockyard-bootstrap"]],
    };
    const header = `#cloud-config\n# dockyard swarm ${ROLE_TITLE[s.role]}: rendered by components/swarm/cloudInit.ts\n`;
    return header + YAML.stringify(doc, { lineWidth: 0 });
}

/** EC2 refuses user data over 16 KiB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;
/** Plain user data stays readable in the console; past this size it is gzipped, which cloud-init unpacks itself. */
export const GZIP_ABOVE_BYTES = 12 * 1024;

/** The user data as EC2 takes it (base64), gzipped when it is near the limit. */
export function userDataBase64(cloudConfig: string): string {
    const plain = Buffer.from(cloudConfig);
    const payload = plain.length > GZIP_ABOVE_BYTES ? zlib.gzipSync(plain, { level: 9 }) : plain;
    if (payload.length >= USER_DATA_LIMIT_BYTES) throw new Error(`the nodes' user data is ${payload.length} bytes; EC2 allows at most ${USER_DATA_LIMIT_BYTES}`);
    return payload.toString("base64");
}
