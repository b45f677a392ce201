/**
 * The stack's configuration: every `dockyard:*` key, its type, default and rule, read into one
 * typed, frozen `StackConfig` and validated before any resource exists.
 *
 * Keys are flat and dotted (`dockyard:swarm.managers`), so each one can be declared with a type and
 * a default in `Pulumi.yaml` and set with a plain `pulumi config set swarm.managers 3`.
 * The CLI hands the program `Pulumi.yaml`'s defaults nested under the key's first segment
 * (`dockyard:swarm` = `{"managers":1,…}`) beside the stack's flat keys; `readStackConfig` reads both.
 * `CONFIG_KEYS` is the single source of truth; a test keeps `Pulumi.yaml` and the README in step.
 */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { cidrProblem as blockProblem, coversTheInternet, parseCidr } from "./cidr";
import { DEFAULT_KUBERNETES_VERSION, versionProblem } from "./eks/versions";
import { closest } from "./workload";

export const NAMESPACE = "dockyard";

export type Target = "swarm" | "eks";
export type SwarmEngine = "ec2" | "local";
export type NatStrategy = "none" | "single" | "perAz";
export type SwarmAccess = "ssm" | "ssh";
export type SwarmIngress = "alb" | "nlb" | "direct";
export type RepositoryEncryption = "AES256" | "KMS";
export type CapacityType = "ON_DEMAND" | "SPOT";

export interface NetworkConfig {
    readonly cidr: string;
    readonly azs: number;
    readonly natGateways: NatStrategy;
}

export interface ImagesConfig {
    readonly keepTagged: number;
    readonly untaggedExpiryDays: number;
    readonly encryption: RepositoryEncryption;
    /** The deployed commit, recorded on Swarm services and Deployments (never an image tag: images are tagged by content). */
    readonly tag: string;
    /** `org/project/stack` whose image digests this stack deploys instead of building. */
    readonly from: string;
    /** Explicit digests per workload, used instead of building when present. */
    readonly digests: Readonly<Record<string, string>>;
}

export interface SwarmConfig {
    readonly engine: SwarmEngine;
    readonly managers: number;
    readonly managerInstanceType: string;
    readonly workerInstanceType: string;
    readonly workersMin: number;
    readonly workersDesired: number;
    readonly workersMax: number;
    readonly rootVolumeGb: number;
    readonly amiId: string;
    readonly access: SwarmAccess;
    readonly sshCidrs: readonly string[];
    readonly sshUser: string;
    readonly sshPublicKey: string;
    readonly ingress: SwarmIngress;
    /** Scheduled worker capacity, each `"<cron, UTC> <min>/<desired>/<max>"`. */
    readonly workerSchedule: readonly string[];
    /** `swarm init --default-addr-pool`: where overlay networks take their /24s; never overlaps `network.cidr`. */
    readonly overlayAddressPool: string;
}

export interface EksConfig {
    readonly version: string;
    readonly instanceTypes: readonly string[];
    readonly capacityType: CapacityType;
    readonly nodesMin: number;
    readonly nodesDesired: number;
    readonly nodesMax: number;
    readonly diskGb: number;
    readonly publicAccessCidrs: readonly string[];
    /** Connected networks (VPN, peering) admitted on 443 to the private endpoint. */
    readonly privateAccessCidrs: readonly string[];
    readonly adminPrincipals: readonly string[];
    /** Read-only access entries (the PR preview identity). */
    readonly viewerPrincipals: readonly string[];
    /** The IAM role or user that created the cluster, which EKS made cluster-admin; empty when not said. */
    readonly creatorPrincipal: string;
    /** Keep the creator's bootstrap cluster-admin access entry. */
    readonly creatorAdmin: boolean;
    /** EKS add-on name to pinned version; an add-on not listed runs EKS's default version for `version`. */
    readonly addonVersions: Readonly<Record<string, string>>;
}

export interface WorkloadOverrides {
    readonly replicas: Readonly<Record<string, number>>;
    readonly imageTags: Readonly<Record<string, string>>;
    /** Host names of workloads' public http ports on this stack, under `ingress.domain`. */
    readonly hosts: Readonly<Record<string, string>>;
}

export interface StackConfig {
    readonly project: string;
    readonly stack: string;
    readonly target: Target;
    readonly region: string;
    /** Production stacks protect stateful resources and never force-delete repositories. */
    readonly production: boolean;
    readonly network: NetworkConfig;
    readonly images: ImagesConfig;
    readonly logRetentionDays: number;
    readonly certificateArn: string;
    readonly domain: string;
    readonly swarm: SwarmConfig;
    readonly eks: EksConfig;
    readonly workloads: WorkloadOverrides;
}

type KeyType = "string" | "integer" | "boolean" | "array" | "object";
type ConfigValue = string | number | boolean | readonly string[] | Readonly<Record<string, unknown>>;

/** A rule returns what is allowed when the value breaks it, or undefined when it holds. */
type Rule = (value: never) => string | undefined;

export interface KeyDefinition {
    readonly key: string;
    readonly type: KeyType;
    readonly default: ConfigValue;
    readonly description: string;
    readonly secret?: boolean;
    readonly rule?: Rule;
}


/** The EKS add-ons dockyard installs (components/eks/addons.ts), the keys `eks.addonVersions` may pin. */
export const EKS_ADDON_NAMES = ["vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver", "metrics-server"] as const;

/** "a, b or c" */
export const listOr = (items: readonly (string | number)[]): string =>
    items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;

const oneOf = (allowed: readonly (string | number)[], why?: string): Rule =>
    ((value: string | number) => (allowed.includes(value) ? undefined : `${why ? `${why}: ` : "allowed: "}${listOr(allowed)}`)) as Rule;

const intRange = (min: number, max: number): Rule =>
    ((value: number) => (value >= min && value <= max ? undefined : `allowed: an integer from ${min} to ${max}`)) as Rule;

const instanceType: Rule = ((value: string) =>
    /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(value) ? undefined : "allowed: an EC2 instance type such as t4g.small") as Rule;

const dnsLabel: Rule = ((value: string) =>
    value === "" || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(value)
        ? undefined
        : "allowed: a DNS domain name such as example.com, or empty") as Rule;

const cidrList: Rule = ((values: readonly string[]) => {
    const bad = values.map((v) => [v, blockProblem(v, 4)] as const).filter(([, problem]) => problem !== undefined);
    return bad.length === 0 ? undefined : `allowed: a list of IPv4 CIDR blocks such as 203.0.113.0/24, no host bits set, decimal prefix without leading zeros (bad: ${bad.map(([v]) => JSON.stringify(v)).join(", ")})`;
}) as Rule;

const stackReference: Rule = ((value: string) =>
    value === "" || /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(value)
        ? undefined
        : "allowed: a stack reference org/project/stack, or empty") as Rule;

const addonVersionMap: Rule = ((map: Record<string, unknown>) => {
    const bad = Object.entries(map).filter(([k, v]) => !(EKS_ADDON_NAMES as readonly string[]).includes(k) || typeof v !== "string" || !/^v\d+\.\d+\.\d+-eksbuild\.\d+$/.test(v));
    return bad.length === 0
        ? undefined
        : `allowed: a map of ${listOr(EKS_ADDON_NAMES)} to a version such as v1.12.4-eksbuild.1 (bad: ${bad.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
}) as Rule;

/** The release calendar decides, on the day the program runs (components/eks/versions.ts). */
const kubernetesVersionRule: Rule = ((value: string) => versionProblem(value, new Date())) as Rule;

const iamPrincipalOrEmpty: Rule = ((value: string) =>
    value === "" || /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/.test(value) ? undefined : "allowed: an IAM role or user ARN, or empty") as Rule;

const iamPrincipals: Rule = ((values: readonly string[]) => {
    const bad = values.filter((v) => !/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/.test(v));
    return bad.length === 0 ? undefined : `allowed: IAM role or user ARNs (bad: ${bad.join(", ")})`;
}) as Rule;

const positiveIntegerMap: Rule = ((map: Record<string, unknown>) => {
    const bad = Object.entries(map).filter(([, v]) => !Number.isInteger(v) || (v as number) < 0);
    return bad.length === 0
        ? undefined
        : `allowed: a map of workload name to a replica count of 0 or more (bad: ${bad.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
}) as Rule;

const stringMap =
    (what: string, pattern: RegExp): Rule =>
    ((map: Record<string, unknown>) => {
        const bad = Object.entries(map).filter(([, v]) => typeof v !== "string" || !pattern.test(v));
        return bad.length === 0
            ? undefined
            : `allowed: a map of workload name to ${what} (bad: ${bad.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
    }) as Rule;

/** Every key dockyard reads. Order is the order of the README's reference table. */
export const CONFIG_KEYS: readonly KeyDefinition[] = [
    { key: "target", type: "string", default: "swarm", description: "Where workloads run: `swarm` (Docker Swarm) or `eks` (Amazon EKS).", rule: oneOf(["swarm", "eks"]) },
    { key: "region", type: "string", default: "us-east-1", description: "AWS region of every resource (any region; `aws:region`, if set, must be the same).", rule: ((v: string) => (/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(v) ? undefined : "allowed: an AWS region code such as us-east-1 or ap-southeast-2")) as Rule },
    { key: "production", type: "boolean", default: false, description: "Protect stateful resources, keep repositories on delete, prefer HA defaults." },
    { key: "network.cidr", type: "string", default: "10.0.0.0/16", description: "IPv4 CIDR of the VPC: a /16 to /24 block in a private (RFC 1918) range.", rule: ((v: string) => vpcCidrProblem(v)) as Rule },
    { key: "network.azs", type: "integer", default: 2, description: "Availability zones to spread subnets and nodes over: 2 or 3.", rule: oneOf([2, 3]) },
    { key: "network.natGateways", type: "string", default: "none", description: "NAT for private subnets: `none` (nodes in public subnets), `single`, or `perAz`.", rule: oneOf(["none", "single", "perAz"]) },
    { key: "images.keepTagged", type: "integer", default: 10, description: "Tagged images each ECR repository keeps.", rule: intRange(1, 1000) },
    { key: "images.untaggedExpiryDays", type: "integer", default: 7, description: "Days after which untagged images expire.", rule: intRange(1, 365) },
    { key: "images.encryption", type: "string", default: "AES256", description: "ECR encryption: `AES256` or `KMS`.", rule: oneOf(["AES256", "KMS"]) },
    { key: "images.tag", type: "string", default: "", description: "The deployed commit (CI sets the git SHA): label `dockyard.commit` on Swarm services, annotation `dockyard.io/commit` on Deployments; never part of an image or pod, so it rebuilds and rolls nothing.", rule: ((v: string) => (v === "" || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v) ? undefined : "allowed: a Docker tag (letters, digits, _ . -; at most 128), or empty")) as Rule },
    { key: "images.from", type: "string", default: "", description: "Promote images from another stack (`org/project/stack`) instead of building.", rule: stackReference },
    { key: "images.digests", type: "object", default: {}, description: "Explicit image digests per workload (`repo@sha256:…`), deployed instead of building.", rule: stringMap("an image reference pinned by digest (…@sha256:<64 hex>)", /^[^\s@]+@sha256:[a-f0-9]{64}$/) },
    { key: "logs.retentionDays", type: "integer", default: 14, description: "CloudWatch log retention in days.", rule: oneOf([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], "allowed CloudWatch retention periods") },
    { key: "ingress.domain", type: "string", default: "", description: "Route 53 hosted zone for HTTPS with an ACM certificate; empty serves HTTP on the load balancer's name.", rule: dnsLabel },
    { key: "ingress.certificateArn", type: "string", default: "", description: "An existing ACM certificate for HTTPS listeners; empty for none.", rule: ((v: string) => (v === "" || /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(v) ? undefined : "allowed: an ACM certificate ARN, or empty")) as Rule },
    { key: "swarm.engine", type: "string", default: "ec2", description: "Where the swarm runs: `ec2` (a cluster dockyard builds) or `local` (this machine's Docker engine, no AWS).", rule: oneOf(["ec2", "local"]) },
    { key: "swarm.managers", type: "integer", default: 1, description: "Swarm managers, one per AZ in turn: 1, 3 or 5.", rule: oneOf([1, 3, 5], "a swarm needs an odd number of managers") },
    { key: "swarm.managerInstanceType", type: "string", default: "t4g.small", description: "EC2 instance type of the managers; a change moves one running manager per `pulumi up`.", rule: instanceType },
    { key: "swarm.workerInstanceType", type: "string", default: "t4g.small", description: "EC2 instance type of the workers.", rule: instanceType },
    { key: "swarm.workersMin", type: "integer", default: 0, description: "Fewest workers in the Auto Scaling group.", rule: intRange(0, 100) },
    { key: "swarm.workersDesired", type: "integer", default: 0, description: "Workers at creation (the autoscaler owns it afterwards).", rule: intRange(0, 100) },
    { key: "swarm.workersMax", type: "integer", default: 2, description: "Most workers in the Auto Scaling group.", rule: intRange(0, 100) },
    { key: "swarm.rootVolumeGb", type: "integer", default: 20, description: "Encrypted gp3 root volume of every node, in GiB.", rule: intRange(8, 1000) },
    { key: "swarm.amiId", type: "string", default: "", description: "Pin the node AMI (a new pin moves one running manager per `pulumi up` and rolls the workers); empty uses the current Amazon Linux 2023 AMI at creation and never replaces nodes for a newer one.", rule: ((v: string) => (v === "" || /^ami-[0-9a-f]{8,17}$/.test(v) ? undefined : "allowed: an AMI id such as ami-0123456789abcdef0, or empty")) as Rule },
    { key: "swarm.access", type: "string", default: "ssm", description: "How Pulumi and operators reach the manager: `ssm` (Session Manager, no open port) or `ssh` (from `swarm.sshCidrs`).", rule: oneOf(["ssm", "ssh"]) },
    { key: "swarm.sshCidrs", type: "array", default: [], description: "CIDRs allowed to SSH to the manager when `swarm.access` is `ssh`.", rule: cidrList },
    { key: "swarm.sshUser", type: "string", default: "ec2-user", description: "SSH user on the nodes.", rule: ((v: string) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? undefined : "allowed: a Linux user name")) as Rule },
    { key: "swarm.sshPublicKey", type: "string", default: "", description: "Public half of the key Pulumi uses to reach the manager's Docker API (the private half is `swarm.sshPrivateKey`).", rule: ((v: string) => (v === "" || /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(v) ? undefined : "allowed: an OpenSSH public key, or empty")) as Rule },
    { key: "swarm.sshPrivateKey", type: "string", default: "", secret: true, description: "Private key for the SSH connection to the manager (set with `--secret`)." },
    { key: "swarm.ingress", type: "string", default: "alb", description: "How public ports reach the swarm: `alb`, `nlb` (TCP), or `direct` (on the node's own address, cheapest).", rule: oneOf(["alb", "nlb", "direct"]) },
    { key: "swarm.workerSchedule", type: "array", default: [], description: "Scheduled worker capacity, each `\"<cron, UTC> <min>/<desired>/<max>\"`, e.g. `\"0 20 * * 1-5 0/0/1\"` for evenings.", rule: ((values: readonly string[]) => { const bad = values.filter((v) => { const m = /^(?:\S+ ){5}(\d+)\/(\d+)\/(\d+)$/.exec(v); return !m || Number(m[1]) > Number(m[2]) || Number(m[2]) > Number(m[3]) || Number(m[3]) > 100; }); return bad.length === 0 ? undefined : `allowed: entries "<minute hour day month weekday> <min>/<desired>/<max>" with min <= desired <= max <= 100 (bad: ${bad.map((v) => JSON.stringify(v)).join(", ")})`; }) as Rule },
    { key: "swarm.overlayAddressPool", type: "string", default: "10.200.0.0/16", description: "Where the swarm's overlay networks take their /24 subnets from (`docker swarm init --default-addr-pool`): a /8 to /24 private block apart from `network.cidr` and Docker's local bridge pools.", rule: ((v: string) => overlayPoolProblem(v)) as Rule },
    { key: "eks.version", type: "string", default: DEFAULT_KUBERNETES_VERSION, description: "Kubernetes version of the control plane and node groups: one still in EKS standard support (docs/eks.md, \"Upgrading\").", rule: kubernetesVersionRule },
    { key: "eks.instanceTypes", type: "array", default: ["t4g.medium"], description: "Instance types of the managed node group (one architecture).", rule: ((v: readonly string[]) => (v.length > 0 && v.every((t) => instanceType(t as never) === undefined) ? undefined : "allowed: a non-empty list of EC2 instance types")) as Rule },
    { key: "eks.capacityType", type: "string", default: "ON_DEMAND", description: "`ON_DEMAND` or `SPOT` node capacity.", rule: oneOf(["ON_DEMAND", "SPOT"]) },
    { key: "eks.nodesMin", type: "integer", default: 1, description: "Fewest nodes in the node group.", rule: intRange(0, 450) },
    { key: "eks.nodesDesired", type: "integer", default: 2, description: "Nodes at creation (the autoscaler owns it afterwards).", rule: intRange(0, 450) },
    { key: "eks.nodesMax", type: "integer", default: 3, description: "Most nodes in the node group.", rule: intRange(1, 450) },
    { key: "eks.diskGb", type: "integer", default: 20, description: "Encrypted gp3 disk of every node, in GiB.", rule: intRange(20, 1000) },
    { key: "eks.publicAccessCidrs", type: "array", default: [], description: "CIDRs that reach the API endpoint (the deployer's: CI runner egress, your office); required for the `eks` target.", rule: cidrList },
    { key: "eks.privateAccessCidrs", type: "array", default: [], description: "Connected networks (VPN, peering) admitted on 443 to the private API endpoint.", rule: cidrList },
    { key: "eks.adminPrincipals", type: "array", default: [], description: "IAM role/user ARNs given cluster-admin through access entries (the creator is skipped while it keeps its bootstrap entry).", rule: iamPrincipals },
    { key: "eks.viewerPrincipals", type: "array", default: [], description: "IAM role/user ARNs given read-only access (`AmazonEKSViewPolicy`), such as the PR preview role.", rule: iamPrincipals },
    { key: "eks.creatorPrincipal", type: "string", default: "", description: "The IAM role/user that creates the cluster (CI's deploy role); EKS makes it cluster-admin at creation.", rule: iamPrincipalOrEmpty },
    { key: "eks.creatorAdmin", type: "boolean", default: true, description: "Keep the creator's bootstrap cluster-admin; `false` deletes that access entry (needs `eks.creatorPrincipal`)." },
    { key: "eks.addonVersions", type: "object", default: {}, description: "Pinned EKS add-on versions by add-on name; add-ons left out run EKS's default version for `eks.version`.", rule: addonVersionMap },
    { key: "workloads.replicas", type: "object", default: {}, description: "Per-stack replica counts by workload name, e.g. `{api: 3}`.", rule: positiveIntegerMap },
    { key: "workloads.hosts", type: "object", default: {}, description: "Per-stack host names of public http workloads, e.g. `{web: www.example.com}` (under `ingress.domain`).", rule: stringMap("a DNS host name", /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/) },
    { key: "workloads.imageTags", type: "object", default: {}, description: "Per-stack tags of existing images by workload name, e.g. `{redis: 7.4-alpine}`.", rule: stringMap("a Docker tag", /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/) },
];

/** One problem found in the configuration. */
export class ConfigError extends Error {
    constructor(public readonly problems: readonly string[]) {
        super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Returns what is allowed when `cidr` is not a usable VPC CIDR, or undefined. */
export function cidrProblem(cidr: string): string | undefined {
    if (parseCidr(cidr)?.family === 4) return undefined;
    const problem = blockProblem(cidr, 4)!;
    return problem.includes("host bits") ? problem : "allowed: an IPv4 CIDR block such as 10.0.0.0/16";
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** Returns what is allowed when `cidr` cannot be a VPC's block, or undefined. */
export function vpcCidrProblem(cidr: string): string | undefined {
    const problem = cidrProblem(cidr);
    if (problem) return problem;
    const block = parseCidr(cidr)!;
    const inPrivateRange = PRIVATE_RANGES.map((range) => parseCidr(range)!).some((range) => range.first <= block.first && block.last <= range.last);
    if (block.prefix < 16 || block.prefix > 24 || !inPrivateRange) {
        return `allowed: a /16 to /24 block inside ${PRIVATE_RANGES.join(", ")}`;
    }
    return undefined;
}

/** Whether two CIDR blocks share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
    const [x, y] = [parseCidr(a), parseCidr(b)];
    return x !== undefined && y !== undefined && x.family === y.family && x.first <= y.last && y.first <= x.last;
}

/**
 * Docker's local-scope default pools, from which dockerd takes `docker0` and `docker_gwbridge`
 * (172.17.0.0/16 to 172.31.0.0/16 as /16s, 192.168.0.0/16 as /20s: docker/libnetwork
 * ipamutils/utils.go, the table docker/docs#8663 asks to document). An overlay inside them would
 * collide with the bridge every task's container reaches the outside through.
 */
export const DOCKER_LOCAL_POOLS = ["172.17.0.0/16", "172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13", "192.168.0.0/16"];

/**
 * Overlay subnets are /24s (`--default-addr-pool-mask-length 24`, Docker's default), so the pool is a
 * /8 to /24 block in a private range, outside Docker's local pools. Without one, `swarm init` keeps
 * Docker's 10.0.0.0/8 (docs.docker.com, "Manage swarm service networks": default address pool), and
 * with the default `network.cidr` 10.0.0.0/16 the ingress network's 10.0.0.0/24 shadows the VPC,
 * its resolver at 10.0.0.2 included (issue 14 item 6); the overlap with `network.cidr` is a
 * cross-key check (crossKeyProblems).
 */
export function overlayPoolProblem(cidr: string): string | undefined {
    const problem = cidrProblem(cidr);
    if (problem) return problem;
    const block = parseCidr(cidr)!;
    const inPrivateRange = PRIVATE_RANGES.map((range) => parseCidr(range)!).some((range) => range.first <= block.first && block.last <= range.last);
    const local = DOCKER_LOCAL_POOLS.filter((pool) => cidrsOverlap(pool, cidr));
    if (block.prefix < 8 || block.prefix > 24 || !inPrivateRange || local.length > 0) {
        return `allowed: a /8 to /24 block inside ${PRIVATE_RANGES.join(", ")}, outside Docker's local bridge pools (${DOCKER_LOCAL_POOLS.join(", ")}) and apart from network.cidr, e.g. 10.200.0.0/16`;
    }
    return undefined;
}

export function ipv4ToInt(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

function describe(value: unknown): string {
    return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** What a message says in place of a secret value. */
export const SECRET_NOT_SHOWN = "[secret, not shown]";

/** A value that is a private key is never quoted, whatever key it was pasted into. */
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * The config keys the running program holds as secrets (set with `--secret`). The language host
 * lists them in `PULUMI_CONFIG_SECRET_KEYS`, which `isConfigSecret` in @pulumi/pulumi
 * `runtime/config.js` reads (under mocks `setAllConfig(config, secretKeys)` sets the same list). It
 * is exported by that module but marked internal in its types, hence the checked cast.
 */
export function secretConfigKeys(raw: Readonly<Record<string, string>>): string[] {
    const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    if (typeof isConfigSecret !== "function") throw new Error("@pulumi/pulumi/runtime/config no longer exports isConfigSecret: dockyard cannot tell which config values are secret");
    return Object.keys(raw).filter((key) => isConfigSecret(key));
}

/** Every string a secret value could appear as in a message: itself, its JSON-escaped form, its lines, the strings inside it. */
function secretFragments(value: string): string[] {
    const fragments = new Set<string>([value, JSON.stringify(value).slice(1, -1), ...value.split(/\r?\n/)]);
    const leaves = (v: unknown): void => {
        if (typeof v === "string") fragments.add(v).add(JSON.stringify(v).slice(1, -1));
        else if (v && typeof v === "object") Object.values(v).forEach(leaves);
    };
    try {
        leaves(JSON.parse(value));
    } catch {
        // not JSON: the string itself is the fragment
    }
    // Shorter than 4 characters a fragment is more likely a word of the message than the secret.
    return [...fragments].map((f) => f.trim()).filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
}

/** Turns the raw string Pulumi hands over into the key's type, or says why it cannot. */
function parseValue(def: KeyDefinition, raw: string, show: (value: unknown) => string = describe): { value?: ConfigValue; problem?: string } {
    const fullKey = `${NAMESPACE}:${def.key}`;
    switch (def.type) {
        case "string":
            return { value: raw };
        case "integer":
            return /^-?\d+$/.test(raw.trim()) ? { value: Number(raw) } : { problem: `${fullKey} is ${show(raw)}; expected an integer` };
        case "boolean":
            return raw === "true" || raw === "false" ? { value: raw === "true" } : { problem: `${fullKey} is ${show(raw)}; expected true or false` };
        case "array":
        case "object": {
            let parsed: unknown;
            try {
                parsed = JSON.parse(raw);
            } catch {
                const example = def.type === "array" ? `'["a","b"]'` : `'{"api":3}'`;
                return {
                    problem:
                        `${fullKey} is ${show(raw)}; expected ${def.type === "array" ? "a list" : "a map"} in JSON, e.g. \`pulumi config set ${NAMESPACE}:${def.key} ${example}\` ` +
                        `(the CLI takes JSON; in a stack file YAML works too: ${fullKey}: ${def.type === "array" ? "[a, b]" : "{api: 3}"})`,
                };
            }
            if (def.type === "array") {
                return Array.isArray(parsed) && parsed.every((item) => typeof item === "string")
                    ? { value: parsed }
                    : { problem: `${fullKey} is ${show(parsed)}; expected a list of strings` };
            }
            return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
                ? { value: parsed as Record<string, unknown> }
                : { problem: `${fullKey} is ${show(parsed)}; expected a map` };
        }
    }
}

/** Checks that span several keys; each names every key involved. */
function crossKeyProblems(values: Record<string, ConfigValue>): string[] {
    const problems: string[] = [];
    const range = (prefix: string, min: string, desired: string, max: string) => {
        const [lo, mid, hi] = [values[min], values[desired], values[max]] as number[];
        if (lo > mid || mid > hi) {
            problems.push(`${NAMESPACE}:${prefix}${min.slice(prefix.length)}/${desired.slice(prefix.length)}/${max.slice(prefix.length)} are ${lo}/${mid}/${hi}; allowed: min <= desired <= max`);
        }
    };
    range("swarm.", "swarm.workersMin", "swarm.workersDesired", "swarm.workersMax");
    range("eks.", "eks.nodesMin", "eks.nodesDesired", "eks.nodesMax");
    if (values["swarm.access"] === "ssh" && (values["swarm.sshCidrs"] as string[]).length === 0) {
        problems.push(`${NAMESPACE}:swarm.sshCidrs is []; swarm.access "ssh" needs at least one CIDR to allow SSH from`);
    }
    // Judged by the addresses covered (components/cidr.ts): ["0.0.0.0/1", "128.0.0.0/1"] is 0.0.0.0/0.
    if (coversTheInternet(values["swarm.sshCidrs"] as string[])) {
        problems.push(`${NAMESPACE}:swarm.sshCidrs is ${describe(values["swarm.sshCidrs"])}, which together cover every IPv4 address; SSH must never be open to the whole internet: list your own CIDRs`);
    }
    for (const key of ["eks.publicAccessCidrs", "eks.privateAccessCidrs"]) {
        if (coversTheInternet(values[key] as string[])) {
            problems.push(`${NAMESPACE}:${key} is ${describe(values[key])}, which together cover every IPv4 address; the API endpoint must not be open to the world: list your own CIDRs`);
        }
    }
    problems.push(...eksAccessProblems(values));
    const [pool, vpc] = [values["swarm.overlayAddressPool"] as string, values["network.cidr"] as string];
    if (cidrsOverlap(pool, vpc)) {
        problems.push(
            `${NAMESPACE}:swarm.overlayAddressPool is ${JSON.stringify(pool)}, which overlaps ${NAMESPACE}:network.cidr ${JSON.stringify(vpc)}: an overlay subnet would shadow VPC addresses (the VPC resolver at its base + 2 among them); allowed: a block apart from network.cidr, e.g. ${vpc.startsWith("10.200.") ? "10.201.0.0/16" : "10.200.0.0/16"}`,
        );
    }
    if (values["target"] === "eks" && values["swarm.engine"] === "local") {
        problems.push(`${NAMESPACE}:swarm.engine is "local" but ${NAMESPACE}:target is "eks"; the local engine runs the swarm target only`);
    }
    if (values["images.from"] !== "" && Object.keys(values["images.digests"] as object).length > 0) {
        problems.push(`${NAMESPACE}:images.from and ${NAMESPACE}:images.digests are both set; allowed: one source of promoted images`);
    }
    const domain = values["ingress.domain"] as string;
    const outside = Object.entries(values["workloads.hosts"] as Record<string, string>).filter(([, host]) => domain !== "" && host !== domain && !host.endsWith(`.${domain}`));
    if (outside.length > 0) {
        problems.push(`${NAMESPACE}:workloads.hosts has ${outside.map(([w, h]) => `${w}=${JSON.stringify(h)}`).join(", ")}; allowed: host names under ${NAMESPACE}:ingress.domain ${JSON.stringify(domain)}`);
    }
    if (values["ingress.domain"] !== "" && values["ingress.certificateArn"] !== "") {
        problems.push(`${NAMESPACE}:ingress.domain and ${NAMESPACE}:ingress.certificateArn are both set; allowed: a domain (dockyard issues the certificate) or an existing certificate`);
    }
    return problems;
}

/**
 * Who reaches the EKS API in the same `up` that creates it. CI runs outside the VPC, and the VPC
 * does not exist before the first `up`, so only a CIDR-restricted public endpoint can be reached by
 * it; pulumi-eks skips its health check without a public endpoint, so nothing else would fail
 * before the first Kubernetes object times out.
 */
function eksAccessProblems(values: Record<string, ConfigValue>): string[] {
    const problems: string[] = [];
    const list = (k: string) => values[k] as string[];
    if (values["target"] === "eks" && list("eks.publicAccessCidrs").length === 0) {
        problems.push(
            `${NAMESPACE}:eks.publicAccessCidrs is [] with ${NAMESPACE}:target "eks"; the deployer (CI or a laptop) must reach the API in the same \`pulumi up\` that creates the VPC: ` +
                `allowed: the deployer's egress CIDRs (a runner with static egress, your office); ${NAMESPACE}:eks.privateAccessCidrs only helps networks connected to the VPC after it exists (docs/eks.md)`,
        );
    }
    const both = list("eks.viewerPrincipals").filter((p) => list("eks.adminPrincipals").includes(p));
    if (both.length > 0) problems.push(`${NAMESPACE}:eks.viewerPrincipals and ${NAMESPACE}:eks.adminPrincipals both list ${both.join(", ")}; allowed: each principal in one of them`);
    if (values["eks.creatorAdmin"] === false && values["eks.creatorPrincipal"] === "") {
        problems.push(`${NAMESPACE}:eks.creatorAdmin is false but ${NAMESPACE}:eks.creatorPrincipal is empty; allowed: the ARN of the identity that created the cluster, whose bootstrap access entry is then deleted`);
    }
    return problems;
}

/**
 * A `Pulumi.yaml` default as the Pulumi CLI stores it when it nests the default at its key's path
 * (pulumi/pulumi v3.248.0): mergeConfig's `createConfigValue` turns a primitive into an untyped
 * value with `fmt.Sprintf("%v")` (sdk/go/common/workspace/config.go), and `Map.Set` with a path of
 * more than one segment `coerceObject`s it (sdk/go/common/resource/config/map.go), which reads
 * "true"/"false" as booleans and base-10 digits not starting with 0 as integers
 * (config/object.go `coerce`); everything else stays a string, a float too. Objects and arrays are
 * kept as they are.
 */
export function asNestedByTheCli(value: unknown): unknown {
    if (value === null || typeof value === "object") return value;
    const text = String(value);
    if (text === "true" || text === "false") return text === "true";
    // strconv.ParseInt takes a sign; integers past 2^53 stay strings here (JavaScript cannot hold them).
    if (/^[+-]?(0|[1-9][0-9]*)$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
    return text;
}

/**
 * The raw config with dockyard's keys flat. `pulumi config set --path 'eks.adminPrincipals[0]' <arn>`
 * stores the nested value `dockyard:eks: {adminPrincipals: [<arn>]}` (the CLI splits a --path key
 * at its dots, pulumi/pulumi sdk/go/common/resource/config/key.go ParseKey and
 * resource.ParsePropertyPath); each leaf that is a dockyard key becomes that flat key, so both
 * spellings work. Anything else in the namespace is named with the closest key.
 */
export function flattenPathConfig(raw: Readonly<Record<string, string>>): { flat: Record<string, string>; problems: string[] } {
    const flat: Record<string, string> = {};
    const problems: string[] = [];
    const keys = CONFIG_KEYS.map((d) => d.key);
    const hasChildren = (prefix: string) => keys.some((k) => k.startsWith(`${prefix}.`));
    const unknown = (key: string, via?: string) => {
        const suggestion = closest(key, keys, 3);
        problems.push(
            `${NAMESPACE}:${key}${via ? ` (set with --path inside ${NAMESPACE}:${via})` : ""} is not a dockyard setting` +
                (suggestion ? `; did you mean ${NAMESPACE}:${suggestion}?` : "") +
                "; allowed keys are listed in the README's config reference",
        );
    };
    const nested: [string, string, unknown][] = [];
    for (const fullKey of Object.keys(raw).sort()) {
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (!fullKey.startsWith(`${NAMESPACE}:`) || keys.includes(key)) {
            flat[fullKey] = raw[fullKey];
            continue;
        }
        let value: unknown;
        try {
            value = JSON.parse(raw[fullKey]);
        } catch {
            value = undefined;
        }
        if (hasChildren(key) && value !== null && typeof value === "object" && !Array.isArray(value)) nested.push([key, key, value]);
        else unknown(key);
    }
    while (nested.length > 0) {
        const [top, prefix, value] = nested.shift()!;
        for (const [field, child] of Object.entries(value as Record<string, unknown>)) {
            const key = `${prefix}.${field}`;
            if (keys.includes(key)) {
                if (raw[`${NAMESPACE}:${key}`] !== undefined) {
                    // The CLI puts every Pulumi.yaml default at its key's path, nested under the first
                    // segment, even where the stack sets the flat key (pulumi/pulumi sdk/go/common/workspace/config.go (v3.248.0; pkg/workspace/config.go on master)
                    // mergeConfig); such a default is the CLI's, not a second setting, and the flat value wins.
                    if (JSON.stringify(child) === JSON.stringify(asNestedByTheCli(CONFIG_KEYS.find((d) => d.key === key)!.default))) continue;
                    problems.push(`${NAMESPACE}:${key} is set twice, flat and with --path inside ${NAMESPACE}:${top}; allowed: one of them (\`pulumi config rm --path ${top}\` removes the nested one)`);
                } else {
                    flat[`${NAMESPACE}:${key}`] = typeof child === "string" ? child : JSON.stringify(child);
                }
            } else if (hasChildren(key) && child !== null && typeof child === "object" && !Array.isArray(child)) {
                nested.push([top, key, child]);
            } else {
                unknown(key, top);
            }
        }
    }
    return { flat, problems };
}

/** `text` as one word for a POSIX shell. */
export const shellQuote = (text: string): string => (/^[A-Za-z0-9_.:/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);

/** Whether `key` (without namespace) names a dockyard setting or a group of them (`network`, set with --path). */
export const isDockyardSettingName = (key: string): boolean => CONFIG_KEYS.some((d) => d.key === key || d.key.startsWith(`${key}.`));

/**
 * Whether `<project>:<key>` holds no more than what the Pulumi CLI merges there from the
 * `Pulumi.yaml` dockyard ships: each default at its key's path, nested under the first segment
 * (see `asNestedByTheCli`). Ignoring such a value changes nothing, since dockyard applies the same
 * defaults itself.
 */
function isShippedDefault(key: string, value: string): boolean {
    // A flat dotted key there is the user's: the CLI nests Pulumi.yaml's defaults under the first segment.
    if (key.includes(".")) return false;
    const def = CONFIG_KEYS.find((d) => d.key === key);
    if (def) return value === (typeof def.default === "object" ? JSON.stringify(def.default) : String(def.default));
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        return false;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !isDockyardSettingName(key)) return false;
    return Object.entries(parsed as Record<string, unknown>).every(([field, child]) => {
        const childDef = CONFIG_KEYS.find((d) => d.key === `${key}.${field}`);
        return childDef !== undefined && JSON.stringify(child) === JSON.stringify(asNestedByTheCli(childDef.default));
    });
}

/**
 * The keys of the project's own namespace that nothing reads, when the project is not named
 * dockyard. dockyard reads its settings from `dockyard:` whatever the project's name, but
 * `pulumi config set <key>` without a namespace (pulumi/pulumi pkg/cmd/pulumi/config/io.go
 * parseConfigKey) and `Pulumi.yaml`'s `config:` (pkg/workspace/config.go mergeConfig,
 * parseConfigKey) put keys in `<project>:`; without this a `shop:target eks` would deploy Swarm
 * without a word. `exempt`: full keys something else reads or already reports (the workloads'
 * secrets in a project named `app`, a configSecret key set without `app:`). Never quotes a value.
 */
export function projectNamespaceProblems(raw: Readonly<Record<string, string>>, project: string, exempt: ReadonlySet<string>, secretKeys?: readonly string[]): string[] {
    if (project === NAMESPACE) return [];
    const keys = CONFIG_KEYS.map((d) => d.key);
    const why =
        `the project is named ${JSON.stringify(project)}, so \`pulumi config set <key>\` without a namespace and Pulumi.yaml's config: put keys in ${project}:, ` +
        `while dockyard reads its settings as ${NAMESPACE}:<key> and configSecret values as app:<key>`;
    return Object.keys(raw)
        .filter((fullKey) => fullKey.startsWith(`${project}:`) && !exempt.has(fullKey))
        .sort()
        .flatMap((fullKey) => {
            const key = fullKey.slice(project.length + 1);
            if (isShippedDefault(key, raw[fullKey])) return [];
            const rm = `pulumi config rm ${shellQuote(fullKey)}`;
            if (isDockyardSettingName(key)) {
                const secret = (secretKeys ?? []).includes(fullKey) || CONFIG_KEYS.some((d) => d.key === key && d.secret);
                const set = secret ? `pulumi config set --secret ${NAMESPACE}:${key}` : `pulumi config set ${NAMESPACE}:${key} <value>`;
                const asks = secret ? " (the set asks for the value, or reads it from stdin)" : "";
                return [`${fullKey} is set, but dockyard does not read it: ${why}; allowed: ${NAMESPACE}:${key}, move it: ${set} && ${rm}${asks}; in Pulumi.yaml's config:, write the key as ${NAMESPACE}:${key}`];
            }
            const suggestion = closest(key, keys, 3);
            return [
                `${fullKey} is set, but nothing reads it: ${why}, and it is neither a dockyard setting${suggestion ? ` (did you mean ${NAMESPACE}:${suggestion}?)` : ""} nor a key workloads.ts asks for with configSecret; ` +
                    `allowed: a dockyard setting as ${NAMESPACE}:<key> (the README's config reference lists them) or a configSecret key as app:<key> (pulumi config set --secret app:<key>), then ${rm}`,
            ];
        });
}

/**
 * Reads and validates the raw config map (as Pulumi hands it over: full keys, string values) into
 * a frozen `StackConfig`. Throws one `ConfigError` listing every problem. `secretKeys`: see
 * `readStackConfig`.
 */
export function parseStackConfig(raw: Readonly<Record<string, string>>, project: string, stack: string, secretKeys?: readonly string[]): StackConfig {
    const { config, problems } = readStackConfig(raw, project, stack, secretKeys);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
}

/**
 * Every problem of the raw config, and the config with each bad value replaced by its key's
 * default: so the rest of the validation pass can still check the workloads against the stack.
 *
 * No message quotes the value of a key declared `secret`, of a key in `secretKeys` (the keys Pulumi
 * holds as secrets: `secretConfigKeys`), or of any value holding a private key: Pulumi hands the
 * program decrypted values, and a message quoting one would print it on a single line in CI logs
 * and PR comments, where GitHub's masking of multi-line secrets does not catch it. When
 * `secretKeys` is given, a key declared secret that is set but not among them is refused: it
 * sits in plain text in the stack file.
 */
export function readStackConfig(raw: Readonly<Record<string, string>>, project: string, stack: string, secretKeys?: readonly string[]): { config: StackConfig; problems: string[] } {
    const original = raw;
    const { flat, problems } = flattenPathConfig(raw);
    raw = flat;
    // A key set with --path inside a secret top-level key is secret too.
    const setAsSecret = (fullKey: string) => (secretKeys ?? []).some((k) => fullKey === k || fullKey.startsWith(`${k}.`));
    const declaredSecret = new Set(CONFIG_KEYS.filter((d) => d.secret).map((d) => `${NAMESPACE}:${d.key}`));
    const hidden = (fullKey: string, value: string | undefined) => declaredSecret.has(fullKey) || setAsSecret(fullKey) || (value !== undefined && PRIVATE_KEY.test(value));
    const awsRegion = raw["aws:region"];
    const region = raw[`${NAMESPACE}:region`] ?? "us-east-1";
    if (awsRegion !== undefined && awsRegion !== region) {
        problems.push(
            `aws:region is ${JSON.stringify(awsRegion)} but ${NAMESPACE}:region is ${JSON.stringify(region)}; dockyard creates every resource through its own AWS provider in ${NAMESPACE}:region and never reads aws:region; ` +
                `allowed: the same region in both, e.g. \`pulumi config set ${NAMESPACE}:region ${awsRegion}\` (or remove aws:region)`,
        );
    }
    const values: Record<string, ConfigValue> = {};
    for (const def of CONFIG_KEYS) {
        const fullKey = `${NAMESPACE}:${def.key}`;
        const rawValue = raw[fullKey];
        const secret = hidden(fullKey, rawValue);
        const show = secret ? () => SECRET_NOT_SHOWN : describe;
        let value = def.default;
        if (rawValue !== undefined) {
            if (def.secret && secretKeys !== undefined && rawValue !== "" && !setAsSecret(fullKey)) {
                problems.push(`${fullKey} is set in plain text; it is a secret: allowed: an encrypted value, \`pulumi config set --secret ${NAMESPACE}:${def.key}\` (it asks for the value, or reads it from stdin: \`< file\` for a key file), then remove the plain value from the stack file and rotate it, it was readable there`);
            }
            const parsed = parseValue(def, rawValue, show);
            if (parsed.problem) {
                problems.push(parsed.problem);
                values[def.key] = def.default;
                continue;
            }
            value = parsed.value!;
        }
        const rawAllowed = def.rule?.(value as never);
        // A rule's "(bad: …)" quotes the offending entries; a secret's are not shown.
        const allowed = secret && rawAllowed !== undefined ? rawAllowed.replace(/ \(bad: .*\)$/s, "") : rawAllowed;
        // `eks.version: 1.30` unquoted in a stack file is the YAML number 1.3 by the time it arrives.
        const quoteHint = !secret && def.type === "string" && /^\d+\.\d$/.test(String(value)) ? `; in a YAML stack file write it in quotes ("${value}0" if you meant that): YAML reads an unquoted 1.30 as the number 1.3` : "";
        if (allowed !== undefined) problems.push(`${fullKey} is ${show(value)}; ${allowed}${quoteHint}`);
        values[def.key] = rawAllowed === undefined ? value : def.default;
    }
    problems.push(...crossKeyProblems(values));
    // Whatever a message still quotes (a cross-key check, a --path message), no secret survives in it.
    const fragments = [...Object.entries(original), ...Object.entries(raw)].filter(([k, v]) => hidden(k, v)).flatMap(([, v]) => secretFragments(v));
    const scrubbed = problems.map((problem) => fragments.reduce((text, fragment) => text.split(fragment).join(SECRET_NOT_SHOWN), problem));
    return { config: deepFreeze(assemble(values, project, stack)), problems: scrubbed };
}

function assemble(v: Record<string, ConfigValue>, project: string, stack: string): StackConfig {
    const s = (k: string) => v[k] as string;
    const n = (k: string) => v[k] as number;
    const a = (k: string) => [...(v[k] as string[])];
    return {
        project,
        stack,
        target: s("target") as Target,
        region: s("region"),
        production: v["production"] as boolean,
        network: { cidr: s("network.cidr"), azs: n("network.azs"), natGateways: s("network.natGateways") as NatStrategy },
        images: {
            keepTagged: n("images.keepTagged"),
            untaggedExpiryDays: n("images.untaggedExpiryDays"),
            encryption: s("images.encryption") as RepositoryEncryption,
            tag: s("images.tag"),
            from: s("images.from"),
            digests: { ...(v["images.digests"] as Record<string, string>) },
        },
        logRetentionDays: n("logs.retentionDays"),
        certificateArn: s("ingress.certificateArn"),
        domain: s("ingress.domain"),
        swarm: {
            engine: s("swarm.engine") as SwarmEngine,
            managers: n("swarm.managers"),
            managerInstanceType: s("swarm.managerInstanceType"),
            workerInstanceType: s("swarm.workerInstanceType"),
            workersMin: n("swarm.workersMin"),
            workersDesired: n("swarm.workersDesired"),
            workersMax: n("swarm.workersMax"),
            rootVolumeGb: n("swarm.rootVolumeGb"),
            amiId: s("swarm.amiId"),
            access: s("swarm.access") as SwarmAccess,
            sshCidrs: a("swarm.sshCidrs"),
            sshUser: s("swarm.sshUser"),
            sshPublicKey: s("swarm.sshPublicKey"),
            ingress: s("swarm.ingress") as SwarmIngress,
            workerSchedule: a("swarm.workerSchedule"),
            overlayAddressPool: s("swarm.overlayAddressPool"),
        },
        eks: {
            version: s("eks.version"),
            instanceTypes: a("eks.instanceTypes"),
            capacityType: s("eks.capacityType") as CapacityType,
            nodesMin: n("eks.nodesMin"),
            nodesDesired: n("eks.nodesDesired"),
            nodesMax: n("eks.nodesMax"),
            diskGb: n("eks.diskGb"),
            publicAccessCidrs: a("eks.publicAccessCidrs"),
            privateAccessCidrs: a("eks.privateAccessCidrs"),
            adminPrincipals: a("eks.adminPrincipals"),
            viewerPrincipals: a("eks.viewerPrincipals"),
            creatorPrincipal: s("eks.creatorPrincipal"),
            creatorAdmin: v["eks.creatorAdmin"] as boolean,
            addonVersions: { ...(v["eks.addonVersions"] as Record<string, string>) },
        },
        workloads: {
            replicas: { ...(v["workloads.replicas"] as Record<string, number>) },
            imageTags: { ...(v["workloads.imageTags"] as Record<string, string>) },
            hosts: { ...(v["workloads.hosts"] as Record<string, string>) },
        },
    };
}

/** Reads the running stack's configuration; stops the program with every problem before any resource exists. */
export function loadStackConfig(): StackConfig {
    try {
        return parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

/** The SSH private key Pulumi uses to reach the swarm manager: a Pulumi secret, never plain. */
export function sshPrivateKey(): pulumi.Output<string> | undefined {
    return new pulumi.Config(NAMESPACE).getSecret("swarm.sshPrivateKey");
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const child of Object.values(value)) deepFreeze(child);
    }
    return value;
}
