import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
    CACHE_TAG,
    cacheRepositoryName,
    contextFiles,
    contextHash,
    explicitPromotions,
    lifecyclePolicy,
    nodePlatforms,
    planImages,
    repositoryName,
    ResolvedImages,
    resolveImages,
} from "../components/images";
import { CONTEXT_HASH_LABEL } from "../components/images/build";
import { contextEntries } from "../components/images/context";
import { cacheLifecyclePolicy, cacheRepositoryPolicy } from "../components/images/plan";
import { COPY_SCRIPT, ecrLogins, parseDigestRef } from "../components/images/copy";
import { stackAwsProvider } from "../components/tags";
import type { WorkloadSpec } from "../components/workload";
import { setStackOutputs } from "../scripts/offline/mocks";
import { runProgram } from "../scripts/offline/run";
import { errorOf, isSecret, ofType, only, resolve, stackConfig, stackConfigMap } from "./harness";
import { spawnSync } from "node:child_process";

const FIXTURE = "test/fixtures/image-context";
const IMAGE = "docker-build:index:Image";
const REPO = "aws:ecr/repository:Repository";
const resources = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } };
const SPECS: WorkloadSpec[] = [
    { name: "api", image: { build: { context: FIXTURE, args: { GREETING: "hello" } } }, resources },
    { name: "migrate", kind: "job", image: { build: { context: FIXTURE, args: { GREETING: "hello" } } }, resources },
    { name: "redis", image: { ref: "redis:7.4-alpine" }, resources },
];
const SOURCE = "acme/dockyard/dev";
const DEV_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const digestOf = (image: string, hex: string) => `${DEV_REGISTRY}/dockyard/dev/${image}@sha256:${hex.repeat(64)}`;

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

/** A scratch build context with the given files (path -> content). */
function scratch(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-context-"));
    for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
    }
    return dir;
}

describe("node platforms", () => {
    it("builds for the nodes' architecture: Graviton families as arm64, the rest as amd64", () => {
        for (const types of [["t4g.small"], ["m7g.large", "c7gn.xlarge"], ["r8g.2xlarge"], ["m6gd.large", "x2gd.xlarge", "im4gn.large"], ["a1.medium"]]) {
            expect(nodePlatforms(types), types.join(",")).to.deep.equal(["linux/arm64"]);
        }
        for (const types of [["t3.small"], ["m7i.large", "c5n.large"], ["m7i-flex.large"], ["g5.xlarge", "r7iz.large"], ["m5.large"]]) {
            expect(nodePlatforms(types), types.join(",")).to.deep.equal(["linux/amd64"]);
        }
    });

    it("builds one multi-platform image when the instance types mix architectures (fails on fcdc18c, which refused)", () => {
        expect(nodePlatforms(["m7g.large", "m7i.large", "c7g.large"])).to.deep.equal(["linux/amd64", "linux/arm64"]);
        expect(errorOf(() => nodePlatforms([]))).to.include("no instance types");
    });
});

describe("ECR lifecycle policies", () => {
    it("deploy repositories expire untagged images after D days, then keep the newest N tagged, in ascending priority", () => {
        for (const [keep, days] of [
            [10, 7],
            [30, 1],
        ]) {
            const policy = JSON.parse(lifecyclePolicy(keep, days));
            expect(policy.rules.map((r: { rulePriority: number }) => r.rulePriority)).to.deep.equal([1, 2]);
            const [untagged, tagged] = policy.rules;
            expect(untagged.selection).to.deep.equal({ tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days });
            expect(tagged.selection).to.deep.equal({ tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keep });
        }
        expect(errorOf(() => lifecyclePolicy(0, 7))).to.include("dockyard:images.keepTagged is 0");
        expect(errorOf(() => lifecyclePolicy(10, 1.5))).to.include("dockyard:images.untaggedExpiryDays is 1.5");
    });

    it("cache repositories have rules of their own: replaced cache manifests go after a day", () => {
        expect(JSON.parse(cacheLifecyclePolicy()).rules).to.deep.equal([
            {
                rulePriority: 1,
                description: "Expire replaced build-cache manifests after 1 day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
        ]);
    });
});

describe(".dockerignore matching (Docker's rules, through @balena/dockerignore)", () => {
    it("`**` then `!` re-includes files and whole folders below an excluded root, like services/api's file", () => {
        const dir = scratch({
            ".dockerignore": "**\n!package.json\n!src\n",
            "package.json": "{}",
            "src/index.ts": "x",
            "src/deep/a.ts": "x",
            "test/a.test.ts": "x",
            "README.md": "x",
            Dockerfile: "FROM scratch\n",
        });
        expect(contextFiles(dir)).to.deep.equal(["package.json", "src/deep/a.ts", "src/index.ts"]);
    });

    it("a leading `/` anchors at the context; a plain name or `*` matches only at the root; `**/` matches at any depth", () => {
        const dir = scratch({
            ".dockerignore": "/build\n*.log\n**/*.tmp\n",
            "build/out.js": "x",
            "sub/build/keep.js": "x",
            "debug.log": "x",
            "sub/debug.log": "x",
            "a.tmp": "x",
            "sub/deeper/b.tmp": "x",
            Dockerfile: "FROM scratch\n",
        });
        expect(contextFiles(dir)).to.deep.equal([".dockerignore", "Dockerfile", "sub/build/keep.js", "sub/debug.log"]);
    });

    it("a folder pattern excludes everything below it unless a later `!` re-includes a file there (later rules win)", () => {
        const dir = scratch({ ".dockerignore": "tmp/\n!tmp/keep.txt\ndocs\n", "tmp/a": "x", "tmp/keep.txt": "x", "docs/x/y.md": "x", "app.txt": "x" });
        expect(contextFiles(dir)).to.deep.equal([".dockerignore", "app.txt", "tmp/keep.txt"]);
    });

    it("character classes and `./` prefixes match as Docker's do (fails on fcdc18c's hand-written matcher)", () => {
        const dir = scratch({ ".dockerignore": "file[0-9].txt\n./cache\n", "file1.txt": "x", "fileA.txt": "x", "cache/blob": "x" });
        expect(contextFiles(dir)).to.deep.equal([".dockerignore", "fileA.txt"]);
    });

    it("prefers <Dockerfile>.dockerignore next to the Dockerfile over the context's .dockerignore, as BuildKit does", () => {
        const dir = scratch({ ".dockerignore": "a.txt\n", "Dockerfile.prod.dockerignore": "b.txt\n", "a.txt": "x", "b.txt": "x", "Dockerfile.prod": "FROM scratch\n" });
        expect(contextFiles(dir, "Dockerfile.prod")).to.include("a.txt").and.not.include("b.txt");
        expect(contextFiles(dir)).to.include("b.txt").and.not.include("a.txt");
    });
});

describe("build context hash", () => {
    it("is stable, and changes with the content, the Dockerfile, args, target and platforms", () => {
        const dir = scratch({ ".dockerignore": "*.log\ntmp/\n", Dockerfile: "FROM scratch\nCOPY app.txt /\n", "app.txt": "hello\n" });
        const base = contextHash(dir);
        expect(base).to.match(/^[0-9a-f]{16}$/);
        expect(contextHash(dir)).to.equal(base);
        expect(contextHash(dir, { args: { A: "1" } })).not.to.equal(base);
        expect(contextHash(dir, { target: "runtime" })).not.to.equal(base);
        expect(contextHash(dir, {}, ["linux/arm64"])).not.to.equal(contextHash(dir, {}, ["linux/amd64"]));
        expect(contextHash(dir, {}, ["linux/arm64", "linux/amd64"])).to.equal(contextHash(dir, {}, ["linux/amd64", "linux/arm64"]));
        fs.appendFileSync(path.join(dir, "Dockerfile"), "USER 10001\n");
        const withUser = contextHash(dir);
        expect(withUser).not.to.equal(base);
        fs.writeFileSync(path.join(dir, "app.txt"), "changed\n");
        expect(contextHash(dir)).not.to.equal(withUser);
    });

    it("ignores what the build cannot read, and still reads a Dockerfile that `**` excludes", () => {
        const dir = scratch({ ".dockerignore": "**\n!app.txt\n", Dockerfile: "FROM scratch\nCOPY app.txt /\n", "app.txt": "hello\n" });
        const base = contextHash(dir);
        fs.writeFileSync(path.join(dir, "NOTES.md"), "docs only");
        fs.mkdirSync(path.join(dir, "test"));
        fs.writeFileSync(path.join(dir, "test", "a.test.ts"), "tests only");
        expect(contextHash(dir)).to.equal(base);
        fs.appendFileSync(path.join(dir, "Dockerfile"), "LABEL a=b\n");
        expect(contextHash(dir)).not.to.equal(base);
    });

    it("the sample api image does not change with its tests or docs, only with what it builds from", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-api-"));
        fs.cpSync("services/api", dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
        const base = contextHash(dir);
        fs.appendFileSync(path.join(dir, "test", fs.readdirSync(path.join(dir, "test"))[0]), "\n// a one-line test change\n");
        fs.writeFileSync(path.join(dir, "README.md"), "docs\n");
        expect(contextHash(dir)).to.equal(base);
        const source = path.join(dir, "src", fs.readdirSync(path.join(dir, "src")).find((f) => f.endsWith(".ts"))!);
        fs.appendFileSync(source, "\n// a one-line source change\n");
        expect(contextHash(dir)).not.to.equal(base);
    });

    it("counts folders as Docker sends them: an empty folder changes the hash, an excluded one does not (fails on a2f6c95)", () => {
        const dir = scratch({ ".dockerignore": "tmp/\n", Dockerfile: "FROM scratch\nCOPY . /app\n", "app.txt": "x" });
        const base = contextHash(dir);
        fs.mkdirSync(path.join(dir, "tmp", "cache"), { recursive: true });
        expect(contextHash(dir), "an excluded empty folder is not sent").to.equal(base);
        fs.mkdirSync(path.join(dir, "uploads"));
        const withEmpty = contextHash(dir);
        expect(withEmpty, "COPY . creates an empty folder that is sent").not.to.equal(base);
        fs.chmodSync(path.join(dir, "uploads"), 0o700);
        expect(contextHash(dir), "its mode is part of the image").not.to.equal(withEmpty);
        fs.chmodSync(path.join(dir, "app.txt"), 0o4644);
        expect(contextHash(dir), "setuid is a mode bit BuildKit sends").not.to.equal(withEmpty);
    });

    it("lists the folders BuildKit's walker sends: `**` with `!`, a leading `/`, folder patterns, and excluded folders only as parents of re-included files", () => {
        const dir = scratch({
            ".dockerignore": "**\n!src\n!cache/keep/one.txt\n",
            Dockerfile: "FROM scratch\n",
            "src/index.ts": "x",
            "cache/a.bin": "x",
            "cache/keep/one.txt": "x",
        });
        for (const empty of ["src/empty", "cache/empty", "other/empty"]) fs.mkdirSync(path.join(dir, empty), { recursive: true });
        expect(contextEntries(dir)).to.deep.equal({ files: ["cache/keep/one.txt", "src/index.ts"], directories: ["cache", "cache/keep", "src", "src/empty"] });

        const anchored = scratch({ ".dockerignore": "/build\nlogs/\n", Dockerfile: "FROM scratch\n" });
        for (const empty of ["build", "sub/build", "logs", "sub/logs"]) fs.mkdirSync(path.join(anchored, empty), { recursive: true });
        expect(contextEntries(anchored).directories).to.deep.equal(["sub", "sub/build", "sub/logs"]);
    });

    it("fails clearly on a missing context or Dockerfile", () => {
        expect(errorOf(() => contextHash("test/fixtures/no-such-context"))).to.include("is not a folder");
        expect(errorOf(() => contextHash(FIXTURE, { dockerfile: "Dockerfile.prod" }))).to.include('Dockerfile "Dockerfile.prod" not found');
    });
});

describe("image plan: one build per distinct image", () => {
    it("workloads with equal builds share one image named after the context folder", () => {
        const plan = planImages([
            { name: "api", image: { build: { context: "services/api" } }, resources },
            { name: "migrate", image: { build: { context: "services/api/", dockerfile: "./Dockerfile" } }, resources },
            { name: "web", image: { build: { context: "services/web" } }, resources },
            { name: "redis", image: { ref: "redis:7.4-alpine" }, resources },
        ]);
        expect(plan.map((i) => [i.name, i.workloads])).to.deep.equal([
            ["api", ["api", "migrate"]],
            ["web", ["web"]],
        ]);
    });

    it("different args, target or Dockerfile are different images, named apart by their first workload", () => {
        const plan = planImages([
            { name: "api", image: { build: { context: "services/api", args: { A: "1" } } }, resources },
            { name: "worker", image: { build: { context: "services/api", args: { A: "2" } } }, resources },
            { name: "debug", image: { build: { context: "services/api", args: { A: "1" }, target: "debug" } }, resources },
            { name: "cache", image: { build: { context: "tools/buildcache" } }, resources },
        ]);
        expect(plan.map((i) => i.name)).to.deep.equal(["api", "api-worker", "api-debug", "buildcache-image"]);
    });

    it("names deploy and cache repositories apart", () => {
        expect(repositoryName("dockyard", "dev", "api")).to.equal("dockyard/dev/api");
        expect(cacheRepositoryName("dockyard", "dev", "api")).to.equal("dockyard/dev/buildcache/api");
    });
});

describe("resolveImages: build and push to ECR with docker-build", () => {
    it("declares one build, one immutable deploy repository and one cache repository per distinct image (fcdc18c: a repository and two builds per workload)", async () => {
        const { resources: declared } = await declareImages("dev");
        expect(ofType(declared, IMAGE).map((r) => r.name)).to.deep.equal(["dev-image-context-image"]);
        expect(ofType(declared, "docker:index/image:Image")).to.deep.equal([]);
        const repos = ofType(declared, REPO);
        expect(repos.map((r) => r.inputs.name)).to.deep.equal(["dockyard/dev/image-context", "dockyard/dev/buildcache/image-context"]);
        const [deploy, cache] = repos;
        expect(deploy.inputs.imageTagMutability).to.equal("IMMUTABLE");
        expect(deploy.inputs.imageTagMutabilityExclusionFilters).to.equal(undefined);
        expect(cache.inputs.imageTagMutability).to.equal("IMMUTABLE_WITH_EXCLUSION");
        expect(cache.inputs.imageTagMutabilityExclusionFilters).to.deep.equal([{ filter: CACHE_TAG, filterType: "WILDCARD" }]);
        for (const repo of repos) {
            expect(repo.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
            expect(repo.inputs.encryptionConfigurations).to.deep.equal([{ encryptionType: "AES256" }]);
        }
        const policies = ofType(declared, "aws:ecr/lifecyclePolicy:LifecyclePolicy");
        const config = stackConfig("dev");
        expect(policies.map((p) => [p.inputs.repository, p.inputs.policy])).to.deep.equal([
            ["dockyard/dev/image-context", lifecyclePolicy(config.images.keepTagged, config.images.untaggedExpiryDays)],
            ["dockyard/dev/buildcache/image-context", cacheLifecyclePolicy()],
        ]);
    });

    it("keeps production's deploy repositories on destroy, never its disposable cache", async () => {
        const { resources: declared } = await declareImages("prod", { "images.encryption": "KMS" });
        const [deploy, cache] = ofType(declared, REPO);
        expect(deploy.inputs.forceDelete).to.equal(false);
        expect(cache.inputs.forceDelete).to.equal(true);
        expect(deploy.inputs.encryptionConfigurations).to.deep.equal([{ encryptionType: "KMS" }]);
    });

    it("builds for the nodes' platforms, labels the image with its content hash, and caches in the cache repository in ECR's form", async () => {
        const { resources: declared } = await declareImages("dev");
        const image = only(declared, IMAGE);
        const repoUrl = `${DEV_REGISTRY}/dockyard/dev/image-context`;
        const cacheRef = `${DEV_REGISTRY}/dockyard/dev/buildcache/image-context:${CACHE_TAG}`;
        expect(image.inputs.platforms).to.deep.equal(["linux/arm64"]);
        expect(image.inputs.context).to.deep.equal({ location: FIXTURE });
        expect(image.inputs.dockerfile).to.deep.equal({ location: path.join(FIXTURE, "Dockerfile") });
        expect(image.inputs.buildArgs).to.deep.equal({ GREETING: "hello" });
        expect(image.inputs.labels).to.deep.equal({ [CONTEXT_HASH_LABEL]: contextHash(FIXTURE, { args: { GREETING: "hello" } }, ["linux/arm64"]) });
        expect(image.inputs.exports).to.deep.equal([{ registry: { names: [repoUrl], pushByDigest: true } }]);
        expect(image.inputs.cacheFrom).to.deep.equal([{ registry: { ref: cacheRef } }]);
        expect(image.inputs.cacheTo).to.deep.equal([{ registry: { ref: cacheRef, mode: "max", imageManifest: true, ociMediaTypes: true } }]);

        // Mixed manager and worker architectures: one multi-platform image, built without a registry
        // cache (docker-build calls it unreliable there), so no cache repository either.
        const mixed = await declareImages("dev", { "swarm.workerInstanceType": "m7i.large" });
        const multi = only(mixed.resources, IMAGE);
        expect(multi.inputs.platforms).to.deep.equal(["linux/amd64", "linux/arm64"]);
        expect(multi.inputs.cacheTo).to.equal(undefined);
        expect(ofType(mixed.resources, REPO).map((r) => r.inputs.name)).to.deep.equal(["dockyard/dev/image-context"]);
    });

    it("a rebuild never pushes to a tag: the build pushes by digest only, and the tag is the digest's own, written by the copy step (fails on a2f6c95)", async () => {
        const { resources: declared, value } = await declareImages("dev");
        const image = only(declared, IMAGE);
        const repoUrl = `${DEV_REGISTRY}/dockyard/dev/image-context`;
        // Nothing docker-build pushes carries a tag, so no rebuild can meet an existing one.
        expect(image.inputs.tags ?? []).to.deep.equal([]);
        expect(image.inputs.push).to.equal(false);
        const exports = image.inputs.exports as { registry: { names: string[]; pushByDigest: boolean } }[];
        expect(exports).to.have.length(1);
        expect(exports[0].registry.pushByDigest).to.equal(true);
        expect(exports[0].registry.names.every((n) => !n.includes(":"))).to.equal(true);
        const tagStep = only(declared, "command:local:Command");
        expect(tagStep.name).to.equal("dev-image-context-tag");
        expect(tagStep.rawInputs.create).to.equal(COPY_SCRIPT);
        const deployed = await resolve(value.images.api);
        expect(tagStep.inputs.environment).to.deep.equal({ SOURCE_REF: deployed, TARGET_REPOSITORY: repoUrl, LOGIN_REGISTRIES: `us-east-1/${DEV_REGISTRY}` });
        expect(tagStep.parent).to.equal(image.parent);
        // The tag the copy writes names one digest: a different digest gets a different tag.
        expect(COPY_SCRIPT).to.include('target="$TARGET_REPOSITORY:sha256-${digest#sha256:}"');
    });

    it("only the build's identity may write the cache: the cache repository denies pushes and deletes to every other principal (fails on a2f6c95)", async () => {
        const { resources: declared } = await declareImages("dev");
        const policy = only(declared, "aws:ecr/repositoryPolicy:RepositoryPolicy");
        expect(policy.inputs.repository).to.equal("dockyard/dev/buildcache/image-context");
        // The mocked caller is a user; a role session would be its role (getSessionContext's issuer).
        expect(policy.inputs.policy).to.equal(cacheRepositoryPolicy("arn:aws:iam::123456789012:user/dockyard"));
        const [statement] = JSON.parse(String(policy.inputs.policy)).Statement;
        expect(statement).to.deep.include({ Effect: "Deny", Principal: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:user/dockyard" } } });
        expect(statement.Action).to.include.members(["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"]);
        // A preview (a pull request's Dockerfile, a read-only role) never builds, so never exports a cache.
        expect(only(declared, IMAGE).inputs.buildOnPreview).to.equal(false);
        // No cache, no policy: a multi-platform image has neither.
        const mixed = await declareImages("dev", { "swarm.workerInstanceType": "m7i.large" });
        expect(ofType(mixed.resources, "aws:ecr/repositoryPolicy:RepositoryPolicy")).to.deep.equal([]);
        // A session ARN would let only that one session write; the role (its issuer) is what is meant.
        expect(errorOf(() => cacheRepositoryPolicy("arn:aws:sts::123456789012:assumed-role/dockyard-dev-deploy/run-1"))).to.include("is not an IAM role, user or account root ARN");
        expect(JSON.parse(cacheRepositoryPolicy("arn:aws:iam::123456789012:role/ci/dockyard-dev-deploy")).Statement[0].Condition.ArnNotEquals["aws:PrincipalArn"]).to.equal("arn:aws:iam::123456789012:role/ci/dockyard-dev-deploy");
    });

    it("images.tag (the commit) is no part of any image input (fails on fcdc18c, where it was the tag)", async () => {
        const without = only((await declareImages("dev")).resources, IMAGE);
        const withCommit = only((await declareImages("dev", { "images.tag": "3f2c1ab" })).resources, IMAGE);
        expect(withCommit.inputs).to.deep.equal(without.inputs);
    });

    it("passes the ECR credentials as a secret that never appears in clear", async () => {
        const { resources: declared, invokes } = await declareImages("dev");
        expect(invokes.map((i) => i.token)).to.include("aws:ecr/getAuthorizationToken:getAuthorizationToken");
        const image = only(declared, IMAGE);
        expect(JSON.stringify(image.inputs)).not.to.include("mock-ecr-password");
        const raw = JSON.stringify(image.rawInputs.registries);
        expect(raw).to.include("mock-ecr-password");
        expect(raw).to.include(`"address":"${DEV_REGISTRY}"`);
    });

    it("hands every workload of an image the same pushed digest, exports it for promotion, and uses existing images as is", async () => {
        const { value } = await declareImages("dev", { "workloads.imageTags": { redis: "7.2-alpine" } });
        const api = await resolve(value.images.api);
        expect(api).to.match(new RegExp(`^${DEV_REGISTRY.replace(/\./g, "\\.")}/dockyard/dev/image-context@sha256:[0-9a-f]{64}$`));
        expect(await resolve(value.images.migrate)).to.equal(api);
        expect(await resolve(value.digests)).to.deep.equal({ api, migrate: api });
        expect(await resolve(value.images.redis)).to.equal("redis:7.2-alpine");
        expect(await isSecret(value.images.api)).to.equal(false);
    });

    it("puts every AWS resource on the stack provider", async () => {
        const { resources: declared } = await declareImages("prod");
        const aws = declared.filter((r) => r.type.startsWith("aws:"));
        expect(aws).to.have.length(5);
        for (const resource of aws) expect(resource.provider).to.equal("prod-aws");
    });
});

describe("resolveImages: promotion into this stack's own repositories", () => {
    afterEach(() => setStackOutputs(SOURCE, undefined));
    const COPY = "command:local:Command";

    it("copies each explicit images.digests image by digest into prod's immutable repository, and deploys that copy (fails on fcdc18c: dev's repository)", async () => {
        const source = digestOf("api", "c");
        const { value, resources: declared } = await declareImages("prod", { "images.digests": { api: source, migrate: source } });
        expect(ofType(declared, IMAGE)).to.have.length(0);
        const repo = only(declared, REPO);
        expect(repo.inputs.name).to.equal("dockyard/prod/image-context");
        expect(repo.inputs.imageTagMutability).to.equal("IMMUTABLE");
        expect(repo.inputs.forceDelete).to.equal(false);
        const copy = only(declared, COPY);
        expect(copy.inputs.environment).to.deep.equal({
            SOURCE_REF: source,
            TARGET_REPOSITORY: `${DEV_REGISTRY}/dockyard/prod/image-context`,
            LOGIN_REGISTRIES: `us-east-1/${DEV_REGISTRY}`,
        });
        expect(copy.rawInputs.create).to.equal(COPY_SCRIPT);
        const promoted = `${DEV_REGISTRY}/dockyard/prod/image-context@sha256:${"c".repeat(64)}`;
        expect(await resolve(value.images.api)).to.equal(promoted);
        expect(await resolve(value.images.migrate)).to.equal(promoted);
        expect(await resolve(value.digests)).to.deep.equal({ api: promoted, migrate: promoted });
    });

    it("a changed digest copies again: the copy's inputs change, and it has no update script of its own, so the update runs create (pulumi-command's Update)", async () => {
        const first = only((await declareImages("prod", { "images.digests": { api: digestOf("api", "c"), migrate: digestOf("api", "c") } })).resources, COPY);
        const second = only((await declareImages("prod", { "images.digests": { api: digestOf("api", "d"), migrate: digestOf("api", "d") } })).resources, COPY);
        expect(first.name).to.equal(second.name);
        expect(second.inputs.environment).to.deep.include({ SOURCE_REF: digestOf("api", "d") });
        expect(first.inputs).not.to.deep.equal(second.inputs);
        for (const copy of [first, second]) {
            expect(copy.rawInputs.create).to.equal(COPY_SCRIPT);
            expect(copy.inputs.update, "an update script would replace the copy on update").to.equal(undefined);
            expect(copy.inputs.triggers).to.equal(undefined);
        }
        const same = only((await declareImages("prod", { "images.digests": { api: digestOf("api", "c"), migrate: digestOf("api", "c") } })).resources, COPY);
        expect(same.inputs, "an unchanged digest changes nothing, so nothing runs").to.deep.equal(first.inputs);
    });

    it("refuses, before any resource, digests that miss a workload, name an unknown one, are not digests, or split a shared build", () => {
        const plan = planImages(SPECS);
        const a = digestOf("api", "a");
        expect(errorOf(() => explicitPromotions(plan, { api: a }))).to.include("dockyard:images.digests has no digest for migrate");
        expect(errorOf(() => explicitPromotions(plan, { api: a, migrate: a, apx: a }))).to.include("dockyard:images.digests has apx; allowed: workloads built from source (api, migrate)");
        expect(errorOf(() => explicitPromotions(plan, { api: "repo/api:1.0", migrate: a }))).to.include('dockyard:images.digests.api is "repo/api:1.0"; allowed: an image in a registry pinned by digest');
        expect(errorOf(() => explicitPromotions(plan, { api: a, migrate: digestOf("api", "b") }))).to.include("gives api and migrate different digests");
        expect([...explicitPromotions(plan, { api: a, migrate: a })]).to.deep.equal([["image-context", a]]);
    });

    it("copies what the images.from stack exported, checking every workload has an image", async () => {
        setStackOutputs(SOURCE, { imageDigests: { api: digestOf("api", "a"), migrate: digestOf("api", "a"), worker: digestOf("worker", "b") } });
        const { value, resources: declared } = await declareImages("prod", { "images.from": SOURCE });
        expect(only(declared, "pulumi:pulumi:StackReference").inputs.name).to.equal(SOURCE);
        expect(only(declared, COPY).inputs.environment).to.deep.include({ SOURCE_REF: digestOf("api", "a") });
        expect(await resolve(value.images.api)).to.equal(`${DEV_REGISTRY}/dockyard/prod/image-context@sha256:${"a".repeat(64)}`);

        setStackOutputs(SOURCE, { imageDigests: { worker: digestOf("worker", "b") } });
        const message = await rejectionOf(declareImages("prod", { "images.from": SOURCE }));
        expect(message).to.include(`dockyard:images.from is "${SOURCE}"`);
        expect(message).to.include('workload "api"');
        expect(message).to.include("it has: worker");
    });

    it("the copy script passes shellcheck, logs in only to ECR registries, and parses digest references strictly", () => {
        const result = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { input: COPY_SCRIPT, encoding: "utf8" });
        if (result.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${result.error.message}`);
        expect(result.stdout + result.stderr).to.equal("");
        expect(result.status).to.equal(0);
        expect(ecrLogins([DEV_REGISTRY, "ghcr.io", "999999999999.dkr.ecr.eu-west-1.amazonaws.com", DEV_REGISTRY])).to.equal(
            `eu-west-1/999999999999.dkr.ecr.eu-west-1.amazonaws.com us-east-1/${DEV_REGISTRY}`,
        );
        expect(parseDigestRef(digestOf("api", "d"), "k")).to.deep.equal({ host: DEV_REGISTRY, repository: `${DEV_REGISTRY}/dockyard/dev/api`, digest: `sha256:${"d".repeat(64)}` });
        expect(errorOf(() => parseDigestRef(`api@sha256:${"d".repeat(64)}`, "k"))).to.include("allowed: an image in a registry pinned by digest");
    });
});

describe("resolveImages: local engine", () => {
    it("builds on this machine, loads the image there without pushing, and creates nothing in AWS", async () => {
        const { value, resources: declared, invokes } = await declareImages("dev", { "swarm.engine": "local" });
        expect(declared.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws")).to.have.length(0);
        expect(invokes.filter((i) => i.token.startsWith("aws:"))).to.have.length(0);
        const image = only(declared, IMAGE);
        expect(image.inputs.push).to.equal(false);
        expect(image.inputs.load).to.equal(true);
        expect(image.inputs.registries).to.equal(undefined);
        expect(image.inputs.platforms).to.equal(undefined);
        const tag = contextHash(FIXTURE, { args: { GREETING: "hello" } });
        expect(image.inputs.tags).to.deep.equal([`dockyard/dev/image-context:${tag}`]);
        expect(await resolve(value.images.api)).to.equal(`dockyard/dev/image-context:${tag}`);
        expect(await resolve(value.images.migrate)).to.equal(`dockyard/dev/image-context:${tag}`);
        expect(await resolve(value.digests)).to.deep.equal({});
    });
});
