import { expect } from "chai";
import { eksEndpointNotPublic, eksNodeGroupNoRemoteAccess } from "../policy/rules/eks";
import { iamNoAdminManagedPolicies, iamNoWildcardActions, iamTrustNoPublicPrincipal, isWildcardAction } from "../policy/rules/iam";
import { imdsHopLimit } from "../policy/rules/instances";
import { kmsKeyRotation } from "../policy/rules/kms";
import { noPublicResourcePolicies } from "../policy/rules/resourcePolicies";
import { canonicalProtocol, ingressPermissionsOf } from "../policy/rules/common";
import { combinedInternetIngress, noAdminPortsFromInternet, noInternetIngressAcrossRules, noPublicIngressExceptListeners } from "../policy/rules/securityGroups";
import { FakeResource, runResourcePolicy, runStackPolicy } from "./policyHarness";

const doc = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const violations = async (...args: Parameters<typeof runResourcePolicy>) => (await runResourcePolicy(...args)).violations;
const GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

describe("AWS policy rules, the cases beyond one pass and one violation", () => {
    it("knows which actions are wildcards", () => {
        expect(["*", "*:*", "s3:*", "*:GetObject", "iam:*"].filter(isWildcardAction)).to.have.length(5);
        expect(["s3:GetObject", "ec2:Describe*", "ssm:Get*"].filter(isWildcardAction)).to.deep.equal([]);
    });

    it("refuses NotAction in an Allow, in role inline policies and stand-alone policies, and unparsable documents", async () => {
        const role = { type: "aws:iam/role:Role", props: { inlinePolicies: [{ name: "x", policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }) }] } };
        expect((await violations(iamNoWildcardActions, role))[0]).to.match(/inlinePolicies\[0\] statement 0 allows NotAction "iam:\*"/);
        expect((await violations(iamNoWildcardActions, { type: "aws:iam/policy:Policy", props: { policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) } }))[0]).to.match(/allows "\*" on Resource "\*"/);
        expect((await violations(iamNoWildcardActions, { type: "aws:iam/policy:Policy", props: { policy: "{not json" } }))[0]).to.match(/not a JSON policy document/);
    });

    it("requires a :sub condition when a role trusts an OIDC provider", async () => {
        const federated = (Condition: unknown) => ({
            type: "aws:iam/role:Role",
            props: { assumeRolePolicy: doc({ Effect: "Allow", Principal: { Federated: GITHUB }, Action: "sts:AssumeRoleWithWebIdentity", Condition }) },
        });
        const aud = { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } };
        expect((await violations(iamTrustNoPublicPrincipal, federated(aud)))[0]).to.match(/without a condition on its ":sub" claim/);
        const sub = { StringEquals: { ...aud.StringEquals, "token.actions.githubusercontent.com:sub": "repo:acme/dockyard:environment:production" } };
        expect(await violations(iamTrustNoPublicPrincipal, federated(sub))).to.deep.equal([]);
        const notPrincipal = { type: "aws:iam/role:Role", props: { assumeRolePolicy: doc({ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::1:root" }, Action: "sts:AssumeRole" }) } };
        expect((await violations(iamTrustNoPublicPrincipal, notPrincipal))[0]).to.match(/uses NotPrincipal/);
    });

    it("refuses administrator managed policies in any partition and in managedPolicyArns", async () => {
        expect(await violations(iamNoAdminManagedPolicies, { type: "aws:iam/role:Role", props: { managedPolicyArns: ["arn:aws-us-gov:iam::aws:policy/IAMFullAccess"] } })).to.have.length(1);
        expect(await violations(iamNoAdminManagedPolicies, { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { policyArn: "arn:aws:iam::123456789012:policy/AdministratorAccess" } })).to.deep.equal([]);
    });

    it("exempts asymmetric KMS keys from rotation, which they cannot do", async () => {
        expect(await runResourcePolicy(kmsKeyRotation, { type: "aws:kms/key:Key", props: { customerMasterKeySpec: "RSA_2048" } })).to.deep.equal({ applicable: false, violations: [] });
    });

    it("accepts a Deny for everyone in a resource policy (the EFS TLS-only statement) and refuses an unconditioned Allow", async () => {
        const deny = doc({ Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
        expect(await violations(noPublicResourcePolicies, { type: "aws:efs/fileSystemPolicy:FileSystemPolicy", props: { policy: deny } })).to.deep.equal([]);
        expect(await violations(noPublicResourcePolicies, { type: "aws:kms/key:Key", props: { policy: doc({ Effect: "Allow", Principal: "*", Action: "kms:*" }) } })).to.have.length(1);
        expect(await runResourcePolicy(noPublicResourcePolicies, { type: "aws:kms/key:Key", props: {} })).to.deep.equal({ applicable: false, violations: [] });
    });

    it("refuses an IMDS hop limit left to the AMI, and accepts a disabled endpoint", async () => {
        expect((await violations(imdsHopLimit, { type: "aws:ec2/instance:Instance", props: { metadataOptions: { httpTokens: "required" } } }))[0]).to.match(/found "unset/);
        expect(await violations(imdsHopLimit, { type: "aws:ec2/instance:Instance", props: { metadataOptions: { httpEndpoint: "disabled" } } })).to.deep.equal([]);
    });

    it("judges internet ingress by coverage: halves, IPv6 halves, and a malformed /00", async () => {
        const sg = (cidrBlocks: string[], ipv6CidrBlocks: string[] = [], fromPort = 5432) => ({ type: "aws:ec2/securityGroup:SecurityGroup", props: { ingress: [{ protocol: "tcp", fromPort, toPort: fromPort, cidrBlocks, ipv6CidrBlocks }] } });
        expect(await violations(noPublicIngressExceptListeners, sg(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"]))).to.have.length(1);
        expect(await violations(noPublicIngressExceptListeners, sg(["0.0.0.0/1", "128.0.0.0/2"]))).to.deep.equal([]);
        expect((await violations(noPublicIngressExceptListeners, sg(["0.0.0.0/00"])))[0]).to.match(/"0.0.0.0\/00" is not a CIDR block/);
        expect((await violations(noAdminPortsFromInternet, sg([], ["::/1", "8000::/1"], 2376)))[0]).to.match(/Docker API \(TLS\) \(port 2376\) to ::\/1\+8000::\/1/);
    });

    it("judges a security group's rules together, but leaves listener ports of a direct-ingress group alone", async () => {
        const rule = (name: string, fromPort: number, cidrIpv4: string, group: string): FakeResource => ({
            type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            name,
            props: { ipProtocol: "tcp", fromPort, toPort: fromPort, cidrIpv4, securityGroupId: `${group}-id` },
            propertyDependencies: { securityGroupId: [group] },
        });
        const managers: FakeResource = { type: "aws:ec2/securityGroup:SecurityGroup", name: "managers", props: { tags: { "dockyard:ingress": "direct" } } };
        expect((await runStackPolicy(noInternetIngressAcrossRules, [managers, rule("a", 80, "0.0.0.0/1", "managers"), rule("b", 80, "128.0.0.0/1", "managers")])).violations).to.deep.equal([]);
        expect((await runStackPolicy(noInternetIngressAcrossRules, [managers, rule("a", 22, "0.0.0.0/1", "managers"), rule("b", 22, "128.0.0.0/1", "managers")])).violations).to.have.length(2);
        // Different groups do not add up.
        expect((await runStackPolicy(noInternetIngressAcrossRules, [rule("a", 22, "0.0.0.0/1", "x"), rule("b", 22, "128.0.0.0/1", "y")])).violations).to.deep.equal([]);
    });

    it("spells protocols as EC2 applies them: numbers and names, -1 and all, ports ignored where EC2 ignores them", () => {
        expect(["6", "TCP", " tcp", "17", "udp", "1", "58", "-1", "all", "ALL", "50", "sctp"].map(canonicalProtocol)).to.deep.equal(["tcp", "tcp", "tcp", "udp", "udp", "icmp", "icmpv6", "all", "all", "all", "50", "all"]);
        const [esp] = ingressPermissionsOf("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { ipProtocol: "50", fromPort: 22, toPort: 22, cidrIpv4: "10.0.0.0/8" });
        expect([esp.fromPort, esp.toPort], "a protocol number other than tcp/udp/icmp/icmpv6 opens every port").to.deep.equal([0, 65535]);
        const [all] = ingressPermissionsOf("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "all", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] });
        expect(all).to.deep.include({ protocol: "all", fromPort: 0, toPort: 65535 });
        const [echo] = ingressPermissionsOf("aws:ec2/securityGroup:SecurityGroup", { ingress: [{ protocol: "icmp", fromPort: -1, toPort: -1, cidrBlocks: ["10.0.0.0/8"] }] });
        expect(echo).to.deep.include({ protocol: "icmp", fromPort: 0, toPort: 255 });
    });

    it("sweeps a group's permissions per port whatever ranges and spellings they use", () => {
        const p = (source: string, protocol: string, fromPort: number, toPort: number, ...cidrs: string[]) => {
            const ingress = [{ protocol, fromPort, toPort, cidrBlocks: cidrs.filter((c) => !c.includes(":")), ipv6CidrBlocks: cidrs.filter((c) => c.includes(":")) }];
            return { ...ingressPermissionsOf("aws:ec2/securityGroup:SecurityGroup", { ingress })[0], source };
        };
        const ssh = combinedInternetIngress([p("a", "tcp", 22, 22, "0.0.0.0/1"), p("b", "6", 0, 65535, "128.0.0.0/1")]);
        expect(ssh).to.deep.equal([{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/1+128.0.0.0/1", sources: ["a", "b"] }]);
        const viaAll = combinedInternetIngress([p("a", "tcp", 20, 30, "0.0.0.0/1"), p("b", "-1", 0, 0, "128.0.0.0/1")]);
        expect(viaAll).to.deep.equal([{ protocol: "tcp", fromPort: 20, toPort: 30, cidr: "0.0.0.0/1+128.0.0.0/1", sources: ["a", "b"] }]);
        // Two all-protocol halves are one finding, not one per protocol.
        expect(combinedInternetIngress([p("a", "-1", 0, 0, "0.0.0.0/1"), p("b", "all", 0, 0, "128.0.0.0/1"), p("c", "udp", 53, 53, "10.0.0.0/8")]).map((i) => i.protocol)).to.deep.equal(["all"]);
        // IPv6 halves, and three blocks that only cover the internet together.
        expect(combinedInternetIngress([p("a", "tcp", 2375, 2375, "::/1"), p("b", "all", 0, 0, "8000::/1")])[0]).to.deep.include({ fromPort: 2375, toPort: 2375, cidr: "::/1+8000::/1" });
        expect(combinedInternetIngress([p("a", "tcp", 22, 22, "0.0.0.0/1", "128.0.0.0/2"), p("b", "tcp", 0, 1024, "192.0.0.0/2")])).to.have.length(1);
        // Listener ports of a listener group pass; the rest of a wide range does not, in as few ranges as possible.
        const wide = combinedInternetIngress([p("a", "tcp", 0, 65535, "0.0.0.0/1"), p("b", "tcp", 0, 65535, "128.0.0.0/1")], [80, 443]);
        expect(wide.map((i) => `${i.fromPort}-${i.toPort}`)).to.deep.equal(["0-79", "81-442", "444-65535"]);
        expect(combinedInternetIngress([p("a", "tcp", 80, 80, "0.0.0.0/1"), p("b", "tcp", 80, 80, "128.0.0.0/1")], [80, 443])).to.deep.equal([]);
        // A permission open on its own is the per-resource rules' finding; disjoint ports, protocols or halves add up to nothing.
        expect(combinedInternetIngress([p("a", "tcp", 22, 22, "0.0.0.0/0"), p("b", "tcp", 22, 22, "0.0.0.0/1")])).to.deep.equal([]);
        expect(combinedInternetIngress([p("a", "tcp", 22, 22, "0.0.0.0/1"), p("b", "tcp", 23, 65535, "128.0.0.0/1"), p("c", "udp", 22, 22, "128.0.0.0/1")])).to.deep.equal([]);
        expect(combinedInternetIngress([p("a", "tcp", 22, 22, "0.0.0.0/1"), p("b", "50", 0, 0, "128.0.0.0/1")])).to.deep.equal([]);
    });

    it("names SSH opened by halves with different ports and protocol spellings on one group", async () => {
        const managers: FakeResource = { type: "aws:ec2/securityGroup:SecurityGroup", name: "managers", props: { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/1"] }] } };
        const rule: FakeResource = { type: "aws:ec2/securityGroupRule:SecurityGroupRule", name: "wide", props: { type: "ingress", protocol: "6", fromPort: 0, toPort: 65535, cidrBlocks: ["128.0.0.0/1"] }, propertyDependencies: { securityGroupId: ["managers"] } };
        const { violations } = await runStackPolicy(noInternetIngressAcrossRules, [managers, rule]);
        expect(violations).to.have.length(2);
        expect(violations[1]).to.equal(
            'aws:ec2/securityGroupRule:SecurityGroupRule "wide": together with "managers", "wide" allows tcp port 22 from 0.0.0.0/1+128.0.0.0/1, which is the whole internet, opening SSH (port 22) to it; only TCP 80 or 443 on a load balancer may be open to it',
        );
    });

    it("refuses malformed EKS public access CIDRs and names the source of node-group SSH", async () => {
        expect((await violations(eksEndpointNotPublic, { type: "eks:index:Cluster", props: { publicAccessCidrs: ["0.0.0.0/00"] } }))[0]).to.match(/are not CIDR blocks/);
        const ng = { type: "aws:eks/nodeGroup:NodeGroup", props: { remoteAccess: { ec2SshKey: "ops", sourceSecurityGroupIds: ["sg-bastion"] } } };
        expect((await violations(eksNodeGroupNoRemoteAccess, ng))[0]).to.match(/from sg-bastion/);
    });
});
