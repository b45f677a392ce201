/**
 * The one workload model: a team declares each microservice once with a `WorkloadSpec`, and the
 * stack's target adapter (Kubernetes or Swarm) turns it into that target's resources.
 */
import { posix } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { coversTheInternet, cidrProblem } from "./cidr";
import type { WorkloadOverrides } from "./config";

/** Built from a folder of this repository, or an existing image used as is. */
export type ImageSource =
    | {
          readonly build: {
              /** Build context, relative to the project root. */
              readonly context: string;
              /** Dockerfile relative to the context; default `Dockerfile`. */
              readonly dockerfile?: string;
              readonly args?: Readonly<Record<string, string>>;
              readonly target?: string;
          };
      }
    | { readonly ref: string };

export interface PublicRoute {
    /** Path prefix on the stack's load balancer; default `/`. */
    readonly path?: string;
    /** Host name (under `ingress.domain` when one is set). */
    readonly host?: string;
    /**
     * The CIDR blocks that may reach a public `tcp` port; required for one (an explicit, reviewed
     * choice: on EKS the port becomes an internet-facing network load balancer), and together not
     * the whole internet. Not for `http` ports, which the load balancer serves to everyone.
     */
    readonly sourceRanges?: readonly string[];
}

export interface PortSpec {
    /** A short name such as `http`; unique within the workload. */
    readonly name: string;
    /** The port the container listens on. */
    readonly port: number;
    /** `http` (routed by path/host on an ALB) or `tcp`; default `http`. */
    readonly protocol?: "http" | "tcp";
    /** Present when the port is reachable from the internet; absent keeps it inside the stack. */
    readonly public?: PublicRoute;
}

export interface HealthCheck {
    readonly http?: { readonly path: string; readonly port: number };
    readonly tcp?: { readonly port: number };
    readonly command?: readonly string[];
    readonly intervalSeconds?: number;
    readonly timeoutSeconds?: number;
    readonly failureThreshold?: number;
    readonly startPeriodSeconds?: number;
}

/** Kubernetes quantity syntax on both targets, e.g. cpu `250m`, memory `256Mi`. */
export interface ResourceSpec {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
}

export interface VolumeSpec {
    readonly name: string;
    /** `persistent`: one replica's data; `shared`: read and written by many replicas; `ephemeral`: scratch. */
    readonly kind: "persistent" | "shared" | "ephemeral";
    readonly mountPath: string;
    /** Requested size (Kubernetes quantity) for `persistent` volumes; default `1Gi`. */
    readonly size?: string;
}

export interface UpdatePolicy {
    /** Tasks (Swarm) or surge pods (Kubernetes) replaced at a time; default 1. */
    readonly parallelism?: number;
    readonly delaySeconds?: number;
    /** What a failed update does; default `rollback`. */
    readonly onFailure?: "rollback" | "pause";
    /** `start-first` (new before old) or `stop-first`; default start-first unless a persistent volume forbids it. */
    readonly order?: "start-first" | "stop-first";
}

export interface AutoscalingSpec {
    readonly min: number;
    readonly max: number;
    readonly cpuPercent: number;
}

/**
 * The opt-in for images that must start as root or need a Linux capability: an official nginx binds
 * :80 (`NET_BIND_SERVICE`), the postgres, mysql, mongo and rabbitmq entrypoints start as root and
 * step down (`CHOWN`, `SETUID`, `SETGID`, `DAC_OVERRIDE`, `FOWNER`). The same on both targets:
 * every capability is dropped and only these are added (docs/workloads.md, "Privileges").
 */
export interface Privileges {
    /** The container may run as uid 0 and gid 0; with no `user` it runs as `0:0`. */
    readonly root?: boolean;
    /** Linux capabilities added to an empty set, named without `CAP_` (ALLOWED_CAPABILITIES). */
    readonly capabilities?: readonly string[];
}

/**
 * Capabilities a workload may add: Docker's default set (moby/moby daemon/pkg/oci/caps/defaults.go
 * DefaultCapabilities), which is what an image expects when it runs under `docker run`, without
 * NET_RAW, which the Pod Security Standards' baseline profile does not allow (kubernetes.io/docs/
 * concepts/security/pod-security-standards/, "Capabilities"): the two lists are otherwise equal, so
 * every allowed capability runs under baseline on Kubernetes. Anything else (SYS_ADMIN, NET_ADMIN,
 * ALL) undoes the container's isolation and is refused.
 */
export const ALLOWED_CAPABILITIES = [
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
] as const;

/** The one capability the restricted Pod Security Standard lets a container add (same page, "Capabilities (v1.22+)"). */
export const RESTRICTED_CAPABILITIES: readonly string[] = ["NET_BIND_SERVICE"];

export interface WorkloadSpec {
    /** DNS-1123 label, unique in the stack. */
    readonly name: string;
    /** `service` runs continuously; `job` runs once to completion. Default `service`. */
    readonly kind?: "service" | "job";
    readonly image: ImageSource;
    /** Replaces the image's entrypoint. */
    readonly command?: readonly string[];
    /** Replaces the image's default arguments. */
    readonly args?: readonly string[];
    /** Default 1; `dockyard:workloads.replicas` overrides it per stack. */
    readonly replicas?: number;
    readonly ports?: readonly PortSpec[];
    readonly env?: Readonly<Record<string, string>>;
    /** Pulumi secrets, mounted as files at `/run/secrets/<name>`; never environment variables. */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    readonly resources: ResourceSpec;
    readonly health?: HealthCheck;
    readonly volumes?: readonly VolumeSpec[];
    readonly update?: UpdatePolicy;
    readonly autoscaling?: AutoscalingSpec;
    /** Jobs that must finish before this workload starts. */
    readonly after?: readonly string[];
    /**
     * Services of this stack this workload opens connections to. On Kubernetes, NetworkPolicies admit
     * exactly these (and DNS, and destinations outside the VPC); on Swarm every service shares one overlay network.
     */
    readonly connectsTo?: readonly string[];
    /**
     * Numeric `uid[:gid]` the container runs as; default `10001:10001` (`0:0` with `privileges.root`).
     * uid 0 and gid 0 need `privileges.root`.
     */
    readonly user?: string;
    /**
     * What the container may do beyond dockyard's confinement (non-root, every capability dropped).
     * Left out, nothing. Named for what it grants, so a reviewer finds every escalation of the stack
     * under one field, and the policy pack reports each workload that sets it.
     */
    readonly privileges?: Privileges;
    /** Default true: containers write only to volumes and `/tmp`. */
    readonly readOnlyRootFilesystem?: boolean;
}

/** A public port of a workload as the load balancer and the Swarm adapter see it. */
export interface PublicEndpoint {
    readonly workload: string;
    readonly portName: string;
    readonly containerPort: number;
    /** Port published on the swarm nodes (and target port of the load balancer); stack-unique. */
    readonly publishedPort: number;
    readonly protocol: "http" | "tcp";
    readonly path: string;
    readonly host?: string;
    /** Who may reach a tcp port (`public.sourceRanges`); absent for http, which everyone may reach. */
    readonly sourceRanges?: readonly string[];
}

/** First port published on the swarm nodes; the load balancer forwards public traffic here. */
export const FIRST_PUBLISHED_PORT = 8080;

/** With `direct` ingress the node itself is the listener: its one public http port is HTTP's own. */
export const DIRECT_HTTP_PORT = 80;

/** Ports a public tcp port may not take on a node that is its own listener: HTTP's and the node's own services. */
const DIRECT_RESERVED_PORTS: Readonly<Record<number, string>> = {
    80: "HTTP (it serves the public http port)",
    443: "HTTPS",
    22: "SSH",
    2375: "the Docker API",
    2376: "the Docker API (TLS)",
    2377: "swarm cluster management",
    7946: "swarm gossip",
    4789: "the overlay network (VXLAN)",
};

/**
 * How a swarm publishes public ports: numbered from `first` (behind a load balancer, or on
 * localhost), or `direct` on the node's own address, where the port comes from the workload.
 */
export type PortPublishing = number | "direct";

/**
 * Every public port of the stack's services.
 *
 * Numbered (a load balancer in front, or the local engine): in declaration order, each given a
 * stack-unique node port from `publishing` on, so two workloads that both listen on 8080 never
 * collide; the load balancer's listeners are what clients see.
 *
 * `direct` (the node is the listener, clients see these ports): each port derives from its own
 * workload, never from the others or their order, so adding or reordering workloads moves no
 * traffic: the one public http port gets 80, a public tcp port its container port. Several http
 * ports, a tcp port on 80, 443 or a port of the node's own services, and two tcp ports on one
 * number are refused, naming the workloads, before any resource exists.
 */
export function publicEndpoints(specs: readonly WorkloadSpec[], publishing: PortPublishing = FIRST_PUBLISHED_PORT): PublicEndpoint[] {
    const endpoints: PublicEndpoint[] = [];
    for (const spec of specs) {
        if ((spec.kind ?? "service") !== "service") continue;
        for (const port of spec.ports ?? []) {
            if (!port.public) continue;
            const protocol = port.protocol ?? "http";
            endpoints.push({
                workload: spec.name,
                portName: port.name,
                containerPort: port.port,
                publishedPort: publishing === "direct" ? (protocol === "http" ? DIRECT_HTTP_PORT : port.port) : publishing + endpoints.length,
                protocol,
                path: port.public.path ?? "/",
                host: port.public.host,
                ...(protocol === "tcp" && port.public.sourceRanges ? { sourceRanges: [...port.public.sourceRanges] } : {}),
            });
        }
    }
    if (publishing === "direct") {
        const problems = directPublishingProblems(endpoints);
        if (problems.length > 0) throw new Error(`dockyard:swarm.ingress is "direct" (public ports on the manager's own address):\n  - ${problems.join("\n  - ")}`);
    }
    return endpoints;
}

function directPublishingProblems(endpoints: readonly PublicEndpoint[]): string[] {
    const problems: string[] = [];
    const at = (e: PublicEndpoint) => `workload "${e.workload}" port ${e.portName}`;
    const http = endpoints.filter((e) => e.protocol === "http");
    if (http.length > 1) {
        problems.push(`${http.map(at).join(", ")} are all public http ports; allowed: one (it is served on port ${DIRECT_HTTP_PORT}), or set dockyard:swarm.ingress to "alb" to route several by path or host`);
    }
    const byPort = new Map<number, PublicEndpoint>();
    for (const e of endpoints.filter((x) => x.protocol === "tcp")) {
        const reserved = DIRECT_RESERVED_PORTS[e.publishedPort];
        if (reserved) problems.push(`${at(e)} is a public tcp port on ${e.publishedPort}, which is ${reserved}; allowed: a tcp port other than ${Object.keys(DIRECT_RESERVED_PORTS).join(", ")} (the published port is the container port)`);
        const clash = byPort.get(e.publishedPort);
        if (clash) problems.push(`${at(clash)} and ${at(e)} are both public tcp ports on ${e.publishedPort}; allowed: one workload per published port (the published port is the container port)`);
        byPort.set(e.publishedPort, e);
    }
    return problems;
}

/** Health-check timings when the spec leaves them out; both adapters use these. */
export const HEALTH_DEFAULTS = { intervalSeconds: 10, timeoutSeconds: 3, failureThreshold: 3, startPeriodSeconds: 0 } as const;

/** The uid and gid a container runs as when the spec names no `user`. */
export const DEFAULT_USER = { uid: 10001, gid: 10001 } as const;

/** Where secrets are mounted on both targets; one file per secret. */
export const SECRETS_DIR = "/run/secrets";

/** Scratch directory every container gets, writable even with a read-only root filesystem. */
export const SCRATCH_DIR = "/tmp";

/**
 * Swarm keeps each secret on its own and refuses an empty one or one of 500 KiB or more
 * (moby/swarmkit api/validation/secrets.go ValidateSecretPayload: `len(data) >= MaxSecretSize ||
 * len(data) < 1`, MaxSecretSize = 500 * 1024).
 */
export const SWARM_MAX_SECRET_BYTES = 500 * 1024;

/**
 * Kubernetes keeps a workload's secrets in one Secret, whose values may hold at most 1 MiB together
 * (kubernetes pkg/apis/core/validation/validation.go ValidateSecret: `totalSize > core.MaxSecretSize`,
 * counted over the decoded data, which `stringData` is merged into).
 */
export const KUBERNETES_MAX_SECRET_BYTES = 1024 * 1024;

/**
 * Problems of a workload's secrets by their sizes in bytes (UTF-8, as both adapters store them).
 * Both targets' limits apply whichever runs the stack, so a spec that deploys on one deploys on
 * the other. Names keys (as `field` spells them) and sizes only, never a value.
 */
export function secretSizeProblems(bytesByKey: Readonly<Record<string, number>>, field = (key: string) => `secrets.${key}`): string[] {
    const problems: string[] = [];
    let total = 0;
    for (const [key, bytes] of Object.entries(bytesByKey)) {
        total += bytes;
        if (bytes < 1) problems.push(`${field(key)} is empty; allowed: at least 1 byte (Swarm refuses an empty secret)`);
        else if (bytes >= SWARM_MAX_SECRET_BYTES) problems.push(`${field(key)} holds ${bytes} bytes; allowed: fewer than ${SWARM_MAX_SECRET_BYTES} (500 KiB, Swarm's limit for one secret)`);
    }
    const together = secretTotalProblem(total);
    if (together) problems.push(together);
    return problems;
}

/** The problem of a workload whose secrets hold `total` bytes together, if Kubernetes' one Secret cannot. */
export function secretTotalProblem(total: number): string | undefined {
    return total > KUBERNETES_MAX_SECRET_BYTES ? `secrets hold ${total} bytes together; allowed: at most ${KUBERNETES_MAX_SECRET_BYTES} (1 MiB, Kubernetes' limit for the workload's one Secret)` : undefined;
}

const byteSizes = (values: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.byteLength(value, "utf8")]));

/**
 * The workload's secrets, each a secret Output that fails the deployment with a RunError (key and
 * size, never the value) when it breaks a limit for one secret. Plain strings are checked by
 * validateWorkloads before any resource; values that are Outputs (config secrets, other resources)
 * are known only here, as the preview or update resolves them. Each is checked on its own, so one
 * secret still unknown in a preview leaves the others known and their resources unchanged.
 */
export function checkedSecrets(spec: WorkloadSpec): Record<string, pulumi.Output<string>> {
    const fail = (problem: string) => {
        throw new pulumi.RunError(`workload ${show(spec.name)}: ${problem}`);
    };
    return Object.fromEntries(
        Object.entries(spec.secrets ?? {}).map(([key, value]) => [
            key,
            pulumi.secret(
                pulumi.output(value).apply((resolved: unknown) => {
                    if (typeof resolved !== "string") return fail(`secrets.${key} resolved to ${kindOf(resolved)}; allowed: a string`);
                    const problems = secretSizeProblems(byteSizes({ [key]: resolved }));
                    return problems.length > 0 ? fail(problems.join("; ")) : resolved;
                }),
            ),
        ]),
    );
}

/**
 * `then` once the workload's secrets together fit Kubernetes' limit for one Secret (a RunError
 * naming the total otherwise); known once every secret is. Both adapters wait for it, so a spec
 * that deploys on one target deploys on the other.
 */
export function afterSecretTotal<T>(spec: WorkloadSpec, secrets: Record<string, pulumi.Output<string>>, then: T): pulumi.Output<pulumi.Unwrap<T>> {
    return pulumi.all(secrets).apply((values) => {
        // Each value has passed its own limits (checkedSecrets), so only the total can be left.
        const problems = secretSizeProblems(byteSizes(values));
        if (problems.length > 0) throw new pulumi.RunError(`workload ${show(spec.name)}: ${problems.join("; ")}`);
        return pulumi.output(then);
    });
}

/** Volumes dockyard adds itself (scratch, secrets) are named with this prefix. */
export const RESERVED_VOLUME_PREFIX = "dockyard-";

/** Size of a `persistent` or `shared` volume when the spec gives none. */
export const DEFAULT_VOLUME_SIZE = "1Gi";

/** Docker refuses a task with less than a hundredth of a CPU (NanoCPUs below 1e7). */
const MIN_NANO_CPUS = 10_000_000n;

/** Docker refuses a memory limit below 6 MiB; Kubernetes containers would not start either. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/**
 * The largest CPU (in nanocores) and memory or size (in bytes) either target can hold: Swarm counts
 * them in int64 (moby/swarmkit api/types.proto Resources: nano_cpus, memory_bytes), and Kubernetes
 * caps a binary-SI quantity at 2^63-1 (kubernetes/apimachinery pkg/api/resource/quantity.go
 * ParseQuantity, maxAllowed) while it keeps a decimal one uncapped (`1e400` parses), which its int64
 * readers (MilliValue, Value) then overflow.
 */
const INT64_MAX = 2n ** 63n - 1n;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes port names (IANA service names): at most 15 characters, at least one letter, no `--`. */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/;
const USER = /^(\d+)(?::(\d+))?$/;
const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?\d+)?$/;
const QUANTITY_FACTOR: Record<string, number> = {
    "": 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The exponents of the suffixes (apimachinery pkg/api/resource/suffix.go newSuffixer). */
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = { "": 0, n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENT: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/**
 * A Kubernetes quantity counted exactly in units of 10^-`scale` (scale 9: nanocores, 0: bytes),
 * rounded up as apimachinery rounds (quantity.go ParseQuantity: "if you want some resources, you
 * should get some"), or undefined when the text is not one. No float is involved, so `99999999Ei`
 * or `1e400` are compared with INT64_MAX as they are; anything above 2^63 comes back as 2^63.
 * The grammar is apimachinery's without a sign or a trailing `.`; `E` alone is exa, `E3` an exponent.
 */
export function quantityUnits(text: string, scale: number): bigint | undefined {
    const match = QUANTITY.exec(text);
    if (!match) return undefined;
    const [, number, suffix = ""] = match;
    const [whole, fraction = ""] = number.split(".");
    const digits = BigInt(`${whole}${fraction}` || "0");
    if (digits === 0n) return 0n;
    const binary = BINARY_EXPONENT[suffix] ?? 0;
    const decimal = /^[eE][-+]?\d/.test(suffix) ? Number(suffix.slice(1)) : (DECIMAL_EXPONENT[suffix] ?? 0);
    const power = decimal - fraction.length + scale;
    const over = 2n ** 63n;
    // Whole-number magnitude first, so `1e99999999` costs nothing: 10^19 > 2^63 and 2^60 < 10^19.
    if (power + digits.toString().length - 1 + binary * Math.log10(2) > 19) return over;
    const numerator = digits * 2n ** BigInt(binary) * (power > 0 ? 10n ** BigInt(power) : 1n);
    if (power >= 0) return numerator < over ? numerator : over;
    if (-power > numerator.toString().length) return 1n;
    const denominator = 10n ** BigInt(-power);
    return (numerator + denominator - 1n) / denominator;
}

/**
 * The value of a Kubernetes quantity (`250m` → 0.25, `256Mi` → 268435456), or undefined when the
 * text is not one, as a float: for estimates (costs, sizes); checks and conversions use quantityUnits.
 */
export function parseQuantity(text: string): number | undefined {
    const match = QUANTITY.exec(text);
    if (!match) return undefined;
    const [, number, suffix = ""] = match;
    const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : QUANTITY_FACTOR[suffix];
    return Number(number) * factor;
}

/** The uid and gid a container runs as when the spec names no `user` but asks for `privileges.root`. */
export const ROOT_USER = { uid: 0, gid: 0 } as const;

/**
 * The numeric uid and gid of `spec.user`, defaulting to DEFAULT_USER, or ROOT_USER with
 * `privileges.root`: root as the image's entrypoint expects it (as `docker run` starts it), written
 * out rather than left to the image's USER, so both targets run the same ids and own secrets and
 * volumes alike. A lone uid uses itself as gid.
 */
export function userOf(spec: WorkloadSpec): { uid: number; gid: number } {
    const match = spec.user === undefined ? undefined : USER.exec(spec.user);
    if (!match) return spec.privileges?.root === true ? { ...ROOT_USER } : { ...DEFAULT_USER };
    const uid = Number(match[1]);
    return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

/** Replicas a workload starts with: autoscaling's `min` when it autoscales, else `replicas` (default 1). */
export function initialReplicas(spec: WorkloadSpec): number {
    return spec.autoscaling ? Math.max(spec.autoscaling.min, spec.replicas ?? spec.autoscaling.min) : (spec.replicas ?? 1);
}

const isJob = (spec: WorkloadSpec) => (spec.kind ?? "service") === "job";
const show = (value: unknown) => JSON.stringify(value) ?? String(value);
const isInt = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

function duplicates(values: readonly unknown[]): unknown[] {
    return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

/**
 * The fields each part of a spec may have. `tsc` refuses others, but the render and `pulumi up` run
 * transpile-only (ts-node), so a typo such as `replica: 3` would otherwise deploy one replica.
 */
const SPEC_FIELDS = {
    "": ["name", "kind", "image", "command", "args", "replicas", "ports", "env", "secrets", "resources", "health", "volumes", "update", "autoscaling", "after", "connectsTo", "user", "privileges", "readOnlyRootFilesystem"],
    privileges: ["root", "capabilities"],
    image: ["build", "ref"],
    "image.build": ["context", "dockerfile", "args", "target"],
    "ports[]": ["name", "port", "protocol", "public"],
    "ports[].public": ["path", "host", "sourceRanges"],
    resources: ["requests", "limits"],
    "resources.requests": ["cpu", "memory"],
    "resources.limits": ["cpu", "memory"],
    health: ["http", "tcp", "command", "intervalSeconds", "timeoutSeconds", "failureThreshold", "startPeriodSeconds"],
    "health.http": ["path", "port"],
    "health.tcp": ["port"],
    "volumes[]": ["name", "kind", "mountPath", "size"],
    update: ["parallelism", "delaySeconds", "onFailure", "order"],
    autoscaling: ["min", "max", "cpuPercent"],
} as const satisfies Record<string, readonly string[]>;

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
const isStringList = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === "string");
/** What a value is, without quoting it: for fields whose value may be a secret. */
const kindOf = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "a list" : typeof value === "object" ? "an object" : `a ${typeof value}`);

/**
 * Whether the workload's name is a string. One that is not (an Output, a number, missing) is
 * refused by validateWorkloads, which names it readably; the checks that label a problem with the
 * name, or look the workload up by it, leave such a workload out.
 */
export const isNamed = (spec: WorkloadSpec): boolean => typeof spec.name === "string";

/** Whether a value is known only once resources exist: a Pulumi Output, or a Promise. */
const isDeferred = (value: unknown) => pulumi.Output.isInstance(value) || value instanceof Promise;

const DEFERRED_ALLOWED =
    "a plain value: the workloads are checked before any resource exists, so only a secret's value may be an Output (secrets, from generatedSecret or configSecret)";

/** The paths in `value`, named from `at`, that hold a deferred value (`isDeferred`). */
function deferredPaths(value: unknown, at: string): string[] {
    if (isDeferred(value)) return [at];
    if (Array.isArray(value)) return value.flatMap((item, i) => deferredPaths(item, `${at}[${i}]`));
    if (isRecord(value)) return Object.entries(value).flatMap(([key, item]) => deferredPaths(item, `${at}.${key}`));
    return [];
}

/**
 * The spec with every field of the wrong JavaScript type left out, and a problem for each. `tsc`
 * refuses them, but the program runs transpile-only, and a string where a list belongs would
 * otherwise be spread into characters (`command: "sh -c x"` runs `s`), an object where a list
 * belongs throws, and a list where an object belongs deploys nothing. The checks that follow see
 * only well-typed fields, so every other problem is still reported.
 */
function shaped(spec: WorkloadSpec): { spec: WorkloadSpec; problems: string[]; deferred: string[] } {
    const problems: string[] = [];
    const deferred: string[] = [];
    const s: Record<string, unknown> = { ...spec };
    const refuse = (field: string, shown: string, allowed: string) => problems.push(`${field} is ${shown}; allowed: ${allowed}`);
    // Before the type checks, which would print the Output's "Calling [toJSON] on an [Output<T>]" warning as its value.
    for (const field of Object.keys(s)) {
        // A secret's value may be an Output; the secrets object itself may not.
        const paths = field === "secrets" ? (isDeferred(s.secrets) ? ["secrets"] : []) : deferredPaths(s[field], field);
        if (paths.length === 0) continue;
        for (const at of paths) refuse(at, "a Pulumi Output or a Promise", DEFERRED_ALLOWED);
        deferred.push(field);
        delete s[field];
    }
    for (const field of ["command", "args", "after", "connectsTo"] as const) {
        if (s[field] !== undefined && !isStringList(s[field])) {
            refuse(field, show(s[field]), `a list of strings, such as ${field === "command" ? '["sh", "-c", "exec app"]' : field === "args" ? '["--port", "8080"]' : field === "after" ? '["migrate"]' : '["api"]'}`);
            delete s[field];
        }
    }
    for (const field of ["ports", "volumes"] as const) {
        if (s[field] === undefined) continue;
        if (!Array.isArray(s[field])) {
            refuse(field, show(s[field]), `a list of ${field === "ports" ? "ports ({ name, port })" : "volumes ({ name, kind, mountPath })"}`);
            delete s[field];
            continue;
        }
        (s[field] as unknown[]).forEach((item, i) => {
            if (!isRecord(item)) refuse(`${field}[${i}]`, show(item), `an object with ${field === "ports" ? "name and port" : "name, kind and mountPath"}`);
        });
        s[field] = (s[field] as unknown[]).filter(isRecord);
    }
    if (Array.isArray(s.ports)) {
        s.ports = (s.ports as Record<string, unknown>[]).map((port, i) => {
            if (port.public === undefined || isRecord(port.public)) return port;
            refuse(`ports[${i}].public`, show(port.public), "an object such as { path: \"/\" } (or leave it out to keep the port inside the stack)");
            const rest = { ...port };
            delete rest.public;
            return rest;
        });
    }
    for (const field of ["env", "health", "update", "autoscaling", "privileges"] as const) {
        if (s[field] !== undefined && !isRecord(s[field])) {
            const example = field === "env" ? 'an object of variable name to string, such as { LOG_LEVEL: "info" }' : field === "privileges" ? 'an object such as { root: true } or { capabilities: ["NET_BIND_SERVICE"] }' : "an object";
            refuse(field, show(s[field]), example);
            delete s[field];
        }
    }
    if (s.secrets !== undefined && !isRecord(s.secrets)) {
        refuse("secrets", kindOf(s.secrets), "an object of secret name to a string or a Pulumi secret");
        delete s.secrets;
    }
    if (s.user !== undefined && typeof s.user !== "string") {
        refuse("user", show(s.user), 'a string "uid[:gid]", such as "10001:10001"');
        delete s.user;
    }
    const health = s.health as Record<string, unknown> | undefined;
    for (const probe of ["http", "tcp"] as const) {
        if (health?.[probe] !== undefined && !isRecord(health[probe])) refuse(`health.${probe}`, show(health[probe]), probe === "http" ? '{ path, port }, such as { path: "/healthz", port: 8080 }' : "{ port }");
    }
    const build = isRecord(s.image) && isRecord(s.image.build) ? s.image.build : undefined;
    if (build?.args !== undefined && !(isRecord(build.args) && Object.values(build.args).every((v) => typeof v === "string"))) {
        refuse("image.build.args", show(build.args), 'an object of build argument to string, such as { NODE_ENV: "production" }');
    }
    return { spec: s as unknown as WorkloadSpec, problems, deferred };
}

/** Every field of `spec` that `WorkloadSpec` does not declare, with the closest declared one. */
function unknownFieldProblems(spec: WorkloadSpec, bad: Bad): void {
    const check = (value: unknown, shape: keyof typeof SPEC_FIELDS, at: string) => {
        if (value === null || typeof value !== "object" || Array.isArray(value)) return;
        const allowed: readonly string[] = SPEC_FIELDS[shape];
        for (const key of Object.keys(value)) {
            if (allowed.includes(key)) continue;
            const near = closest(key, allowed);
            bad(at === "" ? key : `${at}.${key}`, (value as Record<string, unknown>)[key], `a field WorkloadSpec declares${near ? ` (did you mean ${near}?)` : ""}: ${allowed.join(", ")}`);
        }
    };
    const s = spec as unknown as Record<string, any>;
    check(s, "", "");
    check(s.image, "image", "image");
    check(s.image?.build, "image.build", "image.build");
    (Array.isArray(s.ports) ? s.ports : []).forEach((port: any, i: number) => {
        check(port, "ports[]", `ports[${i}]`);
        check(port?.public, "ports[].public", `ports[${i}].public`);
    });
    check(s.resources, "resources", "resources");
    check(s.resources?.requests, "resources.requests", "resources.requests");
    check(s.resources?.limits, "resources.limits", "resources.limits");
    check(s.health, "health", "health");
    check(s.health?.http, "health.http", "health.http");
    check(s.health?.tcp, "health.tcp", "health.tcp");
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((volume: any, i: number) => check(volume, "volumes[]", `volumes[${i}]`));
    check(s.update, "update", "update");
    check(s.autoscaling, "autoscaling", "autoscaling");
    check(s.privileges, "privileges", "privileges");
}

/** The candidate at most `maxDistance` edits from `word` (ignoring case), if there is one. */
export function closest(word: string, candidates: readonly string[], maxDistance = 2): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let previous = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const current = row[j];
                row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
                previous = current;
            }
        }
        return row[b.length];
    };
    const [best] = candidates.map((c) => ({ c, d: distance(word, c) })).sort((x, y) => x.d - y.d);
    return best && best.d <= maxDistance ? best.c : undefined;
}

/**
 * What is wrong with the source ranges of a public tcp port, or undefined. They are required: on
 * EKS a public tcp port becomes an internet-facing network load balancer (the AWS Load Balancer
 * Controller's `internet-facing` scheme) that admits only `loadBalancerSourceRanges`, and on
 * Swarm the security group admits only them; the policy pack refuses ranges that cover the internet.
 */
function sourceRangesProblem(ranges: unknown): string | undefined {
    const example = 'the CIDR blocks that may reach this tcp port, such as ["203.0.113.0/24"]';
    if (!Array.isArray(ranges) || ranges.length === 0) return `${example}: a public tcp port is open only to the ranges listed here`;
    const malformed = ranges.filter((r) => cidrProblem(r as string, "any") !== undefined);
    if (malformed.length > 0) return `${example} (${malformed.map((r) => `${show(r)} is not a CIDR block`).join("; ")})`;
    if (coversTheInternet(ranges as string[])) return `${example}, which together do not cover the whole internet (these do; only http ports face everyone, through the load balancer)`;
    return undefined;
}

/** Problems of one workload in isolation; `field` paths follow the spec (`ports[0].port`). */
function workloadProblems(spec: WorkloadSpec): string[] {
    const problems: string[] = [];
    const bad = (field: string, value: unknown, allowed: string) => problems.push(`${field} is ${show(value)}; allowed: ${allowed}`);
    const job = isJob(spec);

    unknownFieldProblems(spec, bad);

    if (!["service", "job"].includes(spec.kind ?? "service")) bad("kind", spec.kind, "service or job");
    imageProblems(spec.image, bad);
    if (spec.command !== undefined && spec.command.length === 0) bad("command", spec.command, "at least one element, or leave it out to keep the image's entrypoint");
    if (spec.replicas !== undefined) {
        if (!isInt(spec.replicas, 0, 1000)) bad("replicas", spec.replicas, "a whole number from 0 to 1000");
        else if (job && spec.replicas !== 1) bad("replicas", spec.replicas, "1 for a job (it runs once), or leave it out");
    }

    const ports = spec.ports ?? [];
    ports.forEach((port, i) => {
        const at = `ports[${i}]`;
        if (typeof port.name !== "string" || !PORT_NAME.test(port.name)) bad(`${at}.name`, port.name, "lowercase letters, digits and single hyphens, at most 15 characters, at least one letter");
        if (!isInt(port.port, 1, 65535)) bad(`${at}.port`, port.port, "1 to 65535");
        const protocol = port.protocol ?? "http";
        if (!["http", "tcp"].includes(protocol)) bad(`${at}.protocol`, port.protocol, "http or tcp");
        if (!port.public) return;
        if (job) bad(`${at}.public`, port.public, "nothing on a job (jobs are not reachable from the internet)");
        if (port.public.path !== undefined && (protocol !== "http" || !/^\/[^\s]*$/.test(port.public.path))) {
            bad(`${at}.public.path`, port.public.path, protocol === "http" ? "a path starting with / and without spaces" : "nothing on a tcp port (only http ports are routed by path)");
        }
        if (port.public.host !== undefined && (protocol !== "http" || !DNS_SUBDOMAIN.test(port.public.host))) {
            bad(`${at}.public.host`, port.public.host, protocol === "http" ? "a lowercase DNS name such as api.example.com" : "nothing on a tcp port (only http ports are routed by host)");
        }
        const problem = protocol === "tcp" ? sourceRangesProblem(port.public.sourceRanges) : port.public.sourceRanges === undefined ? undefined : "nothing on an http port (the load balancer serves http ports to everyone; make it a tcp port to limit who reaches it)";
        if (problem) bad(`${at}.public.sourceRanges`, port.public.sourceRanges, problem);
    });
    const tcpRanges = ports.flatMap((p, i) => ((p.protocol ?? "http") === "tcp" && p.public && Array.isArray(p.public.sourceRanges) ? [{ i, ranges: [...p.public.sourceRanges].sort().join(",") }] : []));
    for (const other of tcpRanges.slice(1).filter((r) => r.ranges !== tcpRanges[0].ranges)) {
        bad(`ports[${other.i}].public.sourceRanges`, ports[other.i].public!.sourceRanges, `the same ranges as ports[${tcpRanges[0].i}].public.sourceRanges (on EKS a workload's public tcp ports share one network load balancer)`);
    }
    for (const name of duplicates(ports.map((p) => p.name))) bad("ports[].name", name, "names unique within the workload");
    for (const port of duplicates(ports.map((p) => p.port))) bad("ports[].port", port, "port numbers unique within the workload");

    for (const key of Object.keys(spec.env ?? {})) {
        if (!ENV_NAME.test(key)) bad(`env.${key}`, key, "a name of letters, digits and _ that does not start with a digit");
        else if (typeof spec.env![key] !== "string") bad(`env.${key}`, spec.env![key], "a string");
    }
    const plainSecrets: Record<string, string> = {};
    for (const [key, value] of Object.entries(spec.secrets ?? {})) {
        if (!SECRET_NAME.test(key)) bad(`secrets.${key}`, key, "a file name of letters, digits, -, _ and . (it becomes /run/secrets/<name>)");
        if (typeof value === "string") plainSecrets[key] = value;
        // The value's type only: a misplaced value may be the secret itself.
        else if (!pulumi.Output.isInstance(value) && !(value instanceof Promise)) problems.push(`secrets.${key} is ${kindOf(value)}; allowed: a string or a Pulumi secret`);
    }
    problems.push(...secretSizeProblems(byteSizes(plainSecrets)));

    resourceProblems(spec.resources, bad);
    if (spec.health !== undefined) healthProblems(spec.health, bad);
    volumeProblems(spec, bad);

    if (spec.update !== undefined) {
        const u = spec.update;
        if (job) bad("update", u, "nothing on a job (a job is replaced, not rolled)");
        if (u.parallelism !== undefined && !isInt(u.parallelism, 1, 1000)) bad("update.parallelism", u.parallelism, "a whole number from 1 to 1000");
        if (u.delaySeconds !== undefined && !isInt(u.delaySeconds, 0, 3600)) bad("update.delaySeconds", u.delaySeconds, "a whole number of seconds from 0 to 3600");
        if (u.onFailure !== undefined && !["rollback", "pause"].includes(u.onFailure)) bad("update.onFailure", u.onFailure, "rollback or pause");
        if (u.order !== undefined && !["start-first", "stop-first"].includes(u.order)) bad("update.order", u.order, "start-first or stop-first");
        if (u.order === "start-first" && (spec.volumes ?? []).some((v) => v.kind === "persistent")) {
            bad("update.order", u.order, "stop-first on a workload with a persistent volume (two replicas must not write the same data)");
        }
    }

    if (spec.autoscaling !== undefined) {
        const a = spec.autoscaling;
        if (job) bad("autoscaling", a, "nothing on a job");
        if (!isInt(a.min, 1, 1000)) bad("autoscaling.min", a.min, "a whole number from 1 to 1000");
        if (!isInt(a.max, 1, 1000)) bad("autoscaling.max", a.max, "a whole number from 1 to 1000");
        else if (isInt(a.min, 1) && a.max < a.min) bad("autoscaling.max", a.max, `at least autoscaling.min (${a.min})`);
        if (!isInt(a.cpuPercent, 1, 100)) bad("autoscaling.cpuPercent", a.cpuPercent, "a whole percentage from 1 to 100");
        if (spec.replicas !== undefined && isInt(a.min, 1) && isInt(a.max, 1) && (spec.replicas < a.min || spec.replicas > a.max)) {
            bad("replicas", spec.replicas, `a count within autoscaling.min and autoscaling.max (${a.min} to ${a.max}), or leave it out`);
        }
    }

    privilegeProblems(spec, bad);
    if (spec.readOnlyRootFilesystem !== undefined && typeof spec.readOnlyRootFilesystem !== "boolean") bad("readOnlyRootFilesystem", spec.readOnlyRootFilesystem, "true or false");
    return problems;
}

type Bad = (field: string, value: unknown, allowed: string) => void;

const MAX_ID = 2147483647;

/**
 * `user` and `privileges`: uid 0 or gid 0 only with `privileges.root` (a gid 0 process reads and
 * writes every root-group file of the image), `privileges.root` only when the container does run
 * with uid or gid 0, and capabilities from ALLOWED_CAPABILITIES, each once.
 */
function privilegeProblems(spec: WorkloadSpec, bad: Bad): void {
    const privileges = spec.privileges ?? {};
    const root = privileges.root === true;
    if (privileges.root !== undefined && typeof privileges.root !== "boolean") bad("privileges.root", privileges.root, "true or false");
    if (spec.user !== undefined) {
        const match = USER.exec(String(spec.user));
        const uid = Number(match?.[1]);
        const gid = Number(match?.[2] ?? match?.[1]);
        if (!match || uid > MAX_ID || gid > MAX_ID) bad("user", spec.user, "a numeric uid[:gid] such as 10001:10001");
        else if (!root && (uid === 0 || gid === 0)) {
            bad("user", spec.user, `a numeric uid[:gid] without uid 0 or gid 0 (root), such as 10001:10001; or set privileges.root: true to run as ${uid === 0 ? "uid 0" : "gid 0"}`);
        } else if (root && uid !== 0 && gid !== 0) {
            bad("privileges.root", privileges.root, `leave it out: user ${show(spec.user)} runs with neither uid 0 nor gid 0 (or give a user with uid or gid 0)`);
        }
    }
    const capabilities = privileges.capabilities;
    if (capabilities === undefined) return;
    const allowed = `capability names without CAP_ from Docker's default set less NET_RAW: ${ALLOWED_CAPABILITIES.join(", ")}`;
    if (!isStringList(capabilities)) {
        bad("privileges.capabilities", capabilities, `a list of ${allowed}`);
        return;
    }
    capabilities.forEach((capability, i) => {
        const field = `privileges.capabilities[${i}]`;
        if ((ALLOWED_CAPABILITIES as readonly string[]).includes(capability)) return;
        const bare = capability.toUpperCase().replace(/^CAP_/, "");
        if (bare === "ALL") bad(field, capability, `one capability at a time (ALL would give every capability the kernel has): ${allowed}`);
        else if (bare === "SYS_ADMIN") bad(field, capability, `not SYS_ADMIN (it undoes the container's isolation: mounts, namespaces, devices): ${allowed}`);
        else if (bare === "NET_RAW") bad(field, capability, `not NET_RAW (raw sockets can spoof traffic on the stack's network; the baseline Pod Security Standard refuses it): ${allowed}`);
        else if ((ALLOWED_CAPABILITIES as readonly string[]).includes(bare)) bad(field, capability, `${show(bare)}, written in capitals without CAP_; ${allowed}`);
        else bad(field, capability, allowed);
    });
    for (const capability of duplicates(capabilities)) bad("privileges.capabilities", capability, "each capability once");
}

/**
 * What a workload's containers may do beyond dockyard's confinement, as both adapters declare it
 * (the Kubernetes annotation and the Swarm label PRIVILEGES_MARK) and the policy pack reads it:
 * `root` when the container runs with uid or gid 0, then the added capabilities, comma-separated;
 * undefined when there is nothing.
 */
export function privilegesDeclaration(spec: WorkloadSpec): string | undefined {
    const { uid, gid } = userOf(spec);
    const parts = [...(uid === 0 || gid === 0 ? ["root"] : []), ...(spec.privileges?.capabilities ?? [])];
    return parts.length > 0 ? parts.join(",") : undefined;
}

/** The kernel setting of the lowest port a process without CAP_NET_BIND_SERVICE may bind, per network namespace. */
export const UNPRIVILEGED_PORT_SYSCTL = "net.ipv4.ip_unprivileged_port_start";

/**
 * The lowest port any process of the workload may bind: `0` when it asks for NET_BIND_SERVICE,
 * else `1024`; both adapters set it, so "may bind ports below 1024" means the same everywhere. Left
 * to the runtime it differs: Docker sets it to 0 in every container's own network namespace, so
 * on Swarm anyone binds :80 without the capability (moby/moby daemon/oci_linux.go, "allow opening
 * any port less than 1024 without CAP_NET_BIND_SERVICE"; a container's own Sysctls take
 * precedence, WithSysctls), while containerd's CRI does so only with `enable_unprivileged_ports`.
 * And the capability alone reaches only root: the runtimes set no ambient capabilities, so a
 * non-root process loses it at execve (capabilities(7)); the sysctl lets a non-root nginx bind :80.
 */
export const unprivilegedPortStart = (spec: WorkloadSpec): "0" | "1024" => ((spec.privileges?.capabilities ?? []).includes("NET_BIND_SERVICE") ? "0" : "1024");

/** Where the adapters declare a workload's privileges: annotation on Kubernetes objects, label on Swarm services. */
export const PRIVILEGES_MARK = { kubernetes: "dockyard.io/privileges", swarm: "dockyard.privileges" } as const;

/**
 * The Pod Security Standard the stack's namespace enforces: `restricted` unless a workload runs as
 * uid 0 or adds a capability other than NET_BIND_SERVICE, which restricted refuses; then
 * `baseline`, which allows both for ALLOWED_CAPABILITIES (kubernetes.io/docs/concepts/security/
 * pod-security-standards/). `reasons` names each workload and what it needs, for the preview.
 */
export function podSecurityLevel(specs: readonly WorkloadSpec[]): { level: "restricted" | "baseline"; reasons: string[] } {
    const reasons: string[] = [];
    for (const spec of specs) {
        const added = (spec.privileges?.capabilities ?? []).filter((c) => !RESTRICTED_CAPABILITIES.includes(c));
        const needs = [...(userOf(spec).uid === 0 ? ["runs as uid 0"] : []), ...(added.length > 0 ? [`adds ${added.join(", ")}`] : [])];
        if (needs.length > 0) reasons.push(`workload ${show(spec.name)} ${needs.join(" and ")}`);
    }
    return { level: reasons.length > 0 ? "baseline" : "restricted", reasons };
}

function imageProblems(image: ImageSource, bad: Bad): void {
    const source = image as { build?: { context?: unknown }; ref?: unknown } | undefined;
    const hasBuild = source?.build !== undefined;
    const hasRef = source?.ref !== undefined;
    if (hasBuild === hasRef) {
        bad("image", image, "either { build: { context } } or { ref } (exactly one)");
        return;
    }
    if (hasRef) {
        const problem = imageRefProblem(source!.ref);
        if (problem) bad("image.ref", source!.ref, problem);
    }
    if (!hasBuild) return;
    const build = source!.build as { context?: unknown; dockerfile?: unknown };
    if (typeof build.context !== "string" || build.context === "") bad("image.build.context", build.context, "a folder relative to the project root");
    else if (escapesProject(build.context)) bad("image.build.context", build.context, "a folder inside the project, relative to its root (the build would send files from outside it)");
    else if (build.dockerfile !== undefined && (typeof build.dockerfile !== "string" || build.dockerfile === "" || isAbsolute(build.dockerfile) || escapesProject(posix.join(build.context, build.dockerfile)))) {
        bad("image.build.dockerfile", build.dockerfile, "a file inside the project, relative to the build context (default Dockerfile)");
    }
}

/*
 * The grammar of an image reference, built as distribution/reference builds it (regexp.go at
 * v0.6.0-22-g0965666: alphanumeric, separator, pathComponent, domainAndPort, tag, digestPat,
 * referencePat), so a reference Docker or the kubelet would refuse is refused here, before any resource.
 */
const REF_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const REF_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const REF_DOMAIN = `(?:${REF_DOMAIN_COMPONENT}(?:\\.${REF_DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const REFERENCE = new RegExp(`^((?:${REF_DOMAIN}/)?${REF_COMPONENT}(?:/${REF_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);
/** Digests opencontainers/go-digest can verify (algorithm.go anchoredEncodedRegexps): lowercase hex of the hash's length. */
const DIGEST_HEX: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
/** distribution/reference reference.go RepositoryNameTotalLengthMax: the path, without the registry. */
const REPOSITORY_PATH_MAX = 255;

/** What is wrong with an image reference, or undefined (distribution/reference normalize.go ParseNormalizedNamed, then Parse). */
function imageRefProblem(ref: unknown): string | undefined {
    const grammar = "an image reference [registry[:port]/]path[:tag][@digest] (distribution/reference grammar), such as redis:7.4-alpine or ghcr.io/acme/api:1.2@sha256:<64 hex>";
    if (typeof ref !== "string") return grammar;
    if (/^[a-f0-9]{64}$/.test(ref)) return "a repository name, not a 64-hex image id";
    const match = REFERENCE.exec(ref);
    if (!match) return ref.toLowerCase() !== ref && REFERENCE.test(ref.toLowerCase()) ? `${grammar}; the repository path must be lowercase` : grammar;
    const [, name, , digest] = match;
    // splitDockerDomain: the first component is a registry only when it has a . or a :, is localhost, or has capitals.
    const slash = name.indexOf("/");
    const first = slash < 0 ? "" : name.slice(0, slash);
    const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
    if (!hasDomain && name.toLowerCase() !== name) return `${grammar}; the repository path must be lowercase`;
    const repoPath = hasDomain ? name.slice(slash + 1) : slash < 0 ? `library/${name}` : name;
    if (repoPath.length > REPOSITORY_PATH_MAX) return `a repository path of at most ${REPOSITORY_PATH_MAX} characters (this one has ${repoPath.length})`;
    if (digest !== undefined) {
        const [algorithm, hex] = digest.split(":");
        const length = DIGEST_HEX[algorithm];
        if (length === undefined) return `a digest of sha256, sha384 or sha512 (not ${algorithm})`;
        if (!new RegExp(`^[a-f0-9]{${length}}$`).test(hex)) return `a ${algorithm} digest of ${length} lowercase hex digits`;
    }
    return undefined;
}

/**
 * Whether a project-relative path, as written, names something outside the project: absolute, or
 * climbing above the root with `..`. Symbolic links out of it are found where the files are read
 * (components/preflight.ts).
 */
function escapesProject(relative: string): boolean {
    const normal = posix.normalize(relative.replace(/\\/g, "/"));
    return isAbsolute(relative) || normal === ".." || normal.startsWith("../");
}

/** A POSIX or Windows absolute path (`/x`, `\\x`, `C:x`), which the builds would not read relative to the project. */
const isAbsolute = (p: string) => /^([\\/]|[A-Za-z]:)/.test(p);

/** INT64_MAX nanocores, as cores. */
const CPU_MAX = `${INT64_MAX / 1_000_000_000n}.${String(INT64_MAX % 1_000_000_000n).padStart(9, "0")}`;
const BYTES_MAX = `at most ${INT64_MAX} bytes (2^63-1, just under 8Ei: both targets count bytes in int64)`;

function resourceProblems(resources: ResourceSpec | undefined, bad: Bad): void {
    if (!resources?.requests || !resources?.limits) {
        bad("resources", resources, "{ requests: { cpu, memory }, limits: { cpu, memory } }");
        return;
    }
    for (const what of ["cpu", "memory"] as const) {
        const values: Partial<Record<"requests" | "limits", bigint>> = {};
        for (const side of ["requests", "limits"] as const) {
            const text = resources[side][what];
            const value = typeof text === "string" ? quantityUnits(text, what === "cpu" ? 9 : 0) : undefined;
            const field = `resources.${side}.${what}`;
            if (value === undefined) bad(field, text, what === "cpu" ? "a Kubernetes quantity such as 250m or 1.5" : "a Kubernetes quantity such as 256Mi or 1Gi");
            else if (what === "cpu" && value < MIN_NANO_CPUS) bad(field, text, "at least 10m (Docker runs nothing smaller)");
            else if (what === "cpu" && value > INT64_MAX) bad(field, text, `at most ${CPU_MAX} CPUs (Swarm counts them in int64 nanocores)`);
            else if (what === "memory" && value < MIN_MEMORY_BYTES) bad(field, text, "at least 6Mi");
            else if (what === "memory" && value > INT64_MAX) bad(field, text, BYTES_MAX);
            else values[side] = value;
        }
        if (values.requests !== undefined && values.limits !== undefined && values.requests > values.limits) {
            bad(`resources.requests.${what}`, resources.requests[what], `at most resources.limits.${what} (${resources.limits[what]})`);
        }
    }
}

function healthProblems(health: HealthCheck, bad: Bad): void {
    const probes = (["http", "tcp", "command"] as const).filter((k) => health[k] !== undefined);
    if (probes.length !== 1) bad("health", probes, "exactly one of health.http, health.tcp or health.command");
    if (health.http) {
        if (typeof health.http.path !== "string" || !/^\/[^\s]*$/.test(health.http.path)) bad("health.http.path", health.http.path, "a path starting with / and without spaces");
        if (!isInt(health.http.port, 1, 65535)) bad("health.http.port", health.http.port, "1 to 65535");
    }
    if (health.tcp && !isInt(health.tcp.port, 1, 65535)) bad("health.tcp.port", health.tcp.port, "1 to 65535");
    if (health.command !== undefined && (!Array.isArray(health.command) || health.command.length === 0 || health.command.some((part) => typeof part !== "string" || part === ""))) {
        bad("health.command", health.command, "a non-empty list of non-empty strings, such as [\"redis-cli\", \"ping\"]");
    }
    for (const field of ["intervalSeconds", "timeoutSeconds", "failureThreshold"] as const) {
        if (health[field] !== undefined && !isInt(health[field], 1, 3600)) bad(`health.${field}`, health[field], "a whole number from 1 to 3600");
    }
    if (health.startPeriodSeconds !== undefined && !isInt(health.startPeriodSeconds, 0, 3600)) bad("health.startPeriodSeconds", health.startPeriodSeconds, "a whole number of seconds from 0 to 3600");
}

/**
 * Folders the container runtime mounts itself: procfs, sysfs and the device nodes. runc refuses a
 * mount anywhere under /proc (opencontainers/runc libcontainer/rootfs_linux.go checkProcMount), and a
 * volume over /sys or /dev would hide the kernel's view and /dev/null, /dev/shm and the other devices
 * every container is given.
 */
const RUNTIME_DIRS = ["/proc", "/sys", "/dev"] as const;

/** Files Docker bind-mounts into every container (moby container/container_unix.go NetworkMounts); the kubelet writes /etc/hosts too. */
const RUNTIME_FILES = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] as const;

/**
 * What is wrong with a volume's mount path, or undefined. It must be written as the container will
 * see it: absolute and normalized (no `.`, `..` or empty segments, so `/data/../etc` cannot pass as a
 * data folder), and clear of what dockyard (`/tmp`, `/run/secrets`) and the runtime mount.
 */
function mountPathProblem(mountPath: unknown): string | undefined {
    if (typeof mountPath !== "string" || !/^\/[^\s:]*[^\s:/]$/.test(mountPath)) return "an absolute path other than / without spaces, colons or a trailing /";
    if (posix.normalize(mountPath) !== mountPath) return `a normalized path, without ".", ".." or empty segments (this one resolves to ${posix.normalize(mountPath)})`;
    const within = (dir: string) => mountPath === dir || mountPath.startsWith(`${dir}/`);
    if ([SCRATCH_DIR, SECRETS_DIR].some(within)) return `a path outside ${SCRATCH_DIR} and ${SECRETS_DIR} (dockyard mounts those)`;
    if (RUNTIME_DIRS.some(within)) return `a path outside ${RUNTIME_DIRS.join(", ")} (the container runtime mounts those)`;
    if ((RUNTIME_FILES as readonly string[]).includes(mountPath)) return `a path other than ${RUNTIME_FILES.join(", ")} (the container runtime writes those files)`;
    return undefined;
}

function volumeProblems(spec: WorkloadSpec, bad: Bad): void {
    const volumes = spec.volumes ?? [];
    volumes.forEach((volume, i) => {
        const at = `volumes[${i}]`;
        if (typeof volume.name !== "string" || !DNS_LABEL.test(volume.name) || volume.name.length > 40 || volume.name.startsWith(RESERVED_VOLUME_PREFIX)) {
            bad(`${at}.name`, volume.name, `a DNS-1123 label (lowercase letters, digits, -) of at most 40 characters, not starting with ${RESERVED_VOLUME_PREFIX}`);
        }
        if (!["persistent", "shared", "ephemeral"].includes(volume.kind)) bad(`${at}.kind`, volume.kind, "persistent, shared or ephemeral");
        else if (volume.kind === "persistent" && isJob(spec)) bad(`${at}.kind`, volume.kind, "shared or ephemeral on a job (persistent data belongs to one service replica)");
        const problem = mountPathProblem(volume.mountPath);
        if (problem) bad(`${at}.mountPath`, volume.mountPath, problem);
        if (volume.size !== undefined) {
            const bytes = typeof volume.size === "string" ? quantityUnits(volume.size, 0) : undefined;
            if (bytes === undefined || bytes < MIN_MEMORY_BYTES) bad(`${at}.size`, volume.size, "a Kubernetes quantity of at least 6Mi, such as 10Gi");
            else if (bytes > INT64_MAX) bad(`${at}.size`, volume.size, BYTES_MAX);
        }
    });
    for (const name of duplicates(volumes.map((v) => v.name))) bad("volumes[].name", name, "names unique within the workload");
    for (const path of duplicates(volumes.map((v) => v.mountPath))) bad("volumes[].mountPath", path, "mount paths unique within the workload");
}

/** Problems between workloads: unique names, `after` naming existing jobs without cycles, public routes. */
function stackProblems(specs: readonly WorkloadSpec[]): string[] {
    const problems: string[] = [];
    const byName = new Map(specs.map((s) => [s.name, s]));
    for (const name of duplicates(specs.filter(isNamed).map((s) => s.name))) problems.push(`workload ${show(name)}: name is declared more than once; allowed: names unique in the stack`);
    for (const spec of specs) {
        (spec.after ?? []).forEach((dependency, i) => {
            const target = byName.get(dependency);
            const at = `workload ${show(spec.name)}: after[${i}] is ${show(dependency)}`;
            if (dependency === spec.name) problems.push(`${at}; allowed: another workload (not itself)`);
            else if (!target) problems.push(`${at}, which does not exist; allowed: a job of this stack (${jobNames(specs)})`);
            else if (!isJob(target)) problems.push(`${at}, a service; allowed: a job of this stack (${jobNames(specs)})`);
        });
    }
    for (const spec of specs) {
        (spec.connectsTo ?? []).forEach((peer, i) => {
            const target = byName.get(peer);
            const at = `workload ${show(spec.name)}: connectsTo[${i}] is ${show(peer)}`;
            const services = specs.filter((s) => !isJob(s) && s.name !== spec.name && (s.ports ?? []).length > 0).map((s) => s.name).join(", ") || "none";
            if (!target || target === spec || isJob(target) || (target.ports ?? []).length === 0) problems.push(`${at}; allowed: another service of this stack with ports (${services})`);
        });
    }
    const cycle = findCycle(specs);
    if (cycle) problems.push(`workload ${show(cycle[0])}: after forms a cycle (${cycle.join(" -> ")}); allowed: jobs ordered without cycles`);
    const routes = new Map<string, string>();
    for (const spec of specs) {
        (spec.ports ?? []).forEach((port, i) => {
            if (!port.public || (port.protocol ?? "http") !== "http" || isJob(spec)) return;
            const route = `${port.public.host ?? "*"}${port.public.path ?? "/"}`;
            const owner = routes.get(route);
            if (owner) problems.push(`workload ${show(spec.name)}: ports[${i}].public routes ${route}, which ${owner} already routes; allowed: a host and path no other public port uses`);
            else routes.set(route, `workload ${show(spec.name)}`);
        });
    }
    return problems;
}

/**
 * Names the adapters derive from a workload's own names. Each must be unique in the stack: a
 * second object of one name is refused by the Kubernetes API, two Pulumi resources of one type
 * and name are one URN (a duplicate), and on the local engine two mounts of one volume name
 * silently share the data.
 */
export const volumeResourceName = (workload: string, volume: string) => `${workload}-${volume}`;
export const headlessServiceName = (workload: string) => `${workload}-headless`;
export const publicServiceName = (workload: string) => `${workload}-public`;
/** A StatefulSet names a replica's claim `<template>-<statefulset>-<ordinal>` (Kubernetes docs, StatefulSet "Stable Storage"). */
export const statefulClaimName = (volume: string, workload: string, ordinal: number) => `${volume}-${workload}-${ordinal}`;
export const secretResourceName = (workload: string, secret: string) => `${workload}-${secret}`;
/** The Pulumi name of the patch that keeps a StatefulSet replica's claim at the spec's size. */
export const claimSizeResourceName = (workload: string, claim: string) => `${workload}-${claim}-size`;

/** The namespace's baseline NetworkPolicies (kubernetes/manifests.ts namespaceNetworkPolicies). */
export const NAMESPACE_POLICY_NAMES = ["default-deny", "allow-dns"] as const;
/**
 * Names a workload's objects may not take in the stack's namespace: the baseline policies, and the
 * ServiceAccount `default` that Kubernetes makes in every namespace (Kubernetes docs, "Service
 * Accounts"). The provider refuses to create an object that exists (pulumi-kubernetes 4.29,
 * upsertExistingObjects off), so such a workload would fail halfway through an `up`.
 */
const NAMESPACE_NAMES: readonly string[] = [...NAMESPACE_POLICY_NAMES, "default"];

const ORDINAL = /^(0|[1-9][0-9]*)$/;

/**
 * Names the adapters derive that two workloads would share, e.g. `cache` with volume `data-x` and
 * `cache-data` with volume `x` (both `cache-data-x`): one volume on Swarm, one claim on Kubernetes,
 * one Pulumi URN. Workloads, volumes and secrets whose own names are refused are left out.
 */
function derivedNameProblems(specs: readonly WorkloadSpec[]): string[] {
    const problems: string[] = [];
    const named = specs.filter((s) => typeof s.name === "string" && DNS_LABEL.test(s.name));
    const owners = new Map<string, { workload: string; owner: string }>();
    const claim = (kind: string, name: string, spec: WorkloadSpec, field: string, what: string, allowed: string) => {
        const key = `${kind}\0${name}`;
        const first = owners.get(key);
        const owner = `workload ${show(spec.name)}${field ? ` ${field}` : ""}`;
        if (first === undefined) owners.set(key, { workload: spec.name, owner });
        // Within one workload only a repeated volume name meets itself, which workloadProblems reports.
        else if (first.workload !== spec.name) problems.push(`workload ${show(spec.name)}: ${field ? `${field} ` : ""}derives ${what} ${show(name)}, as ${first.owner} does; allowed: ${allowed}`);
    };
    const volumeRule = "workload and volume names whose <workload>-<volume> is unique in the stack";
    const secretRule = "workload and secret names whose <workload>-<secret> is unique in the stack";
    const serviceRule = "rename one: no workload may be named <name>-public next to a workload <name> with a public tcp port, nor <name>-headless next to one with a persistent volume";
    const claimRule = "names such that no shared volume's <workload>-<volume> and no persistent volume's <volume>-<workload>-<ordinal> meet";
    const stored = (spec: WorkloadSpec) =>
        (spec.volumes ?? []).map((volume, i) => ({ volume, i })).filter(({ volume }) => volume.kind !== "ephemeral" && typeof volume.name === "string" && DNS_LABEL.test(volume.name));
    const persistent = (spec: WorkloadSpec) => (isJob(spec) ? [] : stored(spec).filter(({ volume }) => volume.kind === "persistent"));
    for (const spec of named) {
        if (NAMESPACE_NAMES.includes(spec.name)) {
            problems.push(`workload ${show(spec.name)}: name is ${show(spec.name)}, which the stack's Kubernetes namespace already uses (NetworkPolicies ${NAMESPACE_POLICY_NAMES.join(" and ")}, ServiceAccount default); allowed: a name other than ${NAMESPACE_NAMES.join(", ")}`);
        }
        for (const { volume, i } of stored(spec)) {
            claim("volume", volumeResourceName(spec.name, volume.name), spec, `volumes[${i}] (${volume.name})`, "the volume name (the Swarm volume, a shared volume's Kubernetes claim and the Pulumi resources named after it)", volumeRule);
        }
        for (const secret of Object.keys(spec.secrets ?? {}).filter((s) => SECRET_NAME.test(s))) {
            claim("secret", secretResourceName(spec.name, secret), spec, `secrets.${secret}`, "the Pulumi name of its Swarm secret", secretRule);
        }
        if (isJob(spec)) continue;
        if ((spec.ports ?? []).length > 0) claim("service", spec.name, spec, "", "the Kubernetes Service", serviceRule);
        if ((spec.ports ?? []).some((p) => p.public && p.protocol === "tcp")) claim("service", publicServiceName(spec.name), spec, "(its public tcp port)", "the Kubernetes Service", serviceRule);
        if (persistent(spec).length > 0) claim("service", headlessServiceName(spec.name), spec, "(its persistent volume)", "the Kubernetes Service", serviceRule);
        const replicas = initialReplicas(spec);
        if (!isInt(replicas, 0, 1000)) continue;
        for (const { volume, i } of persistent(spec)) {
            for (let ordinal = 0; ordinal < replicas; ordinal++) {
                const patch = claimSizeResourceName(spec.name, statefulClaimName(volume.name, spec.name, ordinal));
                claim("claim-size", patch, spec, `volumes[${i}] (${volume.name})`, "the Pulumi name of a claim's size patch", "workload names of which none starts and ends with another's, or other volume names");
            }
        }
    }
    // A persistent volume's claims are `<volume>-<workload>-<ordinal>`, one per replica as it scales:
    // no shared claim may take that shape, and two templates collide when their prefixes are equal.
    const templates = named.flatMap((spec) => persistent(spec).map(({ volume, i }) => ({ spec, volume, i, prefix: `${volume.name}-${spec.name}-` })));
    templates.forEach((t, n) => {
        const other = templates.slice(0, n).find((u) => u.prefix === t.prefix);
        if (other) problems.push(`workload ${show(t.spec.name)}: volumes[${t.i}] (${t.volume.name}) derives the Kubernetes claims ${show(`${t.prefix}<ordinal>`)}, as workload ${show(other.spec.name)} volumes[${other.i}] (${other.volume.name}) does; allowed: ${claimRule}`);
    });
    for (const spec of named) {
        for (const { volume, i } of stored(spec).filter(({ volume }) => volume.kind === "shared")) {
            const name = volumeResourceName(spec.name, volume.name);
            const t = templates.find((u) => name.startsWith(u.prefix) && ORDINAL.test(name.slice(u.prefix.length)));
            if (t) problems.push(`workload ${show(spec.name)}: volumes[${i}] (${volume.name}) derives the Kubernetes claim ${show(name)}, which workload ${show(t.spec.name)} volumes[${t.i}] (${t.volume.name}) makes for a replica; allowed: ${claimRule}`);
        }
    }
    return problems;
}

const jobNames = (specs: readonly WorkloadSpec[]) => specs.filter(isJob).map((s) => s.name).join(", ") || "none";

function findCycle(specs: readonly WorkloadSpec[]): string[] | undefined {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]): string[] | undefined => {
        if (state.get(name) === "done") return undefined;
        if (state.get(name) === "visiting") return [...path.slice(path.indexOf(name)), name];
        state.set(name, "visiting");
        for (const next of byName.get(name)?.after ?? []) {
            if (next === name || !byName.has(next)) continue;
            const cycle = visit(next, [...path, name]);
            if (cycle) return cycle;
        }
        state.set(name, "done");
        return undefined;
    };
    for (const spec of specs) {
        const cycle = visit(spec.name, []);
        if (cycle) return cycle;
    }
    return undefined;
}

/**
 * Every problem of a stack's workloads, each naming the workload and the field, the value and what
 * is allowed; empty when the specs are valid. Pure: runs before any resource exists.
 */
export function validateWorkloads(specs: readonly WorkloadSpec[]): string[] {
    const problems: string[] = [];
    const typed = specs.map(shaped);
    for (const [i, { spec, problems: typeProblems, deferred }] of typed.entries()) {
        const label = deferred.includes("name") ? `workload [${i}] (its name is not known yet)` : `workload ${show(spec.name)}`;
        if (!deferred.includes("name") && (typeof spec.name !== "string" || !DNS_LABEL.test(spec.name) || spec.name.length > 40)) {
            problems.push(`${label}: name is ${show(spec.name)}; allowed: a DNS-1123 label (lowercase letters, digits, -) of at most 40 characters`);
        }
        // A deferred field is left out of the checks; that it is then missing is no second problem.
        const followOn = (p: string) => deferred.some((field) => p.startsWith(`${field} is undefined;`));
        problems.push(...[...typeProblems, ...workloadProblems(spec).filter((p) => !followOn(p))].map((p) => `${label}: ${p}`));
    }
    const checked = typed.map((t) => t.spec);
    return [...problems, ...stackProblems(checked), ...derivedNameProblems(checked)];
}

/** `ref` with its tag (and any digest) replaced by `tag`; a registry port is not a tag. */
export function withTag(ref: string, tag: string): string {
    const name = ref.split("@")[0];
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    return `${colon > slash ? name.slice(0, colon) : name}:${tag}`;
}

/** The workloads cannot be deployed as declared; `problems` lists every reason. */
export class WorkloadError extends Error {
    constructor(public readonly problems: readonly string[]) {
        super(`dockyard: the workloads are invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
        this.name = "WorkloadError";
    }
}

/**
 * The stack's workloads with its overrides applied, validated: throws one WorkloadError listing
 * every problem (unknown workloads in overrides included) before any resource exists.
 */
export function prepareWorkloads(specs: readonly WorkloadSpec[], overrides: WorkloadOverrides): WorkloadSpec[] {
    const { prepared, problems } = applyOverrides(specs, overrides);
    if (problems.length > 0) throw new WorkloadError(problems);
    return prepared;
}

/** The workloads with the stack's overrides applied, and every problem of the result. */
export function applyOverrides(specs: readonly WorkloadSpec[], overrides: WorkloadOverrides): { prepared: WorkloadSpec[]; problems: string[] } {
    const problems: string[] = [];
    const names = specs.filter(isNamed).map((s) => s.name);
    const known = names.join(", ") || "none";
    for (const [key, map] of [["replicas", overrides.replicas], ["imageTags", overrides.imageTags], ["hosts", overrides.hosts]] as const) {
        for (const name of Object.keys(map)) {
            if (!names.includes(name)) problems.push(`dockyard:workloads.${key} names workload ${show(name)}, which does not exist; allowed: ${known}`);
        }
    }
    const prepared = specs.map((spec): WorkloadSpec => {
        // An Output's key lookup may throw (PULUMI_ERROR_OUTPUT_STRING).
        if (!isNamed(spec)) return spec;
        let result: WorkloadSpec = spec;
        if (Object.prototype.hasOwnProperty.call(overrides.replicas, spec.name)) result = { ...result, replicas: overrides.replicas[spec.name] };
        if (Object.prototype.hasOwnProperty.call(overrides.imageTags, spec.name)) {
            const image = spec.image as { ref?: string };
            if (typeof image.ref === "string") result = { ...result, image: { ref: withTag(image.ref, overrides.imageTags[spec.name]) } };
            // An image that is not an object is refused by validateWorkloads, naming the field.
            else if (isRecord(spec.image)) problems.push(`dockyard:workloads.imageTags names workload ${show(spec.name)}, which builds its image; allowed: workloads with an image ref (${specs.filter((s) => isRecord(s.image) && "ref" in s.image).map((s) => s.name).join(", ") || "none"})`);
        }
        if (Object.prototype.hasOwnProperty.call(overrides.hosts, spec.name)) {
            const host = overrides.hosts[spec.name];
            // Before validation: a `ports` of the wrong type is refused there, not thrown on here.
            const ports = Array.isArray(spec.ports) ? spec.ports : [];
            if (!ports.some((p) => isRecord(p?.public) && (p.protocol ?? "http") === "http")) {
                problems.push(`dockyard:workloads.hosts names workload ${show(spec.name)}, which has no public http port; allowed: ${specs.filter((s) => Array.isArray(s.ports) && s.ports.some((p) => isRecord(p?.public) && (p.protocol ?? "http") === "http")).map((s) => s.name).join(", ") || "none"}`);
            }
            if (Array.isArray(result.ports)) result = { ...result, ports: result.ports.map((p) => (isRecord(p?.public) && (p.protocol ?? "http") === "http" ? { ...p, public: { ...p.public, host } } : p)) };
        }
        return result;
    });
    problems.push(...validateWorkloads(prepared));
    return { prepared, problems };
}
