/**
 * The program as index.ts runs it: workloads.ts declares the workloads and their secrets, and one
 * validation pass lists every config and workload problem before any resource exists.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { APP_SECRET_NAMESPACE, programProblems, WorkloadContext } from "../components/program";
import type { WorkloadSpec } from "../components/workload";
import { ProgramFailure, runProgram } from "../scripts/offline/run";
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
            expect(readme).to.include(`pulumi config set --secret ${APP_SECRET_NAMESPACE}:<key> <value>`);
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
                [{}, [], 'app:reporter-token is not set; workloads.ts asks for it with configSecret("reporter-token"): pulumi config set --secret app:reporter-token <value>'],
                [{ "app:reporter-token": "t0ken" }, [], "app:reporter-token is set in plain text; it is a secret: pulumi config set --secret app:reporter-token <value>"],
                [{ "app:reporter-token": "" }, ["app:reporter-token"], "app:reporter-token is empty; allowed: at least 1 byte (Swarm refuses an empty secret)"],
                [{ "app:reporter-token": "S".repeat(600_000) }, ["app:reporter-token"], "app:reporter-token holds 600000 bytes; allowed: fewer than 512000 (500 KiB, Swarm's limit for one secret)"],
            ];
            for (const [config, secretKeys, problem] of cases) {
                const failure = await failureOf(config, secretKeys);
                expect(failure.message, problem).to.include(problem);
                expect(failure.resources, problem).to.deep.equal([]);
                expect(failure.message).not.to.include("t0ken");
                expect(failure.message).not.to.include("SSSS");
            }
        });

        /** The problems of the dev stack file plus `extra` (each set as a secret) for a workload asking for configSecret(key). */
        const keyProblems = (key: string, extra: Record<string, string>, project = "dockyard") => {
            const { config, secretKeys } = stackConfigMap("dev");
            const asking = (context: WorkloadContext): WorkloadSpec[] => [...workloads(context), { name: "reporter", image: { ref: "nginx:1.27" }, resources, secrets: { token: context.configSecret(key) } }];
            return programProblems({ ...config, ...extra }, project, "dev", asking, [...secretKeys, ...Object.keys(extra)]).problems;
        };

        it("refuses a key that is empty, has a path (. or [ ]), a : or a space, even when set flat, naming it and what is allowed", () => {
            const why = "allowed: letters, digits, - and _, e.g. \"db-password\" (`pulumi config set --path` would store a key with . or [ ] nested in another key, which configSecret does not read; : ends the namespace)";
            const cases: [string, Record<string, string>, string][] = [
                // Set flat (no --path), Config.requireSecret would read it; set with --path it is app:db = {"password": …}, which it would not.
                ["db.password", { "app:db.password": "t0ken" }, `configSecret("db.password"): the key has "."; ${why}`],
                ["db.password", { "app:db": '{"password":"t0ken"}' }, `configSecret("db.password"): the key has "."; ${why}`],
                ["db[0]", { "app:db": '["t0ken"]' }, `configSecret("db[0]"): the key has "[", "]"; ${why}`],
                ["", { "app:": "t0ken" }, `configSecret(""): the key is empty; ${why}`],
                ["my key", { "app:my key": "t0ken" }, `configSecret("my key"): the key has " "; ${why}`],
                ["app:token", { "app:app:token": "t0ken" }, `configSecret("app:token"): the key has ":"; ${why}`],
            ];
            for (const [key, extra, problem] of cases) {
                const problems = keyProblems(key, extra);
                expect(problems, key).to.include(problem);
                expect(problems.filter((p) => p.includes("configSecret") || p.startsWith("app:")), key).to.deep.equal([problem]);
                expect(problems.join("\n")).not.to.include("t0ken");
            }
            expect(keyProblems("DB_password-2", { "app:DB_password-2": "t0ken" })).to.deep.equal([]);
        });

        it("refuses configSecret in a project named app, whose own namespace app: is, naming the project and the key", async () => {
            const problem =
                'configSecret("reporter-token") reads app:reporter-token, but the project is named "app", so app: is also the project\'s own config namespace ' +
                "(where `pulumi config set <key>` without a namespace and Pulumi.yaml's config defaults go); allowed: a project name other than \"app\" (`name:` in Pulumi.yaml)";
            expect(keyProblems("reporter-token", { "app:reporter-token": "t0ken" }, "app")).to.deep.equal([problem]);
            let failure: ProgramFailure | undefined;
            try {
                const config = { ...stackConfigMap("dev").config, "app:reporter-token": "t0ken" };
                await runProgram({ project: "app", stack: "dev", config, secretKeys: ["app:reporter-token"], program: async () => (await import("../components/program")).declareProgram(withToken) });
            } catch (err) {
                failure = err as ProgramFailure;
            }
            expect(failure?.message).to.include(problem);
            expect(failure!.resources).to.deep.equal([]);
        });

        it("says once, with the command that fixes it, that a key set without app: is in the project's namespace", async () => {
            const problem =
                "app:reporter-token is not set, but dockyard:reporter-token is: `pulumi config set` puts a key given without a namespace in the project's (dockyard:), and configSecret(\"reporter-token\") reads app:; " +
                "move it: pulumi config set --secret app:reporter-token <value> && pulumi config rm dockyard:reporter-token";
            expect(keyProblems("reporter-token", { "dockyard:reporter-token": "t0ken" })).to.deep.equal([problem]);
            const failure = await failureOf({ "dockyard:reporter-token": "t0ken" }, ["dockyard:reporter-token"]);
            expect(failure.message.split("\n").filter((l) => l.startsWith("  - "))).to.deep.equal([`  - ${problem}`]);
            expect(failure.message).not.to.include("t0ken");
            expect(failure.resources).to.deep.equal([]);
            // A dockyard setting of the same name is dockyard's: it is read as one, and app:region is just not set.
            expect(keyProblems("region", { "dockyard:region": "eu-west-1" })).to.deep.equal(['app:region is not set; workloads.ts asks for it with configSecret("region"): pulumi config set --secret app:region <value>']);
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
            `  - workload "reporter": replica is 3; allowed: a field WorkloadSpec declares (did you mean replicas?): name, kind, image, command, args, replicas, ports, env, secrets, resources, health, volumes, update, autoscaling, after, connectsTo, user, readOnlyRootFilesystem`,
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
