/**
 * The whole program per stack: what each target renders, that every resource goes through the
 * stack's providers, and that the Kubernetes objects of prod pass the Kubernetes schema.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { estimateRenderedCost } from "../scripts/render";
import { workloads } from "../workloads";
import { kubernetesProblems } from "./k8sSchema";
import { ofType, only, ProgramRun, renderStack, resolve } from "./harness";

describe("the whole stack", function () {
    this.timeout(120_000);
    // What workloads.ts declares, whatever it is: these tests check the pipeline, not the sample's list.
    const declared = workloads({ stack: "dev", generatedSecret: () => pulumi.secret(""), configSecret: () => pulumi.secret("") });
    const built = declared.filter((w) => "build" in w.image).map((w) => w.name);
    const renders = new Map<string, ProgramRun>();
    const render = async (stack: string) => {
        if (!renders.has(stack)) renders.set(stack, await renderStack(stack));
        return renders.get(stack)!;
    };

    it("prod: every Kubernetes object validates against the schema, selectors and ports line up", async () => {
        const run = await render("prod");
        expect(ofType(run.resources, "kubernetes:apps/v1:Deployment").map((r) => r.name)).to.include.members(["api-deployment", "web-deployment"]);
        expect(kubernetesProblems(run.resources)).to.deep.equal([]);
    });

    it("prod: every Kubernetes resource uses the cluster's provider", async () => {
        const run = await render("prod");
        const kubernetes = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
        expect(kubernetes.length).to.be.greaterThan(15);
        expect([...new Set(kubernetes.map((r) => r.provider))]).to.deep.equal(["prod-eks-k8s"]);
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every AWS resource uses the stack's tagged AWS provider`, async () => {
            const run = await render(stack);
            const awsResources = run.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
            expect(awsResources.length).to.be.greaterThan(20);
            const others = awsResources.filter((r) => r.provider !== `${stack}-aws`).map((r) => `${r.type} ${r.name} -> ${r.provider}`);
            expect(others).to.deep.equal([]);
        });
    }

    it("dev: the swarm target deploys every workload of workloads.ts through the manager's Docker provider", async () => {
        const run = await render("dev");
        expect(ofType(run.resources, "eks:index:Cluster")).to.have.length(0);
        const services = ofType(run.resources, "docker:index/service:Service");
        expect(services.map((s) => (s.inputs as any).name).sort()).to.deep.equal(declared.map((w) => `dev-${w.name}`).sort());
        expect([...new Set(services.map((s) => s.provider))]).to.have.length(1);
    });

    it("local: creates no AWS resource at all and builds images without pushing", async () => {
        const run = await render("local");
        expect(run.resources.filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
        const images = ofType(run.resources, "docker-build:index:Image");
        expect(images.length).to.be.greaterThan(0);
        for (const image of images) expect((image.inputs as any).push, image.name).to.equal(false);
        expect(await resolve(run.outputs.url as string)).to.match(/^http:\/\/localhost:\d+$/);
    });

    it("dev: direct ingress serves HTTP on the manager's own address, from a group the policy can recognise", async () => {
        const run = await render("dev");
        expect(ofType(run.resources, "aws:lb/loadBalancer:LoadBalancer")).to.have.length(0);
        const web = ofType(run.resources, "docker:index/service:Service").find((s) => (s.inputs as any).name === "dev-web")!;
        expect((web.inputs as any).endpointSpec.ports).to.deep.include({ name: "http", targetPort: 8080, publishedPort: 80, protocol: "tcp", publishMode: "ingress" });
        const tagged = ofType(run.resources, "aws:ec2/securityGroup:SecurityGroup").filter((g) => (g.inputs as any).tags?.["dockyard:ingress"] === "direct");
        expect(tagged.map((g) => g.name)).to.deep.equal(["dev-swarm-sg-managers"]);
        expect(await resolve(run.outputs.url as string)).to.match(/^http:\/\/[\d.]+$/);
    });

    it("dev costs under $25 a month and prod keeps its highly available shape", async () => {
        const dev = estimateRenderedCost((await render("dev")).resources, "us-east-1");
        expect(dev.total).to.be.below(25);
        const prod = estimateRenderedCost((await render("prod")).resources, "us-east-1");
        expect(prod.lines.find((l) => l.item === "NAT gateway")?.quantity).to.equal(3);
        expect(prod.total).to.be.above(dev.total);
    });

    it("renders in a region the price table lacks, and its estimate marks every line unpriced instead of refusing", async () => {
        const run = await renderStack("dev", { region: "ap-south-1" });
        const estimate = estimateRenderedCost(run.resources, "ap-south-1");
        expect(estimate.lines.length).to.be.greaterThan(2);
        expect(estimate.lines.every((l) => l.unpriced && l.monthly === 0)).to.equal(true);
        expect(estimate.lines.map((l) => l.item)).to.include("EC2 t4g.small");
        const provider = only(run.resources, "pulumi:providers:aws", "dev-aws");
        expect((provider.inputs as any).region).to.equal("ap-south-1");
    });

    it("exports the image digests another stack promotes", async () => {
        const run = await render("dev");
        const digests = (await resolve(run.outputs.imageDigests as Record<string, string>)) ?? {};
        expect(Object.keys(digests).sort()).to.deep.equal([...built].sort());
        expect(built.length).to.be.greaterThan(0);
        for (const ref of Object.values(digests)) expect(ref).to.match(/@sha256:[0-9a-f]{64}$/);
    });
});
