/**
 * The test harness every test can use: run the real program (or one component) with a given config
 * under strict mocks, collect the registered resources, and resolve Outputs.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, StackConfig } from "../components/config";
import { PROJECT_ROOT, ProgramRun, RecordedResource, RunOptions, runProgram } from "../scripts/offline/run";
import { loadStackFile } from "../scripts/offline/stackFile";

export type { ProgramRun, RecordedResource };
export { PROJECT_ROOT };

/** Config overrides by short key (`swarm.managers`) with plain values; `undefined` removes a key. */
export type Overrides = Record<string, unknown>;

const raw = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** The raw config map of a stack file (`Pulumi.<stack>.yaml`) with overrides applied. */
export function stackConfigMap(stack: string, overrides: Overrides = {}): { config: Record<string, string>; secretKeys: string[] } {
    const file = loadStackFile(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`));
    const config = { ...file.config };
    for (const [key, value] of Object.entries(overrides)) {
        const fullKey = key.includes(":") ? key : `dockyard:${key}`;
        if (value === undefined) delete config[fullKey];
        else config[fullKey] = raw(value);
    }
    return { config, secretKeys: file.secretKeys };
}

/** The parsed `StackConfig` of a stack file with overrides: for testing components directly. */
export function stackConfig(stack: string, overrides: Overrides = {}): StackConfig {
    return parseStackConfig(stackConfigMap(stack, overrides).config, "dockyard", stack);
}

/** Runs the whole program (`index.ts`) for a stack file with overrides. */
export async function renderStack(stack: string, overrides: Overrides = {}, invokes?: RunOptions["invokes"]): Promise<ProgramRun> {
    const { config, secretKeys } = stackConfigMap(stack, overrides);
    return runProgram({ stack, config, secretKeys, invokes });
}

/**
 * Runs `declare` (which constructs one component or a few resources) under mocks with a stack's
 * config, and returns what it registered and what it returned.
 */
export async function runDeclaration<T>(declare: () => T, stack = "dev", overrides: Overrides = {}): Promise<ProgramRun & { value: T }> {
    const { config, secretKeys } = stackConfigMap(stack, overrides);
    let value!: T;
    const run = await runProgram({
        stack,
        config,
        secretKeys,
        program: () => {
            value = declare();
            return {};
        },
    });
    return { ...run, value };
}

/** Resolves an Output (or plain value) to its value; fails fast instead of hanging. */
export function resolve<T>(value: pulumi.Input<T>, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`Output did not resolve within ${timeoutMs} ms`)), timeoutMs);
        pulumi.output(value).apply((v) => {
            clearTimeout(timer);
            done(v as T);
            return v;
        });
    });
}

/** Whether an Output is marked secret. */
export function isSecret(value: pulumi.Output<unknown>): Promise<boolean> {
    return (value as any).isSecret as Promise<boolean>;
}

export function ofType(resources: readonly RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

/** The one resource of a type (and name, when given); throws when there is not exactly one. */
export function only(resources: readonly RecordedResource[], type: string, name?: string): RecordedResource {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

/** The message a synchronous call throws, or "no error". */
export function errorOf(run: () => unknown): string {
    try {
        run();
    } catch (err) {
        return String((err as Error).message);
    }
    return "no error";
}

/** A three-AZ network with NAT, as the Network component hands it to a cluster. */
export const THREE_AZ_NETWORK = {
    vpcId: "vpc-0123",
    vpcCidr: "10.20.0.0/16",
    publicSubnetIds: ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"],
    privateSubnetIds: ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"],
    nodeSubnetIds: ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"],
    azs: ["us-east-1a", "us-east-1b", "us-east-1c"],
};
