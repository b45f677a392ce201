/**
 * The world the Swarm lab's scenarios share (issue 13, docs/lab.md): the VPC, the registry and the
 * images are made once (`setUp`); the swarm is formed by the cold-start scenario, and a scenario
 * run alone (`--grep`) forms it first (`ensureSwarm`). Figures and the scenario tally print at exit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { webPaths } from "../contract/declaration";
import { unwrapSecrets } from "../contract/engineSpec";
import { boot, createNode, destroyNode, engine, execIn, NodeSpec, sh, STATE, updateStore, vpcTsService, waitFor } from "./lab";
import { buildAndPush, caFile, startRegistry } from "./registry";
import { labImageRef, labNodes, LabStack, renderLabStack } from "./stack";

export const figures: Record<string, string> = {};
const passed: string[] = [];
const failed: string[] = [];

export let stack: LabStack;
/** Declared image reference → the digest-pinned reference the lab pushed. */
export let images: Record<string, string> = {};
export let nodes: NodeSpec[];
let swarmFormed = false;

export const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Gives a node the lab CA for the registry, as the public CA bundle trusts ECR on AL2023. */
export function trustRegistry(dir: string): void {
    const certs = path.join(dir, "etc-docker", "certs.d", stack.registryHost);
    fs.mkdirSync(certs, { recursive: true });
    fs.copyFileSync(caFile(), path.join(certs, "ca.crt"));
}

export async function bootAll(order: readonly NodeSpec[], staggerMs: number): Promise<void> {
    const boots = order.map(async (node, i) => {
        await new Promise((done) => setTimeout(done, i * staggerMs));
        const userData = node.group ? stack.workerUserData : stack.managerUserData[Number(node.name.slice(1)) - 1];
        const result = await boot(node.name, userData);
        if (result.status !== 0) throw new Error(`node ${node.name} (${node.ip}): cloud-init runcmd exited ${result.status}; last output:\n${result.output.split("\n").slice(-15).join("\n")}`);
    });
    await Promise.all(boots);
}

export interface SwarmView {
    clusterIds: string[];
    active: number;
    ready: string[];
    managers: { host: string; reachability: string; leader: boolean }[];
}

export async function swarmView(from: string): Promise<SwarmView> {
    const list = await engine(from).listNodes();
    // Only managers know the cluster's id; a worker says it is active.
    const infos = await Promise.all(nodes.filter((n) => fs.existsSync(path.join(STATE, "nodes", n.name, "run", "docker.sock"))).map(async (n) => (await engine(n.name).info()).Swarm));
    return {
        clusterIds: [...new Set(infos.filter((i: any) => i?.ControlAvailable).map((i: any) => i.Cluster?.ID as string))],
        active: infos.filter((i: any) => i?.LocalNodeState === "active").length,
        ready: list.filter((n: any) => n.Status?.State === "ready").map((n: any) => n.Description?.Hostname),
        managers: list
            .filter((n: any) => n.ManagerStatus)
            .map((n: any) => ({ host: n.Description?.Hostname, reachability: n.ManagerStatus.Reachability, leader: n.ManagerStatus.Leader === true })),
    };
}

/** Forms the swarm from a cold start: every node boots at once, in the order given. */
export async function formSwarm(order: readonly NodeSpec[]): Promise<void> {
    for (const node of nodes) createNode(node, trustRegistry);
    const started = Date.now();
    await bootAll(order, 3000);
    await waitFor(
        `${nodes.length} ready nodes in one swarm with ${stack.managerUserData.length} reachable managers`,
        async () => {
            const view = await swarmView("m1");
            const ok = view.clusterIds.length === 1 && view.active === nodes.length && view.ready.length === nodes.length && view.managers.filter((m) => m.reachability === "reachable").length === stack.managerUserData.length;
            if (!ok) throw new Error(JSON.stringify(view));
            return true;
        },
        120_000,
        2000,
    );
    figures["time to form the swarm (cold start, 3 managers + 1 worker)"] = seconds(started);
    swarmFormed = true;
}

export async function ensureSwarm(): Promise<void> {
    if (!swarmFormed) await formSwarm(nodes);
}

/** Removes a node a scenario added: its namespaces, its instance, and its entry in the swarm's node list once it is down. */
export async function removeExtraNode(name: string): Promise<void> {
    destroyNode(name);
    updateStore((store) => {
        delete store.instances[name];
    });
    const m1 = engine("m1");
    for (const n of await m1.listNodes({ filters: JSON.stringify({ name: [name] }) })) {
        await waitFor(`${name} down`, async () => ((await m1.getNode(n.ID).inspect()).Status.State === "down" ? true : undefined), 60_000, 2000).catch(() => undefined);
        await m1.getNode(n.ID).remove({ force: true });
    }
}

let setUpDone: Promise<void> | undefined;

/** Makes the lab's VPC, registry and images, once per run. */
export function setUp(): Promise<void> {
    setUpDone ??= makeWorld();
    return setUpDone;
}

async function makeWorld(): Promise<void> {
    if (!fs.existsSync(STATE) || process.getuid?.() !== 0) throw new Error(`run the lab as root through scripts/lab/run (npm run test:lab): it creates ${STATE} and removes everything again`);
    const started = Date.now();
    stack = await renderLabStack();
    nodes = labNodes(stack);
    fs.mkdirSync(path.join(STATE, "aws"), { recursive: true });
    fs.writeFileSync(
        path.join(STATE, "aws", "store.json"),
        JSON.stringify({
            accountId: "123456789012",
            region: stack.region,
            parameters: {},
            kms: { "alias/aws/ssm": { KeyId: "dylab-aws-ssm", KeyState: "Enabled" }, [stack.kmsKeyAlias]: { KeyId: "dylab-stack-key-1", KeyState: "Enabled" } },
            instances: {},
            lifecycleHooks: stack.lifecycleHook ? { [stack.workerGroup]: stack.lifecycleHook } : {},
            groups: { [stack.workerGroup]: { healthCheckGracePeriod: stack.workerGracePeriod } },
            registry: { password: "" },
        }),
    );
    createDeclaredParameters();
    fs.writeFileSync(path.join(STATE, "dns.json"), JSON.stringify({ [stack.registryHost]: "10.0.0.5", "vpc-resolver.dylab.internal": "10.0.0.77" }));
    sh(["vpc-up"]);
    vpcTsService("imds", "imds.ts", path.join(STATE, "aws", "store.json"));
    vpcTsService("dns", "dns.ts", path.join(STATE, "dns.json"));
    await startRegistry(stack.registryHost);

    // The builder stands in for CI: an engine outside the swarm that builds and pushes.
    sh(["create", "builder", "10.0.0.9"]);
    trustRegistry(path.join(STATE, "nodes", "builder"));
    const dockerd = await execIn("builder", ["systemctl", "start", "docker"]);
    if (dockerd.status !== 0) throw new Error(`the builder's dockerd did not start: ${dockerd.stderr}`);
    const declared = [...new Set(stack.services.map((s) => (s.rawInputs as any).taskSpec.containerSpec.image as string))];
    const refs = Object.fromEntries(declared.map((d) => [d, labImageRef(d, stack.registryHost)]));
    const pushed = await buildAndPush(engine("builder"), stack.registryHost, [...new Set(Object.values(refs))], webPaths(stack.workloads));
    images = Object.fromEntries(declared.map((d) => [d, pushed[refs[d]]]));
    figures["lab set-up (render, VPC, registry, images)"] = seconds(started);
}

/**
 * What `pulumi up` does with the SSM parameters the stack declares (the join parameters,
 * joinParameters.ts) before any node boots: the provider's create, a PutParameter whose Overwrite is
 * the resource's `overwrite` (hashicorp/terraform-provider-aws internal/service/ssm/parameter.go
 * resourceParameterCreate, shouldUpdateParameter), so a parameter already at the path fails the
 * `up` unless it is set. SecureStrings are encrypted with the key the alias names now.
 */
export function createDeclaredParameters(): void {
    const declared = stack.resources.filter((r) => r.type === "aws:ssm/parameter:Parameter").map((r) => unwrapSecrets(r.rawInputs) as Record<string, any>);
    updateStore((store) => {
        for (const inputs of declared) {
            const existing = store.parameters[inputs.name];
            if (existing && inputs.overwrite !== true) throw new Error(`pulumi up: creating SSM Parameter (${inputs.name}): ParameterAlreadyExists: The parameter already exists.`);
            if (existing && existing.Type !== inputs.type) throw new Error(`pulumi up: creating SSM Parameter (${inputs.name}): HierarchyTypeMismatchException: Parameter Type can't be changed for existing parameter`);
            const key = inputs.type === "SecureString" ? store.kms[inputs.keyId ?? "alias/aws/ssm"] : undefined;
            if (inputs.type === "SecureString" && key?.KeyState !== "Enabled") throw new Error(`pulumi up: creating SSM Parameter (${inputs.name}): ${key ? "KMSInvalidStateException" : "InvalidKeyId"} ${inputs.keyId}`);
            const keyId = key?.KeyId;
            store.parameters[inputs.name] = { Name: inputs.name, Type: inputs.type, Value: inputs.value, Version: (existing?.Version ?? 0) + 1, ...(keyId ? { KeyId: keyId } : {}) };
        }
    });
}

/** Tallies a scenario; `describe` blocks call it from afterEach. */
export function tally(test: Mocha.Test | undefined): void {
    if (!test) return;
    (test.state === "passed" ? passed : failed).push(test.title);
}

process.on("exit", () => {
    console.log("\n  Swarm lab figures");
    for (const [what, value] of Object.entries(figures)) console.log(`    ${what}: ${value}`);
    console.log(`    scenarios passed: ${passed.length} of ${passed.length + failed.length}${failed.length ? ` (failed: ${failed.join("; ")})` : ""}`);
});
