/**
 * The one workload model: a team declares each microservice once with a `WorkloadSpec`, and the
 * stack's target adapter (Kubernetes or Swarm) turns it into that target's resources.
 */
import type * as pulumi from "@pulumi/pulumi";

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
    /** Numeric `uid[:gid]` the container runs as; default `10001:10001`. */
    readonly user?: string;
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
}

/** First port published on the swarm nodes; the load balancer forwards public traffic here. */
export const FIRST_PUBLISHED_PORT = 8080;

/**
 * Every public port of the stack's services in declaration order, each given a stack-unique node
 * port from FIRST_PUBLISHED_PORT on, so two workloads that both listen on 8080 never collide.
 */
export function publicEndpoints(specs: readonly WorkloadSpec[]): PublicEndpoint[] {
    const endpoints: PublicEndpoint[] = [];
    for (const spec of specs) {
        if ((spec.kind ?? "service") !== "service") continue;
        for (const port of spec.ports ?? []) {
            if (!port.public) continue;
            endpoints.push({
                workload: spec.name,
                portName: port.name,
                containerPort: port.port,
                publishedPort: FIRST_PUBLISHED_PORT + endpoints.length,
                protocol: port.protocol ?? "http",
                path: port.public.path ?? "/",
                host: port.public.host,
            });
        }
    }
    return endpoints;
}
