/**
 * The program as index.ts runs it: workloads.ts declares the workloads and their secrets, and one
 * validation pass lists every config and workload problem before any resource exists.
 */
import { spawnSync } from "node:child_process";
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { APP_SECRET_NAMESPACE, programProblems, WorkloadContext } from "../components/program";
import type { WorkloadSpec } from "../components/workload";
import { ProgramFailure, runProgram } from "../scripts/offline/run";
import { loadStackFile } from "../scripts/offline/stackFile";
import { sampleWorkloads, workloads } from "../workloads";
import { policies } from "../policy/rules";
import { isSecret, only, PROJECT_ROOT, resolve, stackConfigMap } from "./harness";
import { fromRender, runPack } from "./policyHarness";

const resources = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } };
const placeholder: WorkloadContext = { stack: "dev", generatedSecret: () => pulumi.secret(""), configSecret: () => pulumi.secret("") };

/** The problems of a stack file with overrides, for these workloads. */
const problemsOf = (stack: string, overrides: Record<string, unknown>, declare: (c: WorkloadContext) => readonly WorkloadSpec[] = workloads) =>
    programProblems(stackConfigMap(stack, overrides).config, "dockyard", stack, declare).problems;

/**
 * The raw config of Pulumi.dev.yaml as the CLI hands it to a project named `project`: this
 * repository's Pulumi.yaml with that name, so its defaults are merged into `<project>:`
 * (pulumi/pulumi pkg/workspace/config.go mergeConfig, parseConfigKey).
 */
function devStackAs(project: string): { config: Record<string, string>; secretKeys: string[] } {
    if (project === "dockyard") return stackConfigMap("dev");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-project-"));
    try {
        const file = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), YAML.stringify({ ...file, name: project }));
        fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), path.join(root, "Pulumi.dev.yaml"));
        const { config, secretKeys } = loadStackFile(path.join(root, "Pulumi.dev.yaml"), root);
        return { config, secretKeys };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/**
 * The README's "Adding a workload" example, compiled from the README itself: its code block replaces
 * workloads() in a copy of workloads.ts beside the original, so the test follows the doc as written.
 */
function readmeExample(): (context: WorkloadContext) => readonly WorkloadSpec[] {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Adding a workload"));
    const block = /```ts\n([\s\S]*?)```/.exec(section);
    if (!block) throw new Error("README.md: no ts code block under \"## Adding a workload\"");
    const original = fs.readFileSync(path.join(PROJECT_ROOT, "workloads.ts"), "utf8");
    const start = original.indexOf("export function workloads(");
    const end = original.indexOf("\n}\n", start) + 3;
    if (start < 0 || end < 3) throw new Error("workloads.ts: no `export function workloads(...) { ... }` to replace");
    const copy = path.join(PROJECT_ROOT, "readme-example.workloads.tmp.ts");
    fs.writeFileSync(copy, original.slice(0, start) + block[1] + original.slice(end));
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(copy).workloads;
    } finally {
        fs.rmSync(copy);
    }
}

describe("the program (index.ts -> declareProgram(workloads))", function () {
    this.timeout(120_000);

    it("index.ts knows nothing of the sample: it passes workloads.ts's workloads() and exports what the program returns", () => {
        const source = fs.readFileSync(path.join(PROJECT_ROOT, "index.ts"), "utf8");
        expect(source).to.include("declareProgram(workloads)");
        expect(source).not.to.match(/redis|sample/i);
    });

    it("generatedSecret makes one RandomPassword per stack and name, 32 letters and digits, as a secret", async () => {
        let secret!: pulumi.Output<string>;
        const run = await runProgram({
            stack: "dev",
            config: stackConfigMap("dev").config,
            program: async () => {
                const { declareProgram } = await import("../components/program");
                return declareProgram((context) => {
                    const declared = workloads(context);
                    if (pulumi.Output.isInstance(declared[0].secrets?.["redis-password"])) secret = declared[0].secrets!["redis-password"] as pulumi.Output<string>;
                    return declared;
                });
            },
        });
        const password = only(run.resources, "random:index/randomPassword:RandomPassword");
        expect(password.name).to.equal("dev-redis-password");
        expect(password.inputs).to.deep.include({ length: 32, special: false });
        expect(await isSecret(secret)).to.equal(true);
        expect(await resolve(secret)).to.match(/^[0-9a-zA-Z]{32}$/);
    });

    describe("configSecret: the workloads' own secrets, checked before any resource", () => {
        const withToken = (context: WorkloadContext): WorkloadSpec[] => [
            ...workloads(context),
            { name: "reporter", image: { ref: "nginx:1.27" }, resources, secrets: { token: context.configSecret("reporter-token") } },
        ];
        const run = (config: Record<string, string>, secretKeys: string[]) =>
            runProgram({ stack: "dev", config: { ...stackConfigMap("dev").config, ...config }, secretKeys, program: async () => (await import("../components/program")).declareProgram(withToken) });
        const failureOf = async (config: Record<string, string>, secretKeys: string[]) => {
            try {
                await run(config, secretKeys);
            } catch (err) {
                return err as ProgramFailure;
            }
            throw new Error("the program did not fail");
        };

        it("is what the README and docs/workloads.md tell a user to call, with its namespace", () => {
            const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
            expect(readme).to.include(`\`configSecret("<key>")\`, which reads \`${APP_SECRET_NAMESPACE}:<key>\``);
            expect(readme).to.include(`pulumi config set --secret ${APP_SECRET_NAMESPACE}:<key>\`, which\n  asks for the value without echo`);
            // The value never goes on a command line, where shell history and the process list keep it.
            expect(readme).not.to.include(`${APP_SECRET_NAMESPACE}:<key> <value>`);
            expect(readme).to.include("a key of letters, digits, `-` and `_`");
            expect(readme).not.to.match(/new pulumi\.Config\(\)\.requireSecret\("/);
            expect(fs.readFileSync(path.join(PROJECT_ROOT, "docs", "workloads.md"), "utf8")).to.include(`\`configSecret("<key>")\` values (\`${APP_SECRET_NAMESPACE}:<key>\`: also that the key is letters, digits, \`-\` and \`_\``);
        });

        it("counts configSecret values in a workload's 1 MiB total before any resource", async () => {
            const three = (context: WorkloadContext): WorkloadSpec[] => [
                ...workloads(context),
                { name: "reporter", image: { ref: "nginx:1.27" }, resources, secrets: { a: context.configSecret("a"), b: context.configSecret("b"), c: "C".repeat(300_000) } },
            ];
            const config = { ...stackConfigMap("dev").config, "app:a": "A".repeat(400_000), "app:b": "B".repeat(400_000) };
            let failure: ProgramFailure | undefined;
            try {
                await runProgram({ stack: "dev", config, secretKeys: ["app:a", "app:b"], program: async () => (await import("../components/program")).declareProgram(three) });
            } catch (err) {
                failure = err as ProgramFailure;
            }
            expect(failure?.message).to.include(`workload "reporter": secrets hold 1100000 bytes together; allowed: at most 1048576 (1 MiB, Kubernetes' limit for the workload's one Secret)`);
            expect(failure!.resources).to.deep.equal([]);
        });

        it("reads app:<key> as a Pulumi secret", async () => {
            const done = await run({ "app:reporter-token": "t0ken" }, ["app:reporter-token"]);
            const secret = only(done.resources, "docker:index/secret:Secret", "dev-reporter-token");
            expect(JSON.stringify(secret.inputs)).not.to.include("t0ken");
        });

        it("refuses a missing, plain-text, empty or oversized one before any resource, naming the key and never the value", async () => {
            const cases: [Record<string, string>, string[], string][] = [
                [{}, [], 'app:reporter-token is not set; workloads.ts asks for it with configSecret("reporter-token"): pulumi config set --secret app:reporter-token (it asks for the value, or reads it from stdin)'],
                [
                    { "app:reporter-token": "t0ken" },
                    [],
                    "app:reporter-token is set in plain text; it is a secret: pulumi config set --secret app:reporter-token (it asks for the value, or reads it from stdin), then rotate it: it sat in plain text in the stack file",
                ],
                [{ "app:reporter-token": "" }, ["app:reporter-token"], "app:reporter-token is empty; allowed: at least 1 byte (Swarm refuses an empty secret)"],
                [{ "app:reporter-token": "S".repeat(600_000) }, ["app:reporter-token"], "app:reporter-token holds 600000 bytes; allowed: fewer than 512000 (500 KiB, Swarm's limit for one secret)"],
            ];
            for (const [config, secretKeys, problem] of cases) {
                const failure = await failureOf(config, secretKeys);
                expect(failure.message, problem).to.include(problem);
                expect(failure.resources, problem).to.deep.equal([]);
                expect(failure.message).not.to.include("t0ken");
                expect(failure.message).not.to.include("SSSS");
                // No suggested command carries a value: `config set --secret <key>` asks for it.
                expect(failure.message).not.to.include("<value>");
            }
        });

        /**
         * The problems of the dev stack file plus `extra` for a workload asking for configSecret(key),
         * in a project of that name (Pulumi.yaml's defaults merged into its namespace, as the CLI
         * does); `extra` is set as a secret unless `plain` lists it.
         */
        const keyProblems = (key: string, extra: Record<string, string>, project = "dockyard", plain: string[] = []) => {
            const { config, secretKeys } = devStackAs(project);
            const asking = (context: WorkloadContext): WorkloadSpec[] => [...workloads(context), { name: "reporter", image: { ref: "nginx:1.27" }, resources, secrets: { token: context.configSecret(key) } }];
            return programProblems({ ...config, ...extra }, project, "dev", asking, [...secretKeys, ...Object.keys(extra).filter((k) => !plain.includes(k))]).problems;
        };

        it("refuses a key that is empty, has a path (. or [ ]), a : or a space, even when set flat, naming it and what is allowed", () => {
            const why = "allowed: letters, digits, - and _, e.g. \"db-password\" (`pulumi config set --path` would store a key with . or [ ] nested in another key, which configSecret does not read; : ends the namespace)";
            const rename = (to: string, rm: string) => `; to rename it: configSecret("${to}") in workloads.ts, pulumi config set --secret app:${to} (it asks for the value, or reads it from stdin), then pulumi config rm ${rm}`;
            const cases: [string, Record<string, string>, string][] = [
                // Set flat (no --path), Config.requireSecret read it before the rule: the message says how to rename it.
                ["db.password", { "app:db.password": "t0ken" }, `configSecret("db.password"): the key has "."; ${why}${rename("db-password", "app:db.password")}`],
                // Set with --path it is app:db = {"password": …}, which configSecret never read.
                ["db.password", { "app:db": '{"password":"t0ken"}' }, `configSecret("db.password"): the key has "."; ${why}`],
                ["db[0]", { "app:db": '["t0ken"]' }, `configSecret("db[0]"): the key has "[", "]"; ${why}`],
                ["", { "app:": "t0ken" }, `configSecret(""): the key is empty; ${why}`],
                ["my key", { "app:my key": "t0ken" }, `configSecret("my key"): the key has " "; ${why}${rename("my-key", "'app:my key'")}`],
                ["app:token", { "app:app:token": "t0ken" }, `configSecret("app:token"): the key has ":"; ${why}${rename("app-token", "app:app:token")}`],
            ];
            for (const [key, extra, problem] of cases) {
                const problems = keyProblems(key, extra);
                expect(problems, key).to.include(problem);
                expect(problems.filter((p) => p.includes("configSecret") || p.startsWith("app:")), key).to.deep.equal([problem]);
                expect(problems.join("\n")).not.to.include("t0ken");
            }
            expect(keyProblems("DB_password-2", { "app:DB_password-2": "t0ken" })).to.deep.equal([]);
        });

        it("in a project named app, reads app:<key> and refuses only a key that is a dockyard setting's name, where Pulumi.yaml's defaults land", async () => {
            // f171dd4 refused every configSecret in such a project, though app:reporter-token is read as asked.
            expect(keyProblems("reporter-token", { "app:reporter-token": "t0ken" }, "app")).to.deep.equal([]);
            const problem =
                'configSecret("network") reads app:network, which in a project named "app" also holds Pulumi.yaml\'s config: defaults for dockyard:network; ' +
                'allowed: a key that is not the name of a dockyard setting, e.g. "network-secret", or a project name other than "app" (`name:` in Pulumi.yaml)';
            expect(keyProblems("network", {}, "app")).to.deep.equal([problem]);
            const asking = (context: WorkloadContext): WorkloadSpec[] => [...workloads(context), { name: "reporter", image: { ref: "nginx:1.27" }, resources, secrets: { token: context.configSecret("network") } }];
            let failure: ProgramFailure | undefined;
            try {
                await runProgram({ project: "app", stack: "dev", ...devStackAs("app"), program: async () => (await import("../components/program")).declareProgram(asking) });
            } catch (err) {
                failure = err as ProgramFailure;
            }
            expect(failure?.message).to.include(problem);
            expect(failure!.resources).to.deep.equal([]);
        });

        const moveTail = (key: string, from: string[]) => `move it: pulumi config set --secret app:${key} && ${from.map((k) => `pulumi config rm ${k}`).join(" && ")} (it asks for the value, or reads it from stdin)`;
        const inDockyard =
            "not dockyard: (dockyard's settings, and the project's own namespace, where `pulumi config set` puts a key given without one)";
        const inShop = "not dockyard: (dockyard's settings) or shop: (the project's own namespace, where `pulumi config set` puts a key given without one)";

        it("says once, with the command that fixes it, that a key set without app: is in dockyard: or the project's namespace", async () => {
            const problem = `app:reporter-token is not set, but dockyard:reporter-token is: configSecret("reporter-token") reads app:, ${inDockyard}; ${moveTail("reporter-token", ["dockyard:reporter-token"])}`;
            expect(keyProblems("reporter-token", { "dockyard:reporter-token": "t0ken" })).to.deep.equal([problem]);
            const failure = await failureOf({ "dockyard:reporter-token": "t0ken" }, ["dockyard:reporter-token"]);
            expect(failure.message.split("\n").filter((l) => l.startsWith("  - "))).to.deep.equal([`  - ${problem}`]);
            expect(failure.message).not.to.include("t0ken");
            expect(failure.resources).to.deep.equal([]);
            // A dockyard setting of the same name is dockyard's: it is read as one, and app:region is just not set.
            const notSet = (key: string) => `app:${key} is not set; workloads.ts asks for it with configSecret("${key}"): pulumi config set --secret app:${key} (it asks for the value, or reads it from stdin)`;
            expect(keyProblems("region", { "dockyard:region": "eu-west-1" })).to.deep.equal([notSet("region")]);
            // So is a group of them, which the CLI always fills from Pulumi.yaml: removing dockyard:network would drop the network settings.
            expect(keyProblems("network", { "dockyard:network": '{"cidr":"10.0.0.0/16"}' })).to.deep.equal([notSet("network")]);
            // In a project named otherwise, both dockyard:<key> and <project>:<key> are where a secret went astray.
            expect(keyProblems("token", { "shop:token": "t0ken" }, "shop")).to.deep.equal([`app:token is not set, but shop:token is: configSecret("token") reads app:, ${inShop}; ${moveTail("token", ["shop:token"])}`]);
            expect(keyProblems("token", { "dockyard:token": "t0ken" }, "shop")).to.deep.equal([`app:token is not set, but dockyard:token is: configSecret("token") reads app:, ${inShop}; ${moveTail("token", ["dockyard:token"])}`]);
            expect(keyProblems("token", { "dockyard:token": "t0ken", "shop:token": "t0ken" }, "shop")).to.deep.equal([
                `app:token is not set, but dockyard:token and shop:token are: configSecret("token") reads app:, ${inShop}; ${moveTail("token", ["dockyard:token", "shop:token"])}`,
            ]);
        });

        it("says to rotate a secret that sat in plain text in the wrong namespace", () => {
            expect(keyProblems("token", { "dockyard:token": "t0ken" }, "dockyard", ["dockyard:token"])).to.deep.equal([
                `app:token is not set, but dockyard:token is: configSecret("token") reads app:, ${inDockyard}; ${moveTail("token", ["dockyard:token"])}; dockyard:token sat in plain text in the stack file: rotate the secret`,
            ]);
        });

        it("names a copy left in dockyard: beside the app:<key> it reads, instead of an unknown dockyard setting", () => {
            const leftOver = 'dockyard:token is left over: configSecret("token") reads app:token, which is set; remove it: pulumi config rm dockyard:token (or from the ESC environment that sets it)';
            expect(keyProblems("token", { "app:token": "t0ken", "dockyard:token": "t0ken" })).to.deep.equal([leftOver]);
            expect(keyProblems("token", { "app:token": "t0ken", "dockyard:token": "t0ken" }, "dockyard", ["dockyard:token"])).to.deep.equal([
                `${leftOver}; it sat in plain text in the stack file: rotate the secret if it is the same value`,
            ]);
        });
    });

    describe("a project not named dockyard: its own namespace, which dockyard does not read", () => {
        const problemsAs = (project: string, extra: Record<string, string>, secret: string[] = []) => {
            const { config, secretKeys } = devStackAs(project);
            return programProblems({ ...config, ...extra }, project, "dev", workloads, [...secretKeys, ...secret]).problems;
        };
        const why =
            'the project is named "shop", so `pulumi config set <key>` without a namespace and Pulumi.yaml\'s config: put keys in shop:, while dockyard reads its settings as dockyard:<key> and configSecret values as app:<key>';

        it("takes Pulumi.yaml's stock defaults, which the CLI merges there, for what they are: nothing to report", () => {
            const { config } = devStackAs("shop");
            expect(JSON.parse(config["shop:network"])).to.deep.equal({ azs: 2, cidr: "10.0.0.0/16", natGateways: "none" });
            expect(config["shop:target"]).to.equal("swarm");
            expect(problemsAs("shop", {})).to.deep.equal([]);
            expect(problemsAs("dockyard", {})).to.deep.equal([]);
        });

        it("names each key set there, and the command that moves it, instead of deploying without it", () => {
            // f171dd4 deployed swarm here without a word.
            const moved = (key: string, set: string, asks = "") => `shop:${key} is set, but dockyard does not read it: ${why}; allowed: dockyard:${key}, move it: ${set} && pulumi config rm shop:${key}${asks}; in Pulumi.yaml's config:, write the key as dockyard:${key}`;
            expect(problemsAs("shop", { "shop:target": "eks" })).to.deep.equal([moved("target", "pulumi config set dockyard:target <value>")]);
            // Set with --path, or a Pulumi.yaml default changed: the group is not what the CLI merges from the stock file.
            expect(problemsAs("shop", { "shop:network": '{"azs":2,"cidr":"10.1.0.0/16","natGateways":"none"}' })).to.deep.equal([moved("network", "pulumi config set dockyard:network <value>")]);
            expect(problemsAs("shop", { "shop:swarm.sshPrivateKey": "KEYDATA" }, ["shop:swarm.sshPrivateKey"])).to.deep.equal([
                moved("swarm.sshPrivateKey", "pulumi config set --secret dockyard:swarm.sshPrivateKey", " (the set asks for the value, or reads it from stdin)"),
            ]);
            expect(problemsAs("shop", { "shop:tagret": "eks" })).to.deep.equal([
                `shop:tagret is set, but nothing reads it: ${why}, and it is neither a dockyard setting (did you mean dockyard:target?) nor a key workloads.ts asks for with configSecret; ` +
                    "allowed: a dockyard setting as dockyard:<key> (the README's config reference lists them) or a configSecret key as app:<key> (pulumi config set --secret app:<key>), then pulumi config rm shop:tagret",
            ]);
            expect(problemsAs("shop", { "shop:swarm.sshPrivateKey": "KEYDATA", "shop:tagret": "eks" }, ["shop:swarm.sshPrivateKey"]).join("\n")).not.to.include("KEYDATA");
        });

        it("reports a flat dotted key there even when it holds the default: the CLI nests Pulumi.yaml's defaults, so a flat one is the user's (cold review 2, C10)", () => {
            expect(problemsAs("shop", { "shop:logs.retentionDays": "14" })).to.have.length(1);
            expect(problemsAs("shop", { "shop:swarm.managers": "1" })[0]).to.match(/^shop:swarm\.managers is set, but dockyard does not read it/);
        });

        it("suggests commands a shell takes as written (cold review 2, C1)", () => {
            const commands = [
                ...problemsAs("shop", { "shop:target": "eks", "shop:swarm.sshPrivateKey": "KEYDATA" }, ["shop:swarm.sshPrivateKey"]),
                ...programProblems({ ...stackConfigMap("dev", {}).config, "dockyard:reporter-token": "x" }, "dockyard", "dev", (c) => [{ name: "w", image: { ref: "nginx:1.27" }, resources, secrets: { t: c.configSecret("reporter-token") } }], []).problems,
            ]
                .map((p) => /move it: (.*?)(?: \(|;|$)/.exec(p)?.[1])
                .filter((c): c is string => c !== undefined);
            expect(commands).to.have.length(3);
            for (const command of commands) {
                const parsed = spawnSync("bash", ["-n", "-c", command.replace(/<value>/g, "VALUE")], { encoding: "utf8" });
                expect(parsed.status, `${command}: ${parsed.stderr}`).to.equal(0);
            }
        });
    });

    it("the sample deploys on every stack file with no problem", () => {
        for (const stack of ["dev", "prod", "local"]) expect(problemsOf(stack, {}), stack).to.deep.equal([]);
    });

    it("names an Output in a plain field once, readably, on both targets: no Output's toJSON warning in any message (batch 3 review, F6)", () => {
        const web = { image: { ref: "nginx:1.27" }, ports: [{ name: "http", port: 80 }], resources };
        const declared = () => [{ ...web, name: pulumi.output("web") as unknown as string }, { ...web, name: "api", env: { UPSTREAM: pulumi.output("web") as unknown as string } }];
        for (const stack of ["dev", "prod"]) {
            const problems = problemsOf(stack, {}, declared);
            expect(problems.join("\n"), stack).not.to.include("Calling [");
            expect(problems.filter((p) => p.includes("a Pulumi Output or a Promise")).map((p) => p.replace(/ is a Pulumi Output.*$/, "")), stack).to.deep.equal([
                "workload [0] (its name is not known yet): name",
                'workload "api": env.UPSTREAM',
            ]);
        }
        // Where the name went unchecked before (cold review 2, F1, F3): a build without its context, a
        // persistent volume with two replicas on Swarm, a configSecret total, two names not known yet.
        const more = () => [
            { ...web, name: pulumi.output("a") as unknown as string, image: { build: { context: "services/none" } } },
            { ...web, name: pulumi.output("b") as unknown as string, replicas: 2, volumes: [{ name: "data", kind: "persistent" as const, mountPath: "/data" }] },
        ];
        const problems = problemsOf("dev", {}, more);
        expect(problems.join("\n")).not.to.include("Calling [");
        expect(problems.join("\n")).not.to.include("declared more than once");
        expect(problems).to.deep.equal([0, 1].map((i) => `workload [${i}] (its name is not known yet): name is a Pulumi Output or a Promise; allowed: a plain value: the workloads are checked before any resource exists, so only a secret's value may be an Output (secrets, from generatedSecret or configSecret)`));
        // The secrets object itself may not be an Output, only its values (F4).
        const wrapped = problemsOf("dev", {}, () => [{ ...web, name: "w", secrets: pulumi.output({ t: "x" }) as never }]);
        expect(wrapped).to.deep.equal(['workload "w": secrets is a Pulumi Output or a Promise; allowed: a plain value: the workloads are checked before any resource exists, so only a secret\'s value may be an Output (secrets, from generatedSecret or configSecret)']);
    });

    it("lists config and workload problems together, once each, and creates nothing", async () => {
        const broken = (context: WorkloadContext): WorkloadSpec[] => [
            ...workloads(context),
            { name: "reporter", image: { build: { context: "services/reporter" } }, replica: 3, resources } as unknown as WorkloadSpec,
        ];
        const { config } = stackConfigMap("dev", { "swarm.managers": 2, "workloads.replicas": { redis: 2 } });
        let failure: ProgramFailure | undefined;
        try {
            await runProgram({ stack: "dev", config, program: async () => (await import("../components/program")).declareProgram(broken) });
        } catch (err) {
            failure = err as ProgramFailure;
        }
        expect(failure).to.be.instanceOf(ProgramFailure);
        expect(pulumi.RunError.isInstance(failure!.cause)).to.equal(true);
        expect(failure!.resources).to.deep.equal([]);
        const lines = failure!.message.split("\n").filter((l) => l.startsWith("  - "));
        expect(lines).to.deep.equal([
            "  - dockyard:swarm.managers is 2; a swarm needs an odd number of managers: 1, 3 or 5",
            `  - workload "reporter": replica is 3; allowed: a field WorkloadSpec declares (did you mean replicas?): name, kind, image, command, args, replicas, ports, env, secrets, resources, health, volumes, update, autoscaling, after, connectsTo, user, privileges, readOnlyRootFilesystem`,
            `  - workload "redis": a persistent volume holds one replica's data, so replicas must be 1 on Swarm (got 2); allowed: replicas 1, or a shared volume`,
            `  - workload "reporter": image.build.context is "services/reporter", which is not a folder; allowed: a folder of this repository, relative to its root, with a Dockerfile (or an existing image as image: { ref: "..." })`,
        ]);
        expect(failure!.message).to.match(/^dockyard: stack "dev" cannot be deployed \(4 problems\), nothing was created:\n/);
    });

    it("refuses, before any resource, what the EKS target would otherwise refuse mid-deploy: mixed architectures, kube-proxy for another version", () => {
        expect(problemsOf("prod", { "eks.instanceTypes": ["m7g.large", "m7i.large"], "eks.addonVersions": { "kube-proxy": "v1.34.1-eksbuild.2" } })).to.deep.equal([
            'dockyard:eks.instanceTypes is ["m7g.large","m7i.large"]; allowed: instance types of one architecture (arm64: m7g.large; x86_64: m7i.large), because one node group runs one AMI',
            'dockyard:eks.addonVersions.kube-proxy is "v1.34.1-eksbuild.2" but dockyard:eks.version is "1.35"; allowed: a kube-proxy v1.35.x version, or no pin (EKS\'s default for the version)',
        ]);
    });

    it("accepts mixed manager and worker architectures on Swarm: the images are built for both platforms (issue 15)", () => {
        expect(problemsOf("dev", { "swarm.workerInstanceType": "m7i.large" })).to.deep.equal([]);
    });

    it("requires a Dockerfile and a .dockerignore in every build context it builds, but not in promoted ones", () => {
        const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, "test", "fixtures", "tmp-context-"));
        try {
            const context = path.relative(PROJECT_ROOT, dir);
            const built = () => [{ name: "tool", image: { build: { context } }, resources }];
            expect(problemsOf("dev", {}, built)).to.deep.equal([`workload "tool": image.build.context is ${JSON.stringify(context)}, which has no Dockerfile; allowed: a build context with its Dockerfile (image.build.dockerfile names another, relative to the context)`]);
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
            expect(problemsOf("dev", {}, built)[0]).to.match(/which has no \.dockerignore; allowed: a build context with one/);
            fs.writeFileSync(path.join(dir, ".dockerignore"), "*\n!Dockerfile\n");
            expect(problemsOf("dev", {}, built)).to.deep.equal([]);
            fs.rmSync(path.join(dir, ".dockerignore"));
            expect(problemsOf("dev", { "images.from": "acme/dockyard/dev" }, built)).to.deep.equal([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the README's \"Adding a workload\" example, as written, validates on every stack, renders on both targets and passes the policy pack", async () => {
        const withExample = readmeExample();
        const sample = sampleWorkloads({ redisPassword: "" }).map((w) => w.name);
        expect(withExample(placeholder).map((w) => w.name)).to.deep.equal([...sample, "worker"]);
        for (const stack of ["dev", "prod", "local"]) expect(problemsOf(stack, {}, withExample), stack).to.deep.equal([]);
        for (const stack of ["dev", "prod"]) {
            const { config, secretKeys } = stackConfigMap(stack, {});
            const run = await runProgram({ stack, config, secretKeys, program: async () => (await import("../components/program")).declareProgram(withExample) });
            expect(run.resources.some((r) => /(^|-)worker$/.test(r.name)), `${stack}: the added workload's resources`).to.equal(true);
            const mandatory = (await runPack(policies, fromRender(run))).filter((f) => f.enforcementLevel === "mandatory");
            expect(mandatory.map((f) => `[${f.policy}] ${f.message}`), stack).to.deep.equal([]);
        }
    });
});
