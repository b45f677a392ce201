/**
 * What `index.ts` runs: read the stack's config, ask `workloads.ts` for the workloads, check
 * everything in one pass, then declare the stack. `index.ts` stays one line and knows nothing of
 * what the workloads need; `workloads.ts` asks for its secrets through the context.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CONFIG_KEYS, readStackConfig, secretConfigKeys, StackConfig } from "./config";
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
     * settings, where an unknown key is refused. `key`: letters, digits, `-` and `_` (see
     * `appSecretKeyProblem`).
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
 * A `configSecret` key. The Pulumi CLI takes any name without a `:` (pulumi/pulumi
 * sdk/go/common/resource/config/key.go ParseKey), but `pulumi config set --path` splits a key at
 * its first `.` or `[` and stores the value nested under that first segment
 * (pkg/cmd/pulumi/config/io.go parseConfigKey, config/map.go Map.Set), while `Config.requireSecret`
 * looks the whole key up flat (@pulumi/pulumi config.js getImpl): a key with a path in it reads
 * differently depending on how it was set. The key also goes unquoted into the `pulumi config set`
 * command a message shows.
 */
const APP_SECRET_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Every problem of the stack's config and workloads together, each once; empty when it can be
 * deployed. `secretKeys`: the config keys Pulumi holds as secrets (see `readStackConfig`).
 */
export function programProblems(raw: Readonly<Record<string, string>>, project: string, stack: string, workloads: WorkloadsFunction, secretKeys?: readonly string[]): { config: StackConfig; problems: string[] } {
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
    // A configSecret key set without its namespace is one problem (appSecretProblems says where it
    // belongs), not also an unknown dockyard setting.
    const misplaced = new Set([...appSecrets].filter((key) => misplacedAppSecret(raw, project, key)).map((key) => `${project}:${key}`));
    const read = readStackConfig(Object.fromEntries(Object.entries(raw).filter(([k]) => !misplaced.has(k))), project, stack, secretKeys);
    const problems = [...read.problems];
    for (const name of secretNames) {
        const problem = secretNameProblem(name);
        if (problem) problems.push(problem);
    }
    for (const key of appSecrets) problems.push(...appSecretProblems(raw, project, key, secretKeys));
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
 * What is wrong with the app secret `key` as the stack sets it: a key configSecret does not take,
 * a project whose own namespace is `app`, missing (or set without its namespace), in plain text, or
 * outside the sizes both targets take for a secret. Names the key and the size, never the value.
 */
function appSecretProblems(raw: Readonly<Record<string, string>>, project: string, key: string, secretKeys: readonly string[] | undefined): string[] {
    const keyProblem = appSecretKeyProblem(key);
    if (keyProblem) return [keyProblem];
    const fullKey = `${APP_SECRET_NAMESPACE}:${key}`;
    const asked = `configSecret(${JSON.stringify(key)})`;
    // The CLI writes a key given without a namespace as <project>:<key> (pulumi/pulumi
    // pkg/cmd/pulumi/config/io.go parseConfigKey), and so are Pulumi.yaml's own config keys
    // (pkg/workspace/config.go parseConfigKey): in a project named "app" they would be the
    // workloads' secrets.
    if (project === APP_SECRET_NAMESPACE) {
        return [
            `${asked} reads ${fullKey}, but the project is named ${JSON.stringify(project)}, so ${APP_SECRET_NAMESPACE}: is also the project's own config namespace ` +
                `(where \`pulumi config set <key>\` without a namespace and Pulumi.yaml's config defaults go); allowed: a project name other than ${JSON.stringify(APP_SECRET_NAMESPACE)} (\`name:\` in Pulumi.yaml)`,
        ];
    }
    const set = `pulumi config set --secret ${fullKey} <value>`;
    const value = raw[fullKey];
    if (value === undefined && misplacedAppSecret(raw, project, key)) {
        return [
            `${fullKey} is not set, but ${project}:${key} is: \`pulumi config set\` puts a key given without a namespace in the project's (${project}:), and ${asked} reads ${APP_SECRET_NAMESPACE}:; ` +
                `move it: ${set} && pulumi config rm ${project}:${key}`,
        ];
    }
    if (value === undefined) return [`${fullKey} is not set; workloads.ts asks for it with ${asked}: ${set}`];
    if (secretKeys !== undefined && !secretKeys.includes(fullKey)) return [`${fullKey} is set in plain text; it is a secret: ${set}`];
    return secretSizeProblems({ [key]: Buffer.byteLength(value, "utf8") }, () => fullKey);
}

/** Why configSecret does not take `key`, or undefined (see APP_SECRET_KEY). */
function appSecretKeyProblem(key: string): string | undefined {
    if (APP_SECRET_KEY.test(key)) return undefined;
    const others = [...new Set(key.replace(/[A-Za-z0-9_-]/g, ""))].map((c) => JSON.stringify(c)).join(", ");
    return (
        `configSecret(${JSON.stringify(key)}): the key ${key === "" ? "is empty" : `has ${others}`}; allowed: letters, digits, - and _, e.g. "db-password" ` +
        "(`pulumi config set --path` would store a key with . or [ ] nested in another key, which configSecret does not read; : ends the namespace)"
    );
}

/**
 * Whether the app secret `key` is missing from `app:` but set in the project's namespace, as
 * `pulumi config set --secret <key>` without `app:` does; a dockyard setting of that name (or a
 * group of them, set with --path) is dockyard's, not a misplaced secret.
 */
function misplacedAppSecret(raw: Readonly<Record<string, string>>, project: string, key: string): boolean {
    if (project === APP_SECRET_NAMESPACE || !APP_SECRET_KEY.test(key)) return false;
    const dockyardSetting = CONFIG_KEYS.some((d) => d.key === key || d.key.startsWith(`${key}.`));
    return raw[`${APP_SECRET_NAMESPACE}:${key}`] === undefined && raw[`${project}:${key}`] !== undefined && !dockyardSetting;
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
