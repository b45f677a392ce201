/**
 * What the Swarm adapter declares for the local stack, ready for a real engine: the adapter runs
 * under the offline mocks with `Pulumi.local.yaml`, and the recorded network, secret and service
 * inputs (secrets unwrapped) come back in declaration order.
 *
 * No registry is reachable, so every workload runs the busybox test image, and each workload's
 * command is replaced by a busybox equivalent that keeps the workload's contract:
 * - a service serves HTTP with `httpd` on each of its ports (answering its HTTP health path);
 * - a job prints a line and exits 0;
 * - a `command` health check (the real image's own tool, e.g. `redis-cli ping`) becomes a TCP
 *   check of the first port, since that tool is not in busybox.
 * Everything else (env, secrets, replicas, resources, user, volumes, ports, update policy) is the
 * workload's own.
 */
import * as pulumi from "@pulumi/pulumi";
import { localSwarmPlatform } from "../../components/swarm/local";
import { deploySwarmWorkloads } from "../../components/swarm/workload";
import type { WorkloadSpec } from "../../components/workload";
import { sampleWorkloads } from "../../workloads";
import { RecordedResource, runDeclaration } from "../harness";
import { WEB_ROOT } from "./engine";
import { unwrapSecrets } from "./engineSpec";

/** Prefix of every Docker object the suite creates, so it never touches a real `local` stack's objects. */
export const CONTRACT_STACK = "dyct";

/** The Redis password the suite gives the sample system (the stack generates one with random.RandomPassword). */
export const CONTRACT_REDIS_PASSWORD = "contract-redis-password-0123456789";

/** The stack's workloads, from `workloads.ts`. */
export function stackWorkloads(): WorkloadSpec[] {
    return sampleWorkloads({ redisPassword: pulumi.secret(CONTRACT_REDIS_PASSWORD) });
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The busybox stand-in for a workload (see the file comment). */
export function forTestImage(spec: WorkloadSpec): WorkloadSpec {
    if ((spec.kind ?? "service") === "job") {
        return { ...spec, command: ["sh", "-c", `echo ${shellQuote(`job ${spec.name} ran`)}`], args: undefined };
    }
    const ports = (spec.ports ?? []).map((p) => p.port);
    const servers = ports.map((port, i) => `${i === ports.length - 1 ? "exec httpd -f" : "httpd"} -p ${port} -h ${WEB_ROOT}`);
    const command = servers.length > 0 ? ["sh", "-c", servers.join("; ")] : ["sleep", "2147483647"];
    const health =
        spec.health?.command && ports.length > 0
            ? { ...spec.health, command: undefined, tcp: { port: ports[0] } }
            : spec.health;
    return { ...spec, command, args: undefined, health };
}

/** Paths the test image's web root must answer: every HTTP health path, and `/`. */
export function webPaths(specs: readonly WorkloadSpec[]): string[] {
    return [...new Set(["/index.html", ...specs.flatMap((s) => (s.health?.http ? [s.health.http.path] : []))])].filter((p) => p !== "/");
}

export interface Declared {
    readonly specs: WorkloadSpec[];
    readonly networks: RecordedResource[];
    readonly secrets: RecordedResource[];
    readonly services: RecordedResource[];
    /** The job waits (`<stack>-<job>-complete` commands), whose `create` is the script Pulumi runs. */
    readonly waits: RecordedResource[];
}

const plain = (r: RecordedResource): RecordedResource => ({ ...r, rawInputs: unwrapSecrets(r.rawInputs) as Record<string, unknown> });

export async function declareLocalStack(testImage: string, specs: WorkloadSpec[] = stackWorkloads().map(forTestImage)): Promise<Declared> {
    const images = Object.fromEntries(specs.map((s) => [s.name, testImage]));
    const { resources } = await runDeclaration(() => deploySwarmWorkloads(CONTRACT_STACK, specs, images, localSwarmPlatform(CONTRACT_STACK)), "local");
    const of = (type: string) => resources.filter((r) => r.type === type).map(plain);
    return {
        specs,
        networks: of("docker:index/network:Network"),
        secrets: of("docker:index/secret:Secret"),
        services: of("docker:index/service:Service"),
        waits: of("command:local:Command").filter((r) => r.name.endsWith("-complete")),
    };
}
