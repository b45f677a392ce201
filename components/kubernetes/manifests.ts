/**
 * The pure half of the Kubernetes adapter: one WorkloadSpec in, the specs of the Kubernetes objects
 * that run it out. No resources are created here, so tests call every function directly.
 */
import type { apps, autoscaling, batch, core, networking, policy } from "@pulumi/kubernetes/types/input";
import type * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_VOLUME_SIZE,
    HEALTH_DEFAULTS,
    HealthCheck,
    PortSpec,
    RESERVED_VOLUME_PREFIX,
    SCRATCH_DIR,
    SECRETS_DIR,
    VolumeSpec,
    WorkloadSpec,
    initialReplicas,
    userOf,
    volumeResourceName,
    NAMESPACE_POLICY_NAMES,
    PRIVILEGES_MARK,
    privilegesDeclaration,
    UNPRIVILEGED_PORT_SYSCTL,
    unprivilegedPortStart,
    headlessServiceName as headlessServiceNameOf,
    statefulClaimName,
} from "../workload";

type Labels = Record<string, string>;

export type ControllerKind = "Deployment" | "StatefulSet" | "Job";

/** The TLS policy of HTTPS listeners: TLS 1.3 and 1.2 with forward-secret ciphers only. */
export const ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Retries of a failed job pod before the Job (and `pulumi up`) fails. */
export const JOB_BACKOFF_LIMIT = 3;

/** A finished Job is kept a day so its logs can be read, then Kubernetes deletes it. */
export const JOB_TTL_SECONDS = 86400;

/** Mode of the secret files: readable by the owner and the pod's group (fsGroup), nobody else. */
export const SECRET_FILE_MODE = 0o440;

export const SCRATCH_VOLUME = `${RESERVED_VOLUME_PREFIX}tmp`;
export const SECRETS_VOLUME = `${RESERVED_VOLUME_PREFIX}secrets`;

const ALB = "alb.ingress.kubernetes.io";
const NLB = "service.beta.kubernetes.io";

const isJob = (spec: WorkloadSpec) => (spec.kind ?? "service") === "job";

/** The labels a workload's selector matches on; stable for the workload's life (selectors are immutable). */
export function selectorLabels(spec: WorkloadSpec): Labels {
    return { "app.kubernetes.io/name": spec.name };
}

/** Every label a workload's objects and pods carry. */
export function workloadLabels(spec: WorkloadSpec): Labels {
    return {
        ...selectorLabels(spec),
        "app.kubernetes.io/component": spec.kind ?? "service",
        "app.kubernetes.io/part-of": "dockyard",
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** Deployment, StatefulSet (a `persistent` volume needs per-replica claims) or Job. */
export function controllerKind(spec: WorkloadSpec): ControllerKind {
    if (isJob(spec)) return "Job";
    return (spec.volumes ?? []).some((v) => v.kind === "persistent") ? "StatefulSet" : "Deployment";
}

const handler = (health: HealthCheck): core.v1.Probe => {
    if (health.http) return { httpGet: { path: health.http.path, port: health.http.port } };
    if (health.tcp) return { tcpSocket: { port: health.tcp.port } };
    return { exec: { command: [...(health.command ?? [])] } };
};

export interface Probes {
    readinessProbe?: core.v1.Probe;
    livenessProbe?: core.v1.Probe;
    startupProbe?: core.v1.Probe;
}

/** Liveness fails only after this many times the health check's own threshold. */
export const LIVENESS_THRESHOLD_FACTOR = 3;

/**
 * Readiness is the workload's health check; liveness is a separate, weaker probe, so a failing
 * dependency (a health endpoint that checks Redis) takes a pod out of the Service instead of
 * restarting it: for an http check, liveness is a TCP connect to the same port (the process is up
 * and listening); for tcp and command checks, the same check with three times the failure
 * threshold. The start period becomes a startup probe that allows that long before liveness
 * counts, as Docker's `start-period` does. A job gets liveness only: nothing routes traffic to it.
 */
export function probes(spec: WorkloadSpec): Probes {
    if (!spec.health) return {};
    const h = { ...HEALTH_DEFAULTS, ...spec.health };
    const timing = { periodSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds };
    const readiness = { ...handler(spec.health), ...timing, failureThreshold: h.failureThreshold };
    const liveness = spec.health.http
        ? { tcpSocket: { port: spec.health.http.port }, ...timing, failureThreshold: h.failureThreshold * LIVENESS_THRESHOLD_FACTOR }
        : { ...handler(spec.health), ...timing, failureThreshold: h.failureThreshold * LIVENESS_THRESHOLD_FACTOR };
    const result: Probes = isJob(spec) ? { livenessProbe: readiness } : { readinessProbe: readiness, livenessProbe: liveness };
    if (h.startPeriodSeconds > 0) {
        result.startupProbe = { ...readiness, failureThreshold: Math.ceil(h.startPeriodSeconds / h.intervalSeconds) + h.failureThreshold };
    }
    return result;
}

/**
 * How a pod leaves without dropping requests, derived together (AWS Load Balancer Controller docs,
 * "Pod readiness gate" and "Pod graceful shutdown"; kubernetes-sigs/aws-load-balancer-controller
 * docs/deploy/pod_readiness_gate.md). When a pod starts terminating, the controller deregisters it
 * from the ALB and kube-proxy drops it from the Service, but both take a few seconds, and the ALB
 * keeps sending in-flight and newly routed requests until deregistration completes. So the pod
 * first sleeps (`preStop`) while it is still serving; only then does it get SIGTERM. The target
 * group's deregistration delay (300 s by default) is cut to just over the preStop time, so the ALB
 * stops waiting for the pod before Kubernetes kills it, and the grace period covers the sleep plus
 * the application's own shutdown.
 */
export interface DrainTimings {
    readonly preStopSleepSeconds: number;
    readonly deregistrationDelaySeconds: number;
    readonly terminationGracePeriodSeconds: number;
}

/** Seconds the application gets after SIGTERM to finish what it is doing. */
export const APP_SHUTDOWN_SECONDS = 15;

export function drainTimings(spec: WorkloadSpec): DrainTimings | undefined {
    if (isJob(spec) || (spec.ports ?? []).length === 0) return undefined;
    const preStopSleepSeconds = 15;
    return { preStopSleepSeconds, deregistrationDelaySeconds: preStopSleepSeconds + 10, terminationGracePeriodSeconds: preStopSleepSeconds + APP_SHUTDOWN_SECONDS };
}

/**
 * The pod runs as the spec's user; `runAsNonRoot` is false only when that user is uid 0, which the
 * spec allows only with `privileges.root` (a gid 0 with another uid is still non-root to Kubernetes).
 */
export function podSecurityContext(spec: WorkloadSpec): core.v1.PodSecurityContext {
    const { uid, gid } = userOf(spec);
    return {
        runAsNonRoot: uid !== 0,
        runAsUser: uid,
        runAsGroup: gid,
        // Volumes (EBS, EFS, secrets) become group-owned by the workload's gid, so the non-root user can use them.
        fsGroup: gid,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
        // Ports below 1024 only with NET_BIND_SERVICE, as on Swarm (unprivilegedPortStart); a safe
        // sysctl since Kubernetes 1.22, which restricted and baseline allow (Pod Security Standards, "Sysctls").
        sysctls: [{ name: UNPRIVILEGED_PORT_SYSCTL, value: unprivilegedPortStart(spec) }],
    };
}

/**
 * Every capability dropped and only `privileges.capabilities` added, as on Swarm; no privilege
 * escalation whatever the spec asks (an entrypoint that steps down from root with gosu or su-exec
 * needs SETUID and SETGID, not setuid binaries).
 */
export function containerSecurityContext(spec: WorkloadSpec): core.v1.SecurityContext {
    const added = spec.privileges?.capabilities ?? [];
    return {
        runAsNonRoot: userOf(spec).uid !== 0,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: spec.readOnlyRootFilesystem ?? true,
        capabilities: { drop: ["ALL"], ...(added.length > 0 ? { add: [...added] } : {}) },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/**
 * The controller's (Deployment, StatefulSet, Job) declaration of what its pods may do beyond the
 * restricted profile (`privilegesDeclaration`), read by the policy pack, which accepts root or an
 * added capability only where it is declared and reports each declaration. On the controller, not
 * the pod template, so declaring it rolls no pod.
 */
export function privilegesAnnotations(spec: WorkloadSpec): Record<string, string> {
    const declared = privilegesDeclaration(spec);
    return declared === undefined ? {} : { [PRIVILEGES_MARK.kubernetes]: declared };
}

export interface StorageClasses {
    readonly persistentStorageClass: string;
    readonly sharedStorageClass: string;
}

/** The name of the ReadWriteMany claim behind a `shared` volume. */
export const sharedClaimName = (spec: WorkloadSpec, volume: VolumeSpec) => volumeResourceName(spec.name, volume.name);

export function sharedClaimSpec(volume: VolumeSpec, classes: StorageClasses): core.v1.PersistentVolumeClaimSpec {
    return { accessModes: ["ReadWriteMany"], storageClassName: classes.sharedStorageClass, resources: { requests: { storage: volume.size ?? DEFAULT_VOLUME_SIZE } } };
}

export interface PodStorage {
    volumes: core.v1.Volume[];
    volumeMounts: core.v1.VolumeMount[];
    /** StatefulSet claim templates, one per `persistent` volume. */
    claimTemplates: core.v1.PersistentVolumeClaim[];
}

/**
 * Pod volumes and mounts: `/tmp` scratch always, the secrets read-only at /run/secrets, `persistent`
 * as StatefulSet claim templates (ReadWriteOnce), `shared` as a ReadWriteMany claim, `ephemeral` as emptyDir.
 */
export function podStorage(spec: WorkloadSpec, classes: StorageClasses, secretName?: pulumi.Input<string>): PodStorage {
    const storage: PodStorage = {
        volumes: [{ name: SCRATCH_VOLUME, emptyDir: {} }],
        volumeMounts: [{ name: SCRATCH_VOLUME, mountPath: SCRATCH_DIR }],
        claimTemplates: [],
    };
    if (secretName !== undefined) {
        storage.volumes.push({ name: SECRETS_VOLUME, secret: { secretName, defaultMode: SECRET_FILE_MODE } });
        storage.volumeMounts.push({ name: SECRETS_VOLUME, mountPath: SECRETS_DIR, readOnly: true });
    }
    for (const volume of spec.volumes ?? []) {
        storage.volumeMounts.push({ name: volume.name, mountPath: volume.mountPath });
        if (volume.kind === "persistent") {
            storage.claimTemplates.push({
                metadata: { name: volume.name, labels: selectorLabels(spec) },
                spec: { accessModes: ["ReadWriteOnce"], storageClassName: classes.persistentStorageClass, resources: { requests: { storage: volume.size ?? DEFAULT_VOLUME_SIZE } } },
            });
        } else if (volume.kind === "shared") {
            storage.volumes.push({ name: volume.name, persistentVolumeClaim: { claimName: sharedClaimName(spec, volume) } });
        } else {
            storage.volumes.push({ name: volume.name, emptyDir: volume.size === undefined ? {} : { sizeLimit: volume.size } });
        }
    }
    return storage;
}

export function container(spec: WorkloadSpec, image: pulumi.Input<string>, volumeMounts: core.v1.VolumeMount[]): core.v1.Container {
    return {
        name: spec.name,
        image,
        imagePullPolicy: "IfNotPresent",
        ...(spec.command ? { command: [...spec.command] } : {}),
        ...(spec.args ? { args: [...spec.args] } : {}),
        ports: (spec.ports ?? []).map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
        ...(spec.env && Object.keys(spec.env).length > 0 ? { env: Object.entries(spec.env).map(([name, value]) => ({ name, value })) } : {}),
        resources: {
            requests: { cpu: spec.resources.requests.cpu, memory: spec.resources.requests.memory },
            limits: { cpu: spec.resources.limits.cpu, memory: spec.resources.limits.memory },
        },
        ...probes(spec),
        // The kubelet's own sleep action (stable in Kubernetes 1.34): no `sleep` binary needed in the image.
        ...(drainTimings(spec) ? { lifecycle: { preStop: { sleep: { seconds: drainTimings(spec)!.preStopSleepSeconds } } } } : {}),
        securityContext: containerSecurityContext(spec),
        volumeMounts,
    };
}

/** Spread replicas over zones, then nodes, without blocking scheduling when a zone is short. */
export function topologySpread(spec: WorkloadSpec): core.v1.TopologySpreadConstraint[] {
    return ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selectorLabels(spec) },
    }));
}

/**
 * The pod's emptyDir volumes, which the Cluster Autoscaler may delete with the pod. By default it
 * never removes a node running a pod with local storage (`--skip-nodes-with-local-storage=true`),
 * and every dockyard pod has a scratch emptyDir at /tmp; naming them in
 * `cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes` lets scale-down move the pod
 * (kubernetes/autoscaler cluster-autoscaler/FAQ.md, "What types of pods can prevent CA from removing a node?").
 */
export function evictableLocalVolumes(storage: PodStorage): string[] {
    return storage.volumes.filter((v) => v.emptyDir !== undefined).map((v) => v.name as string);
}

export const SAFE_TO_EVICT_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";

export function podTemplate(spec: WorkloadSpec, image: pulumi.Input<string>, storage: PodStorage): core.v1.PodTemplateSpec {
    const drain = drainTimings(spec);
    return {
        metadata: { labels: workloadLabels(spec), annotations: { [SAFE_TO_EVICT_LOCAL_VOLUMES]: evictableLocalVolumes(storage).join(",") } },
        spec: {
            ...(drain ? { terminationGracePeriodSeconds: drain.terminationGracePeriodSeconds } : {}),
            serviceAccountName: spec.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(spec),
            containers: [container(spec, image, storage.volumeMounts)],
            volumes: storage.volumes,
            ...(isJob(spec) ? { restartPolicy: "Never" } : { topologySpreadConstraints: topologySpread(spec) }),
        },
    };
}

/**
 * Rolling update: start-first surges `parallelism` new pods and keeps every old one until they are
 * ready; stop-first replaces `parallelism` at a time. `delaySeconds` is how long a new pod must stay
 * ready before the rollout moves on.
 */
export function deploymentStrategy(spec: WorkloadSpec): apps.v1.DeploymentStrategy {
    const parallelism = spec.update?.parallelism ?? 1;
    const startFirst = (spec.update?.order ?? "start-first") === "start-first";
    return { type: "RollingUpdate", rollingUpdate: startFirst ? { maxSurge: parallelism, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: parallelism } };
}

export function deploymentSpec(spec: WorkloadSpec, template: core.v1.PodTemplateSpec): apps.v1.DeploymentSpec {
    return {
        replicas: initialReplicas(spec),
        selector: { matchLabels: selectorLabels(spec) },
        template,
        strategy: deploymentStrategy(spec),
        minReadySeconds: spec.update?.delaySeconds ?? 0,
        revisionHistoryLimit: 5,
    };
}

/** The governing Service of a StatefulSet: headless, so each pod gets its own DNS name (`<pod>.<name>-headless`). */
export const headlessServiceName = (spec: WorkloadSpec) => headlessServiceNameOf(spec.name);

export function headlessServiceSpec(spec: WorkloadSpec): core.v1.ServiceSpec | undefined {
    if (controllerKind(spec) !== "StatefulSet") return undefined;
    return {
        clusterIP: "None",
        selector: selectorLabels(spec),
        // Peers find each other while starting, before they are ready (Kubernetes docs, StatefulSet "Stable Network ID").
        publishNotReadyAddresses: true,
        ports: (spec.ports ?? []).map(tcpPort),
    };
}

/**
 * The claims a StatefulSet made from its templates, one per replica and `persistent` volume
 * (`<volume>-<statefulset>-<ordinal>`, the StatefulSet controller's naming), with the size the
 * spec asks for now. pulumi-kubernetes treats `volumeClaimTemplates` as replace-on-change, and
 * the template of an existing StatefulSet cannot change, so a larger size is applied to the claims
 * themselves (the gp3 class allows expansion; the EBS CSI driver grows the volume and file system
 * online) and the StatefulSet keeps its templates.
 */
export function claimResizes(spec: WorkloadSpec): { name: string; storage: string }[] {
    if (controllerKind(spec) !== "StatefulSet") return [];
    const persistent = (spec.volumes ?? []).filter((v) => v.kind === "persistent");
    return Array.from({ length: initialReplicas(spec) }, (_, ordinal) =>
        persistent.map((v) => ({ name: statefulClaimName(v.name, spec.name, ordinal), storage: v.size ?? DEFAULT_VOLUME_SIZE })),
    ).flat();
}

/** A StatefulSet rolls one pod at a time, stop-first: a replica's volume is never written by two pods. */
export function statefulSetSpec(spec: WorkloadSpec, template: core.v1.PodTemplateSpec, storage: PodStorage, retainClaims = true): apps.v1.StatefulSetSpec {
    return {
        replicas: initialReplicas(spec),
        serviceName: headlessServiceName(spec),
        selector: { matchLabels: selectorLabels(spec) },
        template,
        volumeClaimTemplates: storage.claimTemplates,
        updateStrategy: { type: "RollingUpdate" },
        minReadySeconds: spec.update?.delaySeconds ?? 0,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: retainClaims ? "Retain" : "Delete", whenScaled: "Retain" },
        revisionHistoryLimit: 5,
    };
}

export function jobSpec(template: core.v1.PodTemplateSpec): batch.v1.JobSpec {
    return { backoffLimit: JOB_BACKOFF_LIMIT, ttlSecondsAfterFinished: JOB_TTL_SECONDS, completions: 1, parallelism: 1, template };
}

const tcpPort = (p: PortSpec): core.v1.ServicePort => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" });

/** The in-stack Service: every port, reachable as `<workload>:<port>` from the stack's other workloads. */
export function serviceSpec(spec: WorkloadSpec): core.v1.ServiceSpec | undefined {
    const ports = spec.ports ?? [];
    if (isJob(spec) || ports.length === 0) return undefined;
    return {
        type: "ClusterIP",
        selector: selectorLabels(spec),
        ports: ports.map((p) => ({ ...tcpPort(p), appProtocol: (p.protocol ?? "http") === "http" ? "http" : "tcp" })),
    };
}

const publicPorts = (spec: WorkloadSpec, protocol: "http" | "tcp") => (isJob(spec) ? [] : (spec.ports ?? []).filter((p) => p.public && (p.protocol ?? "http") === protocol));

/**
 * Public tcp ports: a Service of type LoadBalancer that the AWS Load Balancer Controller turns into
 * an internet-facing NLB admitting only the ports' `public.sourceRanges` (the controller applies
 * `spec.loadBalancerSourceRanges` to the NLB's security group rules; without them it admits
 * 0.0.0.0/0: LBC docs guide/service/nlb and guide/service/annotations, "load-balancer-source-ranges").
 * Workload validation requires the ranges and makes every public tcp port of a workload list the same.
 */
export function publicTcpService(spec: WorkloadSpec): { annotations: Labels; spec: core.v1.ServiceSpec } | undefined {
    const ports = publicPorts(spec, "tcp");
    if (ports.length === 0) return undefined;
    const sourceRanges = ports[0].public!.sourceRanges;
    if (!sourceRanges || sourceRanges.length === 0) {
        throw new Error(`workload "${spec.name}": ports[${(spec.ports ?? []).indexOf(ports[0])}].public.sourceRanges is missing; a public tcp port needs the CIDR blocks that may reach it`);
    }
    return {
        annotations: {
            [`${NLB}/aws-load-balancer-type`]: "external",
            [`${NLB}/aws-load-balancer-nlb-target-type`]: "ip",
            [`${NLB}/aws-load-balancer-scheme`]: "internet-facing",
        },
        spec: { type: "LoadBalancer", selector: selectorLabels(spec), ports: ports.map(tcpPort), loadBalancerSourceRanges: [...sourceRanges] },
    };
}

export interface IngressSettings {
    readonly ingressClass: string;
    readonly group: string;
    readonly certificateArn?: pulumi.Input<string>;
}

/**
 * Rule order inside the stack's ALB group: host rules before hostless ones, longer paths first,
 * so `/api` is matched before a catch-all `/`.
 */
export function ingressOrder(spec: WorkloadSpec): number {
    const orders = publicPorts(spec, "http").map((p) => (p.public!.host ? -500 : 500) - Math.min((p.public!.path ?? "/").length, 499));
    return Math.min(...orders);
}

/** The ALB health check follows the workload's HTTP health check when it has one. */
function healthCheckAnnotations(spec: WorkloadSpec, routed: readonly PortSpec[]): Record<string, string> {
    const http = spec.health?.http;
    if (!http) return { [`${ALB}/healthcheck-path`]: "/" };
    const onRoutedPort = routed.some((p) => p.port === http.port);
    return { [`${ALB}/healthcheck-path`]: http.path, ...(onRoutedPort ? {} : { [`${ALB}/healthcheck-port`]: String(http.port) }) };
}

/** Public http ports: an Ingress in the stack's ALB group, HTTPS with a redirect when there is a certificate. */
export function ingress(spec: WorkloadSpec, settings: IngressSettings): { annotations: Record<string, pulumi.Input<string>>; spec: networking.v1.IngressSpec } | undefined {
    const ports = publicPorts(spec, "http");
    if (ports.length === 0) return undefined;
    const tls = settings.certificateArn !== undefined;
    const annotations: Record<string, pulumi.Input<string>> = {
        [`${ALB}/group.name`]: settings.group,
        [`${ALB}/group.order`]: String(ingressOrder(spec)),
        [`${ALB}/scheme`]: "internet-facing",
        [`${ALB}/target-type`]: "ip",
        [`${ALB}/listen-ports`]: JSON.stringify(tls ? [{ HTTP: 80 }, { HTTPS: 443 }] : [{ HTTP: 80 }]),
        [`${ALB}/target-group-attributes`]: `deregistration_delay.timeout_seconds=${drainTimings(spec)!.deregistrationDelaySeconds}`,
        ...healthCheckAnnotations(spec, ports),
    };
    if (tls) {
        annotations[`${ALB}/certificate-arn`] = settings.certificateArn!;
        annotations[`${ALB}/ssl-redirect`] = "443";
        annotations[`${ALB}/ssl-policy`] = ALB_TLS_POLICY;
    }
    const hosts = [...new Set(ports.map((p) => p.public!.host))];
    const rules = hosts.map((host) => ({
        ...(host ? { host } : {}),
        http: {
            paths: ports
                .filter((p) => p.public!.host === host)
                .map((p) => ({ path: p.public!.path ?? "/", pathType: "Prefix", backend: { service: { name: spec.name, port: { name: p.name } } } })),
        },
    }));
    return { annotations, spec: { ingressClassName: settings.ingressClass, rules } };
}

export function autoscalerSpec(spec: WorkloadSpec): autoscaling.v2.HorizontalPodAutoscalerSpec | undefined {
    if (!spec.autoscaling || isJob(spec)) return undefined;
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: controllerKind(spec), name: spec.name },
        minReplicas: spec.autoscaling.min,
        maxReplicas: spec.autoscaling.max,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: spec.autoscaling.cpuPercent } } }],
    };
}

/** Voluntary disruptions (node drains, upgrades) take one replica at a time, when there is more than one. */
export function disruptionBudgetSpec(spec: WorkloadSpec): policy.v1.PodDisruptionBudgetSpec | undefined {
    if (isJob(spec) || initialReplicas(spec) <= 1) return undefined;
    return { maxUnavailable: 1, selector: { matchLabels: selectorLabels(spec) } };
}

/** Pods of these workloads (by their selector label). */
const podsOf = (names: readonly string[]) => ({ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: [...names] }] } });
const portsOf = (ports: readonly number[]) => [...new Set(ports)].sort((a, b) => a - b).map((port) => ({ protocol: "TCP", port }));

/**
 * The namespace's baseline: nothing in or out unless a workload's own policy admits it, except DNS
 * to CoreDNS. Traffic from the node itself (kubelet probes) is always allowed (Kubernetes docs,
 * "Network Policies"); the VPC CNI enforces policies once `enableNetworkPolicy` is on (addons.ts).
 */
export function namespaceNetworkPolicies(): { name: string; spec: networking.v1.NetworkPolicySpec }[] {
    return [
        { name: NAMESPACE_POLICY_NAMES[0], spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
        {
            name: NAMESPACE_POLICY_NAMES[1],
            spec: {
                podSelector: {},
                policyTypes: ["Egress"],
                egress: [
                    {
                        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
                        ports: [
                            { protocol: "UDP", port: 53 },
                            { protocol: "TCP", port: 53 },
                        ],
                    },
                ],
            },
        },
    ];
}

/**
 * What one workload may send and receive: from the workloads whose `connectsTo` names it, on its
 * ports; from inside the VPC on its public ports (the ALB and NLB reach `ip` targets from their
 * own addresses in the VPC) and the ALB's health-check port; to the workloads it names in
 * `connectsTo`, on their ports; and to anything outside the VPC (AWS APIs, the internet through
 * NAT). Nothing else inside the VPC: not the nodes, not other workloads, not other namespaces.
 */
export function networkPolicySpec(spec: WorkloadSpec, specs: readonly WorkloadSpec[], vpcCidr: string): networking.v1.NetworkPolicySpec {
    const byName = new Map(specs.map((s) => [s.name, s]));
    const ports = (spec.ports ?? []).map((p) => p.port);
    const clients = specs.filter((s) => (s.connectsTo ?? []).includes(spec.name)).map((s) => s.name);
    const exposed = isJob(spec) ? [] : (spec.ports ?? []).filter((p) => p.public);
    const healthPort = exposed.some((p) => (p.protocol ?? "http") === "http") && spec.health?.http ? [spec.health.http.port] : [];
    const ingress: networking.v1.NetworkPolicyIngressRule[] = [];
    if (clients.length > 0 && ports.length > 0) ingress.push({ from: [podsOf(clients)], ports: portsOf(ports) });
    if (exposed.length > 0) ingress.push({ from: [{ ipBlock: { cidr: vpcCidr } }], ports: portsOf([...exposed.map((p) => p.port), ...healthPort]) });
    const egress: networking.v1.NetworkPolicyEgressRule[] = (spec.connectsTo ?? []).map((peer) => ({
        to: [podsOf([peer])],
        ports: portsOf((byName.get(peer)?.ports ?? []).map((p) => p.port)),
    }));
    egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [vpcCidr] } }] });
    return { podSelector: { matchLabels: selectorLabels(spec) }, policyTypes: ["Ingress", "Egress"], ingress, egress };
}
