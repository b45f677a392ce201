/**
 * The stack the lab runs: the whole program (`index.ts`) under the offline mocks for the dev stack
 * file with three managers and a worker in three AZs, and from what it declares
 * - each node's user data, the bytes EC2 would serve it (the managers' `aws.ec2.Instance`
 *   userDataBase64, gzip, and the worker launch template's base64 userData, decoded);
 * - the Swarm objects the adapter declares (network, secrets, services), translated to Engine API
 *   specs by the contract suite's translator (test/contract/engineSpec.ts), as the provider sends them.
 *
 * Lab substitutions, each because the lab cannot have the real thing (docs/lab.md):
 * - images: the lab's busybox test image, pushed to the lab registry under each workload's own
 *   repository (public images such as redis under `dylab-public/`), digest-pinned; commands and
 *   `command` health checks become busybox equivalents that keep each workload's contract
 *   (test/contract/declaration.ts `forTestImage`);
 * - EFS volumes (NFS) become local volumes: no EFS here;
 * - LAB-ONLY SWITCH: overlays are created unencrypted. This kernel has no ESP
 *   (`# CONFIG_INET_ESP is not set`), so encrypted overlays carry no traffic between the lab's nodes;
 *   encryption is not proven by the lab (on AL2023 it is a first-boot check).
 */
import { subnetPlan } from "../../components/subnets";
import { swarmNames } from "../../components/swarm/cluster";
import { joinParameterPath } from "../../components/swarm/joinParameters";
import { swarmHealthcheck } from "../../components/swarm/service";
import type { WorkloadSpec } from "../../components/workload";
import { ACCOUNT_ID } from "../../scripts/offline/mocks";
import { forTestImage, stackWorkloads } from "../contract/declaration";
import { networkCreateOptions, secretSpec, serviceSpec, unwrapSecrets } from "../contract/engineSpec";
import { renderStack, RecordedResource, stackConfig } from "../harness";
import type { NodeSpec } from "./lab";

export const LAB_STACK = "dev";
export const LAB_OVERRIDES = { "swarm.managers": 3, "swarm.workersMin": 1, "swarm.workersDesired": 1, "network.azs": 3 };
/** See the file comment: the only reason overlays are unencrypted in the lab. */
export const LAB_ONLY_UNENCRYPTED_OVERLAYS = true;

type Json = Record<string, any>;

export interface LabStack {
    readonly region: string;
    readonly registryHost: string;
    readonly workerGroup: string;
    /** The worker group's termination hook (its EC2_INSTANCE_TERMINATING entry of initialLifecycleHooks). */
    readonly lifecycleHook?: string;
    /** The worker group's health check grace period, in seconds. */
    readonly workerGracePeriod: number;
    readonly parameterPath: string;
    /** Where the stack's join parameters live (joinParameters.ts). */
    readonly joinPath: string;
    readonly kmsKeyAlias: string;
    /** User data by manager index, and the worker's: the bytes EC2 serves to the node. */
    readonly managerUserData: Buffer[];
    readonly workerUserData: Buffer;
    readonly networks: RecordedResource[];
    readonly secrets: RecordedResource[];
    readonly services: RecordedResource[];
    readonly workloads: WorkloadSpec[];
    readonly resources: RecordedResource[];
}

const plain = (r: RecordedResource): RecordedResource & { rawInputs: Json } => ({ ...r, rawInputs: unwrapSecrets(r.rawInputs) as Json });

export async function renderLabStack(): Promise<LabStack> {
    const config = stackConfig(LAB_STACK, LAB_OVERRIDES);
    const run = await renderStack(LAB_STACK, LAB_OVERRIDES);
    const of = (type: string) => run.resources.filter((r) => r.type === type).map(plain);
    const managers = of("aws:ec2/instance:Instance")
        .filter((r) => /-manager-\d+$/.test(r.name))
        .sort((a, b) => Number(a.name.split("-").pop()) - Number(b.name.split("-").pop()));
    const template = of("aws:ec2/launchTemplate:LaunchTemplate").find((r) => /-worker$/.test(r.name));
    if (managers.length !== config.swarm.managers || !template) throw new Error(`the lab stack declares ${managers.length} manager instances and ${template ? "a" : "no"} worker launch template`);
    const group = of("aws:autoscaling/group:Group")[0];
    const names = swarmNames(config);
    // The fake's store knows a group's termination hook, the one the workers complete.
    const hook = (group?.rawInputs.initialLifecycleHooks ?? []).find((h: Json) => h.lifecycleTransition === "autoscaling:EC2_INSTANCE_TERMINATING");
    return {
        region: config.region,
        registryHost: `${ACCOUNT_ID}.dkr.ecr.${config.region}.amazonaws.com`,
        workerGroup: group?.rawInputs.name,
        parameterPath: names.parameterPath,
        joinPath: joinParameterPath(names.parameterPath),
        kmsKeyAlias: names.kmsKeyAlias,
        managerUserData: managers.map((m) => Buffer.from(m.rawInputs.userDataBase64, "base64")),
        workerUserData: Buffer.from(template.rawInputs.userData, "base64"),
        networks: of("docker:index/network:Network"),
        secrets: of("docker:index/secret:Secret"),
        services: of("docker:index/service:Service"),
        workloads: stackWorkloads(),
        resources: run.resources,
        lifecycleHook: hook?.name,
        workerGracePeriod: group?.rawInputs.healthCheckGracePeriod ?? 0,
    };
}

/** The lab's nodes: managers m1..m3 and worker w1, each in its AZ's public subnet (dev has no NAT), as EC2 would place them. */
export function labNodes(stack: Pick<LabStack, "workerGroup">, managers = 3, workers = 1): NodeSpec[] {
    const config = stackConfig(LAB_STACK, LAB_OVERRIDES);
    const plan = subnetPlan(config.network.cidr, config.network.azs);
    const zones = ["a", "b", "c"];
    const address = (subnet: string, host: number) => {
        const [base] = subnet.split("/");
        const octets = base.split(".").map(Number);
        octets[3] += host;
        return octets.join(".");
    };
    const nodes: NodeSpec[] = [];
    for (let i = 0; i < managers; i++) nodes.push({ name: `m${i + 1}`, ip: address(plan.public[i % 3], 10 + i), az: `${config.region}${zones[i % 3]}`, instanceId: `i-0dylab0m${i + 1}` });
    for (let i = 0; i < workers; i++) nodes.push({ name: `w${i + 1}`, ip: address(plan.public[i % 3], 20 + i), az: `${config.region}${zones[i % 3]}`, instanceId: `i-0dylab0w${i + 1}`, group: stack.workerGroup });
    return nodes;
}

/** A further node (a replacement): the next free host address in AZ `zone`'s subnet. */
export function extraNode(name: string, index: number, zone: number, group?: string): NodeSpec {
    const config = stackConfig(LAB_STACK, LAB_OVERRIDES);
    const plan = subnetPlan(config.network.cidr, config.network.azs);
    const [base] = plan.public[zone].split("/");
    const octets = base.split(".").map(Number);
    octets[3] += 40 + index;
    return { name, ip: octets.join("."), az: `${config.region}${"abc"[zone]}`, instanceId: `i-0dylab0${name}`, group };
}

/** The image reference the lab pushes for a declared image: ECR references keep their repository. */
export function labImageRef(declared: string, registryHost: string): string {
    const repository = declared.split("@")[0].replace(/:[^/]*$/, "");
    if (repository.startsWith(`${registryHost}/`)) return `${repository}:lab`;
    const name = repository.split("/").pop();
    return `${registryHost}/dylab-public/${name}:lab`;
}

export interface EngineService {
    readonly name: string;
    readonly workload: WorkloadSpec;
    readonly spec: Json;
    /** Registry auth the provider would send with it (X-Registry-Auth), if the program declares any. */
    readonly auth?: Json;
}

/** The Engine API network create options, with the lab-only switch applied. */
export function labNetwork(inputs: Json): Json {
    const options = networkCreateOptions(inputs);
    if (LAB_ONLY_UNENCRYPTED_OVERLAYS && options.Options?.encrypted !== undefined) {
        const rest = { ...options.Options };
        delete rest.encrypted;
        return { ...options, Options: rest };
    }
    return options;
}

export const labSecret = (inputs: Json): Json => secretSpec(inputs);

/** A declared service as the lab creates it: the lab's image and busybox stand-ins, local volumes. */
export function labService(inputs: Json, workloads: readonly WorkloadSpec[], idMap: Record<string, string>, images: Record<string, string>, stack = LAB_STACK): EngineService {
    const { auth, ...rest } = inputs;
    const spec = serviceSpec(rest, idMap);
    const workload = workloads.find((w) => `${stack}-${w.name}` === spec.Name);
    if (!workload) throw new Error(`service ${spec.Name}: no workload of workloads.ts has that name`);
    const declaredImage = spec.TaskTemplate.ContainerSpec.Image;
    const image = images[declaredImage];
    if (!image) throw new Error(`service ${spec.Name}: the lab pushed no image for ${declaredImage}`);
    const stand = forTestImage(workload);
    const container = spec.TaskTemplate.ContainerSpec;
    container.Image = image;
    container.Command = stand.command;
    delete container.Args;
    const health = swarmHealthcheck(stand);
    if (health && container.HealthCheck) {
        container.HealthCheck = { ...container.HealthCheck, Test: health.tests };
    }
    container.Mounts = (container.Mounts ?? []).map((m: Json) => (m.VolumeOptions?.DriverConfig?.Options?.type === "nfs" ? { ...m, VolumeOptions: undefined } : m));
    return { name: spec.Name, workload, spec, auth };
}
