/**
 * Mocha global setup (`.mocharc.json` requires this file): runs once, in the main process, before
 * any test file. When workloads.ts (or a stack file) cannot be deployed, it stops the run with
 * the one list of problems, instead of every test that renders a stack failing with the same list.
 * Global fixtures run once even in parallel mode (mochajs.org, "Global Fixtures").
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { programProblems } from "../components/program";
import { PROJECT_ROOT } from "../scripts/offline/run";
import { loadStackFile } from "../scripts/offline/stackFile";
import { workloads } from "../workloads";

export function mochaGlobalSetup(): void {
    // A problem of workloads.ts shows on every stack: list it once, with the stacks it stops.
    const stacksOf = new Map<string, string[]>();
    for (const file of fs.readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).sort()) {
        const stack = file.slice("Pulumi.".length, -".yaml".length);
        const { project, config } = loadStackFile(path.join(PROJECT_ROOT, file));
        for (const problem of programProblems(config, project, stack, workloads).problems) stacksOf.set(problem, [...(stacksOf.get(problem) ?? []), stack]);
    }
    if (stacksOf.size > 0) {
        const lines = [...stacksOf].map(([problem, stacks]) => `  - ${problem} (stack${stacks.length === 1 ? "" : "s"} ${stacks.join(", ")})`);
        throw new Error(`workloads.ts or a stack file cannot be deployed, so no test ran (${stacksOf.size} problem${stacksOf.size === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    }
}
