/**
 * The VPC both targets share: a public and a private subnet per AZ, an internet gateway, NAT per
 * `network.natGateways`, and an S3 gateway endpoint so image layers (which ECR serves from S3) do
 * not pay NAT data charges.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NatStrategy } from "./config";
import { subnetPlan } from "./subnets";

export interface NetworkArgs {
    /** VPC block, e.g. `10.0.0.0/16`. */
    readonly cidr: string;
    /** Availability zones to spread subnets over (the region's first zones that need no opt-in). */
    readonly azCount: number;
    readonly natGateways: NatStrategy;
}

export interface NatLayout {
    /** NAT gateways (each with an Elastic IP), placed in the public subnets in AZ order. */
    readonly natGateways: number;
    /** Route tables of the private subnets; with one, every private subnet shares it. */
    readonly privateRouteTables: number;
}

/**
 * `none`: private subnets exist (for internal load balancers and later tiers) but have no route out,
 * and nodes sit in the public subnets. `single`: one NAT gateway that every private subnet uses, so
 * losing its AZ cuts egress everywhere. `perAz`: a NAT gateway and route table per AZ, so an AZ
 * outage stays in that AZ.
 */
export function natLayout(strategy: NatStrategy, azCount: number): NatLayout {
    switch (strategy) {
        case "none":
            return { natGateways: 0, privateRouteTables: 1 };
        case "single":
            return { natGateways: 1, privateRouteTables: 1 };
        case "perAz":
            return { natGateways: azCount, privateRouteTables: azCount };
    }
}

/** The `Name` tag the console shows; the stack tags come from the provider's defaultTags. */
const named = (name: string) => ({ Name: name });

export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: pulumi.Output<string>;
    public readonly azs: pulumi.Output<string[]>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    /** Where nodes go: the private subnets when they have NAT, otherwise the public ones. */
    public readonly nodeSubnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:network:Network", name, {}, opts);

        const plan = subnetPlan(args.cidr, args.azCount);
        const nat = natLayout(args.natGateways, args.azCount);

        const zones = aws.getAvailabilityZonesOutput(
            { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
            { parent: this },
        );
        this.azs = zones.names.apply((names) => {
            if (names.length < args.azCount) {
                throw new Error(`dockyard:network.azs is ${args.azCount}; the region has only ${names.length} availability zones (${names.join(", ")})`);
            }
            return names.slice(0, args.azCount);
        });
        const zone = (i: number) => this.azs.apply((names) => names[i]);

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            { cidrBlock: args.cidr, enableDnsSupport: true, enableDnsHostnames: true, tags: named(`${name}-vpc`) },
            { parent: this },
        );
        const internetGateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: named(`${name}-igw`) }, { parent: this });

        const publicSubnets = plan.public.map(
            (cidrBlock, i) =>
                new aws.ec2.Subnet(
                    `${name}-public-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock,
                        availabilityZone: zone(i),
                        // Only nodes that live here (no NAT) need a public address to reach ECR and the internet.
                        mapPublicIpOnLaunch: args.natGateways === "none",
                        tags: { ...named(`${name}-public-${i}`), "kubernetes.io/role/elb": "1" },
                    },
                    { parent: this },
                ),
        );
        const privateSubnets = plan.private.map(
            (cidrBlock, i) =>
                new aws.ec2.Subnet(
                    `${name}-private-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock,
                        availabilityZone: zone(i),
                        mapPublicIpOnLaunch: false,
                        tags: { ...named(`${name}-private-${i}`), "kubernetes.io/role/internal-elb": "1" },
                    },
                    { parent: this },
                ),
        );

        const publicRouteTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, tags: named(`${name}-public`) }, { parent: this });
        new aws.ec2.Route(
            `${name}-public-default`,
            { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id },
            { parent: this },
        );
        publicSubnets.forEach(
            (subnet, i) =>
                new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRouteTable.id }, { parent: this }),
        );

        const natGateways = Array.from({ length: nat.natGateways }, (_, i) => {
            const address = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: named(`${name}-nat-${i}`) }, { parent: this });
            return new aws.ec2.NatGateway(
                `${name}-nat-${i}`,
                { allocationId: address.id, subnetId: publicSubnets[i].id, tags: named(`${name}-nat-${i}`) },
                { parent: this, dependsOn: [internetGateway] },
            );
        });

        const privateRouteTables = Array.from({ length: nat.privateRouteTables }, (_, i) => {
            const table = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: vpc.id, tags: named(`${name}-private-${i}`) }, { parent: this });
            if (natGateways.length > 0) {
                new aws.ec2.Route(
                    `${name}-private-${i}-default`,
                    { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: natGateways[Math.min(i, natGateways.length - 1)].id },
                    { parent: this },
                );
            }
            return table;
        });
        privateSubnets.forEach(
            (subnet, i) =>
                new aws.ec2.RouteTableAssociation(
                    `${name}-private-${i}`,
                    { subnetId: subnet.id, routeTableId: privateRouteTables[Math.min(i, privateRouteTables.length - 1)].id },
                    { parent: this },
                ),
        );

        const region = aws.getRegionOutput({}, { parent: this }).region;
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: [publicRouteTable, ...privateRouteTables].map((table) => table.id),
                tags: named(`${name}-s3`),
            },
            { parent: this },
        );

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.nodeSubnetIds = nat.natGateways > 0 ? this.privateSubnetIds : this.publicSubnetIds;

        this.registerOutputs({
            vpcId: this.vpcId,
            vpcCidr: this.vpcCidr,
            azs: this.azs,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            nodeSubnetIds: this.nodeSubnetIds,
        });
    }
}
