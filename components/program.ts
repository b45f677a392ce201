/**
 * What `index.ts` runs: read the stack's config, ask `workloads.ts` for the workloads, check
 * everything in one pass, then declare the stack. `index.ts` stays one line and knows nothing of
 * what the workloads need; `workloads.ts` asks for its secrets through the context.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { isDockyardSettingName, NAMESPACE, projectNamespaceProblems, readStackConfig, secretConfigKeys, shellQuote, StackConfig } from "./config";
import { deploymentConfigProblems, deploymentProblems } from "./preflight";
import { declareStack } from "./stack";
import { applyOverrides, isNamed, secretSizeProblems, secretTotalProblem, WorkloadSpec } from "./workload";

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
     * A secret the operator sets for this stack, `pulumi config set --secret app:<key>` (the CLI asks
     * for the value), as a Pulumi secret. It is checked with the rest before any resource exists
     * (set, set as a secret, and within the targets' secret sizes), which a value read any other way
     * is not: the deploy workflow's `up` runs without a preview. The `app` namespace keeps it apart
     * from dockyard's own settings, where an unknown key is refused. `key`: letters, digits, `-` and
     * `_` (see `appSecretKeyProblem`).
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
    // A configSecret key set in another namespace is one problem (appSecretProblems says where it
    // belongs), not also an unknown dockyard setting; in a project named "app" its own namespace
    // holds the workloads' secrets, which the project-namespace check leaves alone.
    const strays = new Set([...appSecrets].flatMap((key) => strayAppSecretKeys(raw, project, key)));
    const read = readStackConfig(Object.fromEntries(Object.entries(raw).filter(([k]) => !strays.has(k))), project, stack, secretKeys);
    const exempt = new Set([...strays, ...[...appSecrets].map((key) => `${APP_SECRET_NAMESPACE}:${key}`)]);
    const problems = [...read.problems, ...projectNamespaceProblems(raw, project, exempt, secretKeys)];
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
        if (problem && isNamed(spec)) problems.push(`workload ${JSON.stringify(spec.name)}: ${problem}`);
    }
    const { prepared, problems: workloadProblems } = applyOverrides(declared, read.config.workloads);
    problems.push(...workloadProblems, ...deploymentConfigProblems(read.config), ...deploymentProblems(read.config, prepared, PROJECT_ROOT));
    return { config: read.config, problems: [...new Set(problems)] };
}

/**
 * What a suggested `pulumi config set --secret <key>` does without a value: the CLI reads it from
 * stdin, or asks for it without echo (pulumi/pulumi pkg/cmd/pulumi/config/config.go
 * configSetCmd.Run). Never the value on the command line, where it would stay in the shell's
 * history and show in the process list.
 */
const ASKS_FOR_THE_VALUE = "(it asks for the value, or reads it from stdin)";

/**
 * What is wrong with the app secret `key` as the stack sets it: a key configSecret does not take,
 * in a project named `app` a key that is also a dockyard setting's name, missing (or set in another
 * namespace), left over in another namespace, in plain text, or outside the sizes both targets take
 * for a secret. Names the key and the size, never the value.
 */
function appSecretProblems(raw: Readonly<Record<string, string>>, project: string, key: string, secretKeys: readonly string[] | undefined): string[] {
    const keyProblem = appSecretKeyProblem(raw, key);
    if (keyProblem) return [keyProblem];
    const fullKey = `${APP_SECRET_NAMESPACE}:${key}`;
    const asked = `configSecret(${JSON.stringify(key)})`;
    // Pulumi.yaml's config keys go to <project>: nested under their first segment (pulumi/pulumi
    // pkg/workspace/config.go mergeConfig, parseConfigKey): in a project named "app", app:network
    // would hold the network defaults as well as the secret.
    if (project === APP_SECRET_NAMESPACE && isDockyardSettingName(key)) {
        return [
            `${asked} reads ${fullKey}, which in a project named ${JSON.stringify(project)} also holds Pulumi.yaml's config: defaults for ${NAMESPACE}:${key}; ` +
                `allowed: a key that is not the name of a dockyard setting, e.g. ${JSON.stringify(`${key}-secret`)}, or a project name other than ${JSON.stringify(APP_SECRET_NAMESPACE)} (\`name:\` in Pulumi.yaml)`,
        ];
    }
    const set = `pulumi config set --secret ${fullKey}`;
    const strays = strayAppSecretKeys(raw, project, key);
    const plain = strays.filter((k) => secretKeys !== undefined && !secretKeys.includes(k));
    const rotate = plain.length > 0 ? `; ${plain.join(" and ")} sat in plain text in the stack file: rotate the secret` : "";
    const value = raw[fullKey];
    if (value === undefined && strays.length > 0) {
        return [
            `${fullKey} is not set, but ${strays.join(" and ")} ${strays.length === 1 ? "is" : "are"}: ${asked} reads ${APP_SECRET_NAMESPACE}:, not ${namespacesOf(project)}; ` +
                `move it: ${set} && ${strays.map((k) => `pulumi config rm ${shellQuote(k)}`).join(" && ")} ${ASKS_FOR_THE_VALUE}${rotate}`,
        ];
    }
    if (value === undefined) return [`${fullKey} is not set; workloads.ts asks for it with ${asked}: ${set} ${ASKS_FOR_THE_VALUE}`];
    // `config rm` only edits the stack file, and removing an absent key is silent
    // (sdk/go/common/resource/config/map.go Map.Remove): a copy from an ESC environment stays.
    const problems = strays.map((k) => `${k} is left over: ${asked} reads ${fullKey}, which is set; remove it: pulumi config rm ${k} (or from the ESC environment that sets it)${plain.includes(k) ? `; it sat in plain text in the stack file: rotate the secret if it is the same value` : ""}`);
    if (secretKeys !== undefined && !secretKeys.includes(fullKey)) return [...problems, `${fullKey} is set in plain text; it is a secret: ${set} ${ASKS_FOR_THE_VALUE}, then rotate it: it sat in plain text in the stack file`];
    return [...problems, ...secretSizeProblems({ [key]: Buffer.byteLength(value, "utf8") }, () => fullKey)];
}

/** Where a key without `app:` lands: dockyard's namespace, and the project's when it is another. */
const namespacesOf = (project: string): string =>
    project === NAMESPACE
        ? `${NAMESPACE}: (dockyard's settings, and the project's own namespace, where \`pulumi config set\` puts a key given without one)`
        : `${NAMESPACE}: (dockyard's settings) or ${project}: (the project's own namespace, where \`pulumi config set\` puts a key given without one)`;

/** Why configSecret does not take `key`, or undefined (see APP_SECRET_KEY); with the steps that rename it when it is set. */
function appSecretKeyProblem(raw: Readonly<Record<string, string>>, key: string): string | undefined {
    if (APP_SECRET_KEY.test(key)) return undefined;
    const others = [...new Set(key.replace(/[A-Za-z0-9_-]/g, ""))].map((c) => JSON.stringify(c)).join(", ");
    const renamed = key.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
    // A flat app:db.password worked before the rule (Config.requireSecret reads it flat).
    const rename =
        raw[`${APP_SECRET_NAMESPACE}:${key}`] !== undefined && renamed !== ""
            ? `; to rename it: configSecret(${JSON.stringify(renamed)}) in workloads.ts, pulumi config set --secret ${APP_SECRET_NAMESPACE}:${renamed} ${ASKS_FOR_THE_VALUE}, then pulumi config rm ${shellQuote(`${APP_SECRET_NAMESPACE}:${key}`)}`
            : "";
    return (
        `configSecret(${JSON.stringify(key)}): the key ${key === "" ? "is empty" : `has ${others}`}; allowed: letters, digits, - and _, e.g. "db-password" ` +
        "(`pulumi config set --path` would store a key with . or [ ] nested in another key, which configSecret does not read; : ends the namespace)" +
        rename
    );
}

/**
 * Where the app secret `key` is set outside `app:`: `dockyard:<key>` or `<project>:<key>`, as
 * `pulumi config set --secret <key>` without `app:` does (pulumi/pulumi
 * pkg/cmd/pulumi/config/io.go parseConfigKey). A dockyard setting of that name, or a group of them
 * (which the CLI fills from Pulumi.yaml, nested under the first segment), is dockyard's, not a
 * stray secret.
 */
function strayAppSecretKeys(raw: Readonly<Record<string, string>>, project: string, key: string): string[] {
    if (!APP_SECRET_KEY.test(key) || isDockyardSettingName(key)) return [];
    return [...new Set([`${NAMESPACE}:${key}`, `${project}:${key}`])].filter((k) => k !== `${APP_SECRET_NAMESPACE}:${key}` && raw[k] !== undefined);
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
