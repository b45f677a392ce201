/**
 * What `index.ts` runs: read the stack's config, ask `workloads.ts` for the workloads, check
 * everything in one pass, then declare the stack. `index.ts` stays one line and knows nothing of
 * what the workloads need; `workloads.ts` asks for its secrets through the context.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { readStackConfig, secretConfigKeys, StackConfig } from "./config";
import { deploymentConfigProblems, deploymentProblems } from "./preflight";
import { declareStack } from "./stack";
import { applyOverrides, secretSizeProblems, secretTotalProblem, WorkloadSpec } from "./workload";

/** What `workloads.ts` is given to declare the workloads. */
export interface WorkloadContext {
    /** The stack's name, e.g. `dev`. */
    readonly stack: string;
    /**
     * A random secret generated once for this stack and kept, encrypted, in its state (a
     * `random.RandomPassword` named `<stack>-<name>`): 32 letters and digits, about 190 bits, so it
     * survives any quoting. Mount it with `secrets: { <file>: generatedSecret("<name>") }`.
     */
    generatedSecret(name: string): pulumi.Output<string>;
    /**
     * A secret the operator sets for this stack, `pulumi config set --secret app:<key> <value>`, as a
     * Pulumi secret. It is checked with the rest before any resource exists (set, set as a secret,
     * and within the targets' secret sizes), which a value read any other way is not: the deploy
     * workflow's `up` runs without a preview. The `app` namespace keeps it apart from dockyard's own
     * settings, where an unknown key is refused.
     */
    configSecret(key: string): pulumi.Output<string>;
}

/** The config namespace of the workloads' own secrets (`configSecret`). */
export const APP_SECRET_NAMESPACE = "app";

/**
 * Returns the stack's workloads. It may be called more than once (first to validate, before any
 * resource exists), so it must only declare: get secrets from `generatedSecret` or `configSecret`,
 * never create resources itself.
 */
export type WorkloadsFunction = (context: WorkloadContext) => readonly WorkloadSpec[];

export interface ProgramOutputs {
    readonly target: string;
    readonly url: pulumi.Input<string | undefined>;
    readonly imageDigests: pulumi.Output<Record<string, string>>;
    /** Target-specific outputs: `details.connect`, `details.logGroup`, `details.updateKubeconfig`, … */
    readonly details: Record<string, unknown>;
}

/** Set to see the stack trace of an expected error (bad config, invalid workloads). */
export const DEBUG_VARIABLE = "DOCKYARD_DEBUG";

const PROJECT_ROOT = path.resolve(__dirname, "..");
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Every problem of the stack's config and workloads together, each once; empty when it can be
 * deployed. `secretKeys`: the config keys Pulumi holds as secrets (see `readStackConfig`).
 */
export function programProblems(raw: Readonly<Record<string, string>>, project: string, stack: string, workloads: WorkloadsFunction, secretKeys?: readonly string[]): { config: StackConfig; problems: string[] } {
    const read = readStackConfig(raw, project, stack, secretKeys);
    const problems = [...read.problems];
    // Validation runs on a declaration whose generated secrets are placeholders, so nothing is created yet.
    const secretNames = new Set<string>();
    const appSecrets = new Set<string>();
    const appSecretBytes = new Map<unknown, number>();
    const declared = workloads({
        stack,
        generatedSecret: (name) => {
            secretNames.add(name);
            return pulumi.secret("");
        },
        configSecret: (key) => {
            appSecrets.add(key);
            const value = raw[`${APP_SECRET_NAMESPACE}:${key}`] ?? "";
            const secret = pulumi.secret(value);
            appSecretBytes.set(secret, Buffer.byteLength(value, "utf8"));
            return secret;
        },
    });
    for (const name of secretNames) {
        const problem = secretNameProblem(name);
        if (problem) problems.push(problem);
    }
    for (const key of appSecrets) problems.push(...appSecretProblems(raw, key, secretKeys));
    // A workload's secrets together, configSecret values counted as well as plain strings (validateWorkloads sees only those).
    for (const spec of declared) {
        const values = spec.secrets !== null && typeof spec.secrets === "object" ? Object.values(spec.secrets) : [];
        if (!values.some((v) => appSecretBytes.has(v))) continue;
        const total = values.reduce<number>((sum, v) => sum + (typeof v === "string" ? Buffer.byteLength(v, "utf8") : (appSecretBytes.get(v) ?? 0)), 0);
        const problem = secretTotalProblem(total);
        if (problem) problems.push(`workload ${JSON.stringify(spec.name)}: ${problem}`);
    }
    const { prepared, problems: workloadProblems } = applyOverrides(declared, read.config.workloads);
    problems.push(...workloadProblems, ...deploymentConfigProblems(read.config), ...deploymentProblems(read.config, prepared, PROJECT_ROOT));
    return { config: read.config, problems: [...new Set(problems)] };
}

/**
 * What is wrong with the app secret `key` as the stack sets it: missing, in plain text, or outside
 * the sizes both targets take for a secret. Names the key and the size, never the value.
 */
function appSecretProblems(raw: Readonly<Record<string, string>>, key: string, secretKeys: readonly string[] | undefined): string[] {
    const fullKey = `${APP_SECRET_NAMESPACE}:${key}`;
    const set = `pulumi config set --secret ${fullKey} <value>`;
    const value = raw[fullKey];
    if (value === undefined) return [`${fullKey} is not set; workloads.ts asks for it with configSecret(${JSON.stringify(key)}): ${set}`];
    if (secretKeys !== undefined && !secretKeys.includes(fullKey)) return [`${fullKey} is set in plain text; it is a secret: ${set}`];
    return secretSizeProblems({ [key]: Buffer.byteLength(value, "utf8") }, () => fullKey);
}

const secretNameProblem = (name: string): string | undefined =>
    SECRET_NAME.test(name) && name.length <= 63 ? undefined : `generatedSecret(${JSON.stringify(name)}): allowed: a name of lowercase letters, digits and - (it names the stack's RandomPassword)`;

/** The message that stops a stack: every problem, then where to look. */
export function problemsMessage(stack: string, problems: readonly string[]): string {
    return (
        `dockyard: stack ${JSON.stringify(stack)} cannot be deployed (${problems.length} problem${problems.length === 1 ? "" : "s"}), nothing was created:\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nConfig keys are listed in the README's config reference; workload fields in docs/workloads.md."
    );
}

function generatedSecret(stack: string, name: string): pulumi.Output<string> {
    const password = new random.RandomPassword(`${stack}-${name}`, { length: 32, special: false });
    return pulumi.secret(password.result);
}

/**
 * Declares the whole stack for the running Pulumi program and returns its outputs. Expected errors
 * end the program as a `pulumi.RunError`, which the Pulumi language host prints without a stack
 * trace (@pulumi/pulumi errors.ts, cmd/run/run.ts); DOCKYARD_DEBUG=1 throws the original error.
 */
export function declareProgram(workloads: WorkloadsFunction): ProgramOutputs {
    const stack = pulumi.getStack();
    const raw = pulumi.runtime.allConfig();
    const { config, problems } = programProblems(raw, pulumi.getProject(), stack, workloads, secretConfigKeys(raw));
    if (problems.length > 0) {
        const message = problemsMessage(stack, problems);
        throw process.env[DEBUG_VARIABLE] ? new Error(message) : new pulumi.RunError(message);
    }
    const app = new pulumi.Config(APP_SECRET_NAMESPACE);
    const outputs = declareStack(config, workloads({ stack, generatedSecret: (name) => generatedSecret(stack, name), configSecret: (key) => app.requireSecret(key) }));
    const { target, url, imageDigests, ...details } = outputs;
    return { target, url, imageDigests, details };
}
