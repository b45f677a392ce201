/**
 * `npm run bench`: renders synthetic stacks of 10, 100 and 500 workloads on each target under the
 * offline mocks and prints time, peak memory and resource count per size for three programs:
 * - `bare`: a plain Pulumi program that declares the workloads' raw resources by hand;
 * - `dockyard`: dockyard's workload adapter declaring the same resources (same types and counts),
 *   so the ratio of the two is the cost of dockyard's abstractions;
 * - `stack`: the whole pipeline (`declareStack`: network, cluster, load balancer, workloads) with
 *   the dev (swarm) or prod (eks) stack file, the cost a user actually pays per `pulumi preview`.
 * Then whether each grows linearly with the number of workloads.
 *
 * Each measurement runs in its own child process, so its peak RSS (`process.resourceUsage().maxRSS`)
 * is its own and one run's garbage does not slow the next. Overhead and linearity are judged on CPU
 * time, which other processes on a busy machine inflate far less than wall time.
 */
import { spawnSync } from "node:child_process";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as path from "node:path";
import { parseStackConfig } from "../components/config";
import { deployKubernetesWorkloads, namespaceName } from "../components/kubernetes/deploy";
import type { KubernetesPlatform, SwarmPlatform } from "../components/platform";
import { declareStack } from "../components/stack";
import { deploySwarmWorkloads, networkName } from "../components/swarm/workload";
import { FIRST_PUBLISHED_PORT, WorkloadSpec } from "../components/workload";
import { PROJECT_ROOT, runProgram } from "./offline/run";
import { loadStackFile } from "./offline/stackFile";

export type BenchTarget = "swarm" | "eks";
export type BenchVariant = "bare" | "dockyard" | "stack";
export const VARIANTS: readonly BenchVariant[] = ["bare", "dockyard", "stack"];

export const SIZES = [10, 100, 500] as const;
export const TARGETS: readonly BenchTarget[] = ["swarm", "eks"];
/** Per-workload time at the largest size may exceed the middle size's by this factor and still count as linear. */
export const LINEAR_TOLERANCE = 1.5;

const STACK = "bench";
const PORT = 8080;
const REPLICAS = 2;

/** A realistic service: an image reference, a public HTTP port, env, a secret, resources and a health check. */
export function syntheticSpecs(count: number): WorkloadSpec[] {
    return Array.from({ length: count }, (_, i) => ({
        name: `app-${i}`,
        image: { ref: `registry.example/app-${i}:1.0.0` },
        replicas: REPLICAS,
        ports: [{ name: "http", port: PORT, public: { path: `/app-${i}` } }],
        env: { LOG_LEVEL: "info", APP_INDEX: String(i) },
        secrets: { "api-key": pulumi.secret(`bench-secret-${i}`) },
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
        health: { http: { path: "/healthz", port: PORT }, intervalSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    }));
}

const imagesOf = (specs: readonly WorkloadSpec[]) => Object.fromEntries(specs.map((s) => [s.name, (s.image as { ref: string }).ref]));

function dockyardProgram(target: BenchTarget, specs: readonly WorkloadSpec[]): void {
    if (target === "eks") {
        const provider = new k8s.Provider("bench-k8s", { kubeconfig: "{}" });
        const platform: KubernetesPlatform = { kind: "kubernetes", provider, persistentStorageClass: "gp3", sharedStorageClass: "efs", ingressClass: "alb", vpcCidr: "10.0.0.0/16", retainClaims: false, dependsOn: [] };
        deployKubernetesWorkloads(STACK, specs, imagesOf(specs), platform);
    } else {
        const provider = new docker.Provider("bench-docker", { host: "ssh://ec2-user@manager.example" });
        const platform: SwarmPlatform = { kind: "swarm", provider, engine: "ec2", portPublishing: FIRST_PUBLISHED_PORT, shell: { sshTarget: "ec2-user@manager.example" }, dependsOn: [] };
        deploySwarmWorkloads(STACK, specs, imagesOf(specs), platform);
    }
}

/** The stack file each target's whole-stack run uses. */
const STACK_FILES: Record<BenchTarget, string> = { swarm: "Pulumi.dev.yaml", eks: "Pulumi.prod.yaml" };

/** A stack file's raw config, without the per-workload overrides that name the sample system's workloads. */
function stackFileConfig(target: BenchTarget): { config: Record<string, string>; secretKeys: string[] } {
    const file = loadStackFile(path.join(PROJECT_ROOT, STACK_FILES[target]));
    const config = Object.fromEntries(Object.entries(file.config).filter(([key]) => !key.startsWith("dockyard:workloads.")));
    // The synthetic workloads are routed by path, which on Swarm takes an ALB: direct ingress serves one public http port.
    if (target === "swarm") config["dockyard:swarm.ingress"] = "alb";
    return { config, secretKeys: file.secretKeys };
}

/** The same raw Kubernetes objects, written out by hand per workload. */
function bareKubernetes(specs: readonly WorkloadSpec[]): void {
    const provider = new k8s.Provider("bench-k8s", { kubeconfig: "{}" });
    const namespace = namespaceName(STACK);
    new k8s.core.v1.Namespace(`${namespace}-namespace`, { metadata: { name: namespace } }, { provider });
    // A hand-written stack that isolates its workloads needs the same baseline and a policy per workload.
    new k8s.networking.v1.NetworkPolicy(`${namespace}-default-deny`, { metadata: { name: "default-deny", namespace }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } }, { provider });
    new k8s.networking.v1.NetworkPolicy(
        `${namespace}-allow-dns`,
        { metadata: { name: "allow-dns", namespace }, spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ protocol: "UDP", port: 53 }] }] } },
        { provider },
    );
    for (const spec of specs) {
        const labels = { "app.kubernetes.io/name": spec.name };
        const metadata = { name: spec.name, namespace, labels };
        new k8s.core.v1.ServiceAccount(`${spec.name}-serviceaccount`, { metadata, automountServiceAccountToken: false }, { provider });
        const secret = new k8s.core.v1.Secret(`${spec.name}-secret`, { metadata: { namespace, labels }, type: "Opaque", stringData: { ...spec.secrets } }, { provider });
        const probe = { httpGet: { path: "/healthz", port: PORT }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };
        new k8s.apps.v1.Deployment(
            `${spec.name}-deployment`,
            {
                metadata,
                spec: {
                    replicas: REPLICAS,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: spec.name,
                            containers: [
                                {
                                    name: spec.name,
                                    image: (spec.image as { ref: string }).ref,
                                    ports: [{ name: "http", containerPort: PORT }],
                                    env: Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value })),
                                    resources: spec.resources,
                                    readinessProbe: probe,
                                    livenessProbe: probe,
                                    volumeMounts: [{ name: "secrets", mountPath: "/run/secrets", readOnly: true }],
                                },
                            ],
                            volumes: [{ name: "secrets", secret: { secretName: secret.metadata.name } }],
                        },
                    },
                },
            },
            { provider },
        );
        new k8s.core.v1.Service(`${spec.name}-service`, { metadata, spec: { selector: labels, ports: [{ name: "http", port: PORT, targetPort: "http" }] } }, { provider });
        new k8s.networking.v1.Ingress(
            `${spec.name}-ingress`,
            {
                metadata: { ...metadata, annotations: { "alb.ingress.kubernetes.io/group.name": STACK, "alb.ingress.kubernetes.io/target-type": "ip" } },
                spec: { ingressClassName: "alb", rules: [{ http: { paths: [{ path: `/${spec.name}`, pathType: "Prefix", backend: { service: { name: spec.name, port: { name: "http" } } } }] } }] },
            },
            { provider },
        );
        new k8s.policy.v1.PodDisruptionBudget(`${spec.name}-pdb`, { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } }, { provider });
        new k8s.networking.v1.NetworkPolicy(
            `${spec.name}-netpol`,
            { metadata, spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "TCP", port: PORT }] }] } },
            { provider },
        );
    }
}

/**
 * The same raw Docker objects: one overlay network, then a secret and a service per workload, and the
 * one random key that a hand-written program needs too to name secrets by value without revealing it
 * (see `secretDockerName`).
 */
function bareSwarm(specs: readonly WorkloadSpec[]): void {
    const provider = new docker.Provider("bench-docker", { host: "ssh://ec2-user@manager.example" });
    new random.RandomBytes("bench-secret-names", { length: 32 });
    const network = new docker.Network(networkName(STACK), { name: networkName(STACK), driver: "overlay", attachable: true, options: { encrypted: "true" } }, { provider });
    specs.forEach((spec, i) => {
        const secret = new docker.Secret(`${spec.name}-api-key`, { name: `${spec.name}-api-key`, data: pulumi.secret(Buffer.from(`bench-secret-${i}`).toString("base64")) }, { provider });
        new docker.Service(
            `${STACK}-${spec.name}`,
            {
                name: spec.name,
                mode: { replicated: { replicas: REPLICAS } },
                taskSpec: {
                    containerSpec: {
                        image: (spec.image as { ref: string }).ref,
                        env: { ...spec.env },
                        secrets: [{ secretId: secret.id, secretName: secret.name, fileName: "/run/secrets/api-key" }],
                        healthcheck: { tests: ["CMD", "wget", "-q", "-O-", `http://localhost:${PORT}/healthz`], interval: "10s", timeout: "2s", retries: 3 },
                    },
                    resources: { limits: { nanoCpus: 250_000_000, memoryBytes: 256 * 2 ** 20 }, reservation: { nanoCpus: 100_000_000, memoryBytes: 128 * 2 ** 20 } },
                    networksAdvanceds: [{ name: network.id }],
                },
                endpointSpec: { ports: [{ targetPort: PORT, publishedPort: FIRST_PUBLISHED_PORT + i }] },
                updateConfig: { parallelism: 1, failureAction: "rollback", order: "start-first" },
            },
            { provider },
        );
    });
}

export interface Measurement {
    readonly target: BenchTarget;
    readonly variant: BenchVariant;
    readonly workloads: number;
    /** Wall time from declaring the program until every registration settled. */
    readonly seconds: number;
    /** CPU time (user + system) over the same span. */
    readonly cpuSeconds: number;
    readonly maxRssMb: number;
    /** Every registered resource, components included. */
    readonly resources: number;
    /** Custom resources (what a real deployment would create) by type. */
    readonly customByType: Record<string, number>;
}

/** Runs one variant in this process and measures it. */
export async function measure(target: BenchTarget, variant: BenchVariant, workloads: number): Promise<Measurement> {
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const { config, secretKeys } = variant === "stack" ? stackFileConfig(target) : { config: {}, secretKeys: [] };
    const run = await runProgram({
        stack: STACK,
        config,
        secretKeys,
        program: () => {
            const specs = syntheticSpecs(workloads);
            if (variant === "stack") declareStack(parseStackConfig(config, "dockyard", STACK), specs);
            else if (variant === "dockyard") dockyardProgram(target, specs);
            else if (target === "eks") bareKubernetes(specs);
            else bareSwarm(specs);
            return {};
        },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const customByType: Record<string, number> = {};
    for (const r of run.resources) if (r.custom && !r.type.startsWith("pulumi:providers:")) customByType[r.type] = (customByType[r.type] ?? 0) + 1;
    return { target, variant, workloads, seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024, resources: run.resources.length, customByType };
}

function measureInChild(target: BenchTarget, variant: BenchVariant, workloads: number): Measurement {
    const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, "--child", target, variant, String(workloads)], {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        maxBuffer: 16 * 2 ** 20,
    });
    if (child.status !== 0) throw new Error(`bench ${target} ${variant} ${workloads} failed:\n${child.stderr}`);
    return JSON.parse(child.stdout.trim().split("\n").pop()!) as Measurement;
}

const total = (m: Measurement) => Object.values(m.customByType).reduce((a, b) => a + b, 0);

/** Types whose counts differ between the two variants; empty when the bare program mirrors dockyard. */
export function countDifferences(a: Measurement, b: Measurement): string[] {
    const types = [...new Set([...Object.keys(a.customByType), ...Object.keys(b.customByType)])].sort();
    return types.filter((t) => (a.customByType[t] ?? 0) !== (b.customByType[t] ?? 0)).map((t) => `${t}: ${a.variant} ${a.customByType[t] ?? 0}, ${b.variant} ${b.customByType[t] ?? 0}`);
}

/** CPU time per workload at the largest size over the middle size: about 1 when cost grows linearly. */
export function linearity(bySize: readonly Measurement[]): number {
    const [middle, largest] = [...bySize].sort((x, y) => x.workloads - y.workloads).slice(-2);
    return largest.cpuSeconds / largest.workloads / (middle.cpuSeconds / middle.workloads);
}

function report(results: readonly Measurement[]): string {
    const header = ["target", "workloads", "variant", "resources", "custom", "wall (s)", "CPU (s)", "CPU ms/workload", "peak RSS (MB)"];
    const rows = results.map((m) => [
        m.target,
        String(m.workloads),
        m.variant,
        String(m.resources),
        String(total(m)),
        m.seconds.toFixed(2),
        m.cpuSeconds.toFixed(2),
        ((m.cpuSeconds * 1000) / m.workloads).toFixed(1),
        m.maxRssMb.toFixed(0),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line), ""];
    for (const target of TARGETS) {
        const of = (variant: BenchVariant) => results.filter((m) => m.target === target && m.variant === variant);
        const [dockyard, bare, stack] = [of("dockyard"), of("bare"), of("stack")];
        for (const d of dockyard) {
            const b = bare.find((m) => m.workloads === d.workloads)!;
            const diff = countDifferences(d, b);
            out.push(
                `${target} ${String(d.workloads).padStart(3)}: overhead CPU time x${(d.cpuSeconds / b.cpuSeconds).toFixed(2)}, peak memory x${(d.maxRssMb / b.maxRssMb).toFixed(2)}; ` +
                    (diff.length === 0 ? `same ${total(d)} custom resources` : `custom resources differ: ${diff.join("; ")}`),
            );
        }
        for (const s of stack) {
            const b = bare.find((m) => m.workloads === s.workloads)!;
            out.push(`${target} ${String(s.workloads).padStart(3)}: whole stack (${STACK_FILES[target]}) CPU time x${(s.cpuSeconds / b.cpuSeconds).toFixed(2)} the bare workloads, ${total(s) - total(b)} more custom resources`);
        }
        for (const [variant, runs] of [["bare", bare], ["dockyard", dockyard], ["stack", stack]] as const) {
            const ratio = linearity(runs);
            out.push(`${target} ${variant}: CPU time per workload at ${SIZES[SIZES.length - 1]} vs ${SIZES[SIZES.length - 2]} is x${ratio.toFixed(2)}: ${ratio <= LINEAR_TOLERANCE ? "linear" : "NOT linear"}`);
        }
    }
    return out.join("\n");
}

async function main(): Promise<void> {
    if (process.argv[2] === "--child") {
        const [target, variant, workloads] = process.argv.slice(3);
        const m = await measure(target as BenchTarget, variant as BenchVariant, Number(workloads));
        process.stdout.write(`${JSON.stringify(m)}\n`);
        return;
    }
    const started = Date.now();
    const results: Measurement[] = [];
    for (const target of TARGETS) {
        for (const workloads of SIZES) {
            for (const variant of VARIANTS) {
                const m = measureInChild(target, variant, workloads);
                process.stderr.write(`  ${target} ${variant} ${workloads}: ${m.seconds.toFixed(2)} s wall, ${m.cpuSeconds.toFixed(2)} s CPU\n`);
                results.push(m);
            }
        }
    }
    process.stdout.write(`${report(results)}\n\n(${((Date.now() - started) / 1000).toFixed(0)} s in all; from declaring the program until every registration settled under mocks, one process per row)\n`);
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (err) => {
            process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(1);
        },
    );
}
