/**
 * Images across the whole program (issue 15): what `npm run render` shows per stack, that the
 * deployed commit changes no image or pod input, and that the policy pack catches a cache deployed
 * or mixed with deploy repositories in the rendered stacks.
 */
import { expect } from "chai";
import { policies } from "../policy/rules";
import { imagesImmutableDeployRepositories, imagesNoCacheDeploys } from "../policy/rules/images";
import { FakeResource, fromRender, runPack, runResourcePolicy } from "./policyHarness";
import { ProgramFailure } from "../scripts/offline/run";
import { ofType, ProgramRun, RecordedResource, renderStack } from "./harness";

const IMAGE = "docker-build:index:Image";
const REPO = "aws:ecr/repository:Repository";
const SERVICE = "docker:index/service:Service";

const byName = (resources: readonly RecordedResource[]) => new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
const inputs = (r: RecordedResource) => r.inputs as Record<string, any>;

describe("images in the rendered stacks", function () {
    this.timeout(180_000);
    const renders = new Map<string, ProgramRun>();
    const render = async (stack: string, commit = "") => {
        const key = `${stack}@${commit}`;
        if (!renders.has(key)) renders.set(key, await renderStack(stack, commit ? { "images.tag": commit } : {}));
        return renders.get(key)!;
    };

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: one build per distinct image (api+migrate, web), each with its own deploy and cache repository (fcdc18c: 6 builds)`, async () => {
            const run = await render(stack);
            expect(ofType(run.resources, IMAGE).map((r) => r.name)).to.deep.equal([`${stack}-api-image`, `${stack}-web-image`]);
            expect(ofType(run.resources, "docker:index/image:Image")).to.deep.equal([]);
            expect(ofType(run.resources, REPO).map((r) => [inputs(r).name, inputs(r).imageTagMutability]).sort()).to.deep.equal([
                [`dockyard/${stack}/api`, "IMMUTABLE"],
                [`dockyard/${stack}/buildcache/api`, "IMMUTABLE_WITH_EXCLUSION"],
                [`dockyard/${stack}/buildcache/web`, "IMMUTABLE_WITH_EXCLUSION"],
                [`dockyard/${stack}/web`, "IMMUTABLE"],
            ]);
        });
    }

    it("dev: two commits that differ only outside the build contexts change no image, no pod or task template, and re-run no job", async () => {
        const before = await render("dev", "1111111");
        const after = byName((await render("dev", "2222222")).resources);
        expect(before.resources.length).to.equal(after.size);
        for (const resource of before.resources) {
            const other = after.get(`${resource.type}::${resource.name}`)!;
            expect(other, resource.name).to.not.equal(undefined);
            if (resource.type !== SERVICE) {
                expect(other.inputs, `${resource.type} ${resource.name}`).to.deep.equal(resource.inputs);
                continue;
            }
            // Only the service-level label moves; the task spec (what swarmkit restarts tasks for) stays.
            const { labels: labelsBefore, ...restBefore } = inputs(resource);
            const { labels: labelsAfter, ...restAfter } = inputs(other);
            expect(restAfter, resource.name).to.deep.equal(restBefore);
            const commitOf = (labels: { label: string; value: string }[]) => labels.find((l) => l.label === "dockyard.commit")?.value;
            const job = resource.name === "dev-migrate";
            expect([commitOf(labelsBefore), commitOf(labelsAfter)], resource.name).to.deep.equal(job ? [undefined, undefined] : ["1111111", "2222222"]);
        }
    });

    it("prod: the commit is an annotation on the Deployment and StatefulSet objects, never on their pod templates or on the Job", async () => {
        const before = await render("prod", "1111111");
        const after = byName((await render("prod", "2222222")).resources);
        for (const resource of before.resources) {
            const other = after.get(`${resource.type}::${resource.name}`)!;
            if (resource.type !== "kubernetes:apps/v1:Deployment" && resource.type !== "kubernetes:apps/v1:StatefulSet") {
                expect(other.inputs, `${resource.type} ${resource.name}`).to.deep.equal(resource.inputs);
                continue;
            }
            expect(inputs(other).spec, resource.name).to.deep.equal(inputs(resource).spec);
            expect(inputs(resource).metadata.annotations).to.deep.equal({ "dockyard.io/commit": "1111111" });
            expect(inputs(other).metadata.annotations).to.deep.equal({ "dockyard.io/commit": "2222222" });
            expect(inputs(other).spec.template.metadata?.annotations?.["dockyard.io/commit"]).to.equal(undefined);
        }
        expect(ofType(before.resources, "kubernetes:batch/v1:Job").map((j) => inputs(j).metadata.annotations?.["dockyard.io/commit"])).to.deep.equal([undefined]);
    });

    it("prod: an images.digests that misses a workload stops the program, naming the key, before any AWS resource", async () => {
        const api = `123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api@sha256:${"a".repeat(64)}`;
        let failure: ProgramFailure | undefined;
        try {
            await renderStack("prod", { "images.digests": { api, migrate: api } });
        } catch (err) {
            failure = err as ProgramFailure;
        }
        expect(failure).to.be.instanceOf(ProgramFailure);
        expect(failure!.message).to.include("dockyard:images.digests has no digest for web");
        expect(failure!.resources.filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
    });

    describe("the policy pack on mutated renders", () => {
        const asFake = (r: RecordedResource, props: Record<string, any>): FakeResource => ({ type: r.type, name: r.name, props });
        const find = (run: ProgramRun, type: string, name: string) => run.resources.find((r) => r.type === type && r.name === name)!;

        it("passes the rendered stacks", async () => {
            for (const stack of ["dev", "prod"]) {
                const findings = await runPack([imagesNoCacheDeploys, imagesImmutableDeployRepositories], fromRender(await render(stack)));
                expect(findings, stack).to.deep.equal([]);
            }
            expect(policies.map((p) => p.name)).to.include.members(["images-no-cache-deploys", "images-immutable-deploy-repositories"]);
        });

        it("images-no-cache-deploys refuses a Swarm service or a Deployment running a cache reference", async () => {
            const dev = await render("dev");
            const api = find(dev, SERVICE, "dev-api");
            const cacheRef = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/buildcache/api:buildcache";
            for (const image of [cacheRef, "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api:buildcache"]) {
                const props = { ...inputs(api), taskSpec: { ...inputs(api).taskSpec, containerSpec: { ...inputs(api).taskSpec.containerSpec, image } } };
                const result = await runResourcePolicy(imagesNoCacheDeploys, asFake(api, props));
                expect(result.violations.join("\n"), image).to.match(/taskSpec\.containerSpec\.image deploys .* a build-cache reference/);
            }
            const prod = await render("prod");
            const deployment = find(prod, "kubernetes:apps/v1:Deployment", "api-deployment");
            const spec = inputs(deployment).spec;
            const containers = spec.template.spec.containers.map((c: any) => ({ ...c, image: cacheRef }));
            const mutated = { ...inputs(deployment), spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers } } } };
            expect((await runResourcePolicy(imagesNoCacheDeploys, asFake(deployment, mutated))).violations).to.have.length(1);
        });

        it("images-no-cache-deploys refuses a build whose cache goes to a deploy repository, or whose image goes to a cache", async () => {
            const image = find(await render("dev"), IMAGE, "dev-api-image");
            const deployRef = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api:buildcache-old";
            const intoDeploy = { ...inputs(image), cacheTo: [{ registry: { ref: deployRef.replace(":buildcache-old", ":cache"), mode: "max" } }] };
            expect((await runResourcePolicy(imagesNoCacheDeploys, asFake(image, intoDeploy))).violations.join("\n")).to.match(/writes its build cache to .*outside a build-cache repository/);
            const intoCache = { ...inputs(image), tags: ["123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/buildcache/api:v1"] };
            expect((await runResourcePolicy(imagesNoCacheDeploys, asFake(image, intoCache))).violations.join("\n")).to.match(/into a build cache/);
            const byDigestIntoCache = { ...inputs(image), exports: [{ registry: { names: ["123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/buildcache/api"], pushByDigest: true } }] };
            expect((await runResourcePolicy(imagesNoCacheDeploys, asFake(image, byDigestIntoCache))).violations.join("\n")).to.match(/into a build cache/);
        });

        it("images-immutable-deploy-repositories refuses a deploy repository with a moving tag, as fcdc18c declared it", async () => {
            const repo = find(await render("dev"), REPO, "dev-api-repo");
            const fcdc18c = { ...inputs(repo), imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "buildcache", filterType: "WILDCARD" }] };
            expect((await runResourcePolicy(imagesImmutableDeployRepositories, asFake(repo, fcdc18c))).violations.join("\n")).to.match(/must be "IMMUTABLE" in a deploy repository, found "IMMUTABLE_WITH_EXCLUSION" with moving tags \["buildcache"\]/);
            expect((await runResourcePolicy(imagesImmutableDeployRepositories, asFake(repo, { ...inputs(repo), imageTagMutability: "MUTABLE" }))).violations).to.have.length(1);
            const cache = find(await render("dev"), REPO, "dev-api-cache");
            expect((await runResourcePolicy(imagesImmutableDeployRepositories, asFake(cache, inputs(cache)))).applicable).to.equal(false);
        });
    });
});
