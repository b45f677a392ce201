/**
 * The pure half of the Swarm adapter: a `WorkloadSpec` mapped to the pieces of a `docker.Service`
 * (and its secrets and volumes). No resources are created here; `workload.ts` wires these pieces to
 * real resources, and tests call these functions directly.
 */
import * as crypto from "node:crypto";
import type * as Inputs from "@pulumi/docker/types/input";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_DEFAULTS, initialReplicas, isNamed, PRIVILEGES_MARK, privilegesDeclaration, quantityUnits, UNPRIVILEGED_PORT_SYSCTL, unprivilegedPortStart, userOf, volumeResourceName } from "../workload";
import type { HealthCheck, PublicEndpoint, VolumeSpec, WorkloadSpec } from "../workload";

/** `ec2`: the routing mesh behind a load balancer; `local`: ports bound on this machine only. */
export type SwarmEngine = "ec2" | "local";

/** Secret files are readable by the workload's user only. */
export const SECRET_FILE_MODE = 0o400;
/**
 * How many times a job runs at most: the first run and two retries. Swarm restarts a task while
 * its restarts so far are fewer than `MaxAttempts`, counted per service spec version
 * (moby/swarmkit manager/orchestrator/restart/restart.go shouldRestart), so `MaxAttempts` is the
 * number of retries, one less than the runs, and the wait (jobs.ts) gives up after this many failed runs.
 */
export const JOB_MAX_RUNS = 3;

/** The task label that names the job spec Pulumi deployed (`jobSpecDigest`); the wait counts only its tasks. */
export const JOB_SPEC_LABEL = "dockyard.job-spec";
export const CONVERGE_TIMEOUT = "5m";

/**
 * Kubernetes CPU quantity (`250m`, `0.5`, `2`, `2e0`: every form validateWorkloads accepts) to
 * Docker NanoCPUs (1 CPU = 1e9), rounded up as Kubernetes rounds.
 */
export function cpuToNanoCpus(quantity: string, field = "cpu"): number {
    const units = quantityUnits(quantity, 9);
    if (units === undefined) throw new Error(`${field}: "${quantity}" is not a CPU quantity; allowed: cores such as 0.5 or 2, or millicores such as 250m`);
    if (units > 2n ** 63n - 1n) throw new Error(`${field}: "${quantity}" is more NanoCPUs than an int64 holds`);
    const nano = Number(units);
    // The engine refuses less than a hundredth of a CPU (NanoCPUs below 1e7) at task start.
    if (nano < 1e7) throw new Error(`${field}: "${quantity}" is below the Docker minimum of 10m (0.01 CPU)`);
    return nano;
}

/** Kubernetes memory quantity (`256Mi`, `1G`, `512k`, `1000`, `1e9`) to bytes, rounded up. */
export function memoryToBytes(quantity: string, field = "memory"): number {
    const units = quantityUnits(quantity, 0);
    if (units === undefined) throw new Error(`${field}: "${quantity}" is not a memory quantity; allowed: bytes with an optional suffix such as 256Mi, 1Gi or 500M`);
    if (units > 2n ** 63n - 1n) throw new Error(`${field}: "${quantity}" is more bytes than an int64 holds`);
    const bytes = Number(units);
    // Docker refuses a memory limit under 6 MiB.
    if (bytes < 6 * 2 ** 20) throw new Error(`${field}: "${quantity}" is below the Docker minimum of 6Mi`);
    return bytes;
}

export function swarmResources(spec: WorkloadSpec): Inputs.ServiceTaskSpecResources {
    const at = (path: string) => `workload ${spec.name}: resources.${path}`;
    return {
        limits: {
            nanoCpus: cpuToNanoCpus(spec.resources.limits.cpu, at("limits.cpu")),
            memoryBytes: memoryToBytes(spec.resources.limits.memory, at("limits.memory")),
        },
        reservation: {
            nanoCpus: cpuToNanoCpus(spec.resources.requests.cpu, at("requests.cpu")),
            memoryBytes: memoryToBytes(spec.resources.requests.memory, at("requests.memory")),
        },
    };
}

const seconds = (value: number) => `${value}s`;

/**
 * The health check runs inside the container, so HTTP and TCP checks need a client in the image:
 * `wget` for HTTP and `sh` + `nc` for TCP (busybox and Alpine images have both); images without
 * them declare a `command` check instead.
 */
export function healthTest(health: HealthCheck): string[] {
    if (health.command) return ["CMD", ...health.command];
    if (health.http) return ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${health.http.port}${health.http.path}`];
    if (health.tcp) return ["CMD-SHELL", `nc -w 2 127.0.0.1 ${health.tcp.port} </dev/null`];
    throw new Error("health: one of http, tcp or command is required");
}

export function swarmHealthcheck(spec: WorkloadSpec): Inputs.ServiceTaskSpecContainerSpecHealthcheck | undefined {
    const health = spec.health;
    if (!health) return undefined;
    return {
        tests: healthTest(health),
        interval: seconds(health.intervalSeconds ?? HEALTH_DEFAULTS.intervalSeconds),
        timeout: seconds(health.timeoutSeconds ?? HEALTH_DEFAULTS.timeoutSeconds),
        retries: health.failureThreshold ?? HEALTH_DEFAULTS.failureThreshold,
        startPeriod: seconds(health.startPeriodSeconds ?? HEALTH_DEFAULTS.startPeriodSeconds),
    };
}

const hasPersistentVolume = (spec: WorkloadSpec) => (spec.volumes ?? []).some((v) => v.kind === "persistent");

/**
 * Start-first needs room for the old and the new task at once: a persistent volume (one writer) and
 * a host-published port (one binder per node) both forbid it.
 */
export function updateOrder(spec: WorkloadSpec, engine: SwarmEngine): "start-first" | "stop-first" {
    const blockers = [
        ...(hasPersistentVolume(spec) ? ["a persistent volume"] : []),
        ...(engine === "local" && hasPublicPort(spec) ? ["a port published in host mode"] : []),
    ];
    const asked = spec.update?.order;
    if (asked === "start-first" && blockers.length > 0) {
        throw new Error(`workload ${spec.name}: update.order "start-first" is not possible with ${blockers.join(" and ")}; allowed: stop-first`);
    }
    return asked ?? (blockers.length > 0 ? "stop-first" : "start-first");
}

/**
 * How long Swarm watches a new task for failure before the next batch: long enough for the
 * health check to fail after its start period, so an unhealthy update is caught and rolled back.
 */
export function monitorSeconds(spec: WorkloadSpec): number {
    const health = spec.health;
    if (!health) return 10;
    const { startPeriodSeconds, intervalSeconds, failureThreshold } = { ...HEALTH_DEFAULTS, ...health };
    return startPeriodSeconds + intervalSeconds * (failureThreshold + 1);
}

/**
 * A job's update: swarmkit counts a task of the update that stops within the monitor period as a
 * failure, a completed one included ("update rolled back due to failure or early termination of
 * task", moby/swarmkit manager/orchestrator/update/updater.go failureTriggersAction), so a job
 * updated with `rollback` would run the new spec, be rolled back and run the old one again. With
 * `continue` the updater watches no task at all (same file), and the job wait (jobs.ts) alone
 * judges the run. The Docker provider has no Swarm job mode (`replicated-job`) to use instead:
 * its `mode` knows `replicated` and `global` only (terraform-provider-docker resource_docker_service.go).
 * Pulumi replaces a job's service rather than update it (`swarmServiceOptions`); this holds for
 * updates made on the engine itself, such as `docker service update --with-registry-auth`.
 */
export const JOB_UPDATE_CONFIG: Inputs.ServiceUpdateConfig = { parallelism: 1, delay: "0s", failureAction: "continue", monitor: "0s", maxFailureRatio: "0", order: "stop-first" };

export function swarmUpdateConfig(spec: WorkloadSpec, engine: SwarmEngine): Inputs.ServiceUpdateConfig {
    if (isJob(spec)) return JOB_UPDATE_CONFIG;
    return {
        parallelism: spec.update?.parallelism ?? 1,
        delay: seconds(spec.update?.delaySeconds ?? 5),
        failureAction: spec.update?.onFailure ?? "rollback",
        monitor: seconds(monitorSeconds(spec)),
        maxFailureRatio: "0",
        order: updateOrder(spec, engine),
    };
}

export function swarmRollbackConfig(spec: WorkloadSpec, engine: SwarmEngine): Inputs.ServiceRollbackConfig {
    return {
        parallelism: spec.update?.parallelism ?? 1,
        delay: "0s",
        failureAction: "pause",
        monitor: seconds(monitorSeconds(spec)),
        maxFailureRatio: "0",
        order: updateOrder(spec, engine),
    };
}

/** Services restart whatever ends them; a job restarts only on failure, a bounded number of times. */
export function swarmRestartPolicy(spec: WorkloadSpec): Inputs.ServiceTaskSpecRestartPolicy {
    return isJob(spec)
        ? { condition: "on-failure", delay: "5s", maxAttempts: JOB_MAX_RUNS - 1, window: "0s" }
        : { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" };
}

export const isJob = (spec: WorkloadSpec) => (spec.kind ?? "service") === "job";

/**
 * A job's service is replaced on any change, never updated in place. An in-place update re-runs a
 * job that already completed whenever the task spec differs in the least, pull options included:
 * swarmkit's updater replaces every task it finds dirty, a completed task of a job that restarts
 * `on-failure` counts as updatable (moby/swarmkit manager/orchestrator/restart/restart.go
 * UpdatableTasksInSlot), and `IsTaskDirty` ignores a change of `PullOptions` only for a task between
 * Ready and Running (manager/orchestrator/task.go), never for a completed one. The Docker provider
 * sends the registry auth with every update, whatever changed (kreuzwerker/terraform-provider-docker
 * internal/provider/resource_docker_service_funcs.go resourceDockerServiceUpdate), the daemon stores
 * it as the spec's `PullOptions` (moby/moby daemon/cluster/services.go UpdateService), and that auth
 * is a new ECR token whenever the helper fetched one (tokens last 12 hours; a fresh CI runner has no
 * cached one): so a change of a label or of the update policy re-ran a finished job, and its wait,
 * triggered by the task spec only, never noticed (test/contract/swarm.contract.ts shows both). Replaced, the old service and its
 * tasks go first (delete before replace: the service name is fixed and engine-wide), the new one runs
 * the job once, and the wait runs again because its triggers carry the service id (jobs.ts).
 * `replaceOnChanges: ["*"]` covers every property (pulumi/pulumi v3.248.0
 * sdk/go/common/resource/properties_path.go Contains: `*` contains any path).
 */
export function swarmServiceOptions(spec: WorkloadSpec): { replaceOnChanges?: string[]; deleteBeforeReplace?: boolean } {
    return isJob(spec) ? { replaceOnChanges: ["*"], deleteBeforeReplace: true } : {};
}
const hasPublicPort = (spec: WorkloadSpec) => (spec.ports ?? []).some((p) => p.public);

/**
 * Replicas Swarm runs. Swarm has no autoscaler, so an autoscaled workload runs its `min`; on the
 * local engine a host-published port can be bound by one task only, so such a workload runs one.
 * `notes` says what was changed and why, for the deploy-time warning.
 */
export function swarmReplicas(spec: WorkloadSpec, engine: SwarmEngine): { replicas: number; notes: string[] } {
    const notes: string[] = [];
    if (isJob(spec)) return { replicas: 1, notes };
    let replicas = initialReplicas(spec);
    if (spec.autoscaling) {
        notes.push(
            `Swarm has no autoscaler: running ${replicas} replicas (autoscaling.min ${spec.autoscaling.min}; max ${spec.autoscaling.max} and the ${spec.autoscaling.cpuPercent}% CPU target are not applied)`,
        );
    }
    if (engine === "local" && hasPublicPort(spec) && replicas > 1) {
        notes.push(`on the local engine a public port is bound on this machine by one task only: running 1 replica instead of ${replicas}`);
        replicas = 1;
    }
    if (hasPersistentVolume(spec) && replicas > 1) {
        throw new Error(`workload ${spec.name}: a persistent volume holds one replica's data, so replicas must be 1 on Swarm (got ${replicas}); allowed: replicas 1, or a shared volume`);
    }
    return { replicas, notes };
}

/** Public ports: ingress (routing mesh) on EC2 behind the load balancer, host mode on the local engine. */
export function swarmPorts(endpoints: readonly PublicEndpoint[], engine: SwarmEngine): Inputs.ServiceEndpointSpecPort[] {
    return endpoints.map((endpoint) => ({
        name: endpoint.portName,
        protocol: "tcp",
        targetPort: endpoint.containerPort,
        publishedPort: endpoint.publishedPort,
        publishMode: engine === "local" ? "host" : "ingress",
    }));
}

/** Docker object names are engine-wide, so they carry the stack; the service name is also the workload's DNS name. */
export const swarmServiceName = (stack: string, workload: string) => `${stack}-${workload}`;

/** Docker object names are engine-wide, so they carry the stack. */
export const volumeName = (stack: string, workload: string, volume: string) => `${stack}-${volumeResourceName(workload, volume)}`;

/** Where an EFS-backed volume lives: the file system's DNS name and the access point's root directory. */
export interface NfsLocation {
    readonly dnsName: pulumi.Input<string>;
    readonly path: pulumi.Input<string>;
}

/** The directory an EFS access point roots a volume at. */
export const efsPath = (stack: string, workload: string, volume: string) => `/dockyard/${stack}/${workload}/${volume}`;

/** Mount options AWS recommends for EFS over NFSv4.1. */
export const EFS_NFS_OPTIONS = "nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport";

/**
 * Mounts of the container: `ephemeral` volumes are tmpfs; `persistent` and `shared` are named
 * volumes, local on the local engine and NFS on EFS (through the local driver) on EC2; a read-only
 * root file system gets a tmpfs `/tmp` unless a volume is mounted there.
 */
export function swarmMounts(
    stack: string,
    spec: WorkloadSpec,
    engine: SwarmEngine,
    nfs: (volume: VolumeSpec) => NfsLocation = () => {
        throw new Error(`workload ${spec.name}: EFS location needed for its volumes on engine ec2`);
    },
): Inputs.ServiceTaskSpecContainerSpecMount[] {
    const mounts: Inputs.ServiceTaskSpecContainerSpecMount[] = (spec.volumes ?? []).map((volume) => {
        if (volume.kind === "ephemeral") return { type: "tmpfs", target: volume.mountPath, tmpfsOptions: { mode: 0o1777 } };
        const source = volumeName(stack, spec.name, volume.name);
        if (engine === "local") return { type: "volume", target: volume.mountPath, source };
        const location = nfs(volume);
        return {
            type: "volume",
            target: volume.mountPath,
            source,
            volumeOptions: {
                driverName: "local",
                driverOptions: {
                    type: "nfs",
                    o: pulumi.interpolate`addr=${location.dnsName},${EFS_NFS_OPTIONS}`,
                    device: pulumi.interpolate`:${location.path}`,
                },
            },
        };
    });
    if ((spec.readOnlyRootFilesystem ?? true) && !(spec.volumes ?? []).some((v) => v.mountPath === "/tmp")) {
        mounts.push({ type: "tmpfs", target: "/tmp", tmpfsOptions: { mode: 0o1777 } });
    }
    return mounts;
}

/** `uid` and `gid` of the container user as the Docker API spells them. */
export function userIds(spec: WorkloadSpec): { uid: string; gid: string } {
    const { uid, gid } = userOf(spec);
    return { uid: String(uid), gid: String(gid) };
}

/**
 * The container's privileges, the same as on Kubernetes: every capability dropped and only
 * `privileges.capabilities` added, and ports below 1024 open only with NET_BIND_SERVICE. With ALL
 * dropped the engine gives the container exactly the added capabilities, not Docker's defaults plus
 * them (moby/moby daemon/pkg/oci/caps/utils.go TweakCapabilities: `"Drop" all capabilities; use
 * what's in capAdd instead`). Docker opens the low ports to every process of a container unless its
 * sysctl says otherwise (`unprivilegedPortStart`). The provider passes `cap_add`, `cap_drop` and
 * `sysctl` of a service's container spec as `CapabilityAdd`, `CapabilityDrop` and `Sysctls`
 * (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_service_structures.go),
 * which the Engine API has for services from 1.41 (Docker 20.10: moby/moby api/docs/v1.41.yaml
 * ContainerSpec; older versions have them stripped, daemon/server/router/swarm/helpers.go) and
 * 1.40 (api/docs/v1.40.yaml). No added capability leaves `capAdds` out, as before.
 */
export function swarmPrivileges(spec: WorkloadSpec): Pick<Inputs.ServiceTaskSpecContainerSpec, "capDrops" | "capAdds" | "sysctl"> {
    const added = spec.privileges?.capabilities ?? [];
    return {
        capDrops: ["ALL"],
        ...(added.length > 0 ? { capAdds: [...added] } : {}),
        sysctl: { [UNPRIVILEGED_PORT_SYSCTL]: unprivilegedPortStart(spec) },
    };
}

/**
 * The Docker name of a secret: Swarm secrets are immutable, so a changed value gets a new name,
 * which changes the service spec and rolls its tasks onto the new secret. The suffix is twelve hex
 * digits of an HMAC-SHA-256, keyed by the stack's own random key (`SECRET_NAME_KEY_BYTES`, kept a
 * Pulumi secret), over the workload, name and value: names show in every diff and in `docker secret
 * ls`, and an unkeyed hash of the value there would let anyone test guesses of it offline.
 */
export function secretDockerName(stack: string, workload: string, name: string, value: string, key: Buffer): string {
    if (key.length < SECRET_NAME_KEY_BYTES) throw new Error(`secret names of stack ${stack}: the HMAC key has ${key.length} bytes; allowed: at least ${SECRET_NAME_KEY_BYTES}`);
    const mac = crypto.createHmac("sha256", key).update(`${workload}\0${name}\0${value}`).digest("hex").slice(0, 12);
    return `${stack}-${workload}-${name}-${mac}`;
}

/**
 * swarmkit's rules for the names dockyard gives a stack's Swarm objects (moby/swarmkit
 * manager/controlapi/common.go: validateAnnotations and isValidDNSName for services, at most 63
 * characters; validateConfigOrSecretAnnotations for secrets, at most 64 of [a-zA-Z0-9-_.]); the
 * contract suite checks them on the real engine.
 */
export const SWARM_SERVICE_NAME_MAX = 63;
export const SWARM_SECRET_NAME_MAX = 64;
const SWARM_SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;

/**
 * What the stack's name and its workloads' names make on Swarm that the engine refuses or that
 * misroutes: a service name (`<stack>-<workload>`) too long or not a DNS name, a secret's Docker
 * name too long, and a workload named `<stack>-<another workload>`, whose network alias would be the
 * other's service name, so that one DNS name answers with both services' addresses (libnetwork
 * registers a service's name and each alias: moby/moby libnetwork/service_common.go
 * addEndpointNameResolution). Pure: runs before any resource exists.
 */
export function swarmNameProblems(stack: string, all: readonly WorkloadSpec[]): string[] {
    const problems: string[] = [];
    const specs = all.filter(isNamed);
    const services = new Map(specs.map((s) => [swarmServiceName(stack, s.name), s.name]));
    for (const spec of specs) {
        const at = `workload ${JSON.stringify(spec.name)}`;
        const service = swarmServiceName(stack, spec.name);
        if (service.length > SWARM_SERVICE_NAME_MAX || !SWARM_SERVICE_NAME.test(service)) {
            problems.push(
                `${at}: its Swarm service name ${JSON.stringify(service)} (<stack>-<workload>) has ${service.length} characters; allowed: at most ${SWARM_SERVICE_NAME_MAX} letters, digits, - and _, starting and ending with a letter or digit (a shorter workload or stack name)`,
            );
        }
        const alias = services.get(spec.name);
        if (alias !== undefined) {
            problems.push(`${at}: its name is the Swarm service name of workload ${JSON.stringify(alias)} in stack ${JSON.stringify(stack)}, so one name on the overlay network would answer for both; allowed: a name other than ${stack}-<another workload>`);
        }
        for (const secret of Object.keys(spec.secrets ?? {})) {
            // The name's length does not depend on the value or the key, only on its format.
            const length = secretDockerName(stack, spec.name, secret, "", Buffer.alloc(SECRET_NAME_KEY_BYTES)).length;
            if (length > SWARM_SECRET_NAME_MAX) {
                problems.push(`${at}: secrets.${secret} would be the Swarm secret ${JSON.stringify(`${service}-${secret}-<12 hex digits>`)}, ${length} characters; allowed: at most ${SWARM_SECRET_NAME_MAX} (a shorter secret, workload or stack name)`);
            }
        }
    }
    return problems;
}

/** Length of the per-stack key that names secrets (256 bits, the length of an HMAC-SHA-256 output). */
export const SECRET_NAME_KEY_BYTES = 32;

/**
 * What names a job's deployed spec: 16 hex digits of the SHA-256 of its whole task spec as declared
 * (image, command, arguments, env, user, mounts, secret names, resources, restart policy,
 * placement, networks). It labels the job's tasks (`JOB_SPEC_LABEL`) and triggers the wait, so
 * any change that re-runs the job also re-runs the wait, and the wait tells this spec's tasks from
 * earlier ones. Secret values are not in it, only their names, which are keyed MACs.
 */
export function jobSpecDigest(taskSpec: unknown): string {
    return crypto.createHash("sha256").update(JSON.stringify(taskSpec)).digest("hex").slice(0, 16);
}

/** A secret reference: the file `/run/secrets/<name>`, owned by the workload's user, mode 0400. */
export function swarmSecretReference(
    spec: WorkloadSpec,
    name: string,
    secret: { id: pulumi.Input<string>; name: pulumi.Input<string> },
): Inputs.ServiceTaskSpecContainerSpecSecret {
    const { uid, gid } = userIds(spec);
    return { secretId: secret.id, secretName: secret.name, fileName: name, fileUid: uid, fileGid: gid, fileMode: SECRET_FILE_MODE };
}

export const PLACEMENT_CONSTRAINTS = ["node.platform.os==linux"];

/** Where a stack's workloads run: decided per stack (`workloadNodes` in cluster.ts), the same for every workload. */
export interface NodePlacement {
    /** Only on workers, so that managers keep their CPU and memory for Raft and the control plane. */
    readonly workersOnly: boolean;
    /** A node label whose values the replicas spread over evenly (the AZ label on EC2). */
    readonly spreadLabel?: string;
}

/** Every node may run tasks, and nothing is spread: the local engine's single node. */
export const ANY_NODE: NodePlacement = { workersOnly: false };

/**
 * The task placement: Linux nodes, workers only when the stack keeps workers, and a spread
 * preference over the node label. The provider passes each `prefs` string through as the
 * SpreadDescriptor itself (kreuzwerker/terraform-provider-docker
 * internal/provider/resource_docker_service_structures.go stringSetToPlacementPrefs), and swarmkit
 * ignores a descriptor that does not start with `node.labels.` or `engine.labels.`
 * (moby/swarmkit manager/scheduler/nodeset.go), so the string is `node.labels.<label>`, not the
 * CLI's `spread=node.labels.<label>` that the provider's doc suggests. A node without the label
 * counts as one more group with the value "" (same file), so it still receives tasks.
 */
export function swarmPlacement(nodes: NodePlacement): Inputs.ServiceTaskSpecPlacement {
    return {
        constraints: [...PLACEMENT_CONSTRAINTS, ...(nodes.workersOnly ? ["node.role==worker"] : [])],
        ...(nodes.spreadLabel ? { prefs: [`node.labels.${nodes.spreadLabel}`] } : {}),
    };
}

/** Labels on the service, so operators can find a stack's workloads with `docker service ls -f`. */
export function swarmLabels(stack: string, spec: WorkloadSpec): Inputs.ServiceLabel[] {
    const privileges = privilegesDeclaration(spec);
    return [
        { label: "dockyard.stack", value: stack },
        { label: "dockyard.workload", value: spec.name },
        { label: "dockyard.kind", value: spec.kind ?? "service" },
        // What the policy pack accepts beyond a non-root user without capabilities, and reports.
        ...(privileges === undefined ? [] : [{ label: PRIVILEGES_MARK.swarm, value: privileges }]),
    ];
}

/**
 * Jobs first, each after the jobs it names, then services: the order workloads are declared in so
 * that `after` can point at an already declared job.
 */
export function deploymentOrder(specs: readonly WorkloadSpec[]): WorkloadSpec[] {
    const byName = new Map(specs.map((s) => [s.name, s]));
    for (const spec of specs) {
        for (const dependency of spec.after ?? []) {
            const target = byName.get(dependency);
            if (!target || !isJob(target)) {
                throw new Error(`workload ${spec.name}: after names "${dependency}", which is not a job of this stack; allowed: ${specs.filter(isJob).map((s) => s.name).join(", ") || "no jobs declared"}`);
            }
        }
    }
    const ordered: WorkloadSpec[] = [];
    const visiting = new Set<string>();
    const visit = (spec: WorkloadSpec) => {
        if (ordered.includes(spec)) return;
        if (visiting.has(spec.name)) throw new Error(`workload ${spec.name}: after forms a cycle`);
        visiting.add(spec.name);
        for (const dependency of spec.after ?? []) visit(byName.get(dependency)!);
        ordered.push(spec);
    };
    specs.filter(isJob).forEach(visit);
    specs.filter((s) => !isJob(s)).forEach(visit);
    return ordered;
}
