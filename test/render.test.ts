import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, retraceCommand } from "../scripts/render";
import { PROJECT_ROOT } from "./harness";

function render(...args: string[]) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "scripts", "render.ts"), ...args], {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
}

describe("render", function () {
    this.timeout(180_000);
    const outDir = (stack: string) => path.join(PROJECT_ROOT, "out", stack);

    afterEach(() => {
        for (const stack of ["render-test-a", "render-test-b", "render-test-bad"]) fs.rmSync(outDir(stack), { recursive: true, force: true });
    });

    it("picks Pulumi.<stack>.yaml, or the file given with --config-file", () => {
        expect(parseArgs(["dev"]).configFile).to.equal(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));
        expect(parseArgs(["x", "--config-file", "/tmp/s.yaml"])).to.deep.equal({ stack: "x", configFile: "/tmp/s.yaml", stackTrace: false });
        expect(() => parseArgs([])).to.throw("usage: npm run render -- <stack>");
        expect(() => parseArgs(["dev", "--verbose"])).to.throw("unknown option --verbose");
        expect(parseArgs(["dev", "--stack-trace"]).stackTrace).to.equal(true);
    });

    it("hints at a --stack-trace command that renders the same stack file", () => {
        expect(retraceCommand(parseArgs(["dev"]))).to.equal("npm run render -- dev --stack-trace");
        expect(retraceCommand(parseArgs(["--config-file", "/tmp/Pulumi.edge.yaml"]))).to.equal("npm run render -- edge --config-file /tmp/Pulumi.edge.yaml --stack-trace");
        expect(retraceCommand(parseArgs(["x", "--config-file", "/tmp/my stacks/it's.yaml"]))).to.equal(`npm run render -- x --config-file '/tmp/my stacks/it'"'"'s.yaml' --stack-trace`);
    });

    it("names the stack after a Pulumi.<stack>.yaml given alone with --config-file, as the README shows", () => {
        expect(parseArgs(["--config-file", "examples/Pulumi.edge.yaml"])).to.deep.equal({ stack: "edge", configFile: path.resolve("examples/Pulumi.edge.yaml"), stackTrace: false });
        expect(() => parseArgs(["--config-file", "/tmp/settings.yaml"])).to.throw("cannot tell the stack name from /tmp/settings.yaml");
    });

    it("refuses stack names Pulumi refuses, so a name can never write outside out/", () => {
        for (const bad of ["x/../../../pwned", "..", ".", "", "a b", "a".repeat(101), "dev/x"]) {
            expect(() => parseArgs([bad]), JSON.stringify(bad)).to.throw("is not a Pulumi stack name");
        }
        for (const good of ["dev", "my_stack.2", "PR-123", "a".repeat(100)]) expect(parseArgs([good]).stack).to.equal(good);
        const result = render("x/../../../pwned");
        expect(result.status).to.equal(2);
        expect(result.stderr).to.include('stack name "x/../../../pwned" is not a Pulumi stack name');
        expect(fs.existsSync(path.resolve(PROJECT_ROOT, "out", "x/../../../pwned"))).to.equal(false);
    });

    it("says which stacks exist when the stack file is missing", () => {
        const result = render("render-test-missing");
        expect(result.status).to.equal(1);
        expect(result.stderr).to.match(/no stack file Pulumi.render-test-missing.yaml; stacks here: .*\bdev\b.*\blocal\b/);
    });

    it("writes one entry per resource, and two renders of a stack are byte-identical", () => {
        const resourcesFile = path.join(outDir("render-test-a"), "resources.json");
        const first = render("render-test-a", "--config-file", path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));
        expect(first.status, first.stderr).to.equal(0);
        const a = fs.readFileSync(resourcesFile, "utf8");
        const second = render("render-test-a", "--config-file", path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));
        expect(second.status, second.stderr).to.equal(0);
        const b = fs.readFileSync(resourcesFile, "utf8");
        expect(a).to.equal(b);
        const entries = JSON.parse(a) as Record<string, unknown>[];
        expect(entries.length).to.be.greaterThan(0);
        for (const entry of entries) expect(Object.keys(entry)).to.deep.equal(["type", "name", "parent", "provider", "inputs"]);
        expect(first.stdout).to.match(/stack render-test-a: \d+ resources\n/);
        expect(first.stdout).to.include("pulumi:providers:aws");
    });

    it("exits 1 on invalid config, prints every problem to stderr and writes nothing", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-")), "Pulumi.bad.yaml");
        fs.writeFileSync(file, "config:\n  dockyard:target: nomad\n  dockyard:swarm.managers: 2\n");
        const result = render("render-test-bad", "--config-file", file);
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include('dockyard:target is "nomad"; allowed: swarm or eks');
        expect(result.stderr).to.include("dockyard:swarm.managers is 2; a swarm needs an odd number of managers: 1, 3 or 5");
        expect(result.stdout).to.equal("");
        expect(fs.existsSync(outDir("render-test-bad"))).to.equal(false);
    });

    it("prints an expected error without a stack trace, and removes the stale render of the stack", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-"));
        const good = path.join(dir, "Pulumi.good.yaml");
        fs.writeFileSync(good, "config:\n  dockyard:swarm.engine: local\n");
        expect(render("render-test-b", "--config-file", good).status).to.equal(0);
        expect(fs.existsSync(path.join(outDir("render-test-b"), "resources.json"))).to.equal(true);
        const bad = path.join(dir, "Pulumi.bad.yaml");
        fs.writeFileSync(bad, "config:\n  dockyard:swarm.engine: local\n  dockyard:workloads.replicas: {redis: 2}\n");
        const result = render("render-test-b", "--config-file", bad);
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include(`workload "redis": a persistent volume holds one replica's data, so replicas must be 1 on Swarm (got 2)`);
        expect(result.stderr).not.to.match(/\n\s+at /);
        expect(fs.existsSync(outDir("render-test-b"))).to.equal(false);
        // The hint is a command that works: the stack file as given (the project has no Pulumi.render-test-b.yaml).
        expect(result.stderr).to.include(`(npm run render -- render-test-b --config-file ${bad} --stack-trace, or DOCKYARD_DEBUG=1, shows where it was raised)`);
        const traced = render("render-test-b", "--config-file", bad, "--stack-trace");
        expect(traced.stderr).to.match(/\n\s+at /);
    });
});
