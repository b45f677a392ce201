/**
 * The Swarm lab's harness (issue 13, docs/lab.md): the lab's VPC (a network namespace with a bridge,
 * the IMDS, the resolver and the registry), its nodes (scripts/lab/node), the fake-AWS store the
 * nodes share, and a Docker client per node. Everything is recorded under DYLAB_STATE, which
 * scripts/lab/down removes.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Docker from "dockerode";
import { PROJECT_ROOT } from "../harness";
import { BootResult, runCloudInit } from "./cloudInitRunner";
import type { LabInstance } from "./imds";

export const STATE = process.env.DYLAB_STATE ?? "/tmp/dylab";
const NODE_SCRIPT = path.join(PROJECT_ROOT, "scripts", "lab", "node");
const TS_NODE = ["-r", "ts-node/register/transpile-only"];
const STORE = path.join(STATE, "aws", "store.json");
const LOCK = path.join(STATE, "aws", "store.lock");

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` until it returns a value other than undefined, or fails naming `what` and the last answer. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
            last = undefined;
        } catch (err) {
            last = err;
        }
        await sleep(everyMs);
    }
    throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export function sh(args: readonly string[], input?: string): string {
    const result = spawnSync(NODE_SCRIPT, args, { encoding: "utf8", input, env: { ...process.env, DYLAB_STATE: STATE } });
    if (result.status !== 0) throw new Error(`scripts/lab/node ${args.join(" ")} failed (${result.status}): ${result.stderr.trim()}`);
    return result.stdout;
}

export interface Store {
    accountId: string;
    region: string;
    parameters: Record<string, { Name: string; Type: string; Value: string; Version: number; KeyId?: string }>;
    kms: Record<string, { KeyId: string; KeyState: string }>;
    instances: Record<string, LabInstance>;
    lifecycleHooks: Record<string, string>;
    /** Auto Scaling groups by name: what the fake needs of their settings. */
    groups: Record<string, { healthCheckGracePeriod: number }>;
    registry: { password: string; tokenless?: boolean };
}

/** Changes the shared store under the same lock as the `aws` fake. */
export function updateStore<T>(change: (store: Store) => T): T {
    const deadline = Date.now() + 15_000;
    for (;;) {
        try {
            fs.mkdirSync(LOCK);
            break;
        } catch (err: any) {
            if (err.code !== "EEXIST" || Date.now() > deadline) throw err;
            spawnSync("sleep", ["0.02"]);
        }
    }
    try {
        const store = JSON.parse(fs.readFileSync(STORE, "utf8")) as Store;
        const result = change(store);
        fs.writeFileSync(`${STORE}.tmp`, JSON.stringify(store, null, 1));
        fs.renameSync(`${STORE}.tmp`, STORE);
        return result;
    } finally {
        fs.rmdirSync(LOCK);
    }
}

export const readStore = (): Store => JSON.parse(fs.readFileSync(STORE, "utf8"));

export interface Call {
    node: string;
    tool: string;
    service?: string;
    operation?: string;
    args: string[];
    exit?: number;
    error?: string;
}

/** Every fake call the nodes made (aws, systemctl, dnf), in order. */
export function calls(): Call[] {
    const file = path.join(STATE, "calls.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

export function recordCall(entry: object): void {
    fs.appendFileSync(path.join(STATE, "calls.jsonl"), `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
}

export const nodeDir = (name: string) => path.join(STATE, "nodes", name);

/** A Docker client for a node's own engine (its socket, seen from the host). */
export function engine(name: string): Docker {
    return new Docker({ socketPath: path.join(nodeDir(name), "run", "docker.sock"), timeout: 60_000 });
}

export interface Exec {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs a command inside a node (its namespaces and PATH); never throws on a non-zero status. */
export function execIn(name: string, argv: readonly string[], timeoutMs = 300_000): Promise<Exec> {
    return new Promise((done) => {
        const child = spawn(NODE_SCRIPT, ["exec", name, ...argv], { env: { ...process.env, DYLAB_STATE: STATE } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c) => (stdout += c));
        child.stderr.on("data", (c) => (stderr += c));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            done({ status: code ?? 137, stdout, stderr });
        });
    });
}

/** Starts a long-running lab daemon in the VPC namespace (recorded by pid). */
export function vpcService(label: string, argv: readonly string[]): void {
    sh(["service", label, ...argv]);
}

export function vpcTsService(label: string, file: string, ...args: string[]): void {
    vpcService(label, [process.execPath, ...TS_NODE, path.join(PROJECT_ROOT, "test", "lab", file), ...args]);
}

export interface NodeSpec {
    readonly name: string;
    readonly ip: string;
    readonly az: string;
    readonly instanceId: string;
    /** The worker group, for a worker. */
    readonly group?: string;
}

/** Creates a node (namespaces, files) and registers its instance in the store; does not boot it. */
export function createNode(spec: NodeSpec, prepare?: (dir: string) => void): void {
    updateStore((store) => {
        store.instances[spec.name] = { node: spec.name, instanceId: spec.instanceId, ip: spec.ip, az: spec.az, group: spec.group, lifecycleState: "InService", state: "running", launchTime: new Date().toISOString() };
    });
    sh(["create", spec.name, spec.ip]);
    prepare?.(nodeDir(spec.name));
}

/** Boots a node with its user data (the bytes EC2 serves), as cloud-init on first boot. */
export function boot(name: string, userData: Buffer): Promise<BootResult> {
    return runCloudInit(NODE_SCRIPT, name, nodeDir(name), userData, recordCall);
}

/** Kills every process of a node at once, as when its instance dies. */
export function killNode(name: string): void {
    sh(["kill", name]);
}

export function destroyNode(name: string): void {
    sh(["destroy", name]);
}

export function setInstance(name: string, change: Partial<LabInstance>): void {
    updateStore((store) => Object.assign(store.instances[name], change));
}

/** Every log the lab collected: cloud-init output, dockerd logs, the VPC daemons' logs, the call record. */
export function collectedLogs(): { file: string; text: string }[] {
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                if (!["var-lib-docker", "run", "registry"].includes(entry.name)) walk(full);
            } else if (entry.name.endsWith(".log") || entry.name.endsWith(".jsonl")) files.push(full);
        }
    };
    walk(STATE);
    return files.map((file) => ({ file, text: fs.readFileSync(file, "utf8") }));
}
