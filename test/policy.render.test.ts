import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { policies } from "../policy/rules";
import { listenersOnlyOnLoadBalancers } from "../policy/rules/securityGroups";
import { renderStack, runDeclaration } from "./harness";
import { Finding, fromRender, runPack, runStackPolicy } from "./policyHarness";

const list = (findings: readonly Finding[]) => findings.map((f) => `  [${f.policy}] ${f.message}`).join("\n");

describe("policy pack over rendered programs", () => {
    for (const stack of ["dev", "prod", "local"]) {
        it(`finds no mandatory violation in ${stack}, whatever the stack declares`, async () => {
            const run = await renderStack(stack);
            const findings = await runPack(policies, fromRender(run));
            const mandatory = findings.filter((f) => f.enforcementLevel === "mandatory");
            const advisory = findings.filter((f) => f.enforcementLevel !== "mandatory");
            if (advisory.length > 0) console.log(`    advisory findings in ${stack}:\n${list(advisory)}`);
            expect(mandatory, `mandatory violations in ${stack} (${run.resources.length} resources):\n${list(mandatory)}\n`).to.deep.equal([]);
        });
    }

    it("recovers from a render which security group a load balancer uses, and the provider's stack tag", async () => {
        const run = await runDeclaration(() => {
            const provider = new aws.Provider("dev-aws", { region: "us-east-1", defaultTags: { tags: { "dockyard:stack": "dev" } } });
            const lb = new aws.ec2.SecurityGroup("lb", { vpcId: "vpc-1" }, { provider });
            const nodes = new aws.ec2.SecurityGroup("nodes", { vpcId: "vpc-1" }, { provider });
            const open = (name: string, group: aws.ec2.SecurityGroup) =>
                new aws.vpc.SecurityGroupIngressRule(name, { securityGroupId: group.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }, { provider });
            open("lb-https", lb);
            open("nodes-https", nodes);
            new aws.lb.LoadBalancer("alb", { securityGroups: [lb.id], subnets: ["subnet-1", "subnet-2"] }, { provider });
            new aws.ec2.NatGateway("nat-a", { subnetId: "subnet-1" }, { provider });
            new aws.ec2.NatGateway("nat-b", { subnetId: "subnet-2" }, { provider });
        });
        const resources = fromRender(run);
        expect(resources.find((r) => r.name === "alb")?.propertyDependencies).to.deep.equal({ securityGroups: ["lb"] });

        const listeners = await runStackPolicy(listenersOnlyOnLoadBalancers, resources);
        expect(listeners.violations).to.have.length(1);
        expect(listeners.violations[0]).to.match(/"nodes-https": allows tcp port 443 from 0.0.0.0\/0 but its security group is not attached/);

        const findings = await runPack(policies, resources);
        expect(findings.filter((f) => f.enforcementLevel === "advisory").map((f) => f.message)).to.deep.equal([
            "stack dev (not production) has 2 NAT gateways (nat-a, nat-b); network.natGateways: single saves about $33/month",
        ]);
    });
});
