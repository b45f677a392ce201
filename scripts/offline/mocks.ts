/**
 * What the offline runner answers in place of the cloud: the outputs a resource type reports after
 * creation, and the data-source invokes the program calls. Everything here is deterministic (derived
 * from names and inputs), so two renders of a stack are byte-identical. An invoke that is not listed
 * fails loudly instead of returning undefined.
 */
import * as crypto from "node:crypto";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime";
import * as pulumi from "@pulumi/pulumi";
import { planImages } from "../../components/images/plan";
import { workloads } from "../../workloads";

export const ACCOUNT_ID = "123456789012";

/** A stable fake hex string derived from a seed. */
export function fakeHex(seed: string, length = 17): string {
    return crypto.createHash("sha256").update(seed).digest("hex").slice(0, length);
}

type Inputs = Record<string, any>;

/** What `random.RandomBytes` reports, derived from its name: `length` bytes as base64 and hex. */
export function fakeBytes(name: string, length: number): { base64: string; hex: string } {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i += 32) Buffer.from(fakeHex(`${name}-bytes-${i}`, 64), "hex").copy(bytes, i);
    return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
}

const arn = (service: string, region: string, resource: string) => `arn:aws:${service}:${region}:${ACCOUNT_ID}:${resource}`;

/** Outputs of the stacks a `pulumi.StackReference` reads, by `org/project/stack`; tests set them. */
const STACK_OUTPUTS = new Map<string, Inputs>();

/** Makes the referenced stack `name` export `outputs`; `undefined` restores the default. */
export function setStackOutputs(name: string, outputs: Inputs | undefined): void {
    if (outputs === undefined) STACK_OUTPUTS.delete(name);
    else STACK_OUTPUTS.set(name, outputs);
}

/**
 * Unless a test set them, a referenced stack exports `imageDigests` for every workload of
 * `workloads.ts` that builds its image, as if it had built and pushed them: deterministic, derived
 * from the stack's name.
 */
function stackOutputs(name: string, region: string): Inputs {
    const set = STACK_OUTPUTS.get(name);
    if (set) return set;
    const [, project, stack] = name.split("/");
    // Workloads sharing a build share one image and one digest, as the source stack built them once.
    const images = planImages(workloads({ stack, generatedSecret: () => pulumi.secret(""), configSecret: () => pulumi.secret("") }));
    const digest = (image: string) => `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${project}/${stack}/${image}@sha256:${fakeHex(`${name}/${image}`, 64)}`;
    return { imageDigests: Object.fromEntries(images.flatMap((image) => image.workloads.map((workload) => [workload, digest(image.name)]))) };
}

/** Extra state per resource type, on top of the echoed inputs. */
const OUTPUTS: Record<string, (name: string, inputs: Inputs, region: string) => Inputs> = {
    // The Kubernetes provider names objects that have no metadata.name (auto-naming) with a random suffix.
    "kubernetes:core/v1:Secret": (name, inputs) => ({ metadata: { ...inputs.metadata, name: inputs.metadata?.name ?? `${name}-${fakeHex(name, 8)}` } }),
    "kubernetes:networking.k8s.io/v1:Ingress": (name, inputs, region) => {
        const group = inputs.metadata?.annotations?.["alb.ingress.kubernetes.io/group.name"] ?? name;
        return { status: { loadBalancer: { ingress: [{ hostname: `k8s-${group}-${fakeHex(group, 10)}-${fakeHex(`${group}-id`, 10)}.${region}.elb.amazonaws.com` }] } } };
    },
    "random:index/randomPassword:RandomPassword": (name, inputs) => ({ result: fakeHex(`${name}-password`, inputs.length ?? 16) }),
    "random:index/randomBytes:RandomBytes": (name, inputs) => fakeBytes(name, inputs.length),
    "aws:ec2/vpc:Vpc": (name) => ({ id: `vpc-${fakeHex(name)}` }),
    "aws:ec2/subnet:Subnet": (name) => ({ id: `subnet-${fakeHex(name)}` }),
    "aws:ec2/securityGroup:SecurityGroup": (name) => ({ id: `sg-${fakeHex(name)}` }),
    "aws:ec2/instance:Instance": (name) => ({ id: `i-${fakeHex(name)}`, privateIp: "10.0.0.10", publicIp: "198.51.100.10", publicDns: `ec2-198-51-100-10.compute.example` }),
    "aws:ec2/launchTemplate:LaunchTemplate": (name) => ({ id: `lt-${fakeHex(name)}`, latestVersion: 1 }),
    "aws:eks/nodeGroup:NodeGroup": (name, inputs) => ({ nodeGroupName: inputs.nodeGroupName ?? `${inputs.nodeGroupNamePrefix ?? `${name}-`}${fakeHex(name, 26)}` }),
    "aws:ec2/eip:Eip": (name) => ({ id: `eipalloc-${fakeHex(name)}`, publicIp: "198.51.100.20" }),
    "aws:ecr/repository:Repository": (name, inputs, region) => ({
        repositoryUrl: `${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${inputs.name ?? name}`,
        registryId: ACCOUNT_ID,
        arn: arn("ecr", region, `repository/${inputs.name ?? name}`),
    }),
    "docker:index/image:Image": (name, inputs) => ({
        repoDigest: `${String(inputs.imageName).split(":")[0]}@sha256:${fakeHex(`${name}:${inputs.imageName}`, 64)}`,
        baseImageName: inputs.imageName,
    }),
    // docker-build reports the pushed (or loaded) manifest's digest; derived here from what names
    // the content: the tags (the local engine's) or the context-hash label (pushed by digest).
    "docker-build:index:Image": (name, inputs) => ({
        digest: `sha256:${fakeHex(`${name}:${JSON.stringify([inputs.tags ?? [], inputs.labels ?? {}])}`, 64)}`,
        contextHash: fakeHex(`${name}:context`, 64),
    }),
    "pulumi:pulumi:StackReference": (_name, inputs, region) => ({ outputs: stackOutputs(String(inputs.name), region), secretOutputNames: [] }),
    "aws:lb/loadBalancer:LoadBalancer": (name, _inputs, region) => ({
        arn: arn("elasticloadbalancing", region, `loadbalancer/app/${name}/${fakeHex(name, 16)}`),
        dnsName: `${name}-${fakeHex(name, 8)}.${region}.elb.amazonaws.com`,
        zoneId: "Z35SXDOTRQ7X7K",
    }),
    "aws:acm/certificate:Certificate": (name, inputs) => ({
        domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((domainName: string) => ({
            domainName,
            resourceRecordName: `_${fakeHex(`${name}:${domainName}`, 32)}.${domainName}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: `_${fakeHex(`${domainName}:value`, 32)}.acm-validations.aws.`,
        })),
    }),
    "aws:route53/record:Record": (_name, inputs) => ({ fqdn: String(inputs.name).replace(/\.$/, "") }),
    "aws:kms/key:Key": (name, _inputs, region) => ({ keyId: `${fakeHex(name, 8)}-0000-4000-8000-${fakeHex(name, 12)}`, arn: arn("kms", region, `key/${fakeHex(name, 8)}-0000-4000-8000-${fakeHex(name, 12)}`) }),
    "aws:efs/fileSystem:FileSystem": (name, _inputs, region) => ({ id: `fs-${fakeHex(name)}`, dnsName: `fs-${fakeHex(name)}.efs.${region}.amazonaws.com` }),
    "command:local:Command": (_name, inputs) => ({ stdout: inputs.create ? "ready" : "", stderr: "" }),
    "aws:eks/cluster:Cluster": (name, _inputs, region) => ({ endpoint: `https://${fakeHex(name, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com` }),
    "eks:index:Cluster": (name, inputs, region) => ({
        kubeconfigJson: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name, cluster: { server: `https://${fakeHex(name, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com` } }] }),
        eksCluster: { name: inputs.name ?? `${name}-eksCluster-${fakeHex(name, 7)}`, arn: arn("eks", region, `cluster/${inputs.name ?? name}`), endpoint: `https://${fakeHex(name, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`, vpcConfig: { clusterSecurityGroupId: `sg-${fakeHex(`${name}-cluster`)}` } },
        clusterSecurityGroupId: `sg-${fakeHex(`${name}-cluster`)}`,
        nodeSecurityGroupId: `sg-${fakeHex(`${name}-node`)}`,
        oidcProviderArn: arn("iam", "", `oidc-provider/oidc.eks.${region}.amazonaws.com/id/${fakeHex(name, 32).toUpperCase()}`),
    }),
};

const AZ_SUFFIXES = ["a", "b", "c", "d"];

/**
 * What DescribeAddonVersions answers, per add-on: EKS's default and newest build for a Kubernetes
 * minor (kube-proxy follows the minor itself). Like EKS, an unknown add-on or version is refused.
 */
const ADDON_VERSIONS: Record<string, string> = {
    "vpc-cni": "v1.20.4",
    coredns: "v1.12.4",
    "eks-pod-identity-agent": "v1.3.8",
    "aws-ebs-csi-driver": "v1.48.0",
    "aws-efs-csi-driver": "v2.1.13",
    "metrics-server": "v0.8.0",
};
export const KNOWN_KUBERNETES_MINORS = ["1.33", "1.34", "1.35"];

export function mockAddonVersion(addonName: string, kubernetesVersion: string, mostRecent: boolean): string {
    if (!KNOWN_KUBERNETES_MINORS.includes(kubernetesVersion)) throw new Error(`InvalidParameterException: no versions of ${addonName} for Kubernetes ${kubernetesVersion}`);
    const base = addonName === "kube-proxy" ? `v${kubernetesVersion}.0` : ADDON_VERSIONS[addonName];
    if (!base) throw new Error(`ResourceNotFoundException: no add-on named ${addonName}`);
    return `${base}-eksbuild.${mostRecent ? 3 : 1}`;
}

/** The data-source invokes dockyard calls, keyed by token. */
const INVOKES: Record<string, (inputs: Inputs, region: string) => Inputs> = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": (_inputs, region) => ({
        names: AZ_SUFFIXES.map((s) => `${region}${s}`),
        zoneIds: AZ_SUFFIXES.map((_, i) => `${region.replace(/-/g, "").slice(0, 4)}-az${i + 1}`),
        state: "available",
    }),
    "aws:route53/getZone:getZone": (inputs) => ({ name: inputs.name, zoneId: `Z${fakeHex(String(inputs.name), 20).toUpperCase()}`, id: `Z${fakeHex(String(inputs.name), 20).toUpperCase()}`, privateZone: false }),
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/dockyard`, userId: "AIDEXAMPLE" }),
    // A role session's issuer is its role (path included, which a session ARN lacks; here none); any other ARN passes through.
    "aws:iam/getSessionContext:getSessionContext": (inputs) => {
        const session = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(String(inputs.arn));
        return session
            ? { arn: inputs.arn, issuerArn: `arn:aws:iam::${session[1]}:role/${session[2]}`, issuerName: session[2], sessionName: session[3], issuerId: "AROAEXAMPLE" }
            : { arn: inputs.arn, issuerArn: inputs.arn, issuerName: "", sessionName: "", issuerId: "" };
    },
    "aws:index/getRegion:getRegion": (_inputs, region) => ({ name: region, region, id: region }),
    "aws:lb/getHostedZoneId:getHostedZoneId": (inputs) => ({ id: inputs.loadBalancerType === "network" ? "Z26RNL4JYFTOTI" : "Z35SXDOTRQ7X7K" }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    "aws:eks/getAddonVersion:getAddonVersion": (inputs) => ({
        addonName: inputs.addonName,
        kubernetesVersion: inputs.kubernetesVersion,
        version: mockAddonVersion(String(inputs.addonName), String(inputs.kubernetesVersion), inputs.mostRecent === true),
    }),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": (_inputs, region) => ({
        userName: "AWS",
        password: "mock-ecr-password",
        authorizationToken: Buffer.from("AWS:mock-ecr-password").toString("base64"),
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`,
    }),
    // A stack that runs no manager yet: the render shows a first `up` (components/swarm/managerChanges.ts).
    "aws:ec2/getInstances:getInstances": (_inputs, region) => ({ ids: [], privateIps: [], publicIps: [], ipv6Addresses: [], instanceTags: {}, region }),
    "aws:ssm/getParameter:getParameter": (inputs) => ({ name: inputs.name, type: "String", value: `ami-${fakeHex(String(inputs.name))}`, insecureValue: `ami-${fakeHex(String(inputs.name))}` }),
};

export class UnmockedInvokeError extends Error {}

export function mockOutputs(args: MockResourceArgs, region: string): { id: string | undefined; state: Inputs } {
    const extra = OUTPUTS[args.type]?.(args.name, args.inputs, region) ?? {};
    const id = args.custom === false ? undefined : (extra.id ?? `${args.name}-id`);
    const state: Inputs = { ...args.inputs, ...extra };
    if (args.custom !== false && !("arn" in state) && args.type.startsWith("aws:")) {
        const [, service] = /^aws:([a-z0-9]+)\//.exec(args.type) ?? [];
        state.arn = arn(service ?? "aws", region, `${args.type.split(":").pop()!.toLowerCase()}/${args.name}`);
    }
    return { id, state };
}

export function mockInvoke(args: MockCallArgs, region: string): Inputs {
    const answer = INVOKES[args.token];
    if (!answer) throw new UnmockedInvokeError(`offline runner: no mock for invoke ${args.token} (add it to scripts/offline/mocks.ts)`);
    return answer(args.inputs, region);
}
