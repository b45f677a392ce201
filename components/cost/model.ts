/**
 * What a stack costs per month before anyone runs `pulumi up`: pure functions over the resources the
 * offline render records (`out/<stack>/resources.json`), priced from the vendored table in
 * `prices.json` (on-demand list prices, 730 hours a month). Charges that depend on traffic or data
 * (NAT processing, LCUs, log ingestion, data transfer, EFS and ECR storage) are listed as "plus
 * usage" with their rate, never guessed into the total.
 */
import { parseQuantity } from "../workload";
import PRICES from "./prices.json";

/** One entry of `resources.json`; `parent` and `provider` are not needed to price it. */
export interface RenderedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Readonly<Record<string, unknown>>;
}

export interface RegionPrices {
    readonly source: readonly string[];
    /** When the figures were compiled (YYYY-MM-DD). */
    readonly retrieved: string;
    readonly notes: string;
    /** Instance types whose price is derived rather than a verified list price. */
    readonly estimatedInstanceTypes: readonly string[];
    /** On-demand Linux USD per instance-hour. */
    readonly instances: Readonly<Record<string, number>>;
    /** USD per GB-month by EBS volume type. */
    readonly ebsGbMonth: Readonly<Record<string, number>>;
    readonly natGatewayHour: number;
    readonly natGatewayGb: number;
    readonly albHour: number;
    readonly albLcuHour: number;
    readonly nlbHour: number;
    readonly nlbNlcuHour: number;
    readonly classicLbHour: number;
    readonly eksControlPlaneHour: number;
    readonly eksExtendedSupportHour: number;
    readonly publicIpv4Hour: number;
    readonly kmsKeyMonth: number;
    readonly cloudwatchLogsStorageGbMonth: number;
    readonly cloudwatchLogsIngestGb: number;
    readonly efsStandardGbMonth: number;
    readonly interfaceEndpointAzHour: number;
    readonly dataTransferOutGb: number;
    readonly ecrStorageGbMonth: number;
    readonly secretsManagerSecretMonth: number;
    readonly route53HostedZoneMonth: number;
}

export interface PriceTable {
    readonly description: string;
    readonly currency: string;
    readonly hoursPerMonth: number;
    readonly regions: Readonly<Record<string, RegionPrices>>;
}

export const PRICE_TABLE: PriceTable = PRICES;

export type CostCategory = "control plane" | "compute" | "storage" | "network" | "security" | "logs";
const CATEGORY_ORDER: readonly CostCategory[] = ["control plane", "compute", "storage", "network", "security", "logs"];

/** One priced line: quantity × unit price (per hour or per month) = monthly USD. */
export interface CostLine {
    readonly category: CostCategory;
    readonly item: string;
    readonly quantity: number;
    /** What one unit is: "instance", "GB", "gateway", "address", "key", ... */
    readonly unit: string;
    readonly unitPrice: number;
    readonly per: "hour" | "month";
    /** Rounded to cents. */
    readonly monthly: number;
    /** Names of the rendered resources the line comes from. */
    readonly resources: readonly string[];
    /** True when the unit price is derived for this region rather than a verified list price. */
    readonly estimatedPrice: boolean;
    /** True when the price table has no prices for the region: quantity known, price and monthly not (both 0). */
    readonly unpriced?: boolean;
    readonly note?: string;
}

/** A charge that depends on traffic or stored data: its rate, with no monthly figure. */
export interface UsageLine {
    readonly item: string;
    readonly rate: string;
    readonly resources: readonly string[];
}

export interface CostEstimate {
    readonly region: string;
    readonly currency: string;
    readonly hoursPerMonth: number;
    readonly priceTable: { readonly retrieved: string; readonly source: readonly string[]; readonly notes: string };
    readonly lines: readonly CostLine[];
    /** Sum of the lines' monthly figures, before usage. */
    readonly total: number;
    readonly usage: readonly UsageLine[];
    readonly assumptions: readonly string[];
}

export interface EstimateOptions {
    readonly table?: PriceTable;
    /**
     * The id a resource reports after creation. `resources.json` holds inputs only, so references
     * between resources (an Auto Scaling group's launch template, an instance's subnet) are ids;
     * the render passes the offline mocks' ids. Without it, a lone launch template is matched by
     * elimination and subnets count as private.
     */
    readonly idOf?: (resource: RenderedResource) => string | undefined;
    /** CloudWatch Logs stored per log group, in GB; default 1. */
    readonly logGbStoredPerGroup?: number;
}

export class CostModelError extends Error {}

export const DEFAULT_LOG_GB_STORED_PER_GROUP = 1;
/** Internet-facing load balancers hold one public IPv4 per subnet; used when the render does not say how many. */
const ASSUMED_LOAD_BALANCER_SUBNETS = 2;
/** Amazon Linux 2023's AMI root volume, when neither the instance nor its launch template sets one. */
const AMI_DEFAULT_ROOT_GB = 8;
/** EKS managed node groups without a launch template disk setting, and pulumi-eks' default node group. */
const EKS_DEFAULT_DISK_GB = 20;
const PULUMI_EKS_DEFAULT_INSTANCE_TYPE = "t3.medium";
const PULUMI_EKS_DEFAULT_DESIRED_CAPACITY = 2;

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The prices of one region, or an error naming the region and those the table covers. */
export function regionPrices(region: string, table: PriceTable = PRICE_TABLE): RegionPrices {
    const prices = table.regions[region];
    if (!prices) {
        throw new CostModelError(
            `no prices for region "${region}"; the price table (components/cost/prices.json) covers ${Object.keys(table.regions).join(", ")}`,
        );
    }
    return prices;
}

/** On-demand USD per hour of an instance type, or an error naming the type, the region and what is priced. */
export function instanceHourly(prices: RegionPrices, region: string, instanceType: string, usedBy: string): number {
    const hourly = prices.instances[instanceType];
    if (hourly === undefined) {
        throw new CostModelError(
            `no price for instance type "${instanceType}" in ${region} (used by ${usedBy}); add it to components/cost/prices.json. Priced types: ${Object.keys(prices.instances).join(", ")}`,
        );
    }
    return hourly;
}

/** Parses a Kubernetes storage quantity ("10Gi", "500Mi", "1T") into GiB. */
export function quantityToGib(quantity: unknown, where: string): number {
    const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(String(quantity ?? ""));
    if (!match) throw new CostModelError(`${where} is ${JSON.stringify(quantity)}; expected a storage quantity such as 10Gi`);
    return parseQuantity(match[0])! / 2 ** 30;
}

interface Charge {
    readonly category: CostCategory;
    readonly item: string;
    readonly quantity: number;
    readonly unit: string;
    readonly unitPrice: number;
    readonly per: "hour" | "month";
    readonly resource: string;
    readonly estimatedPrice?: boolean;
    readonly note?: string;
}

interface Usage {
    readonly item: string;
    readonly rate: string;
    readonly resource: string;
}

type Inputs = Readonly<Record<string, unknown>>;

const asRecord = (value: unknown): Inputs => (value && typeof value === "object" && !Array.isArray(value) ? (value as Inputs) : {});
const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const asNumber = (value: unknown): number | undefined => (value === undefined || value === null || value === "" ? undefined : Number(value));
const label = (r: RenderedResource) => `${r.type} "${r.name}"`;

/** Everything a pricer needs to follow references between rendered resources. */
class StackView {
    readonly charges: Charge[] = [];
    readonly usage: Usage[] = [];
    readonly assumptions = new Set<string>();
    private readonly byId = new Map<string, RenderedResource>();

    constructor(
        readonly resources: readonly RenderedResource[],
        readonly region: string,
        readonly prices: RegionPrices,
        readonly hoursPerMonth: number,
        readonly idOf: (r: RenderedResource) => string | undefined,
        readonly logGbStoredPerGroup: number,
    ) {
        for (const r of resources) {
            const id = idOf(r);
            if (id !== undefined) this.byId.set(id, r);
        }
    }

    ofType(...types: string[]): RenderedResource[] {
        return this.resources.filter((r) => types.includes(r.type));
    }

    byReference(id: unknown): RenderedResource | undefined {
        return typeof id === "string" ? this.byId.get(id) : undefined;
    }

    /** The launch template a `{id|name, version}` reference points at; a lone template matches by elimination. */
    launchTemplate(reference: unknown, usedBy: RenderedResource): RenderedResource | undefined {
        const ref = asRecord(reference);
        if (ref.id === undefined && ref.name === undefined) return undefined;
        const templates = this.ofType("aws:ec2/launchTemplate:LaunchTemplate");
        const found =
            this.byReference(ref.id) ??
            templates.find((t) => ref.name !== undefined && (t.inputs.name === ref.name || t.name === ref.name)) ??
            (templates.length === 1 ? templates[0] : undefined);
        if (!found) {
            throw new CostModelError(`${label(usedBy)} uses launch template ${JSON.stringify(ref.id ?? ref.name)}, which is not among the rendered resources`);
        }
        return found;
    }

    instance(instanceType: string, count: number, resource: string, note?: string): void {
        if (count <= 0) return;
        const hourly = instanceHourly(this.prices, this.region, instanceType, resource);
        const estimatedPrice = this.prices.estimatedInstanceTypes.includes(instanceType);
        this.charges.push({ category: "compute", item: `EC2 ${instanceType}`, quantity: count, unit: "instance", unitPrice: hourly, per: "hour", resource, estimatedPrice, note });
    }

    ebs(volumeType: string, gib: number, resource: string): void {
        if (gib <= 0) return;
        const price = this.prices.ebsGbMonth[volumeType];
        if (price === undefined) {
            throw new CostModelError(`no price for EBS volume type "${volumeType}" (used by ${resource}); priced types: ${Object.keys(this.prices.ebsGbMonth).join(", ")}`);
        }
        // EBS bills whole GiB per volume.
        this.charges.push({ category: "storage", item: `EBS ${volumeType}`, quantity: Math.ceil(gib), unit: "GB", unitPrice: price, per: "month", resource });
    }

    publicIpv4(count: number, resource: string): void {
        if (count <= 0) return;
        this.charges.push({ category: "network", item: "Public IPv4 address", quantity: count, unit: "address", unitPrice: this.prices.publicIpv4Hour, per: "hour", resource });
    }

    monthlyFee(category: CostCategory, item: string, unit: string, price: number, resource: string, per: "hour" | "month" = "month", quantity = 1): void {
        this.charges.push({ category, item, quantity, unit, unitPrice: price, per, resource });
    }

    plusUsage(item: string, rate: string, resource: string): void {
        this.usage.push({ item, rate, resource });
    }

    /** Whether nodes launched with these settings get a public IPv4: the explicit flag, else the subnets' map-on-launch. */
    launchesPublic(explicit: unknown, template: RenderedResource | undefined, subnetIds: readonly unknown[]): boolean {
        const templateFlag = asRecord(asArray(template?.inputs.networkInterfaces)[0]).associatePublicIpAddress;
        const flag = explicit ?? templateFlag;
        if (flag !== undefined && flag !== null && flag !== "") return flag === true || flag === "true";
        const subnets = subnetIds.map((id) => this.byReference(id));
        return subnets.length > 0 && subnets.every((s) => s?.inputs.mapPublicIpOnLaunch === true);
    }

    /** Root and extra EBS volumes a launch template or instance declares, as [type, GiB][]; empty when none is set. */
    declaredVolumes(inputs: Inputs): [string, number][] {
        const volumes: [string, number][] = [];
        const root = asRecord(inputs.rootBlockDevice);
        if (root.volumeSize !== undefined) volumes.push([String(root.volumeType ?? "gp3"), Number(root.volumeSize)]);
        for (const device of asArray(inputs.ebsBlockDevices)) {
            const d = asRecord(device);
            if (d.volumeSize !== undefined) volumes.push([String(d.volumeType ?? "gp3"), Number(d.volumeSize)]);
        }
        for (const mapping of asArray(inputs.blockDeviceMappings)) {
            const ebs = asRecord(asRecord(mapping).ebs);
            if (ebs.volumeSize !== undefined) volumes.push([String(ebs.volumeType ?? "gp3"), Number(ebs.volumeSize)]);
        }
        return volumes;
    }

    nodeVolumes(own: Inputs, template: RenderedResource | undefined, count: number, resource: string, defaultGb: number, defaultWhy: string): void {
        let volumes = this.declaredVolumes(own);
        if (volumes.length === 0 && template) volumes = this.declaredVolumes(template.inputs);
        if (volumes.length === 0) {
            volumes = [["gp3", defaultGb]];
            this.assumptions.add(defaultWhy);
        }
        for (const [type, gib] of volumes) this.ebs(type, gib * count, resource);
    }
}

type Pricer = (resource: RenderedResource, view: StackView) => void;

function priceInstance(r: RenderedResource, view: StackView): void {
    const template = view.launchTemplate(r.inputs.launchTemplate, r);
    const instanceType = String(r.inputs.instanceType ?? template?.inputs.instanceType ?? "");
    if (!instanceType) throw new CostModelError(`${label(r)} has no instanceType (neither its own nor its launch template's)`);
    view.instance(instanceType, 1, r.name);
    view.nodeVolumes(r.inputs, template, 1, r.name, AMI_DEFAULT_ROOT_GB, `Instances without a root volume size use the AMI's ${AMI_DEFAULT_ROOT_GB} GB gp3 root volume.`);
    const id = view.idOf(r);
    const hasElasticIp = id !== undefined && view.ofType("aws:ec2/eip:Eip", "aws:ec2/eipAssociation:EipAssociation").some((e) => (e.inputs.instance ?? e.inputs.instanceId) === id);
    if (!hasElasticIp && view.launchesPublic(r.inputs.associatePublicIpAddress, template, [r.inputs.subnetId])) view.publicIpv4(1, r.name);
}

function priceAutoScalingGroup(r: RenderedResource, view: StackView): void {
    const mixed = asRecord(asRecord(r.inputs.mixedInstancesPolicy).launchTemplate);
    const template = view.launchTemplate(r.inputs.launchTemplate ?? mixed.launchTemplateSpecification, r);
    const override = asRecord(asArray(mixed.overrides)[0]).instanceType;
    const instanceType = String(override ?? template?.inputs.instanceType ?? "");
    if (!instanceType) throw new CostModelError(`${label(r)} has no instance type in its launch template or mixed instances policy`);
    const count = asNumber(r.inputs.desiredCapacity) ?? asNumber(r.inputs.minSize) ?? 0;
    view.instance(instanceType, count, r.name, "desired capacity at creation; the group scales within min..max");
    if (count === 0) return;
    view.nodeVolumes({}, template, count, r.name, AMI_DEFAULT_ROOT_GB, `Instances without a root volume size use the AMI's ${AMI_DEFAULT_ROOT_GB} GB gp3 root volume.`);
    if (view.launchesPublic(undefined, template, asArray(r.inputs.vpcZoneIdentifiers))) view.publicIpv4(count, r.name);
}

function priceNodeGroup(r: RenderedResource, view: StackView): void {
    const template = view.launchTemplate(r.inputs.launchTemplate, r);
    const instanceType = String(asArray(r.inputs.instanceTypes)[0] ?? template?.inputs.instanceType ?? PULUMI_EKS_DEFAULT_INSTANCE_TYPE);
    const count = asNumber(asRecord(r.inputs.scalingConfig).desiredSize) ?? 0;
    const spot = r.inputs.capacityType === "SPOT";
    view.instance(instanceType, count, r.name, spot ? "SPOT capacity: shown at the on-demand price, an upper bound" : "desired size at creation; the autoscaler moves it within min..max");
    if (count === 0) return;
    const diskGb = asNumber(r.inputs.diskSize) ?? EKS_DEFAULT_DISK_GB;
    view.nodeVolumes({}, template, count, r.name, diskGb, `EKS node disks without a launch template volume are ${diskGb} GB gp3.`);
    if (view.launchesPublic(undefined, template, asArray(r.inputs.subnetIds))) view.publicIpv4(count, r.name);
}

function priceEksControlPlane(r: RenderedResource, view: StackView): void {
    const version = r.inputs.version ? `version ${String(r.inputs.version)}` : "the version";
    const note = `standard support; $${view.prices.eksExtendedSupportHour}/h once ${version} leaves standard support`;
    view.charges.push({ category: "control plane", item: "EKS control plane", quantity: 1, unit: "cluster", unitPrice: view.prices.eksControlPlaneHour, per: "hour", resource: r.name, note });
    const logTypes = asArray(r.inputs.enabledClusterLogTypes);
    const ownLogGroup = view.ofType("aws:cloudwatch/logGroup:LogGroup").some((g) => String(g.inputs.name ?? "").startsWith("/aws/eks/"));
    if (logTypes.length > 0 && !ownLogGroup) priceLogGroup({ ...r, name: `${r.name} control-plane logs` }, view);
}

/** pulumi-eks' Cluster is one resource under mocks; unless told to skip it, it brings a default node group. */
function pulumiEksCluster(r: RenderedResource, view: StackView): void {
    priceEksControlPlane(r, view);
    if (r.inputs.skipDefaultNodeGroup === true) return;
    const count = asNumber(r.inputs.desiredCapacity) ?? PULUMI_EKS_DEFAULT_DESIRED_CAPACITY;
    const name = `${r.name} default node group`;
    view.instance(String(r.inputs.instanceType ?? PULUMI_EKS_DEFAULT_INSTANCE_TYPE), count, name);
    view.ebs(String(r.inputs.nodeRootVolumeType ?? "gp3"), count * (asNumber(r.inputs.nodeRootVolumeSize) ?? EKS_DEFAULT_DISK_GB), name);
    if (r.inputs.nodeAssociatePublicIpAddress !== false) view.publicIpv4(count, name);
}

function loadBalancerAddresses(r: RenderedResource, view: StackView): number {
    if (r.inputs.internal === true) return 0;
    const subnets = asArray(r.inputs.subnetMappings).length || asArray(r.inputs.subnets).length || asArray(r.inputs.availabilityZones).length;
    if (subnets > 0) return subnets;
    view.assumptions.add(`Internet-facing load balancers whose subnets the render does not list hold ${ASSUMED_LOAD_BALANCER_SUBNETS} public IPv4 addresses (one per AZ).`);
    return ASSUMED_LOAD_BALANCER_SUBNETS;
}

function priceLoadBalancer(r: RenderedResource, view: StackView): void {
    const type = String(r.inputs.loadBalancerType ?? "application");
    if (type === "application") {
        view.monthlyFee("network", "Application Load Balancer", "load balancer", view.prices.albHour, r.name, "hour");
        view.plusUsage("ALB capacity units (LCU)", `$${view.prices.albLcuHour} per LCU-hour`, r.name);
    } else if (type === "network") {
        view.monthlyFee("network", "Network Load Balancer", "load balancer", view.prices.nlbHour, r.name, "hour");
        view.plusUsage("NLB capacity units (NLCU)", `$${view.prices.nlbNlcuHour} per NLCU-hour`, r.name);
    } else {
        throw new CostModelError(`${label(r)} has loadBalancerType "${type}"; the cost model prices application and network load balancers`);
    }
    view.publicIpv4(loadBalancerAddresses(r, view), r.name);
    view.plusUsage("Data transfer out to the internet", `$${view.prices.dataTransferOutGb} per GB`, r.name);
}

function priceClassicLoadBalancer(r: RenderedResource, view: StackView): void {
    view.monthlyFee("network", "Classic Load Balancer", "load balancer", view.prices.classicLbHour, r.name, "hour");
    view.publicIpv4(loadBalancerAddresses(r, view), r.name);
    view.plusUsage("Data transfer out to the internet", `$${view.prices.dataTransferOutGb} per GB`, r.name);
}

function priceNatGateway(r: RenderedResource, view: StackView): void {
    view.monthlyFee("network", "NAT gateway", "gateway", view.prices.natGatewayHour, r.name, "hour");
    view.plusUsage("NAT gateway data processing", `$${view.prices.natGatewayGb} per GB`, r.name);
}

function priceVpcEndpoint(r: RenderedResource, view: StackView): void {
    if (r.inputs.vpcEndpointType !== "Interface") return; // gateway endpoints (S3, DynamoDB) are free
    const azs = Math.max(asArray(r.inputs.subnetIds).length, 1);
    view.monthlyFee("network", "Interface VPC endpoint", "endpoint-AZ", view.prices.interfaceEndpointAzHour, r.name, "hour", azs);
}

function priceLogGroup(r: RenderedResource, view: StackView): void {
    const gb = view.logGbStoredPerGroup;
    view.assumptions.add(`CloudWatch Logs: ${gb} GB stored per log group; ingestion is usage.`);
    view.monthlyFee("logs", "CloudWatch Logs storage", "GB", view.prices.cloudwatchLogsStorageGbMonth, r.name, "month", gb);
    view.plusUsage("CloudWatch Logs ingestion", `$${view.prices.cloudwatchLogsIngestGb} per GB`, r.name);
}

function priceEfs(r: RenderedResource, view: StackView): void {
    view.plusUsage("EFS Standard storage", `$${view.prices.efsStandardGbMonth} per GB-month stored`, r.name);
}

const EBS_CSI_PROVISIONERS = ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];
const EFS_CSI_PROVISIONER = "efs.csi.aws.com";

/** Where a claim of this storage class lands: an EBS volume type, or EFS. */
function storageBackend(className: unknown, view: StackView): { ebs: string } | "efs" {
    const classes = view.ofType("kubernetes:storage.k8s.io/v1:StorageClass");
    const metadata = (c: RenderedResource) => asRecord(c.inputs.metadata);
    const isDefault = (c: RenderedResource) => asRecord(metadata(c).annotations)["storageclass.kubernetes.io/is-default-class"] === "true";
    const cls = className === undefined || className === null ? classes.find(isDefault) : classes.find((c) => metadata(c).name === className);
    if (!cls) {
        view.assumptions.add("Persistent volume claims whose storage class is not in the render are EBS gp3 volumes (the EBS CSI driver's default type).");
        return { ebs: "gp3" };
    }
    const provisioner = String(cls.inputs.provisioner ?? "");
    if (provisioner === EFS_CSI_PROVISIONER) return "efs";
    if (!EBS_CSI_PROVISIONERS.includes(provisioner)) {
        throw new CostModelError(`${label(cls)} uses provisioner "${provisioner}"; the cost model prices ${[...EBS_CSI_PROVISIONERS, EFS_CSI_PROVISIONER].join(", ")}`);
    }
    const type = asRecord(cls.inputs.parameters).type;
    return { ebs: String(type ?? (provisioner === "kubernetes.io/aws-ebs" ? "gp2" : "gp3")) };
}

function priceClaim(spec: Inputs, count: number, resource: string, where: string, view: StackView): void {
    const backend = storageBackend(spec.storageClassName, view);
    if (backend === "efs") {
        view.plusUsage("EFS Standard storage", `$${view.prices.efsStandardGbMonth} per GB-month stored`, resource);
        return;
    }
    const gib = quantityToGib(asRecord(asRecord(spec.resources).requests).storage, where);
    // Each claim is its own volume, billed in whole GiB.
    view.ebs(backend.ebs, Math.ceil(gib) * count, resource);
}

function pricePersistentVolumeClaim(r: RenderedResource, view: StackView): void {
    priceClaim(asRecord(r.inputs.spec), 1, r.name, `${label(r)} spec.resources.requests.storage`, view);
}

function priceStatefulSet(r: RenderedResource, view: StackView): void {
    const spec = asRecord(r.inputs.spec);
    const replicas = asNumber(spec.replicas) ?? 1;
    asArray(spec.volumeClaimTemplates).forEach((template, i) =>
        priceClaim(asRecord(asRecord(template).spec), replicas, r.name, `${label(r)} spec.volumeClaimTemplates[${i}].spec.resources.requests.storage`, view),
    );
}

/** The AWS Load Balancer Controller creates one ALB per ingress group at run time; the render holds the Ingresses. */
function priceIngressAlbs(view: StackView): void {
    const albClasses = new Set(["alb"]);
    for (const c of view.ofType("kubernetes:networking.k8s.io/v1:IngressClass")) {
        if (asRecord(c.inputs.spec).controller === "ingress.k8s.aws/alb") albClasses.add(String(asRecord(c.inputs.metadata).name));
    }
    const groups = new Map<string, { names: string[]; internetFacing: boolean }>();
    for (const ingress of view.ofType("kubernetes:networking.k8s.io/v1:Ingress")) {
        const metadata = asRecord(ingress.inputs.metadata);
        const annotations = asRecord(metadata.annotations);
        const className = asRecord(ingress.inputs.spec).ingressClassName ?? annotations["kubernetes.io/ingress.class"];
        if (!albClasses.has(String(className))) continue;
        const group = String(annotations["alb.ingress.kubernetes.io/group.name"] ?? `${String(metadata.namespace ?? "default")}/${String(metadata.name ?? ingress.name)}`);
        const entry = groups.get(group) ?? { names: [], internetFacing: false };
        entry.names.push(ingress.name);
        entry.internetFacing ||= annotations["alb.ingress.kubernetes.io/scheme"] === "internet-facing";
        groups.set(group, entry);
    }
    if (groups.size === 0) return;
    const elbSubnets = view.ofType("aws:ec2/subnet:Subnet").filter((s) => asRecord(s.inputs.tags)["kubernetes.io/role/elb"] === "1").length;
    for (const [group, { names, internetFacing }] of groups) {
        const resource = `ingress group ${group} (${names.join(", ")})`;
        view.monthlyFee("network", "Application Load Balancer", "load balancer", view.prices.albHour, resource, "hour");
        view.plusUsage("ALB capacity units (LCU)", `$${view.prices.albLcuHour} per LCU-hour`, resource);
        if (!internetFacing) continue;
        if (elbSubnets === 0) view.assumptions.add(`Internet-facing load balancers whose subnets the render does not list hold ${ASSUMED_LOAD_BALANCER_SUBNETS} public IPv4 addresses (one per AZ).`);
        view.publicIpv4(elbSubnets || ASSUMED_LOAD_BALANCER_SUBNETS, resource);
        view.plusUsage("Data transfer out to the internet", `$${view.prices.dataTransferOutGb} per GB`, resource);
    }
    view.assumptions.add("Ingresses of class alb: one ALB per ingress group, created at run time by the AWS Load Balancer Controller.");
}

function priceKubernetesService(r: RenderedResource, view: StackView): void {
    const spec = asRecord(r.inputs.spec);
    if (spec.type !== "LoadBalancer") return;
    const annotations = asRecord(asRecord(r.inputs.metadata).annotations);
    const lbType = String(annotations["service.beta.kubernetes.io/aws-load-balancer-type"] ?? "");
    const byController = lbType === "external";
    const network = byController || lbType.startsWith("nlb");
    const internetFacing = byController
        ? annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] === "internet-facing"
        : annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] !== "true";
    const inputs = { internal: !internetFacing, loadBalancerType: "network" };
    if (network) priceLoadBalancer({ ...r, inputs }, view);
    else priceClassicLoadBalancer({ ...r, inputs }, view);
}

const PRICERS: Readonly<Record<string, Pricer>> = {
    "aws:ec2/instance:Instance": priceInstance,
    "aws:autoscaling/group:Group": priceAutoScalingGroup,
    "aws:eks/nodeGroup:NodeGroup": priceNodeGroup,
    "eks:index:ManagedNodeGroup": priceNodeGroup,
    "eks:index:Cluster": pulumiEksCluster,
    "aws:eks/cluster:Cluster": priceEksControlPlane,
    "aws:ebs/volume:Volume": (r, view) => view.ebs(String(r.inputs.type ?? "gp3"), Number(r.inputs.size ?? 0), r.name),
    "aws:ec2/eip:Eip": (r, view) => view.publicIpv4(1, r.name),
    "aws:ec2/natGateway:NatGateway": priceNatGateway,
    "aws:ec2/vpcEndpoint:VpcEndpoint": priceVpcEndpoint,
    "aws:lb/loadBalancer:LoadBalancer": priceLoadBalancer,
    "aws:alb/loadBalancer:LoadBalancer": priceLoadBalancer,
    "aws:elb/loadBalancer:LoadBalancer": priceClassicLoadBalancer,
    "aws:kms/key:Key": (r, view) => view.monthlyFee("security", "KMS customer managed key", "key", view.prices.kmsKeyMonth, r.name),
    "aws:secretsmanager/secret:Secret": (r, view) => view.monthlyFee("security", "Secrets Manager secret", "secret", view.prices.secretsManagerSecretMonth, r.name),
    "aws:route53/zone:Zone": (r, view) => view.monthlyFee("network", "Route 53 hosted zone", "zone", view.prices.route53HostedZoneMonth, r.name),
    "aws:cloudwatch/logGroup:LogGroup": priceLogGroup,
    "aws:efs/fileSystem:FileSystem": priceEfs,
    "aws:ecr/repository:Repository": (r, view) => view.plusUsage("ECR image storage", `$${view.prices.ecrStorageGbMonth} per GB-month`, r.name),
    "kubernetes:core/v1:PersistentVolumeClaim": pricePersistentVolumeClaim,
    "kubernetes:apps/v1:StatefulSet": priceStatefulSet,
    "kubernetes:core/v1:Service": priceKubernetesService,
};

/** The resource types the model prices; every other type carries no fixed monthly charge here. */
export const PRICED_TYPES: readonly string[] = [...Object.keys(PRICERS), "kubernetes:networking.k8s.io/v1:Ingress"];

/** Merges charges with the same item and unit price into one line that lists every resource. */
function toLines(charges: readonly Charge[], hoursPerMonth: number): CostLine[] {
    const merged = new Map<string, CostLine & { resources: string[] }>();
    for (const c of charges) {
        const key = JSON.stringify([c.category, c.item, c.unit, c.unitPrice, c.per, c.note ?? ""]);
        const line = merged.get(key);
        if (line) {
            merged.set(key, { ...line, quantity: line.quantity + c.quantity, resources: line.resources.includes(c.resource) ? line.resources : [...line.resources, c.resource] });
        } else {
            merged.set(key, { category: c.category, item: c.item, quantity: c.quantity, unit: c.unit, unitPrice: c.unitPrice, per: c.per, monthly: 0, resources: [c.resource], estimatedPrice: c.estimatedPrice ?? false, ...(c.note ? { note: c.note } : {}) });
        }
    }
    return [...merged.values()]
        .map((line) => ({ ...line, monthly: round2(line.quantity * line.unitPrice * (line.per === "hour" ? hoursPerMonth : 1)) }))
        .sort((a, b) => CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) || b.monthly - a.monthly || a.item.localeCompare(b.item));
}

function toUsageLines(usage: readonly Usage[]): UsageLine[] {
    const merged = new Map<string, { item: string; rate: string; resources: string[] }>();
    for (const u of usage) {
        const line = merged.get(u.item) ?? { item: u.item, rate: u.rate, resources: [] };
        if (!line.resources.includes(u.resource)) line.resources.push(u.resource);
        merged.set(u.item, line);
    }
    return [...merged.values()].sort((a, b) => a.item.localeCompare(b.item));
}

/**
 * The monthly estimate of a rendered stack in a region: fixed lines, their total, and usage-based
 * charges. In a region the price table lacks, every line is listed with its quantity and marked
 * `unpriced` (the total is 0 and says so): a stack in any region renders, and nobody reads another
 * region's prices as its own.
 */
export function estimateCost(resources: readonly RenderedResource[], region: string, options: EstimateOptions = {}): CostEstimate {
    const table = options.table ?? PRICE_TABLE;
    if (!table.regions[region]) return unpricedEstimate(resources, region, options);
    const prices = regionPrices(region, table);
    const view = new StackView(
        resources,
        region,
        prices,
        table.hoursPerMonth,
        options.idOf ?? (() => undefined),
        options.logGbStoredPerGroup ?? DEFAULT_LOG_GB_STORED_PER_GROUP,
    );
    for (const r of resources) PRICERS[r.type]?.(r, view);
    priceIngressAlbs(view);
    const lines = toLines(view.charges, table.hoursPerMonth);
    const assumptions = [
        `On-demand list prices for ${region}, ${table.hoursPerMonth} hours a month; no free tier, Savings Plans or Reserved Instances.`,
        "Instances and nodes: public IPv4 when associatePublicIpAddress is set or all their subnets map public IPs on launch.",
        ...view.assumptions,
    ];
    if (lines.some((l) => l.estimatedPrice)) assumptions.push(`Prices marked estimated are derived for ${region}, not verified list prices (see prices.json notes).`);
    return {
        region,
        currency: table.currency,
        hoursPerMonth: table.hoursPerMonth,
        priceTable: { retrieved: prices.retrieved, source: prices.source, notes: prices.notes },
        lines,
        total: round2(lines.reduce((sum, l) => sum + l.monthly, 0)),
        usage: toUsageLines(view.usage),
        assumptions,
    };
}

/** The lines of the stack with their quantities (counted as in the table's first region), without prices. */
function unpricedEstimate(resources: readonly RenderedResource[], region: string, options: EstimateOptions): CostEstimate {
    const table = options.table ?? PRICE_TABLE;
    const counted = estimateCost(resources, Object.keys(table.regions)[0], options);
    const why = `no prices for ${region} in components/cost/prices.json`;
    return {
        ...counted,
        region,
        priceTable: { retrieved: counted.priceTable.retrieved, source: [], notes: why },
        lines: counted.lines.map((line) => ({ ...line, unitPrice: 0, monthly: 0, estimatedPrice: false, unpriced: true, note: why })),
        total: 0,
        usage: counted.usage.map((u) => ({ ...u, rate: "unpriced" })),
        assumptions: [`Every line is unpriced: the price table (components/cost/prices.json) covers ${Object.keys(table.regions).join(", ")}, not ${region}; add the region's prices to get a total.`],
    };
}
