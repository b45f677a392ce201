/**
 * The docs are checked against the program: every stack output, config key and command that
 * README.md and docs/*.md name exists or parses, and every dollar figure is one the render
 * produces for the stacks in test/costVariants.ts.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_KEYS } from "../components/config";
import { CostEstimate } from "../components/cost/model";
import PRICES from "../components/cost/prices.json";
import { formatCostMarkdown } from "../components/cost/report";
import { estimateRenderedCost, parseArgs } from "../scripts/render";
import { COST_VARIANTS } from "./costVariants";
import { PROJECT_ROOT, renderStack } from "./harness";

const DOCS = ["README.md", ...fs.readdirSync(path.join(PROJECT_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (doc: string) => fs.readFileSync(path.join(PROJECT_ROOT, doc), "utf8");
const KEYS = CONFIG_KEYS.map((d) => d.key);
const OBJECT_KEYS = CONFIG_KEYS.filter((d) => d.type === "object").map((d) => d.key);

/** Inline code spans and the lines of fenced code blocks: where docs write commands and keys. */
function codeOf(text: string): string[] {
    const fenced = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => m[1].split("\n"));
    const prose = text.replace(/```[a-z]*\n[\s\S]*?```/g, "");
    return [...fenced, ...[...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1])];
}

/** Whether `key` is a config key, or a path into one of the map-valued keys (`eks.addonVersions.coredns`). */
const isConfigKey = (key: string) => KEYS.includes(key) || OBJECT_KEYS.some((k) => key.startsWith(`${k}.`));

/** Shell words of a command line, quotes removed, up to a comment, redirection or pipe. */
function words(line: string): string[] {
    const out: string[] = [];
    for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
        const word = m[1] ?? m[2] ?? m[3];
        // `<stack>` is a placeholder; a lone `<` (or `>`, `|`, `#`…) ends the command's own words.
        if (m[3] !== undefined && (/^(#|\||<$|<<|>|2>|&&|;)/.test(word) || word === "$(")) break;
        out.push(word);
    }
    return out;
}

/** Subcommands of the Pulumi CLI (pulumi --help, 3.x) that the docs may use, with their sub-subcommands. */
const PULUMI: Record<string, readonly string[]> = {
    up: [], preview: [], destroy: [], refresh: [], cancel: [], login: [], logout: [], version: [], whoami: [], about: [], import: [],
    config: ["set", "get", "rm", "cp", "refresh"],
    stack: ["init", "ls", "output", "rm", "select", "export", "import", "history", "tag", "rename", "graph", "unselect", "change-secrets-provider"],
    state: ["delete", "edit", "move", "rename", "unprotect", "protect", "upgrade", "repair"],
    policy: ["new", "publish", "enable", "disable", "ls", "rm", "validate-config"],
    plugin: ["install", "ls", "rm"],
};
/** Flags the docs may pass, per subcommand (from `pulumi <command> --help`). */
const COMMON_FLAGS = ["--stack", "-s", "--yes", "-y", "--non-interactive", "--color", "--cwd", "-C"];
const FLAGS: Record<string, readonly string[]> = {
    // --continue-on-error: what the SDK's automation API passes for UpOptions.continueOnError (@pulumi/pulumi automation/stack.js up).
    up: ["--policy-pack", "--policy-pack-config", "--replace", "--target", "--refresh", "--diff", "--skip-preview", "--show-secrets", "--suppress-outputs", "--expect-no-changes", "--message", "-m", "--config", "-c", "--stack-trace", "--continue-on-error"],
    preview: ["--policy-pack", "--policy-pack-config", "--diff", "--refresh", "--json", "--show-secrets", "--expect-no-changes", "--config", "-c"],
    destroy: ["--exclude-protected", "--target", "--skip-preview", "--remove"],
    // --clear-pending-creates, --import-pending-creates: pulumi/pulumi v3.248.0 pkg/cmd/pulumi/operations/refresh.go.
    refresh: ["--skip-preview", "--expect-no-changes", "--target", "--clear-pending-creates", "--import-pending-creates"],
    config: ["--secret", "--path", "--plaintext", "--json", "--show-secrets"],
    stack: ["--show-urns", "--show-ids", "--json", "--show-secrets", "--force", "--secrets-provider", "--copy-config-from", "--file"],
    state: ["--all", "--yes", "--target-dependents"],
    login: ["--local", "--cloud-url", "-c"],
    cancel: [],
};

function pulumiProblems(line: string): string[] {
    const w = words(line);
    if (w[0] !== "pulumi" || w.length < 2) return [];
    const [, command, sub] = w;
    if (!(command in PULUMI)) return [`"${line}": pulumi has no command ${command}`];
    const subs = PULUMI[command];
    if (subs.length > 0 && sub && !sub.startsWith("-") && !subs.includes(sub)) return [`"${line}": pulumi ${command} has no subcommand ${sub}`];
    const problems: string[] = [];
    for (let i = 2; i < w.length; i++) {
        const flag = w[i].split("=")[0];
        if (!flag.startsWith("-")) continue;
        if (![...COMMON_FLAGS, ...(FLAGS[command] ?? [])].includes(flag)) problems.push(`"${line}": pulumi ${command} has no flag ${flag}`);
        if ((flag === "--stack" || flag === "-s") && w[i + 1] && !/^[<$]/.test(w[i + 1]) && !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/.test(w[i + 1])) problems.push(`"${line}": ${w[i + 1]} is not a stack name`);
    }
    if (command === "config" && (sub === "set" || sub === "get" || sub === "rm")) {
        const rest = w.slice(3).filter((x, i, all) => !x.startsWith("-") && !(["--stack", "-s"].includes(all[i - 1] ?? "")));
        const key = rest[0];
        if (key && !key.startsWith("<") && !key.includes(":")) {
            const flat = w.includes("--path") ? key.replace(/\[\d+\]$/, "") : key;
            if (!isConfigKey(flat)) problems.push(`"${line}": ${key} is not a dockyard config key`);
        }
    }
    if (command === "stack" && sub === "output") {
        const name = w.slice(3).find((x, i, all) => !x.startsWith("-") && !["--stack", "-s"].includes(all[i - 1] ?? ""));
        if (name && !TOP_LEVEL_OUTPUTS.includes(name)) problems.push(`"${line}": the stack has no output ${name}; outputs: ${TOP_LEVEL_OUTPUTS.join(", ")}`);
    }
    return problems;
}

const TOP_LEVEL_OUTPUTS = ["target", "url", "imageDigests", "details"];

describe("the docs (README.md, docs/*.md) against the program", function () {
    this.timeout(300_000);
    let detailKeys: Set<string>;
    const estimates = new Map<string, CostEstimate>();

    before(async () => {
        detailKeys = new Set<string>();
        for (const stack of ["local", "dev", "prod"]) {
            const run = await renderStack(stack);
            expect(Object.keys(run.outputs).sort(), stack).to.deep.equal([...TOP_LEVEL_OUTPUTS].sort());
            for (const key of Object.keys(run.outputs.details as object)) detailKeys.add(key);
        }
        for (const variant of COST_VARIANTS) {
            const run = await renderStack(variant.stack, variant.overrides);
            estimates.set(variant.name, estimateRenderedCost(run.resources, "us-east-1"));
        }
    });

    it("names only stack outputs the program exports", () => {
        const problems: string[] = [];
        for (const doc of DOCS) {
            const text = read(doc);
            for (const [, key] of text.matchAll(/`details\.(\w+)`/g)) if (!detailKeys.has(key)) problems.push(`${doc}: details.${key} is not an output (details has ${[...detailKeys].join(", ")})`);
            for (const [, name] of text.matchAll(/stack outputs? `(\w+)`/g)) if (!TOP_LEVEL_OUTPUTS.includes(name)) problems.push(`${doc}: stack output ${name} does not exist`);
            for (const [, key] of text.matchAll(/jq -r \.(\w+)/g)) if (!detailKeys.has(key)) problems.push(`${doc}: details.${key} (read with jq) is not an output`);
        }
        expect(problems).to.deep.equal([]);
        expect([...detailKeys]).to.include.members(["connect", "logGroup", "updateKubeconfig", "clusterName"]);
    });

    it("names only config keys that exist", () => {
        const problems: string[] = [];
        for (const doc of DOCS) {
            const text = read(doc);
            for (const [, key, typeToken] of text.matchAll(/(?<![\w/-])dockyard:([a-z][A-Za-z0-9]*(?:\.[A-Za-z][\w-]*)*)(:[A-Z<]|\$|-)?/g)) {
                // Type tokens (`dockyard:swarm:Nodes`), stack tags (`dockyard:images-commit`) and resource tags
                // (`dockyard:ingress: direct`, `dockyard:stack`) share the prefix; `my-org/dockyard:` is an OIDC subject.
                if (typeToken || ["ingress", "stack", "project"].includes(key)) continue;
                if (!isConfigKey(key)) problems.push(`${doc}: dockyard:${key} is not a config key`);
            }
            for (const code of codeOf(text)) {
                for (const [, key] of code.matchAll(/(?<![\w.:/-])((?:network|images|logs|ingress|swarm|eks|workloads)\.[a-z][A-Za-z0-9]*(?:\.[\w-]+)*)(?![\w(/-])/g)) {
                    if (/\.(ts|md|yaml|json)$/.test(key) || key.startsWith("swarm.md") || key.startsWith("eks.md")) continue;
                    if (!isConfigKey(key)) problems.push(`${doc}: \`${code}\` names ${key}, which is not a config key`);
                }
            }
        }
        expect(problems).to.deep.equal([]);
    });

    it("shows commands that parse: pulumi subcommands and flags, npm scripts, render arguments", () => {
        const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
        const problems: string[] = [];
        for (const doc of DOCS) {
            for (const code of codeOf(read(doc))) {
                const line = code.replace(/^\$\(|\)$/g, "").trim();
                problems.push(...pulumiProblems(line).map((p) => `${doc}: ${p}`));
                const w = words(line);
                if (w[0] === "npm" && w[1] === "run" && w[2]) {
                    if (!scripts.includes(w[2])) problems.push(`${doc}: "${line}": package.json has no script ${w[2]}`);
                    const args = w.slice(w.indexOf("--") + 1);
                    if (w[2] === "render" && w.includes("--") && !args.some((a) => a.includes("<"))) {
                        try {
                            parseArgs(args);
                        } catch (err) {
                            problems.push(`${doc}: "${line}": ${(err as Error).message.split("\n")[0]}`);
                        }
                    }
                }
            }
        }
        expect(problems).to.deep.equal([]);
    });

    it("quotes cost tables exactly as the render prints them", () => {
        const rendered = [...estimates.values()].map((e) => formatCostMarkdown(e).split("\n\n")[0]);
        const problems: string[] = [];
        for (const doc of DOCS) {
            const text = read(doc);
            for (const m of text.matchAll(/^\| Item \| Quantity \| Unit price \| Monthly \|\n(?:\|.*\n?)+/gm)) {
                const table = m[0].trimEnd();
                if (!rendered.includes(table)) problems.push(`${doc}: this cost table is not a render of any stack in test/costVariants.ts:\n${table}`);
            }
        }
        expect(problems).to.deep.equal([]);
    });

    it("quotes only dollar figures the render produces: prices, lines, totals, per-unit months, differences", () => {
        const allowed = new Set<number>();
        const add = (n: number) => allowed.add(Math.round(n * 10000) / 10000);
        const totals: number[] = [];
        for (const e of estimates.values()) {
            totals.push(e.total);
            add(e.total);
            for (const line of e.lines) {
                add(line.unitPrice);
                add(line.monthly);
                if (line.per === "hour") add(Math.round(line.unitPrice * e.hoursPerMonth * 100) / 100);
            }
            for (const u of e.usage) for (const [, n] of u.rate.matchAll(/\$(\d+(?:\.\d+)?)/g)) add(Number(n));
        }
        for (const a of totals) for (const b of totals) if (a > b) add(Math.round((a - b) * 100) / 100);
        // The README's comparison with the anchors' defaults, from the same price table
        // (shared/reference/anchors-clusters.md B2 for eksctl, seed-003.md 2.2 for Docker for AWS).
        const prices = PRICES.regions["us-east-1"] as (typeof PRICES.regions)["us-east-1"] & { instances: Record<string, number> };
        const month = (hourly: number) => hourly * PRICES.hoursPerMonth;
        const eksctlDefault = month(prices.eksControlPlaneHour) + 2 * month(prices.instances["m5.large"]) + month(prices.natGatewayHour) + 3 * month(prices.publicIpv4Hour) + 2 * 80 * prices.ebsGbMonth.gp3;
        add(Math.round(eksctlDefault * 100) / 100);
        add(Math.round(month(prices.classicLbHour) * 100) / 100);
        const problems: string[] = [];
        for (const doc of DOCS) {
            for (const m of read(doc).matchAll(/\$(\d+(?:,\d{3})*(?:\.\d+)?)/g)) {
                const value = Number(m[1].replace(/,/g, ""));
                if (!allowed.has(Math.round(value * 10000) / 10000)) problems.push(`${doc}: $${m[1]} is not a figure of the render`);
            }
        }
        expect(problems).to.deep.equal([]);
    });
});
