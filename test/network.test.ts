import { expect } from "chai";
import { NatStrategy, intToIpv4, ipv4ToInt } from "../components/config";
import { natLayout, Network } from "../components/network";
import { AZ_SLOTS, SMALLEST_SUBNET_PREFIX, subnetPlan } from "../components/subnets";
import { stackAwsProvider, stackTags } from "../components/tags";
import { ofType, only, resolve, runDeclaration, stackConfig, errorOf } from "./harness";

const range = (cidr: string): [number, number] => {
    const [address, prefix] = cidr.split("/");
    const start = ipv4ToInt(address);
    return [start, start + 2 ** (32 - Number(prefix)) - 1];
};
const overlaps = (a: string, b: string) => {
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
};
const size = (cidr: string) => 2 ** (32 - Number(cidr.split("/")[1]));


/** Declares the network for a stack with its stack provider, as index.ts does. */
function declareNetwork(stack: string, overrides: Record<string, unknown> = {}) {
    const config = stackConfig(stack, overrides);
    return runDeclaration(
        () => new Network(`${stack}-network`, { cidr: config.network.cidr, azCount: config.network.azs, natGateways: config.network.natGateways }, { providers: [stackAwsProvider(config)] }),
        stack,
        overrides,
    );
}

describe("subnet plan", () => {
    for (const cidr of ["10.0.0.0/16", "10.20.0.0/16", "172.16.0.0/20", "192.168.4.0/22", "10.1.2.0/24"]) {
        for (const azCount of [2, 3]) {
            it(`${cidr} over ${azCount} AZs: one public and one private subnet per AZ, inside the VPC, none overlapping`, () => {
                const plan = subnetPlan(cidr, azCount);
                expect(plan.public).to.have.length(azCount);
                expect(plan.private).to.have.length(azCount);
                const all = [...plan.public, ...plan.private];
                const [vpcStart, vpcEnd] = range(cidr);
                for (const subnet of all) {
                    const [start, end] = range(subnet);
                    expect(start >= vpcStart && end <= vpcEnd, `${subnet} inside ${cidr}`).to.equal(true);
                    expect(Number(subnet.split("/")[1])).to.be.at.most(SMALLEST_SUBNET_PREFIX);
                }
                for (let i = 0; i < all.length; i++) {
                    for (let j = i + 1; j < all.length; j++) expect(overlaps(all[i], all[j]), `${all[i]} vs ${all[j]}`).to.equal(false);
                }
                // Room to grow: at least a quarter of the VPC stays unallocated for later tiers.
                const used = all.reduce((sum, subnet) => sum + size(subnet), 0);
                expect(size(cidr) - used).to.be.at.least(size(cidr) / 4);
                // Private subnets (nodes, pods) are the larger ones.
                expect(size(plan.private[0])).to.be.greaterThan(size(plan.public[0]));
            });
        }
    }

    it("lays out the default VPC as documented: private /19s from the start, public /20s from the middle", () => {
        expect(subnetPlan("10.0.0.0/16", 3)).to.deep.equal({
            private: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"],
            public: ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"],
        });
    });

    it("keeps existing subnets when an AZ is added (no renumbering, so no replacement)", () => {
        const two = subnetPlan("10.20.0.0/16", 2);
        const three = subnetPlan("10.20.0.0/16", 3);
        expect(three.private.slice(0, 2)).to.deep.equal(two.private);
        expect(three.public.slice(0, 2)).to.deep.equal(two.public);
        // The spare slot of each tier is still free with 3 AZs.
        const fourth = subnetPlan("10.20.0.0/16", AZ_SLOTS);
        expect([...three.public, ...three.private]).not.to.include(fourth.public[3]);
    });

    it("rejects a block too small for the layout, naming the key, the value and what is allowed", () => {
        const message = errorOf(() => subnetPlan("10.0.0.0/25", 2));
        expect(message).to.include("dockyard:network.cidr");
        expect(message).to.include("10.0.0.0/25");
        expect(message).to.include("/24 or larger");
        expect(errorOf(() => subnetPlan("10.0.0.0/24", 3))).to.equal("no error");
    });

    it("rejects a malformed block and an AZ count outside the slots", () => {
        expect(errorOf(() => subnetPlan("10.0.0.1/16", 2))).to.match(/dockyard:network\.cidr.*10\.0\.0\.1\/16.*no host bits/);
        expect(errorOf(() => subnetPlan("10.0.0/16", 2))).to.include("dockyard:network.cidr");
        expect(errorOf(() => subnetPlan("10.0.0.0/16", 0))).to.include("dockyard:network.azs is 0");
        expect(errorOf(() => subnetPlan("10.0.0.0/16", AZ_SLOTS + 1))).to.include(`dockyard:network.azs is ${AZ_SLOTS + 1}`);
    });

    it("round-trips addresses it computes", () => {
        for (const subnet of subnetPlan("172.16.0.0/20", 3).public) expect(intToIpv4(ipv4ToInt(subnet.split("/")[0]))).to.equal(subnet.split("/")[0]);
    });
});

describe("NAT layout", () => {
    it("none: no NAT and one shared private route table; single: one of each; perAz: one per AZ", () => {
        expect(natLayout("none", 3)).to.deep.equal({ natGateways: 0, privateRouteTables: 1 });
        expect(natLayout("single", 3)).to.deep.equal({ natGateways: 1, privateRouteTables: 1 });
        expect(natLayout("perAz", 3)).to.deep.equal({ natGateways: 3, privateRouteTables: 3 });
        expect(natLayout("perAz", 2)).to.deep.equal({ natGateways: 2, privateRouteTables: 2 });
    });
});

describe("Network component", () => {
    const cases: { nat: NatStrategy; azs: number; nats: number; routes: number; tables: number }[] = [
        { nat: "none", azs: 2, nats: 0, routes: 1, tables: 2 },
        { nat: "single", azs: 2, nats: 1, routes: 2, tables: 2 },
        { nat: "single", azs: 3, nats: 1, routes: 2, tables: 2 },
        { nat: "perAz", azs: 2, nats: 2, routes: 3, tables: 3 },
        { nat: "perAz", azs: 3, nats: 3, routes: 4, tables: 4 },
    ];
    for (const c of cases) {
        it(`natGateways ${c.nat} over ${c.azs} AZs: ${c.nats} NAT gateways and EIPs, ${c.routes} default routes, ${c.tables} route tables`, async () => {
            const { resources } = await declareNetwork("dev", { "network.natGateways": c.nat, "network.azs": c.azs });
            expect(ofType(resources, "aws:ec2/natGateway:NatGateway")).to.have.length(c.nats);
            expect(ofType(resources, "aws:ec2/eip:Eip")).to.have.length(c.nats);
            expect(ofType(resources, "aws:ec2/route:Route")).to.have.length(c.routes);
            expect(ofType(resources, "aws:ec2/routeTable:RouteTable")).to.have.length(c.tables);
            expect(ofType(resources, "aws:ec2/subnet:Subnet")).to.have.length(2 * c.azs);
            expect(ofType(resources, "aws:ec2/routeTableAssociation:RouteTableAssociation")).to.have.length(2 * c.azs);
            for (const route of ofType(resources, "aws:ec2/route:Route")) expect(route.inputs.destinationCidrBlock).to.equal("0.0.0.0/0");
            const natRoutes = ofType(resources, "aws:ec2/route:Route").filter((r) => r.inputs.natGatewayId);
            expect(new Set(natRoutes.map((r) => r.inputs.natGatewayId)).size).to.equal(c.nats);
        });
    }

    it("puts every AWS resource on the stack provider, whose default tags carry the stack tags", async () => {
        for (const stack of ["dev", "prod"]) {
            const { resources } = await declareNetwork(stack);
            const aws = resources.filter((r) => r.type.startsWith("aws:") && r.custom && r.type !== "pulumi:providers:aws");
            expect(aws.length).to.be.greaterThan(10);
            for (const resource of aws) expect(resource.provider, `${resource.type} ${resource.name}`).to.equal(`${stack}-aws`);
            const provider = only(resources, "pulumi:providers:aws");
            expect(JSON.parse(String(provider.inputs.defaultTags)).tags).to.deep.equal(stackTags({ project: "dockyard", stack }));
            for (const resource of resources.filter((r) => r.parent !== null)) expect(resource.parent).to.equal(`${stack}-network`);
        }
    });

    it("tags subnets for the EKS load balancer controller and gives public addresses only when nodes live there", async () => {
        const dev = await declareNetwork("dev");
        const prod = await declareNetwork("prod");
        const subnets = (run: typeof dev, kind: string) => ofType(run.resources, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes(`-${kind}-`));
        for (const run of [dev, prod]) {
            for (const s of subnets(run, "public")) expect((s.inputs.tags as Record<string, string>)["kubernetes.io/role/elb"]).to.equal("1");
            for (const s of subnets(run, "private")) expect((s.inputs.tags as Record<string, string>)["kubernetes.io/role/internal-elb"]).to.equal("1");
            for (const s of subnets(run, "private")) expect(s.inputs.mapPublicIpOnLaunch).to.equal(false);
        }
        for (const s of subnets(dev, "public")) expect(s.inputs.mapPublicIpOnLaunch).to.equal(true);
        for (const s of subnets(prod, "public")) expect(s.inputs.mapPublicIpOnLaunch).to.equal(false);
        const planned = subnetPlan("10.20.0.0/16", 3);
        expect(subnets(prod, "public").map((s) => s.inputs.cidrBlock)).to.deep.equal(planned.public);
        expect(subnets(prod, "private").map((s) => s.inputs.cidrBlock)).to.deep.equal(planned.private);
    });

    it("looks the AZs up through the stack provider and spreads the subnets over the first N", async () => {
        const { resources, value, invokes } = await declareNetwork("prod");
        expect(invokes.map((i) => i.token)).to.include("aws:index/getAvailabilityZones:getAvailabilityZones");
        const azs = await resolve(value.azs);
        expect(azs).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
        const zones = ofType(resources, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-public-")).map((s) => s.inputs.availabilityZone);
        expect(zones).to.deep.equal(azs);
    });

    it("routes every route table through an S3 gateway endpoint", async () => {
        for (const nat of ["none", "perAz"] as const) {
            const { resources } = await declareNetwork("prod", { "network.natGateways": nat });
            const endpoint = only(resources, "aws:ec2/vpcEndpoint:VpcEndpoint");
            expect(endpoint.inputs.vpcEndpointType).to.equal("Gateway");
            expect(endpoint.inputs.serviceName).to.equal("com.amazonaws.us-east-1.s3");
            expect(endpoint.inputs.routeTableIds).to.have.length(ofType(resources, "aws:ec2/routeTable:RouteTable").length);
        }
    });

    it("places nodes in private subnets behind NAT in prod and in public subnets without NAT in dev", async () => {
        const dev = await declareNetwork("dev");
        const prod = await declareNetwork("prod");
        expect(ofType(dev.resources, "aws:ec2/natGateway:NatGateway")).to.have.length(0);
        expect(ofType(prod.resources, "aws:ec2/natGateway:NatGateway")).to.have.length(3);
        expect(await resolve(dev.value.nodeSubnetIds)).to.deep.equal(await resolve(dev.value.publicSubnetIds));
        expect(await resolve(prod.value.nodeSubnetIds)).to.deep.equal(await resolve(prod.value.privateSubnetIds));
        expect(await resolve(prod.value.privateSubnetIds)).to.have.length(3);
        expect(await resolve(prod.value.vpcCidr)).to.equal("10.20.0.0/16");
        expect(await resolve(prod.value.vpcId)).to.match(/^vpc-/);
    });
});
