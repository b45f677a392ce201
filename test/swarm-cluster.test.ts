import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { expect } from "chai";
import type { StackConfig } from "../components/config";
import { SwarmCluster, swarmConfigProblems, SwarmClusterArgs } from "../components/swarm/cluster";
import { ACTIONS_WITHOUT_RESOURCE_SCOPE, managerPolicy, NodeIamScope, PARAMETER_READS, PolicyDocument, workerPolicy } from "../components/swarm/iam";
import { JOIN_PARAMETER_UNSET } from "../components/swarm/joinParameters";
import { listenerPlan } from "../components/swarm/loadBalancer";
import { amiParameterName, managerPlacement, nodeIgnoreChanges, workerSchedule } from "../components/swarm/nodes";
import { ANYWHERE, securityGroupRules, SecurityGroupRule } from "../components/swarm/securityGroups";
import { stackAwsProvider } from "../components/tags";
import { PublicEndpoint, publicEndpoints } from "../components/workload";
import { sampleWorkloads } from "../workloads";
import { ofType, only, Overrides, resolve, runDeclaration, stackConfig } from "./harness";

const SAMPLE = publicEndpoints(sampleWorkloads({ redisPassword: "not-used" }));
const ep = (over: Partial<PublicEndpoint>): PublicEndpoint => ({ workload: "w", portName: "http", containerPort: 80, publishedPort: 8080, protocol: "http", path: "/", ...over });
const NETWORK = {
    vpcId: "vpc-0abc",
    vpcCidr: "10.0.0.0/16",
    nodeSubnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    publicSubnetIds: ["subnet-pa", "subnet-pb", "subnet-pc"],
    azs: ["us-east-1a", "us-east-1b", "us-east-1c"],
};

type Extra = Partial<Omit<SwarmClusterArgs, "config" | "network">>;

async function deploy(overrides: Overrides = {}, extra: Extra = {}, stack = "dev") {
    // The load balancer is the default ingress; the dev stack file picks direct, so tests name what they need.
    const config: StackConfig = stackConfig(stack, { target: "swarm", "swarm.ingress": "alb", ...overrides });
    const run = await runDeclaration(
        () => new SwarmCluster("swarm", { config, network: NETWORK, endpoints: SAMPLE, ...extra }, { providers: [stackAwsProvider(config)] }),
        stack,
        { target: "swarm", ...overrides },
    );
    return { ...run, config };
}

const row = (r: SecurityGroupRule) =>
    `${r.group} ${r.direction} ${r.protocol}${r.fromPort === undefined ? "" : `/${r.fromPort}`} ${"cidr" in r.peer ? r.peer.cidr : r.peer.group}`;

describe("swarm cluster: security groups", () => {
    it("is exactly the swarm ports between nodes, published ports from the load balancer and its listener", () => {
        const plan = listenerPlan(SAMPLE, "alb", false);
        const rules = securityGroupRules({ ingress: "alb", access: "ssm", sshCidrs: [], endpoints: SAMPLE, listeners: plan }).map(row);
        expect(rules).to.have.members([
            "managers ingress tcp/2377 nodes",
            "nodes ingress tcp/7946 nodes",
            "nodes ingress udp/7946 nodes",
            "nodes ingress udp/4789 nodes",
            "nodes ingress 50 nodes",
            "nodes egress -1 0.0.0.0/0",
            "efs ingress tcp/2049 nodes",
            "lb ingress tcp/80 0.0.0.0/0",
            "nodes ingress tcp/8080 lb",
            "lb egress tcp/8080 nodes",
        ]);
        expect(rules).to.have.length(10);
    });

    for (const [ingress, cert, endpoints] of [
        ["alb", false, SAMPLE],
        ["alb", true, SAMPLE],
        ["nlb", false, [ep({ protocol: "tcp", containerPort: 5432, publishedPort: 8081, sourceRanges: ["198.51.100.0/24"] }), ep({ workload: "web", containerPort: 8080, publishedPort: 8082 })]],
        ["direct", false, SAMPLE],
    ] as const) {
        it(`opens nothing to 0.0.0.0/0 but the listener ports (${ingress}${cert ? ", https" : ""}), and SSH only from listed CIDRs`, () => {
            const plan = listenerPlan(endpoints, ingress, cert);
            const rules = securityGroupRules({ ingress, access: "ssh", sshCidrs: ["203.0.113.0/24"], endpoints, listeners: plan });
            const open = rules.filter((r) => r.direction === "ingress" && "cidr" in r.peer && r.peer.cidr === ANYWHERE);
            // Public tcp ports admit only their source ranges; http ports admit everyone.
            const httpOnly = (ports: { port: number; tcp: boolean }[]) => ports.filter((p) => !p.tcp).map((p) => p.port);
            const allowed =
                ingress === "direct"
                    ? httpOnly(endpoints.map((e) => ({ port: e.publishedPort, tcp: e.protocol === "tcp" }))).map((p) => `managers/${p}`)
                    : httpOnly(plan.listeners.map((l) => ({ port: l.port, tcp: plan.targetGroups.find((tg) => tg.key === l.targetGroupKey)?.endpoint.protocol === "tcp" }))).map((p) => `lb/${p}`);
            expect(open.map((r) => `${r.group}/${r.fromPort}`)).to.have.members(allowed);
            expect(open.every((r) => r.fromPort === r.toPort && r.protocol === "tcp")).to.equal(true);
            const ssh = rules.filter((r) => r.fromPort === 22);
            expect(ssh.map(row)).to.deep.equal(["managers ingress tcp/22 203.0.113.0/24"]);
            expect(rules.some((r) => r.fromPort === 2375 || r.fromPort === 2376)).to.equal(false);
        });
    }

    it("registers one rule resource per table row, the open ones on the load balancer's group only", async () => {
        const { resources } = await deploy();
        const ingress = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        const egress = ofType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
        expect(ingress.length + egress.length).to.equal(10);
        expect(ofType(resources, "aws:ec2/securityGroup:SecurityGroup").map((g) => g.name)).to.have.members(["swarm-sg-lb", "swarm-sg-nodes", "swarm-sg-managers", "swarm-sg-efs"]);
        const open = ingress.filter((r) => r.inputs.cidrIpv4 === ANYWHERE);
        expect(open.map((r) => r.name)).to.deep.equal(["swarm-sg-lb-in-tcp-80-0-0-0-0-0"]);
        const gossip = only(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "swarm-sg-nodes-in-udp-4789-nodes");
        expect(gossip.inputs).to.include({ ipProtocol: "udp", fromPort: 4789, toPort: 4789 });
        expect(gossip.inputs.referencedSecurityGroupId).to.match(/^sg-/);
        const esp = only(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "swarm-sg-nodes-in-esp-all-nodes");
        expect(esp.inputs.ipProtocol).to.equal("50");
    });
});

describe("swarm cluster: IAM", () => {
    const scope: NodeIamScope = {
        partition: "aws",
        region: "us-east-1",
        accountId: "123456789012",
        parameterPath: "/dockyard/dev/swarm",
        logGroupName: "/dockyard/dev/swarm",
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abcd",
        workerGroupName: "dockyard-dev-swarm-workers",
    };
    const statements = (doc: PolicyDocument) => doc.Statement.flatMap((s) => [s.Resource].flat().map((resource) => ({ actions: s.Action, resource })));

    for (const [kind, doc] of [["manager", managerPolicy(scope)], ["worker", workerPolicy(scope)]] as const) {
        it(`${kind}: no wildcard actions, and "*" resources only for actions AWS cannot scope`, () => {
            for (const { actions, resource } of statements(doc)) {
                for (const action of actions) expect(action, action).not.to.include("*");
                if (resource === "*") expect([...ACTIONS_WITHOUT_RESOURCE_SCOPE]).to.include.members([...actions]);
            }
        });

        it(`${kind}: parameters, logs and the key are the stack's own`, () => {
            // A deny may reach wider (the worker's by-path deny covers the path's ancestors): it only takes away.
            for (const { actions, resource } of statements({ ...doc, Statement: doc.Statement.filter((st) => st.Effect === "Allow") })) {
                if (actions.some((a) => a.startsWith("ssm:"))) expect(resource).to.match(/^arn:aws:ssm:us-east-1:123456789012:parameter\/dockyard\/dev\/swarm(\/|$)/);
                if (actions.some((a) => a.startsWith("logs:"))) expect(resource).to.match(/^arn:aws:logs:us-east-1:123456789012:log-group:\/dockyard\/dev\/swarm(:log-stream:\*)?$/);
                if (actions.some((a) => a.startsWith("kms:"))) expect(resource).to.equal(scope.kmsKeyArn);
            }
        });
    }

    it("only managers write parameters; workers read just the worker token and the manager addresses, old and new", () => {
        const writes = (doc: PolicyDocument) => doc.Statement.filter((s) => s.Action.includes("ssm:PutParameter"));
        expect(writes(managerPolicy(scope))).to.have.length(1);
        expect(writes(workerPolicy(scope))).to.have.length(0);
        const read = workerPolicy(scope).Statement.find((s) => s.Action.includes("ssm:GetParameter"))!;
        expect(read.Resource).to.deep.equal([
            "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/join/worker-token",
            "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/join/manager-addresses",
            // What the nodes of a stack older than its join parameters published, read until those are filled.
            "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/worker-token",
            "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/manager-addresses",
            // What managers bootstrapped before manager-addresses existed still publish.
            "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/join-address",
        ]);
        // The only statement that names the manager token is the worker's deny.
        expect(workerPolicy(scope).Statement.filter((st) => JSON.stringify(st).includes("manager-token")).map((st) => st.Sid)).to.deep.equal(["NeverTheManagerToken"]);
    });

    it("denies workers every read of the manager token and binds their key use to the worker token (issue 14 item 12; fails on a2f6c95)", () => {
        const worker = workerPolicy(scope);
        expect(worker.Statement.filter((st) => st.Effect === "Deny")).to.deep.equal([
            {
                Sid: "NeverTheManagerToken",
                Effect: "Deny",
                Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameterHistory"],
                Resource: ["arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/join/manager-token", "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/manager-token"],
            },
            {
                // Authorized against the path asked for: the swarm's path, below it, and every ancestor (a --recursive read from /dockyard returns the token too).
                Sid: "NeverTheManagerTokenByPath",
                Effect: "Deny",
                Action: ["ssm:GetParametersByPath"],
                Resource: [
                    "arn:aws:ssm:us-east-1:123456789012:parameter/",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/*",
                ],
            },
        ]);
        // Every read action is denied somewhere, and GetParametersByPath never on a parameter's own ARN, where it would match nothing.
        const denied = worker.Statement.filter((st) => st.Effect === "Deny").flatMap((st) => st.Action);
        expect([...denied].sort()).to.deep.equal([...PARAMETER_READS].sort());
        expect(worker.Statement.find((st) => st.Action.includes("kms:Decrypt"))!.Condition).to.deep.equal({
            StringEquals: { "kms:ViaService": "ssm.us-east-1.amazonaws.com" },
            StringLike: {
                "kms:EncryptionContext:PARAMETER_ARN": ["arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/join/worker-token", "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/worker-token"],
            },
        });
        expect(managerPolicy(scope).Statement.find((st) => st.Action.includes("kms:Decrypt"))!.Condition!.StringLike).to.deep.equal({
            "kms:EncryptionContext:PARAMETER_ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/dockyard/dev/swarm/*",
        });
        expect(managerPolicy(scope).Statement.some((st) => st.Effect === "Deny")).to.equal(false);
    });

    it("lets a worker report its own failed bootstrap to its group only (issue 14 item 15; fails on a2f6c95)", () => {
        const health = workerPolicy(scope).Statement.find((st) => st.Action.includes("autoscaling:SetInstanceHealth"))!;
        expect(health.Action).to.deep.equal(["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"]);
        expect(health.Resource).to.equal("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/dockyard-dev-swarm-workers");
    });

    it("boots no node before its role's policies exist (issue 14 item 16; fails on a2f6c95)", async () => {
        const { resources } = await deploy({ "swarm.managers": 3, "swarm.workersMax": 2 });
        const grants = (kind: string) => [`swarm-nodes-${kind}`, `swarm-nodes-${kind}-AmazonSSMManagedInstanceCore`, `swarm-nodes-${kind}-AmazonEC2ContainerRegistryReadOnly`];
        for (const instance of ofType(resources, "aws:ec2/instance:Instance")) {
            expect(instance.dependencies, instance.name).to.include.members(grants("manager"));
        }
        expect(only(resources, "aws:autoscaling/group:Group").dependencies).to.include.members(grants("worker"));
    });

    it("creates the join parameters unset, owned by the nodes, and boots no node before them (issue 14 item 4; fails on c2b5733)", async () => {
        const { resources } = await deploy({ "swarm.managers": 3, "swarm.workersMax": 2 });
        const parameters = ofType(resources, "aws:ssm/parameter:Parameter");
        expect(parameters.map((p) => [p.name, p.inputs.name, p.inputs.type, p.inputs.keyId ?? null])).to.have.deep.members([
            ["swarm-join-manager-token", "/dockyard/dev/swarm/join/manager-token", "SecureString", "alias/dockyard-dev-swarm"],
            ["swarm-join-worker-token", "/dockyard/dev/swarm/join/worker-token", "SecureString", "alias/dockyard-dev-swarm"],
            ["swarm-join-manager-addresses", "/dockyard/dev/swarm/join/manager-addresses", "String", null],
        ]);
        for (const parameter of parameters) {
            // Sent as a secret: it is the placeholder, but the same property holds a token once read back.
            expect(parameter.rawInputs.value, parameter.name).to.deep.equal({ [rpc.specialSigKey]: rpc.specialSecretSig, value: JOIN_PARAMETER_UNSET });
            // Overwrite replaces what an earlier deployment's nodes left at the path instead of failing with ParameterAlreadyExists.
            expect(parameter.inputs.overwrite, parameter.name).to.equal(true);
            // Never updated: an update PUTs the value in state, the placeholder, over the tokens.
            expect(parameter.options.ignoreChanges, parameter.name).to.deep.equal(["value", "type", "keyId", "description"]);
            const sent = Object.keys(parameter.inputs).filter((k) => !k.startsWith("__"));
            expect(sent.filter((k) => !["name", "overwrite", "tags"].includes(k) && !parameter.options.ignoreChanges.includes(k)), `${parameter.name}: an argument an update would send`).to.deep.equal([]);
            expect(parameter.options.deleteBeforeReplace, parameter.name).to.equal(true);
            expect(parameter.dependencies, parameter.name).to.include("swarm-key");
        }
        const names = parameters.map((p) => p.name);
        for (const node of [...ofType(resources, "aws:ec2/instance:Instance"), only(resources, "aws:autoscaling/group:Group")]) {
            expect(only(resources, "dockyard:swarm:Nodes").dependencies, node.name).to.include.members(names);
            expect(node.parent, node.name).to.equal("swarm-nodes");
        }
    });

    it("attaches SSM core and ECR read-only to both roles, and the documents as inline policies", async () => {
        const { resources } = await deploy({ "swarm.workersMax": 2 });
        const attachments = ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs.policyArn);
        expect(attachments).to.have.members([
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        ]);
        const manager = JSON.parse(only(resources, "aws:iam/rolePolicy:RolePolicy", "swarm-nodes-manager").inputs.policy as string) as PolicyDocument;
        const kms = manager.Statement.find((s) => s.Action.includes("kms:Decrypt"))!;
        expect(kms.Resource).to.match(/^arn:aws:kms:us-east-1:123456789012:key\//);
        const trust = JSON.parse(only(resources, "aws:iam/role:Role", "swarm-nodes-worker").inputs.assumeRolePolicy as string);
        expect(trust.Statement[0].Principal).to.deep.equal({ Service: "ec2.amazonaws.com" });
    });
});

describe("swarm cluster: nodes", () => {
    it("spreads 1, 3 and 5 managers over the AZs in turn, and refuses even counts", () => {
        expect(managerPlacement(1, 2)).to.deep.equal([0]);
        expect(managerPlacement(3, 3)).to.deep.equal([0, 1, 2]);
        expect(managerPlacement(3, 2)).to.deep.equal([0, 1, 0]);
        expect(managerPlacement(5, 3)).to.deep.equal([0, 1, 2, 0, 1]);
        expect(() => managerPlacement(2, 3)).to.throw("dockyard:swarm.managers is 2; allowed: 1, 3 or 5");
    });

    for (const managers of [1, 3, 5]) {
        it(`registers ${managers} manager instance(s), one per AZ in turn`, async () => {
            const { resources } = await deploy({ "swarm.managers": managers, "network.azs": 3 });
            const instances = ofType(resources, "aws:ec2/instance:Instance");
            expect(instances.map((i) => i.inputs.subnetId)).to.deep.equal(managerPlacement(managers, 3).map((az) => NETWORK.nodeSubnetIds[az]));
            expect(instances.map((i) => (i.inputs.tags as Record<string, string>)["dockyard:role"])).to.deep.equal(["first-manager", ...Array(managers - 1).fill("manager")]);
            // Gzip, carried base64 in userDataBase64 (components/swarm/cloudInit.ts userDataBytes).
            expect(instances.map((i) => i.inputs.userData)).to.deep.equal(instances.map(() => undefined));
            expect(instances.every((i) => gunzipSync(Buffer.from(i.inputs.userDataBase64 as string, "base64")).toString().startsWith("#cloud-config\n"))).to.equal(true);
            // Strict base64 (the provider refuses anything else); Node's decoder alone would skip bad characters.
            expect(instances.every((i) => /^[A-Za-z0-9+/]*={0,2}$/.test(i.inputs.userDataBase64 as string))).to.equal(true);
        });
    }

    it("requires IMDSv2 with one hop and encrypted gp3 roots on managers and workers", async () => {
        const { resources } = await deploy({ "swarm.workersMax": 2, "swarm.rootVolumeGb": 30 });
        for (const instance of ofType(resources, "aws:ec2/instance:Instance")) {
            expect(instance.inputs.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
            expect(instance.inputs.rootBlockDevice).to.include({ encrypted: true, volumeType: "gp3", volumeSize: 30 });
        }
        const template = only(resources, "aws:ec2/launchTemplate:LaunchTemplate");
        expect(template.inputs.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        expect((template.inputs.blockDeviceMappings as any[])[0].ebs).to.include({ encrypted: "true", volumeType: "gp3", volumeSize: 30 });
        const userData = Buffer.from(template.inputs.userData as string, "base64").toString();
        expect(userData).to.include("# dockyard swarm worker");
        const instanceTags = (template.inputs.tagSpecifications as any[]).find((t) => t.resourceType === "instance").tags;
        expect(instanceTags).to.include({ "dockyard:stack": "dev", "dockyard:role": "worker" });
    });

    it("looks the AMI up in the public AL2023 parameter for the instance's architecture, unless pinned", async () => {
        const looked = await deploy({ "swarm.managerInstanceType": "t4g.small", "swarm.workerInstanceType": "t3.small" });
        const names = looked.invokes.filter((i) => i.token === "aws:ssm/getParameter:getParameter").map((i) => i.inputs.name);
        expect(names).to.have.members([amiParameterName("arm64"), amiParameterName("x86_64")]);
        expect(only(looked.resources, "aws:ec2/instance:Instance").inputs.ami).to.match(/^ami-/);
        const pinned = await deploy({ "swarm.amiId": "ami-0123456789abcdef0" });
        expect(pinned.invokes.some((i) => i.token === "aws:ssm/getParameter:getParameter")).to.equal(false);
        expect(only(pinned.resources, "aws:ec2/instance:Instance").inputs.ami).to.equal("ami-0123456789abcdef0");
    });

    it("gives an a1 manager the arm64 AMI, as the images are built for it (issue 14 item 18; fails on a2f6c95)", async () => {
        const looked = await deploy({ "swarm.managerInstanceType": "a1.large", "swarm.workersMax": 0, "swarm.workersMin": 0, "swarm.workersDesired": 0 });
        const names = looked.invokes.filter((i) => i.token === "aws:ssm/getParameter:getParameter").map((i) => i.inputs.name);
        expect(names).to.deep.equal([amiParameterName("arm64")]);
    });

    it("never replaces a node for a newer AMI unless swarm.amiId pins one", () => {
        expect(nodeIgnoreChanges("manager", "")).to.deep.equal(["ami", "userData", "userDataBase64"]);
        expect(nodeIgnoreChanges("manager", "ami-0123456789abcdef0")).to.deep.equal(["userData", "userDataBase64"]);
        expect(nodeIgnoreChanges("worker", "")).to.deep.equal(["imageId"]);
        expect(nodeIgnoreChanges("worker", "ami-0123456789abcdef0")).to.deep.equal([]);
    });

    it("sizes workers by config and schedules only, no CPU policy, through a group whose scale-in passes the drain-and-leave hook", async () => {
        const { resources } = await deploy({ "swarm.workersMin": 1, "swarm.workersDesired": 2, "swarm.workersMax": 4 });
        const group = only(resources, "aws:autoscaling/group:Group");
        expect(group.inputs).to.include({ name: "dockyard-dev-swarm-workers", minSize: 1, desiredCapacity: 2, maxSize: 4 });
        expect(group.inputs.vpcZoneIdentifiers).to.deep.equal(NETWORK.nodeSubnetIds);
        expect(group.inputs.initialLifecycleHooks).to.deep.equal([
            { name: "drain-and-leave", lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeatTimeout: 600, defaultResult: "CONTINUE" },
        ]);
        expect(group.inputs.targetGroupArns).to.have.length(1);
        expect(ofType(resources, "aws:autoscaling/policy:Policy")).to.deep.equal([]);
    });

    it("adds the scheduled worker capacity from swarm.workerSchedule, and rejects a bad entry by name", async () => {
        expect(workerSchedule(["0 20 * * 1-5 0/0/1", "0 7 * * 1-5 1/2/4"])).to.deep.equal([
            { recurrence: "0 20 * * 1-5", minSize: 0, desiredCapacity: 0, maxSize: 1 },
            { recurrence: "0 7 * * 1-5", minSize: 1, desiredCapacity: 2, maxSize: 4 },
        ]);
        const { resources } = await deploy({ "swarm.workerSchedule": ["0 20 * * 1-5 0/0/1"] });
        const schedule = only(resources, "aws:autoscaling/schedule:Schedule");
        expect(schedule.inputs).to.include({ recurrence: "0 20 * * 1-5", minSize: 0, desiredCapacity: 0, maxSize: 1, timeZone: "Etc/UTC", autoscalingGroupName: "dockyard-dev-swarm-workers" });
        expect(() => stackConfig("dev", { "swarm.workerSchedule": ["0 20 * * * 2/1/3"] })).to.throw('dockyard:swarm.workerSchedule is ["0 20 * * * 2/1/3"]');
        expect(() => stackConfig("dev", { "swarm.workerSchedule": ["nightly 0/0/1"] })).to.throw('(bad: "nightly 0/0/1")');
    });

    it("creates no worker group when swarm.workersMax is 0", async () => {
        const { resources } = await deploy({ "swarm.workersMax": 0 });
        expect(ofType(resources, "aws:autoscaling/group:Group")).to.have.length(0);
        expect(ofType(resources, "aws:ec2/launchTemplate:LaunchTemplate")).to.have.length(0);
    });
});

describe("swarm cluster: storage, logs and the provider", () => {
    it("makes an encrypted EFS with a mount target per node subnet behind the NFS-only group", async () => {
        const { resources } = await deploy({ "network.azs": 3 });
        expect(only(resources, "aws:efs/fileSystem:FileSystem").inputs).to.include({ encrypted: true, throughputMode: "elastic" });
        const targets = ofType(resources, "aws:efs/mountTarget:MountTarget");
        expect(targets.map((t) => t.inputs.subnetId)).to.deep.equal(NETWORK.nodeSubnetIds);
        const efsRules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name.startsWith("swarm-sg-efs-"));
        expect(efsRules.map((r) => r.name)).to.deep.equal(["swarm-sg-efs-in-tcp-2049-nodes"]);
    });

    it("keeps logs in the stack's log group for the configured retention", async () => {
        const { resources, value } = await deploy({ "logs.retentionDays": 30 });
        expect(only(resources, "aws:cloudwatch/logGroup:LogGroup").inputs).to.include({ name: "/dockyard/dev/swarm", retentionInDays: 30 });
        expect(await resolve(value.logGroupName)).to.equal("/dockyard/dev/swarm");
    });

    it("uses the stack's AWS provider for every AWS resource", async () => {
        const { resources } = await deploy();
        const aws = resources.filter((r) => r.custom && r.type.startsWith("aws:"));
        expect(aws.length).to.be.greaterThan(30);
        expect([...new Set(aws.map((r) => r.provider))]).to.deep.equal(["dev-aws"]);
    });

    it("reaches the manager through Session Manager by default: ssh:// host is the instance id, no port open", async () => {
        const { resources, value } = await deploy();
        const manager = only(resources, "aws:ec2/instance:Instance");
        const instanceId = await resolve(value.managerInstanceId);
        expect(instanceId).to.match(/^i-/);
        const provider = only(resources, "pulumi:providers:docker");
        expect(provider.inputs.host).to.equal(`ssh://ec2-user@${instanceId}`);
        // Provider configuration travels JSON-encoded.
        const sshOpts = typeof provider.inputs.sshOpts === "string" ? JSON.parse(provider.inputs.sshOpts) : provider.inputs.sshOpts;
        expect((sshOpts as string[]).join(" ")).to.include("ProxyCommand=aws ssm start-session --region us-east-1 --target %h --document-name AWS-StartSSHSession");
        expect(value.platform.provider).to.be.an("object");
        expect(manager.name).to.equal("swarm-nodes-manager-0");
        expect(await resolve(value.connectHint)).to.equal(`aws ssm start-session --region us-east-1 --target ${instanceId}`);
        expect(ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").some((r) => r.inputs.fromPort === 22)).to.equal(false);
    });

    it("with swarm.access ssh, connects to the manager's public address from the listed CIDRs", async () => {
        const { resources, value } = await deploy({ "swarm.access": "ssh", "swarm.sshCidrs": ["198.51.100.0/24"] });
        expect(only(resources, "pulumi:providers:docker").inputs.host).to.equal("ssh://ec2-user@198.51.100.10");
        const ssh = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 22);
        expect(ssh.map((r) => r.inputs.cidrIpv4)).to.deep.equal(["198.51.100.0/24"]);
        expect(await resolve(value.connectHint)).to.equal("ssh ec2-user@198.51.100.10");
    });

    it("keeps the SSH key secret: written to a 0600 file, never in any resource's inputs", async () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-home-"));
        const previous = process.env.HOME;
        process.env.HOME = home;
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----";
        try {
            const { resources } = await deploy({}, { sshPrivateKey: pulumi.secret(key) });
            expect(JSON.stringify(resources.map((r) => r.inputs))).not.to.include("c2VjcmV0LWtleS1tYXRlcmlhbA");
            expect(only(resources, "pulumi:providers:docker").inputs.sshOpts).to.equal("[secret]");
            const file = path.join(home, ".ssh", "dockyard", "dockyard-dev");
            expect(fs.readFileSync(file, "utf8")).to.equal(`${key}\n`);
            expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
            fs.rmSync(path.join(home, ".ssh"), { recursive: true });
            const unset = await deploy({}, { sshPrivateKey: pulumi.secret("") });
            expect(fs.existsSync(path.join(home, ".ssh"))).to.equal(false);
            expect(ofType(unset.resources, "command:local:Command").map((c) => c.inputs.create)).to.deep.equal(["[secret]", "[secret]"]);
        } finally {
            process.env.HOME = previous;
            fs.rmSync(home, { recursive: true, force: true });
        }
    });

    it("gates the platform on a bounded readiness check that expects every manager and, for worker-only workloads, one worker", async () => {
        const { resources, value } = await deploy({ "swarm.managers": 3, "network.azs": 3, "swarm.workersMin": 1, "swarm.workersDesired": 3, "swarm.workersMax": 4 });
        const gateOf = (rs: typeof resources) => rs.find((r) => r.type === "command:local:Command" && r.name === "swarm-ready")!;
        const gate = gateOf(resources);
        expect(gate.inputs.create).to.match(/\nmanager_ids=\('i-[0-9a-f]+' 'i-[0-9a-f]+' 'i-[0-9a-f]+'\)\nwhole=0\nworkers_needed=1\n/).and.include("deadline=$((SECONDS + 900))");
        expect(value.platform.placement).to.deep.equal({ workersOnly: true, spreadLabel: "dockyard.az" });
        const lone = await deploy({ "swarm.managers": 1, "swarm.workersMin": 0, "swarm.workersDesired": 2, "swarm.workersMax": 2 });
        expect(gateOf(lone.resources).inputs.create).to.match(/\nmanager_ids=\('i-[0-9a-f]+'\)\nwhole=0\nworkers_needed=0\n/);
        expect(lone.value.platform.placement).to.deep.equal({ workersOnly: false, spreadLabel: "dockyard.az" });
        expect(gate.inputs.interpreter).to.deep.equal(["/bin/bash", "-c"]);
        expect(value.platform.kind).to.equal("swarm");
        expect(value.platform.engine).to.equal("ec2");
        expect(value.platform.dependsOn).to.have.length(1);
        expect(pulumi.CustomResource.isInstance(value.platform.dependsOn[0] as pulumi.Resource)).to.equal(true);
        expect(await resolve((value.platform.dependsOn[0] as any).stdout)).to.equal("ready");
        expect(await resolve(value.platform.efs!.fileSystemId)).to.match(/^fs-/);
    });

    it("refuses SSH access or direct ingress when the nodes sit behind NAT", () => {
        const problems = swarmConfigProblems(stackConfig("dev", { "network.natGateways": "single", "swarm.access": "ssh", "swarm.sshCidrs": ["198.51.100.0/24"], "swarm.ingress": "direct" }));
        expect(problems).to.have.length(2);
        expect(problems[0]).to.include('dockyard:swarm.access is "ssh"').and.include("natGateways");
        expect(problems[1]).to.include('dockyard:swarm.ingress is "direct"');
    });
});

describe("swarm cluster: ingress", () => {
    it("routes the sample's public ports through ALB target groups with health checks on the published ports", async () => {
        const { resources, value } = await deploy();
        const groups = ofType(resources, "aws:lb/targetGroup:TargetGroup");
        expect(groups.map((g) => g.inputs.port)).to.deep.equal(SAMPLE.map((e) => e.publishedPort));
        for (const g of groups) {
            expect(g.inputs).to.include({ protocol: "HTTP", targetType: "instance", vpcId: NETWORK.vpcId });
            expect(g.inputs.healthCheck).to.include({ enabled: true, protocol: "HTTP", path: "/" });
        }
        expect(ofType(resources, "aws:lb/targetGroupAttachment:TargetGroupAttachment")).to.have.length(SAMPLE.length);
        const lb = only(resources, "aws:lb/loadBalancer:LoadBalancer");
        expect(lb.inputs).to.include({ loadBalancerType: "application", internal: false });
        expect(lb.inputs.subnets).to.deep.equal(NETWORK.publicSubnetIds);
        expect(only(resources, "aws:lb/listener:Listener").inputs).to.include({ port: 80, protocol: "HTTP" });
        expect(await resolve(value.url)).to.match(/^http:\/\/swarm-lb-alb-[0-9a-f]+\.us-east-1\.elb\.amazonaws\.com$/);
    });

    it("plans path and host rules, most specific first, with a catch-all as the default action", () => {
        const plan = listenerPlan(
            [ep({ workload: "web", publishedPort: 8080 }), ep({ workload: "api", path: "/api", publishedPort: 8081 }), ep({ workload: "admin", host: "admin.example.com", publishedPort: 8082 })],
            "alb",
            false,
        );
        expect(plan.defaultTargetGroupKey).to.equal("8080");
        expect(plan.rules).to.deep.equal([
            { priority: 100, targetGroupKey: "8082", hostHeaders: ["admin.example.com"] },
            { priority: 110, targetGroupKey: "8081", pathPatterns: ["/api", "/api/*"] },
        ]);
    });

    it("puts tcp ports on an NLB, and explains why an ALB cannot take them", async () => {
        const tcp = [ep({ workload: "db", portName: "pg", protocol: "tcp", containerPort: 5432, publishedPort: 8081 })];
        const plan = listenerPlan(tcp, "nlb", false);
        expect(plan.kind).to.equal("network");
        expect(plan.listeners).to.deep.equal([{ port: 5432, protocol: "TCP", action: "forward", targetGroupKey: "8081" }]);
        expect(plan.targetGroups[0]).to.deep.include({ port: 8081, protocol: "TCP", healthCheck: { protocol: "TCP" } });
        expect(() => listenerPlan(tcp, "alb", false)).to.throw('dockyard:swarm.ingress is "alb" but db/pg is a tcp port');
        expect(() => listenerPlan([...tcp, ep({ workload: "db2", protocol: "tcp", containerPort: 5432, publishedPort: 8082 })], "nlb", false)).to.throw("both listen on port 5432");
        const { resources } = await deploy({ "swarm.ingress": "nlb" });
        expect(only(resources, "aws:lb/loadBalancer:LoadBalancer").inputs.loadBalancerType).to.equal("network");
    });

    it("direct ingress: no load balancer, an Elastic IP on the manager, only the published ports open", async () => {
        const { resources, value } = await deploy({ "swarm.ingress": "direct" });
        expect(ofType(resources, "aws:lb/loadBalancer:LoadBalancer")).to.have.length(0);
        const eip = only(resources, "aws:ec2/eip:Eip");
        expect(eip.inputs.instance).to.equal(await resolve(value.managerInstanceId));
        const open = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.cidrIpv4 === ANYWHERE);
        expect(open.map((r) => r.inputs.fromPort)).to.deep.equal(SAMPLE.map((e) => e.publishedPort));
        expect(open.every((r) => r.name.startsWith("swarm-sg-managers-"))).to.equal(true);
        expect(await resolve(value.url)).to.equal(`http://198.51.100.20:${SAMPLE[0].publishedPort}`);
    });
});
