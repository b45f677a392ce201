/**
 * Public ports are an explicit, reviewed choice (issue 17 item 9): a public tcp port names the
 * source ranges that may reach it, on EKS (the NLB Service's loadBalancerSourceRanges) and on
 * Swarm (the security group); with Swarm's `direct` ingress the manager's port 80 serves only the
 * http port, and every published port derives from its own workload, so adding or reordering
 * workloads moves no traffic.
 */
import { expect } from "chai";
import { policies } from "../policy/rules";
import { declareStack } from "../components/stack";
import { publicEndpoints, validateWorkloads, WorkloadSpec } from "../components/workload";
import { ofType, runDeclaration, stackConfig } from "./harness";
import { fromRender, runPack } from "./policyHarness";

const resources = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } };
const REVIEWED = ["203.0.113.0/24"];
const web: WorkloadSpec = { name: "web", image: { ref: "nginx:1.27" }, resources, ports: [{ name: "http", port: 8080, public: {} }], health: { http: { path: "/", port: 8080 } } };
const redis = (sourceRanges?: string[]): WorkloadSpec => ({
    name: "redis",
    image: { ref: "redis:7.4-alpine" },
    resources,
    user: "999:1000",
    ports: [{ name: "redis", port: 6379, protocol: "tcp", public: sourceRanges ? { sourceRanges } : {} }],
    health: { tcp: { port: 6379 } },
});
const broker: WorkloadSpec = { name: "broker", image: { ref: "eclipse-mosquitto:2.0.20" }, resources, ports: [{ name: "mqtt", port: 1883, protocol: "tcp", public: { sourceRanges: REVIEWED } }], health: { tcp: { port: 1883 } } };
const ports = (specs: WorkloadSpec[]) => Object.fromEntries(publicEndpoints(specs, "direct").map((e) => [`${e.workload}/${e.portName}`, e.publishedPort]));

describe("public ports: reviewed tcp source ranges, stable direct publishing", () => {
    describe("workload validation", () => {
        it("refuses a public tcp port without source ranges, naming the workload and the field", () => {
            expect(validateWorkloads([redis()])).to.deep.equal([
                'workload "redis": ports[0].public.sourceRanges is undefined; allowed: the CIDR blocks that may reach this tcp port, such as ["203.0.113.0/24"]: a public tcp port is open only to the ranges listed here',
            ]);
            expect(validateWorkloads([redis([])])[0]).to.match(/^workload "redis": ports\[0\]\.public\.sourceRanges is \[\]; allowed: the CIDR blocks/);
        });

        it("refuses ranges that are not CIDR blocks or that cover the internet however they are split", () => {
            expect(validateWorkloads([redis(["0.0.0.0/00"])])[0]).to.match(/sourceRanges is \["0.0.0.0\/00"\]; allowed: .*\("0.0.0.0\/00" is not a CIDR block\)/);
            expect(validateWorkloads([redis(["0.0.0.0/1", "128.0.0.0/1"])])[0]).to.match(/which together do not cover the whole internet/);
            expect(validateWorkloads([redis(["::/0"])])).to.have.length(1);
            expect(validateWorkloads([redis(REVIEWED)])).to.deep.equal([]);
        });

        it("refuses source ranges on an http port, and different ranges on two tcp ports of one workload", () => {
            expect(validateWorkloads([{ ...web, ports: [{ name: "http", port: 8080, public: { sourceRanges: REVIEWED } }] }])[0]).to.match(/ports\[0\]\.public\.sourceRanges .*allowed: nothing on an http port/);
            const two: WorkloadSpec = {
                ...broker,
                ports: [
                    { name: "mqtt", port: 1883, protocol: "tcp", public: { sourceRanges: REVIEWED } },
                    { name: "mqtts", port: 8883, protocol: "tcp", public: { sourceRanges: ["198.51.100.0/24"] } },
                ],
            };
            expect(validateWorkloads([two])).to.deep.equal([
                'workload "broker": ports[1].public.sourceRanges is ["198.51.100.0/24"]; allowed: the same ranges as ports[0].public.sourceRanges (on EKS a workload\'s public tcp ports share one network load balancer)',
            ]);
        });
    });

    describe("Swarm direct ingress", () => {
        it("serves only the http port on 80, whatever is declared first, and a tcp port on its own port", () => {
            // Before: the first public endpoint in declaration order took 80, so a public Redis declared first got internet port 80 and pushed web to 81.
            expect(ports([redis(REVIEWED), web])).to.deep.equal({ "redis/redis": 6379, "web/http": 80 });
        });

        it("keeps every published port when workloads are added or reordered", () => {
            const before = ports([web, redis(REVIEWED)]);
            expect(ports([redis(REVIEWED), web])).to.deep.equal(before);
            const after = ports([broker, redis(REVIEWED), web]);
            expect(after).to.deep.include(before);
            expect(after["broker/mqtt"]).to.equal(1883);
        });

        it("refuses a second http port, a tcp port on 80, 443 or a swarm port, and two tcp ports on one number, naming the workloads", () => {
            const admin: WorkloadSpec = { ...web, name: "admin" };
            expect(() => publicEndpoints([web, admin], "direct")).to.throw(/workload "web" port http, workload "admin" port http are all public http ports; allowed: one/);
            const onPort = (port: number, name = "db"): WorkloadSpec => ({ ...redis(REVIEWED), name, ports: [{ name: "db", port, protocol: "tcp", public: { sourceRanges: REVIEWED } }] });
            expect(() => publicEndpoints([onPort(80)], "direct")).to.throw(/workload "db" port db is a public tcp port on 80, which is HTTP/);
            expect(() => publicEndpoints([onPort(443)], "direct")).to.throw(/on 443, which is HTTPS/);
            expect(() => publicEndpoints([onPort(2377)], "direct")).to.throw(/swarm cluster management/);
            expect(() => publicEndpoints([onPort(5432), onPort(5432, "db2")], "direct")).to.throw(/workload "db" port db and workload "db2" port db are both public tcp ports on 5432/);
        });

        it("opens the manager's port 80 to everyone and a tcp port only to its source ranges; the pack accepts the result", async () => {
            const run = await runDeclaration(() => declareStack(stackConfig("dev"), [redis(REVIEWED), web]), "dev");
            const open = ofType(run.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                .filter((r) => r.inputs.cidrIpv4 !== undefined && r.inputs.referencedSecurityGroupId === undefined && r.name.includes("managers"))
                .map((r) => `${r.inputs.fromPort} ${r.inputs.cidrIpv4}`);
            expect(open).to.have.members(["80 0.0.0.0/0", "6379 203.0.113.0/24"]);
            const published = ofType(run.resources, "docker:index/service:Service").flatMap((s) => {
                const inputs = s.inputs as any;
                return (inputs.endpointSpec?.ports ?? []).map((p: any) => `${inputs.name}:${p.publishedPort}`);
            });
            expect(published).to.have.members(["dev-redis:6379", "dev-web:80"]);
            const mandatory = (await runPack(policies, fromRender(run))).filter((f) => f.enforcementLevel === "mandatory");
            expect(mandatory.map((f) => f.message)).to.deep.equal([]);
        });
    });

    describe("EKS", () => {
        it("gives the public tcp port's NLB Service the workload's source ranges; the pack accepts it and refuses it without them", async () => {
            const overrides = { "workloads.replicas": undefined };
            const run = await runDeclaration(() => declareStack(stackConfig("prod", overrides), [web, broker]), "prod", overrides);
            const service = ofType(run.resources, "kubernetes:core/v1:Service").find((s) => (s.inputs as any).spec?.type === "LoadBalancer") as { name: string; inputs: any };
            expect(service.inputs.metadata.annotations).to.include({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" });
            expect(service.inputs.spec.loadBalancerSourceRanges).to.deep.equal(REVIEWED);
            const rendered = fromRender(run);
            expect((await runPack(policies, rendered)).filter((f) => f.enforcementLevel === "mandatory").map((f) => f.message)).to.deep.equal([]);
            const open = rendered.map((r) => (r.name === service.name ? { ...r, props: { ...r.props, spec: { ...r.props.spec, loadBalancerSourceRanges: undefined } } } : r));
            const findings = (await runPack(policies, open)).filter((f) => f.enforcementLevel === "mandatory");
            expect(findings.map((f) => f.policy)).to.deep.equal(["k8s-service-exposure"]);
        });
    });
});
