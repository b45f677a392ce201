/**
 * The program as index.ts runs it: workloads.ts declares the workloads and their secrets, and one
 * validation pass lists every config and workload problem before any resource exists.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { programProblems, WorkloadContext } from "../components/program";
import type { WorkloadSpec } from "../components/workload";
import { ProgramFailure, runProgram } from "../scripts/offline/run";
import { workloads } from "../workloads";
import { isSecret, only, PROJECT_ROOT, resolve, stackConfigMap } from "./harness";

const resources = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } };
const placeholder: WorkloadContext = { stack: "dev", generatedSecret: () => pulumi.secret("") };

/** The problems of a stack file with overrides, for these workloads. */
const problemsOf = (stack: string, overrides: Record<string, unknown>, declare: (c: WorkloadContext) => readonly WorkloadSpec[] = workloads) =>
    programProblems(stackConfigMap(stack, overrides).config, "dockyard", stack, declare).problems;

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

    it("the sample deploys on every stack file with no problem", () => {
        for (const stack of ["dev", "prod", "local"]) expect(problemsOf(stack, {}), stack).to.deep.equal([]);
    });

    it("lists config and workload problems together, once each, and creates nothing", async () => {
        const broken = (context: WorkloadContext): WorkloadSpec[] => [
            ...workloads(context),
            { name: "worker", image: { build: { context: "services/worker" } }, replica: 3, resources } as unknown as WorkloadSpec,
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
            `  - workload "worker": replica is 3; allowed: a field WorkloadSpec declares (did you mean replicas?): name, kind, image, command, args, replicas, ports, env, secrets, resources, health, volumes, update, autoscaling, after, connectsTo, user, readOnlyRootFilesystem`,
            `  - workload "redis": a persistent volume holds one replica's data, so replicas must be 1 on Swarm (got 2); allowed: replicas 1, or a shared volume`,
            `  - workload "worker": image.build.context is "services/worker", which is not a folder; allowed: a folder of this repository, relative to its root, with a Dockerfile (or an existing image as image: { ref: "..." })`,
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

    it("a workload added the way the README shows (an image reference) validates on every stack", () => {
        const withWorker = (context: WorkloadContext): WorkloadSpec[] => [
            ...workloads(context),
            { name: "worker", image: { ref: "busybox:1.37" }, command: ["sh", "-c", "while true; do sleep 3600; done"], replicas: 2, resources, after: ["migrate"] },
        ];
        for (const stack of ["dev", "prod", "local"]) expect(problemsOf(stack, {}, withWorker), stack).to.deep.equal([]);
        expect(workloads(placeholder).length).to.be.greaterThan(0);
    });
});
