/**
 * Translates the inputs of `@pulumi/docker` resources, as the Swarm adapter declares them, into the
 * Docker Engine API specs the provider would send (API 1.41, the Swarm objects of Debian's
 * docker.io). The contract suite creates these on a real engine, so the adapter's declarations are
 * checked by the engine itself rather than only by mocks.
 *
 * Every field the adapter may set is listed below with its Engine API counterpart. A field the
 * translator does not know fails loudly, so the adapter cannot start declaring something that this
 * suite silently drops.
 *
 * | @pulumi/docker input                               | Engine API                                        |
 * |----------------------------------------------------|---------------------------------------------------|
 * | Network.name / driver / attachable / options       | NetworkCreate Name / Driver / Attachable / Options |
 * | Network.internal / ingress / ipv6 / labels[]       | Internal / Ingress / EnableIPv6 / Labels{}        |
 * | Secret.name / data (base64) / labels[]             | SecretSpec Name / Data (base64) / Labels{}        |
 * | Service.name / labels[]                            | ServiceSpec Name / Labels{}                       |
 * | mode.replicated.replicas / mode.global             | Mode.Replicated.Replicas / Mode.Global{}          |
 * | taskSpec.containerSpec.image                       | TaskTemplate.ContainerSpec.Image                  |
 * |   commands / args                                  |   Command (the entrypoint) / Args                 |
 * |   env {K: V}                                       |   Env ["K=V"]                                     |
 * |   labels[{label, value}]                           |   Labels{}                                        |
 * |   user / readOnly                                  |   User / ReadOnly                                 |
 * |   capAdds / capDrops                               |   CapabilityAdd / CapabilityDrop                  |
 * |   sysctl {K: V}                                    |   Sysctls {K: V}                                  |
 * |   healthcheck {tests, interval, timeout,           |   HealthCheck {Test, Interval, Timeout,           |
 * |     retries, startPeriod}                          |     Retries, StartPeriod} (durations in ns)       |
 * |   mounts[{type, target, source, readOnly}]         |   Mounts[{Type, Target, Source, ReadOnly}]        |
 * |     tmpfsOptions {mode, sizeBytes}                 |     TmpfsOptions {Mode, SizeBytes}                |
 * |     volumeOptions {driverName, driverOptions,      |     VolumeOptions {DriverConfig {Name, Options},  |
 * |       labels[], noCopy}                            |       Labels{}, NoCopy}                           |
 * |   secrets[{secretId, secretName, fileName,         |   Secrets[{SecretID, SecretName, File {Name,      |
 * |     fileUid, fileGid, fileMode}]                   |     UID, GID, Mode}}]                             |
 * |   stopGracePeriod                                  |   StopGracePeriod (ns)                            |
 * | taskSpec.resources.limits {nanoCpus, memoryBytes}  | TaskTemplate.Resources.Limits {NanoCPUs, MemoryBytes} |
 * | taskSpec.resources.reservation {…}                 | TaskTemplate.Resources.Reservations {…}           |
 * | taskSpec.restartPolicy {condition, delay,          | TaskTemplate.RestartPolicy {Condition, Delay,     |
 * |   maxAttempts, window}                             |   MaxAttempts, Window} (durations in ns)          |
 * | taskSpec.placement {constraints, maxReplicas}      | TaskTemplate.Placement {Constraints, MaxReplicas} |
 * |   prefs ["node.labels.<label>"]                    |   Preferences [{Spread {SpreadDescriptor}}]       |
 * | taskSpec.networksAdvanceds[{id, aliases}]          | TaskTemplate.Networks[{Target, Aliases}]          |
 * | endpointSpec {mode, ports[{name, protocol,         | EndpointSpec {Mode, Ports[{Name, Protocol,        |
 * |   targetPort, publishedPort, publishMode}]}        |   TargetPort, PublishedPort, PublishMode}]}       |
 * | updateConfig / rollbackConfig {parallelism, delay, | UpdateConfig / RollbackConfig {Parallelism, Delay,|
 * |   failureAction, monitor, maxFailureRatio, order}  |   FailureAction, Monitor, MaxFailureRatio, Order} |
 * | convergeConfig {delay, timeout}                    | none: the provider polls tasks itself; the suite  |
 * |                                                    |   waits for convergence the same way              |
 *
 * Ids: under mocks a resource's id is `<name>-id`; `idMap` maps those to the real engine's ids.
 */
import * as rpc from "@pulumi/pulumi/runtime/rpc";

type Json = Record<string, any>;

/** Unwraps Pulumi's secret envelopes so the real values can be sent to the engine. */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Json;
        if (record[rpc.specialSigKey] === rpc.specialSecretSig) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Picks the known fields of an input object and fails on any other one. */
function known(where: string, value: Json | undefined, fields: readonly string[]): Json {
    const input = value ?? {};
    const unknownFields = Object.keys(input).filter((k) => input[k] !== undefined && !fields.includes(k));
    if (unknownFields.length > 0) throw new Error(`${where}: no Engine API translation for ${unknownFields.join(", ")}`);
    return input;
}

/** Drops undefined members, as JSON would, so specs compare cleanly. */
function compact<T extends Json>(object: T): T {
    return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration as the provider accepts it (`500ms`, `5s`, `1m30s`) in nanoseconds. */
export function durationNs(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) throw new Error(`duration "${value}" is not a Go duration`);
    return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit], 0));
}

const labelMap = (labels: { label: string; value: string }[] | undefined) =>
    labels ? Object.fromEntries(labels.map((l) => [l.label, l.value])) : undefined;

export function networkCreateOptions(inputs: Json): Json {
    const n = known("Network", inputs, ["name", "driver", "attachable", "options", "internal", "ingress", "ipv6", "labels"]);
    return compact({ Name: n.name, Driver: n.driver, Attachable: n.attachable, Options: n.options, Internal: n.internal, Ingress: n.ingress, EnableIPv6: n.ipv6, Labels: labelMap(n.labels), CheckDuplicate: true });
}

export function secretSpec(inputs: Json): Json {
    const s = known("Secret", inputs, ["name", "data", "labels"]);
    return compact({ Name: s.name, Data: s.data, Labels: labelMap(s.labels) });
}

function healthCheck(input: Json | undefined): Json | undefined {
    if (!input) return undefined;
    const h = known("healthcheck", input, ["tests", "interval", "timeout", "retries", "startPeriod"]);
    return compact({ Test: h.tests, Interval: durationNs(h.interval), Timeout: durationNs(h.timeout), Retries: h.retries, StartPeriod: durationNs(h.startPeriod) });
}

function mount(input: Json): Json {
    const m = known("mount", input, ["type", "target", "source", "readOnly", "tmpfsOptions", "volumeOptions"]);
    const tmpfs = m.tmpfsOptions && known("tmpfsOptions", m.tmpfsOptions, ["mode", "sizeBytes"]);
    const volume = m.volumeOptions && known("volumeOptions", m.volumeOptions, ["driverName", "driverOptions", "labels", "noCopy"]);
    return compact({
        Type: m.type,
        Target: m.target,
        Source: m.source,
        ReadOnly: m.readOnly,
        TmpfsOptions: tmpfs && compact({ Mode: tmpfs.mode, SizeBytes: tmpfs.sizeBytes }),
        VolumeOptions:
            volume &&
            compact({
                DriverConfig: volume.driverName || volume.driverOptions ? compact({ Name: volume.driverName, Options: volume.driverOptions }) : undefined,
                Labels: labelMap(volume.labels),
                NoCopy: volume.noCopy,
            }),
    });
}

function secretReference(input: Json, idMap: Record<string, string>): Json {
    const s = known("secret reference", input, ["secretId", "secretName", "fileName", "fileUid", "fileGid", "fileMode"]);
    return { SecretID: idMap[s.secretId] ?? s.secretId, SecretName: s.secretName, File: { Name: s.fileName, UID: s.fileUid ?? "0", GID: s.fileGid ?? "0", Mode: s.fileMode ?? 0o444 } };
}

function resourceSet(where: string, input: Json | undefined): Json | undefined {
    if (!input) return undefined;
    const r = known(where, input, ["nanoCpus", "memoryBytes"]);
    return compact({ NanoCPUs: r.nanoCpus, MemoryBytes: r.memoryBytes });
}

function updatePolicy(where: string, input: Json | undefined): Json | undefined {
    if (!input) return undefined;
    const u = known(where, input, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"]);
    return compact({
        Parallelism: u.parallelism,
        Delay: durationNs(u.delay),
        FailureAction: u.failureAction,
        Monitor: durationNs(u.monitor),
        MaxFailureRatio: u.maxFailureRatio === undefined ? undefined : Number(u.maxFailureRatio),
        Order: u.order,
    });
}

/** The ServiceSpec (`POST /services/create` body) for a `docker.Service`'s inputs. */
export function serviceSpec(inputs: Json, idMap: Record<string, string>): Json {
    const s = known("Service", inputs, ["name", "labels", "mode", "taskSpec", "endpointSpec", "updateConfig", "rollbackConfig", "convergeConfig"]);
    const mode = known("mode", s.mode, ["replicated", "global"]);
    const task = known("taskSpec", s.taskSpec, ["containerSpec", "resources", "restartPolicy", "placement", "networksAdvanceds"]);
    const c = known("containerSpec", task.containerSpec, [
        "image", "commands", "args", "env", "labels", "user", "readOnly", "capAdds", "capDrops", "sysctl", "healthcheck", "mounts", "secrets", "stopGracePeriod",
    ]);
    const resources = task.resources && known("resources", task.resources, ["limits", "reservation"]);
    const restart = task.restartPolicy && known("restartPolicy", task.restartPolicy, ["condition", "delay", "maxAttempts", "window"]);
    const placement = task.placement && known("placement", task.placement, ["constraints", "maxReplicas", "prefs"]);
    const endpoint = s.endpointSpec && known("endpointSpec", s.endpointSpec, ["mode", "ports"]);
    return compact({
        Name: s.name,
        Labels: labelMap(s.labels),
        Mode: mode.global ? { Global: {} } : { Replicated: compact({ Replicas: mode.replicated?.replicas }) },
        TaskTemplate: compact({
            ContainerSpec: compact({
                Image: c.image,
                Command: c.commands,
                Args: c.args,
                Env: c.env ? Object.entries(c.env).map(([k, v]) => `${k}=${v}`) : undefined,
                Labels: labelMap(c.labels),
                User: c.user,
                ReadOnly: c.readOnly,
                CapabilityAdd: c.capAdds,
                CapabilityDrop: c.capDrops,
                Sysctls: c.sysctl,
                HealthCheck: healthCheck(c.healthcheck),
                Mounts: c.mounts?.map(mount),
                Secrets: c.secrets?.map((ref: Json) => secretReference(ref, idMap)),
                StopGracePeriod: durationNs(c.stopGracePeriod),
            }),
            Resources: resources && compact({ Limits: resourceSet("limits", resources.limits), Reservations: resourceSet("reservation", resources.reservation) }),
            RestartPolicy:
                restart && compact({ Condition: restart.condition, Delay: durationNs(restart.delay), MaxAttempts: restart.maxAttempts, Window: durationNs(restart.window) }),
            Placement:
                placement &&
                compact({
                    Constraints: placement.constraints,
                    // Each string is the spread descriptor itself (kreuzwerker/terraform-provider-docker
                    // internal/provider/resource_docker_service_structures.go stringSetToPlacementPrefs).
                    Preferences: placement.prefs?.map((descriptor: string) => ({ Spread: { SpreadDescriptor: descriptor } })),
                    MaxReplicas: placement.maxReplicas,
                }),
            Networks: task.networksAdvanceds?.map((n: Json) => {
                const network = known("networksAdvanceds", n, ["id", "aliases"]);
                return compact({ Target: idMap[network.id] ?? network.id, Aliases: network.aliases });
            }),
        }),
        EndpointSpec:
            endpoint &&
            compact({
                Mode: endpoint.mode,
                Ports: endpoint.ports?.map((p: Json) => {
                    const port = known("port", p, ["name", "protocol", "targetPort", "publishedPort", "publishMode"]);
                    return compact({ Name: port.name, Protocol: port.protocol, TargetPort: port.targetPort, PublishedPort: port.publishedPort, PublishMode: port.publishMode });
                }),
            }),
        UpdateConfig: updatePolicy("updateConfig", s.updateConfig),
        RollbackConfig: updatePolicy("rollbackConfig", s.rollbackConfig),
    });
}
