/**
 * `npm run render -- <stack> [--config-file <path>]`: runs the real program under mocks with a
 * stack's config and writes `out/<stack>/resources.json`: a reviewer's view of what the stack would
 * create, with no cloud credentials, and `out/<stack>/cost.json`: what it would cost per month. Exits 1 with the validation messages on invalid config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseStackConfig, StackConfig } from "../components/config";
import { CostEstimate, CostModelError, estimateCost, RenderedResource } from "../components/cost/model";
import { formatCostTable } from "../components/cost/report";
import { mockOutputs } from "./offline/mocks";
import { PROJECT_ROOT, RecordedResource, runProgram } from "./offline/run";
import { loadStackFile } from "./offline/stackFile";

export interface RenderArgs {
    readonly stack: string;
    readonly configFile: string;
}

export function parseArgs(argv: readonly string[]): RenderArgs {
    const positional: string[] = [];
    let configFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--config-file") {
            configFile = argv[++i];
            if (!configFile) throw new Error("--config-file needs a path");
        } else if (argv[i].startsWith("-")) {
            throw new Error(`unknown option ${argv[i]}; usage: npm run render -- <stack> [--config-file <path>]`);
        } else {
            positional.push(argv[i]);
        }
    }
    if (positional.length !== 1) throw new Error("usage: npm run render -- <stack> [--config-file <path>]");
    const stack = positional[0];
    return { stack, configFile: path.resolve(configFile ?? path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`)) };
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

async function main(): Promise<number> {
    let args: RenderArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    if (!fs.existsSync(args.configFile)) {
        process.stderr.write(`no stack file ${args.configFile}; pass --config-file <path>\n`);
        return 1;
    }
    const stackFile = loadStackFile(args.configFile);
    let config: StackConfig;
    try {
        config = parseStackConfig(stackFile.config, stackFile.project, args.stack);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n`);
        return 1;
    }
    const started = process.hrtime.bigint();
    const run = await runProgram({ project: stackFile.project, stack: args.stack, config: stackFile.config, secretKeys: stackFile.secretKeys });
    const outDir = path.join(PROJECT_ROOT, "out", args.stack);
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "resources.json"), toRenderedJson(run.resources));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`stack ${args.stack}: ${summarize(run.resources)}\nwrote ${path.relative(process.cwd(), path.join(outDir, "resources.json"))} in ${seconds.toFixed(1)} s\n`);
    let cost: CostEstimate;
    try {
        cost = estimateRenderedCost(run.resources, config.region);
    } catch (err) {
        if (!(err instanceof CostModelError)) throw err;
        process.stderr.write(`cost estimate failed: ${err.message}\n`);
        return 1;
    }
    fs.writeFileSync(path.join(outDir, "cost.json"), `${JSON.stringify(cost, null, 2)}\n`);
    process.stdout.write(`\n${formatCostTable(cost, `stack ${args.stack}: estimated monthly cost`)}\nwrote ${path.relative(process.cwd(), path.join(outDir, "cost.json"))}\n`);
    return 0;
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
