/**
 * `npm run render -- <stack> [--config-file <path>]`: runs the real program under mocks with a
 * stack's config and writes `out/<stack>/resources.json`: a reviewer's view of what the stack would
 * create, with no cloud credentials, and `out/<stack>/cost.json`: what it would cost per month.
 * Exits 1 with every validation problem (and no stack trace unless asked) on invalid config or
 * workloads, leaving no `out/<stack>/` behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, StackConfig } from "../components/config";
import { DEBUG_VARIABLE } from "../components/program";
import { CostEstimate, CostModelError, estimateCost, RenderedResource } from "../components/cost/model";
import { formatCostTable } from "../components/cost/report";
import { mockOutputs } from "./offline/mocks";
import { PROJECT_ROOT, ProgramFailure, ProgramRun, RecordedResource, runProgram } from "./offline/run";
import { loadStackFile } from "./offline/stackFile";
import { shellQuote } from "../components/swarm/readiness";

export interface RenderArgs {
    readonly stack: string;
    readonly configFile: string;
    /** Print the stack trace of an expected error too (also DOCKYARD_DEBUG=1). */
    readonly stackTrace: boolean;
}

const USAGE = "usage: npm run render -- <stack> [--config-file <path>] [--stack-trace]\n       npm run render -- --config-file <path>/Pulumi.<stack>.yaml";

/**
 * What is wrong with a stack name, or undefined: Pulumi's own rule (pulumi/pulumi
 * pkg/backend/diy/backend.go validateStackName: `^[A-Za-z0-9_.-]{1,100}$`, no slashes). The name
 * becomes a path (`out/<stack>/`, `Pulumi.<stack>.yaml`), so `.` and `..` are refused too.
 */
export function stackNameProblem(stack: string): string | undefined {
    if (/^[A-Za-z0-9_.-]{1,100}$/.test(stack) && stack !== "." && stack !== "..") return undefined;
    return `stack name ${JSON.stringify(stack)} is not a Pulumi stack name; allowed: 1 to 100 letters, digits, hyphens, underscores or periods (no slashes), as \`pulumi stack init\` accepts`;
}

export function parseArgs(argv: readonly string[]): RenderArgs {
    const positional: string[] = [];
    let configFile: string | undefined;
    let stackTrace = false;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--config-file") {
            configFile = argv[++i];
            if (!configFile) throw new Error(`--config-file needs a path\n${USAGE}`);
        } else if (argv[i] === "--stack-trace") {
            stackTrace = true;
        } else if (argv[i].startsWith("-")) {
            throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
        } else {
            positional.push(argv[i]);
        }
    }
    if (positional.length > 1) throw new Error(`one stack name at most, got ${positional.join(" ")}\n${USAGE}`);
    // `--config-file examples/Pulumi.edge.yaml` alone names the stack after its file, as Pulumi does.
    const fromFile = configFile ? /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(configFile))?.[1] : undefined;
    const stack = positional[0] ?? fromFile;
    if (stack === undefined) throw new Error(configFile ? `cannot tell the stack name from ${configFile} (not Pulumi.<stack>.yaml): name it, npm run render -- <stack> --config-file ${configFile}\n${USAGE}` : USAGE);
    const problem = stackNameProblem(stack);
    if (problem) throw new Error(problem);
    return { stack, configFile: path.resolve(configFile ?? path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`)), stackTrace };
}

/** The same render with `--stack-trace`: the stack file named as it was given, unless it is the default one. */
export function retraceCommand(args: RenderArgs): string {
    const isDefault = args.configFile === path.join(PROJECT_ROOT, `Pulumi.${args.stack}.yaml`);
    const file = isDefault ? "" : ` --config-file ${/^[\w./-]+$/.test(args.configFile) ? args.configFile : shellQuote(args.configFile)}`;
    return `npm run render -- ${args.stack}${file} --stack-trace`;
}

/** The stacks that have a `Pulumi.<stack>.yaml` in the project root. */
export function existingStacks(root = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(root)
        .flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? [])
        .sort();
}

/** The JSON written to resources.json: one entry per registered resource, in registration order. */
export function toRenderedJson(resources: readonly RecordedResource[]): string {
    const entries = resources.map(({ type, name, parent, provider, inputs }) => ({ type, name, parent, provider, inputs }));
    return `${JSON.stringify(entries, null, 2)}\n`;
}

export function summarize(resources: readonly RecordedResource[]): string {
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    const width = Math.max(...[...counts.keys()].map((t) => t.length), 4);
    const lines = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, n]) => `  ${type.padEnd(width)}  ${n}`);
    return [`${resources.length} resources`, ...lines].join("\n");
}

/**
 * The monthly cost of the rendered resources. References between them are ids, which
 * resources.json does not hold, so they are recomputed from the same mocks the render ran under.
 */
export function estimateRenderedCost(resources: readonly RenderedResource[], region: string): CostEstimate {
    return estimateCost(resources, region, { idOf: (r) => mockOutputs({ type: r.type, name: r.name, inputs: r.inputs, custom: true }, region).id });
}

/** Whether an error is one the user caused and its message explains: no stack trace needed. */
const expected = (err: unknown) => err instanceof ConfigError || err instanceof CostModelError || pulumi.RunError.isInstance(err);

export async function render(args: RenderArgs, out: (text: string) => void, err: (text: string) => void): Promise<number> {
    const outDir = path.join(PROJECT_ROOT, "out", args.stack);
    // A failed render must not leave the previous render's files looking current.
    fs.rmSync(outDir, { recursive: true, force: true });
    if (!fs.existsSync(args.configFile)) {
        const stacks = existingStacks();
        err(`no stack file ${path.relative(process.cwd(), args.configFile) || args.configFile}; stacks here: ${stacks.join(", ") || "none"}; for a file elsewhere: npm run render -- <stack> --config-file <path>\n`);
        return 1;
    }
    const stackFile = loadStackFile(args.configFile);
    let config: StackConfig;
    const started = process.hrtime.bigint();
    let run: ProgramRun;
    try {
        run = await runProgram({ project: stackFile.project, stack: args.stack, config: stackFile.config, secretKeys: stackFile.secretKeys });
        config = parseStackConfig(stackFile.config, stackFile.project, args.stack);
    } catch (failure) {
        const cause = failure instanceof ProgramFailure ? failure.cause : failure;
        err(`${expected(cause) && !args.stackTrace ? (cause as Error).message : `render failed: ${cause instanceof Error ? cause.stack : String(cause)}`}\n`);
        if (expected(cause) && !args.stackTrace) err(`(${retraceCommand(args)}, or ${DEBUG_VARIABLE}=1, shows where it was raised)\n`);
        return 1;
    }
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "resources.json"), toRenderedJson(run.resources));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    out(`stack ${args.stack}: ${summarize(run.resources)}\nwrote ${path.relative(process.cwd(), path.join(outDir, "resources.json"))} in ${seconds.toFixed(1)} s\n`);
    let cost: CostEstimate;
    try {
        cost = estimateRenderedCost(run.resources, config.region);
    } catch (failure) {
        if (!(failure instanceof CostModelError)) throw failure;
        err(`cost estimate failed: ${failure.message}\n`);
        fs.rmSync(outDir, { recursive: true, force: true });
        return 1;
    }
    fs.writeFileSync(path.join(outDir, "cost.json"), `${JSON.stringify(cost, null, 2)}\n`);
    out(`\n${formatCostTable(cost, `stack ${args.stack}: estimated monthly cost`)}\nwrote ${path.relative(process.cwd(), path.join(outDir, "cost.json"))}\n`);
    return 0;
}

async function main(): Promise<number> {
    let args: RenderArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    return render({ ...args, stackTrace: args.stackTrace || Boolean(process.env[DEBUG_VARIABLE]) }, (t) => process.stdout.write(t), (t) => process.stderr.write(t));
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`render failed: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(1);
        },
    );
}
