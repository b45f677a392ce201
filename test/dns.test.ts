import { expect } from "chai";
import { aliasRecord, certificateNames, DomainCertificate, publicHostNames } from "../components/dns";
import { SwarmCluster } from "../components/swarm/cluster";
import { TLS_POLICY } from "../components/swarm/loadBalancer";
import { stackAwsProvider } from "../components/tags";
import type { PublicEndpoint } from "../components/workload";
import { ofType, only, resolve, runDeclaration, stackConfig } from "./harness";

const ENDPOINTS: PublicEndpoint[] = [
    { workload: "web", portName: "http", containerPort: 8080, publishedPort: 8080, protocol: "http", path: "/" },
    { workload: "api", portName: "http", containerPort: 3000, publishedPort: 8081, protocol: "http", path: "/", host: "api.example.com" },
];
const NETWORK = { vpcId: "vpc-0abc", vpcCidr: "10.0.0.0/16", nodeSubnetIds: ["subnet-a", "subnet-b"], publicSubnetIds: ["subnet-pa", "subnet-pb"], azs: ["us-east-1a", "us-east-1b"] };

describe("dns: names", () => {
    it("covers the domain and each public host once, and refuses names outside the domain", () => {
        expect(publicHostNames("example.com", ENDPOINTS)).to.deep.equal(["example.com", "api.example.com"]);
        expect(publicHostNames("", ENDPOINTS)).to.deep.equal([]);
        expect(certificateNames("example.com", ["example.com", "api.example.com", "api.example.com"])).to.deep.equal(["example.com", "api.example.com"]);
        expect(() => certificateNames("example.com", ["api.example.org"])).to.throw('"api.example.org" are not under dockyard:ingress.domain "example.com"');
    });
});

describe("dns: certificate and records", () => {
    // The dev stack serves directly from its manager; these tests are about the load balancer's listeners.
    const overrides = { "ingress.domain": "example.com", "swarm.ingress": "alb" };

    async function withDomain() {
        const config = stackConfig("dev", overrides);
        return runDeclaration(
            () => {
                const provider = stackAwsProvider(config);
                const hostNames = publicHostNames(config.domain, ENDPOINTS);
                const certificate = new DomainCertificate("site", { domain: config.domain, hostNames }, { provider });
                const cluster = new SwarmCluster(
                    "swarm",
                    { config, network: NETWORK, endpoints: ENDPOINTS, certificateArn: certificate.certificateArn, zoneId: certificate.zoneId },
                    { providers: [provider] },
                );
                return { certificate, cluster };
            },
            "dev",
            overrides,
        );
    }

    it("issues an ACM certificate validated through one DNS record per name in the looked-up zone", async () => {
        const { resources, invokes, value } = await withDomain();
        expect(invokes.find((i) => i.token === "aws:route53/getZone:getZone")!.inputs).to.include({ name: "example.com", privateZone: false });
        const cert = only(resources, "aws:acm/certificate:Certificate");
        expect(cert.inputs).to.include({ domainName: "example.com", validationMethod: "DNS" });
        expect(cert.inputs.subjectAlternativeNames).to.deep.equal(["api.example.com"]);
        const zoneId = await resolve(value.certificate.zoneId);
        const records = ofType(resources, "aws:route53/record:Record").filter((r) => r.name.startsWith("site-validation-"));
        expect(records).to.have.length(2);
        expect(records.map((r) => r.inputs.name)).to.satisfy((names: string[]) => names[0].endsWith(".example.com.") && names[1].endsWith(".api.example.com."));
        for (const r of records) expect(r.inputs).to.include({ type: "CNAME", zoneId });
        const validation = only(resources, "aws:acm/certificateValidation:CertificateValidation");
        expect(validation.inputs.validationRecordFqdns).to.have.length(2);
        expect(await resolve(value.certificate.certificateArn)).to.match(/^arn:aws:acm:us-east-1:123456789012:certificate\//);
    });

    it("adds an HTTPS listener with a modern TLS policy and redirects HTTP to it", async () => {
        const { resources, value } = await withDomain();
        const listeners = ofType(resources, "aws:lb/listener:Listener");
        const https = listeners.find((l) => l.inputs.port === 443)!;
        expect(https.inputs).to.include({ protocol: "HTTPS", sslPolicy: TLS_POLICY });
        expect(https.inputs.certificateArn).to.equal(await resolve(value.certificate.certificateArn));
        const http = listeners.find((l) => l.inputs.port === 80)!;
        expect((http.inputs.defaultActions as any[])[0]).to.deep.include({ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } });
        const rule = only(resources, "aws:lb/listenerRule:ListenerRule");
        expect(rule.inputs.listenerArn).to.include("https-443");
        expect(rule.inputs.conditions).to.deep.equal([{ hostHeader: { values: ["api.example.com"] } }]);
        const open = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0");
        expect(open.map((r) => r.inputs.fromPort)).to.have.members([80, 443]);
        expect(await resolve(value.cluster.url)).to.match(/^https:\/\//);
    });

    it("points an alias record for every public host at the load balancer", async () => {
        const { resources } = await withDomain();
        const lb = only(resources, "aws:lb/loadBalancer:LoadBalancer");
        const aliases = ofType(resources, "aws:route53/record:Record").filter((r) => r.inputs.aliases);
        expect(aliases.map((r) => r.inputs.name)).to.have.members(["example.com", "api.example.com"]);
        for (const a of aliases) {
            expect(a.inputs.type).to.equal("A");
            expect((a.inputs.aliases as any[])[0]).to.include({ zoneId: "Z35SXDOTRQ7X7K", evaluateTargetHealth: true });
            expect((a.inputs.aliases as any[])[0].name).to.match(new RegExp(`^${lb.name}-`));
        }
    });

    it("without a domain serves plain HTTP on the load balancer's name and makes no DNS resources", async () => {
        const config = stackConfig("dev", { "swarm.ingress": "alb" });
        const { resources, value } = await runDeclaration(() => new SwarmCluster("swarm", { config, network: NETWORK, endpoints: ENDPOINTS }, { providers: [stackAwsProvider(config)] }));
        expect(ofType(resources, "aws:route53/record:Record")).to.have.length(0);
        expect(ofType(resources, "aws:acm/certificate:Certificate")).to.have.length(0);
        expect(ofType(resources, "aws:lb/listener:Listener").map((l) => `${l.inputs.protocol}:${l.inputs.port}`)).to.deep.equal(["HTTP:80"]);
        expect(await resolve(value.url)).to.match(/^http:\/\/swarm-lb-alb-/);
    });

    it("aliasRecord is an A alias with target health", async () => {
        const { resources } = await runDeclaration(() => aliasRecord("www", { zoneId: "Z1", hostName: "www.example.com", targetDnsName: "lb.example.net", targetZoneId: "Z2" }));
        expect(only(resources, "aws:route53/record:Record").inputs).to.deep.include({
            zoneId: "Z1",
            name: "www.example.com",
            type: "A",
            aliases: [{ name: "lb.example.net", zoneId: "Z2", evaluateTargetHealth: true }],
        });
    });
});
