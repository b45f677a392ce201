import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BUILD_CACHE_TAG, contextHash, lifecyclePolicy, nodeArchitecture, repositoryName, ResolvedImages, resolveImages } from "../components/images";
import { stackAwsProvider } from "../components/tags";
import type { WorkloadSpec } from "../components/workload";
import { setStackOutputs } from "../scripts/offline/mocks";
import { runProgram } from "../scripts/offline/run";
import { isSecret, ofType, only, resolve, stackConfig, stackConfigMap, errorOf } from "./harness";

const FIXTURE = "test/fixtures/image-context";
const resources = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } };
const SPECS: WorkloadSpec[] = [
    { name: "api", image: { build: { context: FIXTURE, args: { GREETING: "hello" } } }, resources },
    { name: "redis", image: { ref: "redis:7.4-alpine" }, resources },
];
const SOURCE = "acme/dockyard/dev";
const digestOf = (workload: string, hex: string) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/${workload}@sha256:${hex.repeat(64)}`;


async function rejectionOf(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
    } catch (err) {
        return String((err as Error).message ?? err);
    }
    return "no error";
}

/**
 * Resolves the stack's images as index.ts does: with the stack provider (unless the engine is
 * local), exporting the digests and images as stack outputs so a failed lookup fails the run.
 */
async function declareImages(stack: string, overrides: Record<string, unknown> = {}, specs: readonly WorkloadSpec[] = SPECS) {
    const config = stackConfig(stack, overrides);
    let value!: ResolvedImages;
    const run = await runProgram({
        stack,
        ...stackConfigMap(stack, overrides),
        program: () => {
            const parent = new pulumi.ComponentResource("dockyard:test:Images", `${stack}-images`, {}, config.swarm.engine === "local" ? {} : { providers: [stackAwsProvider(config)] });
            value = resolveImages(stack, specs, config, { parent });
            return { imageDigests: value.digests, images: value.images };
        },
    });
    return { ...run, value };
}

/** Copies the fixture context to a scratch folder a test may change. */
function scratchContext(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-context-"));
    fs.cpSync(FIXTURE, dir, { recursive: true });
    return dir;
}

describe("node architecture", () => {
    it("reads Graviton families as arm64 and the rest as amd64", () => {
        for (const types of [["t4g.small"], ["m7g.large", "c7gn.xlarge"], ["r8g.2xlarge"], ["m6gd.large", "x2gd.xlarge", "im4gn.large"], ["a1.medium"]]) {
            expect(nodeArchitecture(types), types.join(",")).to.equal("arm64");
        }
        for (const types of [["t3.small"], ["m7i.large", "c5n.large"], ["m7i-flex.large"], ["g5.xlarge", "r7iz.large"], ["m5.large"]]) {
            expect(nodeArchitecture(types), types.join(",")).to.equal("amd64");
        }
    });

    it("rejects mixed architectures, naming each type and its architecture", () => {
        const message = errorOf(() => nodeArchitecture(["m7g.large", "m7i.large"]));
        expect(message).to.include("m7g.large (arm64)");
        expect(message).to.include("m7i.large (amd64)");
        expect(errorOf(() => nodeArchitecture([]))).to.include("no instance types");
    });
});

describe("ECR lifecycle policy", () => {
    it("expires untagged images after D days, then keeps the newest N tagged, in ascending priority", () => {
        for (const [keep, days] of [
            [10, 7],
            [30, 1],
        ]) {
            const policy = JSON.parse(lifecyclePolicy(keep, days));
            expect(policy.rules.map((r: { rulePriority: number }) => r.rulePriority)).to.deep.equal([1, 2]);
            const [untagged, tagged] = policy.rules;
            expect(untagged.selection).to.deep.equal({ tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days });
            expect(tagged.selection).to.deep.equal({ tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keep });
            for (const rule of policy.rules) expect(rule.action).to.deep.equal({ type: "expire" });
        }
    });

    it("rejects counts below one, naming the key", () => {
        expect(errorOf(() => lifecyclePolicy(0, 7))).to.include("dockyard:images.keepTagged is 0");
        expect(errorOf(() => lifecyclePolicy(10, 1.5))).to.include("dockyard:images.untaggedExpiryDays is 1.5");
    });
});

describe("build context hash", () => {
    it("is stable, and changes with the content, the Dockerfile, args, target and platform", () => {
        const dir = scratchContext();
        const base = contextHash(dir);
        expect(base).to.match(/^[0-9a-f]{16}$/);
        expect(contextHash(dir)).to.equal(base);
        expect(contextHash(dir, { args: { A: "1" } })).not.to.equal(base);
        expect(contextHash(dir, { target: "runtime" })).not.to.equal(base);
        expect(contextHash(dir, {}, "linux/arm64")).not.to.equal(contextHash(dir, {}, "linux/amd64"));
        fs.appendFileSync(path.join(dir, "Dockerfile"), "USER 10001\n");
        const withUser = contextHash(dir);
        expect(withUser).not.to.equal(base);
        fs.writeFileSync(path.join(dir, "app.txt"), "changed\n");
        expect(contextHash(dir)).not.to.equal(withUser);
    });

    it("ignores what .dockerignore excludes, and notices a new file it does not", () => {
        const dir = scratchContext();
        const base = contextHash(dir);
        fs.writeFileSync(path.join(dir, "debug.log"), "noise");
        fs.mkdirSync(path.join(dir, "tmp"));
        fs.writeFileSync(path.join(dir, "tmp", "scratch"), "noise");
        expect(contextHash(dir)).to.equal(base);
        fs.writeFileSync(path.join(dir, "extra.txt"), "content");
        expect(contextHash(dir)).not.to.equal(base);
    });

    it("fails clearly on a missing context or Dockerfile", () => {
        expect(errorOf(() => contextHash("test/fixtures/no-such-context"))).to.include("is not a folder");
        expect(errorOf(() => contextHash(FIXTURE, { dockerfile: "Dockerfile.prod" }))).to.include('Dockerfile "Dockerfile.prod" not found');
    });
});

describe("resolveImages: build and push to ECR", () => {
    it("creates a scanned, immutable, encrypted repository per built workload, force-deleted only outside production", async () => {
        const dev = await declareImages("dev");
        const prod = await declareImages("prod", { "images.encryption": "KMS" });
        for (const [run, production, encryption] of [
            [dev, false, "AES256"],
            [prod, true, "KMS"],
        ] as const) {
            const repo = only(run.resources, "aws:ecr/repository:Repository");
            expect(repo.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
            expect(repo.inputs.imageTagMutability).to.equal("IMMUTABLE_WITH_EXCLUSION");
            expect(repo.inputs.imageTagMutabilityExclusionFilters).to.deep.equal([{ filter: BUILD_CACHE_TAG, filterType: "WILDCARD" }]);
            expect(repo.inputs.encryptionConfigurations).to.deep.equal([{ encryptionType: encryption }]);
            expect(repo.inputs.forceDelete).to.equal(!production);
        }
        expect(only(dev.resources, "aws:ecr/repository:Repository").inputs.name).to.equal(repositoryName("dockyard", "dev", "api"));
        expect(only(prod.resources, "aws:ecr/repository:Repository").inputs.name).to.equal("dockyard/prod/api");
    });

    it("attaches the lifecycle policy built from the stack's keepTagged and untaggedExpiryDays", async () => {
        for (const stack of ["dev", "prod"]) {
            const config = stackConfig(stack);
            const { resources } = await declareImages(stack);
            const policy = only(resources, "aws:ecr/lifecyclePolicy:LifecyclePolicy");
            expect(policy.inputs.policy).to.equal(lifecyclePolicy(config.images.keepTagged, config.images.untaggedExpiryDays));
            expect(policy.inputs.repository).to.equal(`dockyard/${stack}/api`);
        }
    });

    it("builds for the nodes' platform, tags by content hash, and caches from the repository's previous build", async () => {
        const { resources } = await declareImages("dev");
        const [image, cache] = ofType(resources, "docker:index/image:Image");
        const repoUrl = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api";
        const build = image.inputs.build as Record<string, any>;
        expect(build.platform).to.equal("linux/arm64");
        expect(build.context).to.equal(FIXTURE);
        expect(build.dockerfile).to.equal(path.join(FIXTURE, "Dockerfile"));
        expect(build.args).to.deep.equal({ GREETING: "hello", BUILDKIT_INLINE_CACHE: "1" });
        expect(build.cacheFrom).to.deep.equal({ images: [`${repoUrl}:${BUILD_CACHE_TAG}`] });
        expect(image.inputs.imageName).to.equal(`${repoUrl}:${contextHash(FIXTURE, { args: { GREETING: "hello" } }, "linux/arm64")}`);
        // The cache tag follows the newest build.
        expect(cache.inputs.imageName).to.equal(`${repoUrl}:${BUILD_CACHE_TAG}`);
        expect(cache.inputs.build).to.deep.equal(build);

        const amd = await declareImages("prod", { "eks.instanceTypes": ["m7i.large"] });
        expect((ofType(amd.resources, "docker:index/image:Image")[0].inputs.build as Record<string, string>).platform).to.equal("linux/amd64");
    });

    it("tags with images.tag (a git commit) when set", async () => {
        const { resources } = await declareImages("dev", { "images.tag": "3f2c1ab" });
        expect(ofType(resources, "docker:index/image:Image")[0].inputs.imageName).to.match(/dockyard\/dev\/api:3f2c1ab$/);
    });

    it("passes the ECR credentials as a secret that never appears in clear", async () => {
        const { resources, invokes } = await declareImages("dev");
        expect(invokes.map((i) => i.token)).to.include("aws:ecr/getAuthorizationToken:getAuthorizationToken");
        for (const image of ofType(resources, "docker:index/image:Image")) {
            expect(image.inputs.registry).to.equal("[secret]");
            expect(JSON.stringify(image.inputs)).not.to.include("mock-ecr-password");
            const raw = image.rawInputs.registry as Record<string, any>;
            expect(JSON.stringify(raw)).to.include("mock-ecr-password");
            expect(raw.value ?? raw).to.deep.include({ username: "AWS", server: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api" });
        }
    });

    it("puts every AWS resource on the stack provider", async () => {
        const { resources } = await declareImages("prod");
        const aws = resources.filter((r) => r.type.startsWith("aws:"));
        expect(aws.map((r) => r.type).sort()).to.deep.equal(["aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repository:Repository"]);
        for (const resource of aws) expect(resource.provider).to.equal("prod-aws");
    });

    it("hands consumers the pushed digest, exports it for promotion, and uses existing images as is", async () => {
        const { value, resources } = await declareImages("dev", { "workloads.imageTags": { redis: "7.2-alpine" } });
        const image = ofType(resources, "docker:index/image:Image")[0];
        const api = await resolve(value.images.api);
        expect(api).to.match(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/dockyard\/dev\/api@sha256:[0-9a-f]{64}$/);
        expect(api).not.to.include(String(image.inputs.imageName).split(":").pop());
        expect(await resolve(value.digests)).to.deep.equal({ api });
        expect(await resolve(value.images.redis)).to.equal("redis:7.2-alpine");
        expect(await isSecret(value.images.api)).to.equal(false);
        expect(ofType(resources, "aws:ecr/repository:Repository").map((r) => r.name)).to.deep.equal(["dev-api-repo"]);
    });
});

describe("resolveImages: promotion", () => {
    afterEach(() => setStackOutputs(SOURCE, undefined));

    it("deploys the source stack's digests through a StackReference, building and pushing nothing", async () => {
        setStackOutputs(SOURCE, { imageDigests: { api: digestOf("api", "a"), worker: digestOf("worker", "b") } });
        const { value, resources, invokes } = await declareImages("prod", { "images.from": SOURCE });
        expect(await resolve(value.images.api)).to.equal(digestOf("api", "a"));
        expect(await resolve(value.digests)).to.deep.equal({ api: digestOf("api", "a") });
        expect(await resolve(value.images.redis)).to.equal("redis:7.4-alpine");
        expect(only(resources, "pulumi:pulumi:StackReference").inputs.name).to.equal(SOURCE);
        expect(ofType(resources, "aws:ecr/repository:Repository")).to.have.length(0);
        expect(ofType(resources, "docker:index/image:Image")).to.have.length(0);
        expect(invokes.map((i) => i.token)).not.to.include("aws:ecr/getAuthorizationToken:getAuthorizationToken");
    });

    it("answers a deterministic default for the sample services when a test sets nothing", async () => {
        const sample: WorkloadSpec[] = [{ name: "api", image: { build: { context: "services/api" } }, resources }];
        const first = await resolve((await declareImages("prod", { "images.from": SOURCE }, sample)).value.images.api);
        const second = await resolve((await declareImages("prod", { "images.from": SOURCE }, sample)).value.images.api);
        expect(first).to.match(/\/dockyard\/dev\/api@sha256:[0-9a-f]{64}$/);
        expect(second).to.equal(first);
    });

    it("fails naming the workload and the source when the source stack lacks its image", async () => {
        setStackOutputs(SOURCE, { imageDigests: { worker: digestOf("worker", "b") } });
        const message = await rejectionOf(declareImages("prod", { "images.from": SOURCE }));
        expect(message).to.include("dockyard:images.from");
        expect(message).to.include(SOURCE);
        expect(message).to.include('workload "api"');
        expect(message).to.include("it has: worker");
    });

    it("rejects a source value that is not a digest reference", async () => {
        setStackOutputs(SOURCE, { imageDigests: { api: "repo/api:latest" } });
        expect(await rejectionOf(declareImages("prod", { "images.from": SOURCE }))).to.include("not a digest reference");
    });

    it("deploys explicit images.digests without a repository or build, and rejects digests for unknown workloads", async () => {
        const { value, resources } = await declareImages("prod", { "images.digests": { api: digestOf("api", "c") } });
        expect(await resolve(value.images.api)).to.equal(digestOf("api", "c"));
        expect(await resolve(value.digests)).to.deep.equal({ api: digestOf("api", "c") });
        expect(ofType(resources, "aws:ecr/repository:Repository")).to.have.length(0);
        expect(ofType(resources, "docker:index/image:Image")).to.have.length(0);
        const message = await rejectionOf(declareImages("prod", { "images.digests": { apx: digestOf("apx", "c") } }));
        expect(message).to.include("dockyard:images.digests has apx");
    });
});

describe("resolveImages: local engine", () => {
    it("builds on this machine without pushing, and creates nothing in AWS", async () => {
        const { value, resources, invokes } = await declareImages("dev", { "swarm.engine": "local" });
        expect(resources.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws")).to.have.length(0);
        expect(invokes.filter((i) => i.token.startsWith("aws:"))).to.have.length(0);
        const image = only(resources, "docker:index/image:Image");
        expect(image.inputs.skipPush).to.equal(true);
        expect(image.inputs.registry).to.equal(undefined);
        expect((image.inputs.build as Record<string, unknown>).platform).to.equal(undefined);
        const tag = contextHash(FIXTURE, { args: { GREETING: "hello" } });
        expect(image.inputs.imageName).to.equal(`dockyard/dev/api:${tag}`);
        expect(await resolve(value.images.api)).to.equal(`dockyard/dev/api:${tag}`);
        expect(await resolve(value.digests)).to.deep.equal({});
    });
});
