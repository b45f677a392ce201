import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_KEYS } from "../components/config";
import { CostEstimate, CostModelError, estimateCost, PRICE_TABLE, PriceTable, quantityToGib, RegionPrices, RenderedResource } from "../components/cost/model";
import { formatCostMarkdown, formatCostTable } from "../components/cost/report";
import { stackConfig } from "./harness";

/** Round prices so every expected figure below can be worked out by hand. */
const TEST_PRICES: RegionPrices = {
    ...PRICE_TABLE.regions["us-east-1"],
    estimatedInstanceTypes: ["m7g.large"],
    instances: { "t4g.small": 0.01, "t3.medium": 0.04, "m7g.large": 0.1 },
    ebsGbMonth: { gp3: 0.1, gp2: 0.2 },
    natGatewayHour: 0.05,
    albHour: 0.02,
    nlbHour: 0.03,
    classicLbHour: 0.025,
    eksControlPlaneHour: 0.1,
    publicIpv4Hour: 0.005,
    kmsKeyMonth: 1,
    cloudwatchLogsStorageGbMonth: 0.03,
    efsStandardGbMonth: 0.3,
    interfaceEndpointAzHour: 0.01,
};
const TABLE: PriceTable = { description: "test", currency: "USD", hoursPerMonth: 730, regions: { "test-1": TEST_PRICES } };

type Fixture = RenderedResource & { readonly id?: string };
const res = (type: string, name: string, inputs: Record<string, unknown>, id?: string): Fixture => ({ type, name, inputs, id });
const estimate = (resources: Fixture[], options: { logGbStoredPerGroup?: number } = {}): CostEstimate =>
    estimateCost(resources, "test-1", { table: TABLE, idOf: (r) => (r as Fixture).id, ...options });
const line = (e: CostEstimate, item: string) => {
    const found = e.lines.filter((l) => l.item === item);
    expect(found, `one line "${item}" in ${JSON.stringify(e.lines.map((l) => l.item))}`).to.have.length(1);
    return found[0];
};
const items = (e: CostEstimate) => e.lines.map((l) => l.item);

const publicSubnet = res("aws:ec2/subnet:Subnet", "public-a", { mapPublicIpOnLaunch: true, tags: { "kubernetes.io/role/elb": "1" } }, "subnet-pub-a");
const publicSubnetB = res("aws:ec2/subnet:Subnet", "public-b", { mapPublicIpOnLaunch: true, tags: { "kubernetes.io/role/elb": "1" } }, "subnet-pub-b");
const privateSubnet = res("aws:ec2/subnet:Subnet", "private-a", { mapPublicIpOnLaunch: false }, "subnet-priv-a");

describe("cost model", () => {
    describe("EC2 instances", () => {
        it("prices an instance by type, its gp3 root volume and, in a public subnet, its public IPv4", () => {
            const e = estimate([publicSubnet, res("aws:ec2/instance:Instance", "manager-0", { instanceType: "t4g.small", subnetId: "subnet-pub-a", rootBlockDevice: { volumeSize: 20, volumeType: "gp3" } }, "i-1")]);
            expect(line(e, "EC2 t4g.small")).to.include({ quantity: 1, monthly: 7.3, per: "hour", unitPrice: 0.01 });
            expect(line(e, "EBS gp3")).to.include({ quantity: 20, monthly: 2 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 1, monthly: 3.65 });
            expect(e.total).to.equal(12.95);
        });

        it("takes the type and disk from the launch template, and gives no public IPv4 in a private subnet", () => {
            const e = estimate([
                privateSubnet,
                res("aws:ec2/launchTemplate:LaunchTemplate", "manager-lt", { instanceType: "t3.medium", blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 30, volumeType: "gp3" } }] }, "lt-1"),
                res("aws:ec2/instance:Instance", "manager-0", { launchTemplate: { id: "lt-1", version: "1" }, subnetId: "subnet-priv-a" }, "i-1"),
            ]);
            expect(line(e, "EC2 t3.medium")).to.include({ quantity: 1, monthly: 29.2 });
            expect(line(e, "EBS gp3")).to.include({ quantity: 30 });
            expect(items(e)).not.to.include("Public IPv4 address");
        });

        it("assumes the AMI's 8 GB root volume when none is set, and says so", () => {
            const e = estimate([res("aws:ec2/instance:Instance", "box", { instanceType: "t4g.small" })]);
            expect(line(e, "EBS gp3")).to.include({ quantity: 8, monthly: 0.8 });
            expect(e.assumptions.join("\n")).to.contain("8 GB gp3 root volume");
        });

        it("counts an instance's Elastic IP once, not also the instance's own public address", () => {
            const e = estimate([
                publicSubnet,
                res("aws:ec2/instance:Instance", "manager-0", { instanceType: "t4g.small", subnetId: "subnet-pub-a", associatePublicIpAddress: true }, "i-1"),
                res("aws:ec2/eip:Eip", "manager-eip", { domain: "vpc", instance: "i-1" }),
            ]);
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 1 });
        });

        it("prices an Auto Scaling group at desired capacity × the launch template's type and disk", () => {
            const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt", { instanceType: "t4g.small", blockDeviceMappings: [{ ebs: { volumeSize: 25, volumeType: "gp3" } }], networkInterfaces: [{ associatePublicIpAddress: "true" }] }, "lt-w");
            const group = (desired: number) => res("aws:autoscaling/group:Group", "workers", { desiredCapacity: desired, minSize: 0, maxSize: 5, launchTemplate: { id: "lt-w", version: "$Latest" } });
            const e = estimate([lt, group(3)]);
            expect(line(e, "EC2 t4g.small")).to.include({ quantity: 3, monthly: 21.9 });
            expect(line(e, "EBS gp3")).to.include({ quantity: 75, monthly: 7.5 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 3 });
            expect(estimate([lt, group(0)]).lines).to.deep.equal([]);
        });

        it("says which launch template is missing when a group's reference cannot be followed", () => {
            const templates = ["a", "b"].map((n) => res("aws:ec2/launchTemplate:LaunchTemplate", n, { instanceType: "t4g.small" }, `lt-${n}`));
            expect(() => estimate([...templates, res("aws:autoscaling/group:Group", "workers", { desiredCapacity: 1, launchTemplate: { id: "lt-zzz" } })])).to.throw(
                CostModelError,
                'aws:autoscaling/group:Group "workers" uses launch template "lt-zzz", which is not among the rendered resources',
            );
        });
    });

    describe("EKS", () => {
        it("prices the control plane of a pulumi-eks cluster without a default node group, and its control-plane logs", () => {
            const e = estimate([res("eks:index:Cluster", "cluster", { skipDefaultNodeGroup: true, version: "1.34", enabledClusterLogTypes: ["api", "audit"] })]);
            expect(line(e, "EKS control plane")).to.include({ quantity: 1, monthly: 73 });
            expect(line(e, "EKS control plane").note).to.contain("version 1.34 leaves standard support");
            expect(line(e, "CloudWatch Logs storage")).to.include({ quantity: 1, monthly: 0.03 });
            expect(items(e)).not.to.include("EC2 t3.medium");
        });

        it("counts pulumi-eks' default node group (2 × t3.medium) unless it is skipped", () => {
            const e = estimate([res("eks:index:Cluster", "cluster", {})]);
            expect(line(e, "EC2 t3.medium")).to.include({ quantity: 2, monthly: 58.4 });
            expect(line(e, "EBS gp3")).to.include({ quantity: 40 });
        });

        it("prices a managed node group at desired size × its first instance type, with its launch template's disk", () => {
            const e = estimate([
                privateSubnet,
                res("aws:ec2/launchTemplate:LaunchTemplate", "nodes-lt", { blockDeviceMappings: [{ ebs: { volumeSize: 50, volumeType: "gp3" } }] }, "lt-n"),
                res("aws:eks/nodeGroup:NodeGroup", "nodes", { instanceTypes: ["m7g.large"], scalingConfig: { minSize: 3, desiredSize: 3, maxSize: 9 }, subnetIds: ["subnet-priv-a"], launchTemplate: { id: "lt-n", version: "1" } }),
            ]);
            expect(line(e, "EC2 m7g.large")).to.include({ quantity: 3, monthly: 219, estimatedPrice: true });
            expect(line(e, "EBS gp3")).to.include({ quantity: 150, monthly: 15 });
            expect(items(e)).not.to.include("Public IPv4 address");
            expect(e.assumptions.join("\n")).to.contain("derived for test-1");
        });

        it("gives nodes in public subnets a public IPv4 each, and uses the 20 GB default disk without a launch template", () => {
            const e = estimate([publicSubnet, publicSubnetB, res("aws:eks/nodeGroup:NodeGroup", "nodes", { instanceTypes: ["t3.medium"], scalingConfig: { desiredSize: 2 }, subnetIds: ["subnet-pub-a", "subnet-pub-b"] })]);
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 2 });
            expect(line(e, "EBS gp3")).to.include({ quantity: 40 });
        });
    });

    describe("network", () => {
        it("prices NAT gateways by the hour and their Elastic IPs as public IPv4, with data processing as usage", () => {
            const e = estimate([
                res("aws:ec2/eip:Eip", "nat-a", { domain: "vpc" }),
                res("aws:ec2/eip:Eip", "nat-b", { domain: "vpc" }),
                res("aws:ec2/natGateway:NatGateway", "nat-gw-a", { allocationId: "eipalloc-a" }),
                res("aws:ec2/natGateway:NatGateway", "nat-gw-b", { allocationId: "eipalloc-b" }),
            ]);
            expect(line(e, "NAT gateway")).to.include({ quantity: 2, monthly: 73 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 2, monthly: 7.3 });
            expect(e.usage.map((u) => u.item)).to.include("NAT gateway data processing");
            expect(e.usage.find((u) => u.item === "NAT gateway data processing")!.resources).to.deep.equal(["nat-gw-a", "nat-gw-b"]);
        });

        it("prices an internet-facing ALB's hours and one public IPv4 per subnet, an internal NLB's hours only, LCUs as usage", () => {
            const e = estimate([
                res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", subnets: ["s1", "s2", "s3"] }),
                res("aws:lb/loadBalancer:LoadBalancer", "nlb", { loadBalancerType: "network", internal: true, subnets: ["s1", "s2"] }),
            ]);
            expect(line(e, "Application Load Balancer")).to.include({ quantity: 1, monthly: 14.6 });
            expect(line(e, "Network Load Balancer")).to.include({ quantity: 1, monthly: 21.9 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 3 }).and.to.have.property("resources").that.deep.equals(["alb"]);
            expect(e.usage.map((u) => u.item)).to.include.members(["ALB capacity units (LCU)", "NLB capacity units (NLCU)", "Data transfer out to the internet"]);
        });

        it("prices interface endpoints per AZ and leaves gateway endpoints free", () => {
            const e = estimate([
                res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", { vpcEndpointType: "Gateway" }),
                res("aws:ec2/vpcEndpoint:VpcEndpoint", "ecr-api", { vpcEndpointType: "Interface", subnetIds: ["a", "b"] }),
            ]);
            expect(e.lines).to.have.length(1);
            expect(line(e, "Interface VPC endpoint")).to.include({ quantity: 2, monthly: 14.6 });
        });
    });

    describe("security, logs and shared storage", () => {
        it("prices KMS keys per month", () => {
            const e = estimate([res("aws:kms/key:Key", "secrets", {}), res("aws:kms/key:Key", "ssm", {})]);
            expect(line(e, "KMS customer managed key")).to.include({ quantity: 2, per: "month", monthly: 2 });
        });

        it("prices CloudWatch log storage at the stated GB per group, ingestion as usage", () => {
            const group = res("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 14 });
            expect(line(estimate([group]), "CloudWatch Logs storage")).to.include({ quantity: 1, monthly: 0.03 });
            const five = estimate([group], { logGbStoredPerGroup: 5 });
            expect(line(five, "CloudWatch Logs storage")).to.include({ quantity: 5, monthly: 0.15 });
            expect(five.assumptions.join("\n")).to.contain("5 GB stored per log group");
            expect(five.usage.map((u) => u.item)).to.deep.equal(["CloudWatch Logs ingestion"]);
        });

        it("states EFS as a per-GB rate, not a guessed total", () => {
            const e = estimate([res("aws:efs/fileSystem:FileSystem", "shared", { encrypted: true })]);
            expect(e.lines).to.deep.equal([]);
            expect(e.total).to.equal(0);
            expect(e.usage).to.deep.equal([{ item: "EFS Standard storage", rate: "$0.3 per GB-month stored", resources: ["shared"] }]);
        });
    });

    describe("Kubernetes storage and load balancers", () => {
        const gp3Class = res("kubernetes:storage.k8s.io/v1:StorageClass", "gp3", {
            metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
            provisioner: "ebs.csi.aws.com",
            parameters: { type: "gp3", encrypted: "true" },
        });
        const efsClass = res("kubernetes:storage.k8s.io/v1:StorageClass", "efs", { metadata: { name: "efs" }, provisioner: "efs.csi.aws.com" });

        it("prices EBS CSI volumes from claim templates × replicas and from claims, in whole GiB", () => {
            const e = estimate([
                gp3Class,
                res("kubernetes:apps/v1:StatefulSet", "redis", { spec: { replicas: 3, volumeClaimTemplates: [{ spec: { resources: { requests: { storage: "10Gi" } } } }] } }),
                res("kubernetes:core/v1:PersistentVolumeClaim", "scratch", { spec: { storageClassName: "gp3", resources: { requests: { storage: "500Mi" } } } }),
            ]);
            expect(line(e, "EBS gp3")).to.include({ quantity: 31, monthly: 3.1 }).and.to.have.property("resources").that.deep.equals(["redis", "scratch"]);
        });

        it("lists claims on an EFS storage class as per-GB usage", () => {
            const e = estimate([efsClass, res("kubernetes:core/v1:PersistentVolumeClaim", "uploads", { spec: { storageClassName: "efs", resources: { requests: { storage: "5Gi" } } } })]);
            expect(e.lines).to.deep.equal([]);
            expect(e.usage.map((u) => u.item)).to.deep.equal(["EFS Standard storage"]);
        });

        it("prices one ALB per ingress group, with a public IPv4 per ELB subnet when internet-facing", () => {
            const ingress = (name: string) =>
                res("kubernetes:networking.k8s.io/v1:Ingress", name, {
                    metadata: { name, namespace: "dockyard", annotations: { "alb.ingress.kubernetes.io/group.name": "dockyard", "alb.ingress.kubernetes.io/scheme": "internet-facing" } },
                    spec: { ingressClassName: "alb" },
                });
            const e = estimate([publicSubnet, publicSubnetB, ingress("api"), ingress("web")]);
            expect(line(e, "Application Load Balancer")).to.include({ quantity: 1 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 2 });
        });

        it("prices a LoadBalancer Service through the controller as an NLB", () => {
            const e = estimate([
                res("kubernetes:core/v1:Service", "tcp", {
                    metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "external", "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" } },
                    spec: { type: "LoadBalancer" },
                }),
                res("kubernetes:core/v1:Service", "internal", { spec: { type: "ClusterIP" } }),
            ]);
            expect(line(e, "Network Load Balancer")).to.include({ quantity: 1 });
            expect(line(e, "Public IPv4 address")).to.include({ quantity: 2 });
        });

        it("reads storage quantities in binary and decimal units and rejects anything else with the field named", () => {
            expect(quantityToGib("10Gi", "x")).to.equal(10);
            expect(quantityToGib("512Mi", "x")).to.equal(0.5);
            expect(quantityToGib("1Ti", "x")).to.equal(1024);
            expect(quantityToGib("1G", "x")).to.be.closeTo(0.931, 0.001);
            expect(() => quantityToGib("ten gigs", "redis volumeClaimTemplates[0]")).to.throw('redis volumeClaimTemplates[0] is "ten gigs"; expected a storage quantity such as 10Gi');
        });
    });

    describe("errors", () => {
        it("names an unknown instance type, the region and the resource", () => {
            expect(() => estimate([res("aws:ec2/instance:Instance", "big", { instanceType: "x9z.huge" })])).to.throw(
                CostModelError,
                'no price for instance type "x9z.huge" in test-1 (used by big); add it to components/cost/prices.json. Priced types: t4g.small, t3.medium, m7g.large',
            );
        });

        it("lists every line of a region without prices as unpriced, with its quantity, instead of refusing the stack", () => {
            const priced = estimateCost([res("aws:ec2/instance:Instance", "web", { instanceType: "t4g.small" })], "us-east-1");
            const unpriced = estimateCost([res("aws:ec2/instance:Instance", "web", { instanceType: "t4g.small" })], "ap-south-1");
            expect(unpriced.region).to.equal("ap-south-1");
            expect(unpriced.total).to.equal(0);
            expect(unpriced.lines.map((l) => [l.item, l.quantity, l.unpriced, l.monthly])).to.deep.equal(priced.lines.map((l) => [l.item, l.quantity, true, 0]));
            expect(unpriced.assumptions.join(" ")).to.include("not ap-south-1");
            const table = formatCostTable(unpriced);
            expect(table).to.match(/EC2 t4g\.small\s+1 instance\s+unpriced\s+unknown/);
            expect(table).to.include(`Total (fixed)`);
            expect(table).to.match(/\$0\.00 \+ \d+ unpriced lines?/);
        });

        it("names an EBS volume type without a price", () => {
            expect(() => estimate([res("aws:ebs/volume:Volume", "data", { type: "io2", size: 10 })])).to.throw(CostModelError, 'no price for EBS volume type "io2" (used by data)');
        });
    });

    describe("the price table", () => {
        const stackFiles = fs.readdirSync(path.join(__dirname, "..")).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
        const configured = new Set<string>();
        for (const def of CONFIG_KEYS.filter((d) => /instanceTypes?$/.test(d.key))) [def.default].flat().forEach((t) => configured.add(String(t)));
        for (const file of stackFiles) {
            const config = stackConfig(file.split(".")[1]);
            [config.swarm.managerInstanceType, config.swarm.workerInstanceType, ...config.eks.instanceTypes].forEach((t) => configured.add(t));
        }

        it("covers the regions it lists, each with its sources and the date they were retrieved", () => {
            expect(Object.keys(PRICE_TABLE.regions)).to.include("us-east-1");
            for (const [region, prices] of Object.entries(PRICE_TABLE.regions)) {
                expect(prices.source, region).to.have.length.greaterThan(0);
                expect(prices.retrieved, region).to.match(/^\d{4}-\d{2}-\d{2}$/);
                for (const t of prices.estimatedInstanceTypes) expect(prices.instances, `${region} ${t}`).to.have.property(t);
            }
        });

        it("prices every instance type the defaults and the stack files use, in every region", () => {
            expect(configured.size).to.be.greaterThan(1);
            for (const [region, prices] of Object.entries(PRICE_TABLE.regions)) {
                for (const t of configured) expect(prices.instances, `${t} in ${region}`).to.have.property(t).that.is.a("number").and.greaterThan(0);
            }
        });
    });

    describe("report", () => {
        it("prints every line, the total and the usage charges, and the lines add up to the total", () => {
            const e = estimate([
                publicSubnet,
                res("aws:ec2/instance:Instance", "manager-0", { instanceType: "t4g.small", subnetId: "subnet-pub-a", rootBlockDevice: { volumeSize: 20 } }, "i-1"),
                res("aws:ec2/natGateway:NatGateway", "nat", {}),
                res("aws:efs/fileSystem:FileSystem", "shared", {}),
            ]);
            const text = formatCostTable(e, "dev");
            for (const l of e.lines) expect(text).to.contain(l.item).and.to.contain(`$${l.monthly.toFixed(2)}`);
            expect(text).to.match(/Total \(fixed\)\s+\$49\.45/);
            expect(text).to.contain("Plus usage (not in the total):\n  EFS Standard storage: $0.3 per GB-month stored (shared)");
            expect(e.lines.reduce((s, l) => s + l.monthly, 0)).to.be.closeTo(e.total, 1e-9);
            expect(formatCostMarkdown(e)).to.contain("| **Total (fixed)** | | | **$49.45** |");
        });
    });
});
