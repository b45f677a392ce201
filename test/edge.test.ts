/**
 * Production edges on both targets (issue 9): HTTPS on a real domain and images promoted from
 * another stack, rendered from examples/Pulumi.edge.yaml exactly as `npm run render` does.
 */
import { expect } from "chai";
import * as path from "node:path";
import { ProgramFailure, runProgram } from "../scripts/offline/run";
import { loadStackFile } from "../scripts/offline/stackFile";
import { declareStack } from "../components/stack";
import type { WorkloadSpec } from "../components/workload";
import { ofType, only, Overrides, PROJECT_ROOT, ProgramRun, runDeclaration, stackConfig } from "./harness";

async function renderEdge(overrides: Overrides = {}): Promise<ProgramRun> {
    const file = loadStackFile(path.join(PROJECT_ROOT, "examples", "Pulumi.edge.yaml"));
    const config = { ...file.config };
    for (const [key, value] of Object.entries(overrides)) config[`dockyard:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    return runProgram({ stack: "edge", config, secretKeys: file.secretKeys });
}

function expectCertificateAndNoBuilds(run: ProgramRun) {
    const certificate = only(run.resources, "aws:acm/certificate:Certificate").inputs as any;
    expect(certificate).to.deep.include({ domainName: "example.com", subjectAlternativeNames: ["www.example.com"], validationMethod: "DNS" });
    const validationRecords = ofType(run.resources, "aws:route53/record:Record").filter((r) => (r.inputs as any).type === "CNAME");
    expect(validationRecords).to.have.length(2);
    only(run.resources, "aws:acm/certificateValidation:CertificateValidation");
    expect(ofType(run.resources, "docker-build:index:Image"), "promoted images are never built").to.deep.equal([]);
    // ...but copied into the stack's own immutable repositories, with no build cache (issue 15).
    expect(ofType(run.resources, "aws:ecr/repository:Repository").map((r) => [(r.inputs as any).name, (r.inputs as any).imageTagMutability])).to.deep.equal([
        ["dockyard/edge/api", "IMMUTABLE"],
        ["dockyard/edge/web", "IMMUTABLE"],
    ]);
    only(run.resources, "pulumi:pulumi:StackReference");
}

const aliasFor = (run: ProgramRun, host: string) =>
    ofType(run.resources, "aws:route53/record:Record").find((r) => (r.inputs as any).name === host && (r.inputs as any).type === "A")?.inputs as any;

describe("production edges: a domain and promoted images", function () {
    this.timeout(120_000);

    it("eks: HTTPS listener with a modern policy and redirect on the ALB, an alias for each host, dev's digests deployed", async () => {
        const run = await renderEdge();
        expectCertificateAndNoBuilds(run);
        const ingress = only(run.resources, "kubernetes:networking.k8s.io/v1:Ingress").inputs as any;
        const annotations = ingress.metadata.annotations;
        expect(JSON.parse(annotations["alb.ingress.kubernetes.io/listen-ports"])).to.deep.equal([{ HTTP: 80 }, { HTTPS: 443 }]);
        expect(annotations["alb.ingress.kubernetes.io/ssl-redirect"]).to.equal("443");
        expect(annotations["alb.ingress.kubernetes.io/ssl-policy"]).to.match(/^ELBSecurityPolicy-TLS13/);
        expect(annotations["alb.ingress.kubernetes.io/certificate-arn"]).to.match(/^arn:aws:acm:/);
        expect(ingress.spec.rules.map((r: any) => r.host)).to.deep.equal(["www.example.com"]);
        const alias = aliasFor(run, "www.example.com");
        expect(alias.aliases[0]).to.deep.include({ zoneId: "Z35SXDOTRQ7X7K", evaluateTargetHealth: true });
        expect(alias.aliases[0].name).to.match(/^k8s-dockyard-edge-.*\.elb\.amazonaws\.com$/);
        const api = ofType(run.resources, "kubernetes:apps/v1:Deployment").find((d) => d.name === "api-deployment")!.inputs as any;
        expect(api.spec.template.spec.containers[0].image).to.match(/\/dockyard\/edge\/api@sha256:[0-9a-f]{64}$/);
    });

    it("swarm: HTTPS listener with a modern policy, HTTP redirected, an alias to the ALB", async () => {
        const run = await renderEdge({ target: "swarm", "swarm.ingress": "alb", "swarm.managers": 3 });
        expectCertificateAndNoBuilds(run);
        const listeners = ofType(run.resources, "aws:lb/listener:Listener").map((l) => l.inputs as any);
        const https = listeners.find((l) => l.protocol === "HTTPS");
        expect(https).to.deep.include({ port: 443 });
        expect(https.sslPolicy).to.match(/^ELBSecurityPolicy-TLS13/);
        const http = listeners.find((l) => l.protocol === "HTTP");
        expect(http.defaultActions[0]).to.deep.include({ type: "redirect" });
        expect(http.defaultActions[0].redirect).to.deep.include({ port: "443", protocol: "HTTPS" });
        expect(aliasFor(run, "www.example.com").aliases[0].name).to.match(/elb\.amazonaws\.com$/);
        const web = ofType(run.resources, "docker:index/service:Service").find((s) => (s.inputs as any).name === "edge-web")!.inputs as any;
        expect(web.taskSpec.containerSpec.image).to.match(/\/dockyard\/edge\/web@sha256:[0-9a-f]{64}$/);
    });

    it("without a domain: no certificate, no DNS records, plain HTTP on the load balancer's name", async () => {
        const run = await renderEdge({ "ingress.domain": "", "workloads.hosts": {} });
        expect(ofType(run.resources, "aws:acm/certificate:Certificate")).to.deep.equal([]);
        expect(ofType(run.resources, "aws:route53/record:Record")).to.deep.equal([]);
        const annotations = (only(run.resources, "kubernetes:networking.k8s.io/v1:Ingress").inputs as any).metadata.annotations;
        expect(JSON.parse(annotations["alb.ingress.kubernetes.io/listen-ports"])).to.deep.equal([{ HTTP: 80 }]);
    });

    it("refuses a host name outside the domain, in config and in workloads.ts, before creating anything", async () => {
        expect(() => stackConfig("dev", { "ingress.domain": "example.com", "workloads.hosts": { web: "www.example.org" } })).to.throw(
            'dockyard:workloads.hosts has web="www.example.org"; allowed: host names under dockyard:ingress.domain "example.com"',
        );
        const web: WorkloadSpec = {
            name: "web",
            image: { ref: "nginx:1.27" },
            ports: [{ name: "http", port: 8080, public: { host: "shop.example.org" } }],
            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        };
        let failure: ProgramFailure | undefined;
        try {
            await runDeclaration(() => declareStack(stackConfig("dev", { "ingress.domain": "example.com" }), [web]), "dev", { "ingress.domain": "example.com" });
        } catch (err) {
            failure = err as ProgramFailure;
        }
        expect(failure).to.be.instanceOf(ProgramFailure);
        expect(failure!.message).to.include('"shop.example.org" are not under dockyard:ingress.domain "example.com"');
        expect(failure!.resources).to.deep.equal([]);
    });
});
