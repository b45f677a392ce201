/**
 * Runs dockyard's real `index.ts` (or any program module) under Pulumi mocks and records every
 * resource the engine would have received: the offline render and the test harness both stand on it.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { mockInvoke, mockOutputs } from "./mocks";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** One registered resource, as `out/<stack>/resources.json` lists it. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly parent: string | null;
    readonly provider: string | null;
    readonly inputs: Record<string, unknown>;
    /** Inputs with secrets still wrapped, for tests that check what is secret. */
    readonly rawInputs: Record<string, unknown>;
    readonly custom: boolean;
    /** Names of the resources it depends on (explicit `dependsOn` and those its inputs come from). */
    readonly dependencies: string[];
    /** Resource options that decide how an update goes: what Pulumi ignores, replaces, and waits for. */
    readonly options: {
        readonly ignoreChanges: string[];
        readonly replaceOnChanges: string[];
        readonly deleteBeforeReplace: boolean;
        readonly retainOnDelete: boolean;
        readonly protect: boolean;
        readonly customTimeouts?: { readonly create?: string; readonly update?: string; readonly delete?: string };
    };
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    readonly outputs: Record<string, unknown>;
    readonly invokes: { token: string; inputs: Record<string, unknown> }[];
}

export interface RunOptions {
    readonly project?: string;
    readonly stack: string;
    /** Full config keys (`dockyard:target`) to raw string values, as the Pulumi CLI passes them. */
    readonly config: Record<string, string>;
    readonly secretKeys?: string[];
    /** A module whose top level declares resources; defaults to the project's `index.ts`. */
    readonly program?: string | (() => unknown);
    /** Answers for invokes instead of the default mocks (e.g. managers EC2 already runs), by token. */
    readonly invokes?: Readonly<Record<string, (inputs: Record<string, any>) => Record<string, unknown>>>;
}

export const SECRET_PLACEHOLDER = "[secret]";

/** The program failed; `resources` are those it had registered by then (none, when validation stopped it first). */
export class ProgramFailure extends Error {
    constructor(
        public readonly cause: unknown,
        public readonly resources: readonly RecordedResource[],
    ) {
        super(cause instanceof Error ? cause.message : String(cause));
        this.name = "ProgramFailure";
    }
}

/** Replaces every secret value by "[secret]" and resource references by their name. */
export function redactSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(redactSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[rpc.specialSigKey] === rpc.specialSecretSig) return SECRET_PLACEHOLDER;
        if (pulumi.Resource.isInstance(value)) return `[resource ${(value as any).__name ?? "?"}]`;
        return Object.fromEntries(Object.keys(record).sort().map((k) => [k, redactSecrets(record[k])]));
    }
    return value;
}

/** The update-shaping options of a RegisterResourceRequest. */
function recordedOptions(req: any): RecordedResource["options"] {
    const timeouts = req.getCustomtimeouts?.();
    const customTimeouts = timeouts ? Object.fromEntries(Object.entries({ create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }).filter(([, v]) => v)) : undefined;
    return {
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        retainOnDelete: req.getRetainondelete?.() ?? false,
        protect: req.getProtect?.() ?? false,
        ...(customTimeouts && Object.keys(customTimeouts).length > 0 ? { customTimeouts } : {}),
    };
}

/** The name in a URN (`urn:pulumi:stack::project::type::name`), or null for none or the root stack. */
const nameOfUrn = (urn: string): string | null => {
    const parts = urn ? urn.split("::") : [];
    if (parts.length < 4 || parts[2] === "pulumi:pulumi:Stack") return null;
    return parts[3];
};

function clearProjectModules(): void {
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(PROJECT_ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`) && !id.includes(`${path.sep}scripts${path.sep}offline${path.sep}`)) {
            delete require.cache[id];
        }
    }
}

/**
 * Runs the program with the given config under mocks and waits until every registration has
 * settled. The program module is re-imported each time, so one process can run many stacks.
 */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
    const project = options.project ?? "dockyard";
    const region = options.config["dockyard:region"] ?? "us-east-1";
    const resources: RecordedResource[] = [];
    const invokes: ProgramRun["invokes"] = [];
    const failures: unknown[] = [];

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => mockOutputs(args, region),
            call: (args) => {
                invokes.push({ token: args.token, inputs: args.inputs });
                try {
                    return options.invokes?.[args.token]?.(args.inputs) ?? mockInvoke(args, region);
                } catch (err) {
                    failures.push(err);
                    throw err;
                }
            },
        },
        project,
        options.stack,
        false,
    );
    pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);

    const monitor = pulumi.runtime.getMonitor() as any;
    for (const method of ["registerResource", "readResource"] as const) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req: any, callback: any) => {
            const inputs = rpc.deserializeProperties(method === "registerResource" ? req.getObject() : req.getProperties());
            resources.push({
                type: req.getType(),
                name: req.getName(),
                parent: nameOfUrn(req.getParent()),
                provider: nameOfUrn(req.getProvider()),
                inputs: redactSecrets(inputs) as Record<string, unknown>,
                rawInputs: inputs,
                custom: method === "readResource" || req.getCustom(),
                dependencies: method === "registerResource" ? (req.getDependenciesList() as string[]).map(nameOfUrn).filter((n): n is string => n !== null) : [],
                options: method === "registerResource" ? recordedOptions(req) : { ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false, protect: false },
            });
            return original(req, callback);
        };
    }

    clearProjectModules();
    // An apply that throws while an input resolves rejects that resource's registration, which
    // never settles; the language host reports the unhandled rejection and the update fails
    // (pulumi/pulumi sdk/nodejs/cmd/run/run.ts, uncaughtHandler). This runner fails the run with it
    // instead of waiting for registrations that will not come.
    let rejected: (reason: unknown) => void = () => undefined;
    const unhandled = new Promise<never>((_, reject) => (rejected = reject));
    const onRejection = (reason: unknown) => {
        failures.push(reason);
        rejected(reason);
    };
    process.on("unhandledRejection", onRejection);
    const registered = () => resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    try {
        const program = options.program ?? path.join(PROJECT_ROOT, "index.ts");
        const outputs = await pulumi.runtime.runInPulumiStack(async () =>
            typeof program === "function" ? program() : { ...(await import(program)) },
        );
        // Internal to the SDK (hence the cast), but it is exactly how the language host waits for a program to finish.
        await Promise.race([(settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs(), unhandled]);
        if (failures.length > 0) throw failures[0];
        return { resources: registered(), outputs: (outputs ?? {}) as Record<string, unknown>, invokes };
    } catch (err) {
        throw new ProgramFailure(err, registered());
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}
