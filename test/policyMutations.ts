/**
 * Mutation tests of the policy pack: take the offline renders of dev, prod and local, change them
 * the way an attacker or a careless edit would (each change below), and see whether the pack
 * reports it. A mutation is caught when some mandatory finding names the changed resource (its
 * type and name, as every message starts). The baseline renders themselves have no mandatory
 * finding (test/policy.render.test.ts), so each catch is the mutation's doing.
 *
 * `npx ts-node --transpile-only test/policyMutations.ts [--rules <dir>]` prints the catch count
 * for the pack in policy/rules, or for another copy of it (an older commit's, to compare).
 */
import * as path from "node:path";
import type { Policies } from "@pulumi/policy";
import { renderStack } from "./harness";
import { FakeResource, Finding, fromRender, runPack } from "./policyHarness";

export type StackName = "dev" | "prod" | "local";

/** A render being mutated: find, change, add and remove resources by type and name. */
export class MutableStack {
    constructor(readonly resources: FakeResource[]) {}

    find(type: string, name: string): FakeResource {
        const found = this.resources.filter((r) => r.type === type && r.name === name);
        if (found.length !== 1) throw new Error(`expected one ${type} "${name}" in the render, found ${found.length}`);
        return found[0];
    }

    props(type: string, name: string): Record<string, any> {
        return this.find(type, name).props;
    }

    add(resource: FakeResource): void {
        this.resources.push(resource);
    }

    remove(type: string, name: string): void {
        this.resources.splice(this.resources.indexOf(this.find(type, name)), 1);
    }
}

export interface Mutation {
    readonly id: string;
    readonly stack: StackName;
    /** What the change is, for the report. */
    readonly what: string;
    /** The resource a finding must name for the mutation to count as caught. */
    readonly target: { readonly type: string; readonly name: string };
    readonly mutate: (stack: MutableStack) => void;
}

const T = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    policy: "aws:iam/policy:Policy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    accessKey: "aws:iam/accessKey:AccessKey",
    kmsKey: "aws:kms/key:Key",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    repo: "aws:ecr/repository:Repository",
    repoPolicy: "aws:ecr/repositoryPolicy:RepositoryPolicy",
    lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    efs: "aws:efs/fileSystem:FileSystem",
    efsPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
    accessPoint: "aws:efs/accessPoint:AccessPoint",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    sgRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    eksCluster: "eks:index:Cluster",
    nodeGroup: "aws:eks/nodeGroup:NodeGroup",
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    job: "kubernetes:batch/v1:Job",
    namespace: "kubernetes:core/v1:Namespace",
    service: "kubernetes:core/v1:Service",
    ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    k8sRole: "kubernetes:rbac.authorization.k8s.io/v1:Role",
    clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    helm: "kubernetes:helm.sh/v3:Release",
    swarmService: "docker:index/service:Service",
    swarmNetwork: "docker:index/network:Network",
} as const;

const ACCOUNT = "123456789012";
const managed = (name: string) => `arn:aws:iam::aws:policy/${name}`;

/** Edits a JSON policy document held as a string property. */
function editDocument(props: Record<string, any>, property: string, edit: (doc: { Statement: any[] }) => void): void {
    const doc = typeof props[property] === "string" ? JSON.parse(props[property]) : (props[property] ?? { Version: "2012-10-17", Statement: [] });
    doc.Statement = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    edit(doc);
    props[property] = JSON.stringify(doc);
}

const addStatement = (type: string, name: string, property: string, statement: Record<string, unknown>) => (s: MutableStack) =>
    editDocument(s.props(type, name), property, (doc) => doc.Statement.push(statement));

const setTrust = (name: string, principal: unknown, condition?: unknown) => (s: MutableStack) =>
    editDocument(s.props(T.role, name), "assumeRolePolicy", (doc) => {
        doc.Statement[0].Principal = principal;
        if (condition) doc.Statement[0].Condition = condition;
        else delete doc.Statement[0].Condition;
    });


const swarmContainer = (s: MutableStack, name: string): Record<string, any> => s.props(T.swarmService, name).taskSpec.containerSpec;

/** The pod spec of a Kubernetes workload resource, and its first container. */
const podOf = (s: MutableStack, type: string, name: string): Record<string, any> => s.props(type, name).spec.template.spec;
const containerOf = (s: MutableStack, type: string, name: string): Record<string, any> => podOf(s, type, name).containers[0];

const binding = (type: string, name: string, role: string, subject: Record<string, string>, namespace?: string): FakeResource => ({
    type,
    name,
    props: { apiVersion: "rbac.authorization.k8s.io/v1", kind: type.split(":").pop(), metadata: { name, ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [subject] },
});
const WEB_SA = { kind: "ServiceAccount", name: "web", namespace: "prod" };

const ingressRule = (name: string, securityGroup: string, props: Record<string, unknown>): FakeResource => ({
    type: T.ingressRule,
    name,
    props: { securityGroupId: `${securityGroup}-id`, description: "added", ...props },
    propertyDependencies: { securityGroupId: [securityGroup] },
});

const DEV_NODES_SG = "dev-swarm-sg-nodes";

export const MUTATIONS: readonly Mutation[] = [
    // IAM
    {
        id: "iam-star-star",
        stack: "dev",
        what: 'a node role policy gains Allow "*" on "*"',
        target: { type: T.rolePolicy, name: "dev-swarm-nodes-manager" },
        mutate: addStatement(T.rolePolicy, "dev-swarm-nodes-manager", "policy", { Effect: "Allow", Action: "*", Resource: "*" }),
    },
    {
        id: "iam-service-wildcard",
        stack: "prod",
        what: 'the autoscaler policy gains Allow "ec2:*"',
        target: { type: T.rolePolicy, name: "prod-eks-autoscaler-identity-inline" },
        mutate: addStatement(T.rolePolicy, "prod-eks-autoscaler-identity-inline", "policy", { Effect: "Allow", Action: ["ec2:*"], Resource: "*" }),
    },
    {
        id: "iam-not-action",
        stack: "dev",
        what: "a worker policy allows NotAction iam:* (everything else)",
        target: { type: T.rolePolicy, name: "dev-swarm-nodes-worker" },
        mutate: addStatement(T.rolePolicy, "dev-swarm-nodes-worker", "policy", { Effect: "Allow", NotAction: "iam:*", Resource: "*" }),
    },
    {
        id: "iam-standalone-admin-policy",
        stack: "prod",
        what: 'a new customer-managed policy allows "*:*"',
        target: { type: T.policy, name: "break-glass" },
        mutate: (s) => s.add({ type: T.policy, name: "break-glass", props: { policy: JSON.stringify({ Version: "2012-10-17", Statement: { Effect: "Allow", Action: "*:*", Resource: "*" } }) } }),
    },
    {
        id: "trust-aws-star",
        stack: "dev",
        what: 'the manager role trusts {"AWS": "*"}',
        target: { type: T.role, name: "dev-swarm-nodes-manager" },
        mutate: setTrust("dev-swarm-nodes-manager", { AWS: "*" }),
    },
    {
        id: "trust-principal-star-with-condition",
        stack: "prod",
        what: 'the node role trusts Principal "*" under an aws:SecureTransport condition',
        target: { type: T.role, name: "prod-eks-nodes-role" },
        mutate: setTrust("prod-eks-nodes-role", "*", { Bool: { "aws:SecureTransport": "true" } }),
    },
    {
        id: "trust-star-in-list",
        stack: "prod",
        what: "the load balancer controller role trusts an account and, hidden in the list, *",
        target: { type: T.role, name: "prod-eks-lbc-identity-role" },
        mutate: setTrust("prod-eks-lbc-identity-role", { AWS: [`arn:aws:iam::${ACCOUNT}:root`, "*"] }),
    },
    {
        id: "trust-github-oidc-without-sub",
        stack: "prod",
        what: "a new CI role trusts GitHub's OIDC provider with only an aud condition",
        target: { type: T.role, name: "ci-deploy" },
        mutate: (s) =>
            s.add({
                type: T.role,
                name: "ci-deploy",
                props: {
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
                                Action: "sts:AssumeRoleWithWebIdentity",
                                Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } },
                            },
                        ],
                    }),
                },
            }),
    },
    {
        id: "attach-administrator-access",
        stack: "dev",
        what: "the manager's SSM attachment becomes AdministratorAccess",
        target: { type: T.attachment, name: "dev-swarm-nodes-manager-AmazonSSMManagedInstanceCore" },
        mutate: (s) => (s.props(T.attachment, "dev-swarm-nodes-manager-AmazonSSMManagedInstanceCore").policyArn = managed("AdministratorAccess")),
    },
    {
        id: "attach-power-user",
        stack: "prod",
        what: "a node role attachment becomes PowerUserAccess",
        target: { type: T.attachment, name: "prod-eks-nodes-role-policy-3" },
        mutate: (s) => (s.props(T.attachment, "prod-eks-nodes-role-policy-3").policyArn = managed("PowerUserAccess")),
    },
    {
        id: "role-managed-policy-arns-admin",
        stack: "prod",
        what: "the node role lists AdministratorAccess in managedPolicyArns",
        target: { type: T.role, name: "prod-eks-nodes-role" },
        mutate: (s) => (s.props(T.role, "prod-eks-nodes-role").managedPolicyArns = [managed("AdministratorAccess")]),
    },
    {
        id: "iam-access-key",
        stack: "dev",
        what: "a long-lived access key for a deploy user",
        target: { type: T.accessKey, name: "deployer-key" },
        mutate: (s) => s.add({ type: T.accessKey, name: "deployer-key", props: { user: "deployer" } }),
    },
    // KMS and logs
    {
        id: "kms-rotation-off",
        stack: "dev",
        what: "the swarm key's rotation is switched off",
        target: { type: T.kmsKey, name: "dev-swarm-key" },
        mutate: (s) => (s.props(T.kmsKey, "dev-swarm-key").enableKeyRotation = false),
    },
    {
        id: "kms-rotation-dropped",
        stack: "prod",
        what: "the Secrets key loses enableKeyRotation (defaults to off)",
        target: { type: T.kmsKey, name: "prod-eks-secrets-key" },
        mutate: (s) => delete s.props(T.kmsKey, "prod-eks-secrets-key").enableKeyRotation,
    },
    {
        id: "kms-key-policy-public",
        stack: "dev",
        what: "the swarm key's policy lets everyone decrypt",
        target: { type: T.kmsKey, name: "dev-swarm-key" },
        mutate: addStatement(T.kmsKey, "dev-swarm-key", "policy", { Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }),
    },
    {
        id: "log-retention-dropped",
        stack: "dev",
        what: "the swarm log group loses retentionInDays",
        target: { type: T.logGroup, name: "dev-swarm-logs" },
        mutate: (s) => delete s.props(T.logGroup, "dev-swarm-logs").retentionInDays,
    },
    {
        id: "log-retention-zero",
        stack: "prod",
        what: "the EKS log group's retention becomes 0 (never expire)",
        target: { type: T.logGroup, name: "prod-eks-logs" },
        mutate: (s) => (s.props(T.logGroup, "prod-eks-logs").retentionInDays = 0),
    },
    // ECR
    {
        id: "ecr-repository-policy-public",
        stack: "dev",
        what: "a repository policy lets Principal * pull",
        target: { type: T.repoPolicy, name: "dev-api-repo-policy" },
        mutate: (s) =>
            s.add({
                type: T.repoPolicy,
                name: "dev-api-repo-policy",
                props: { repository: "dockyard/dev/api", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Pull", Effect: "Allow", Principal: "*", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] }] }) },
            }),
    },
    {
        id: "ecr-mutable-tags",
        stack: "dev",
        what: "the api repository's tags become MUTABLE",
        target: { type: T.repo, name: "dev-api-repo" },
        mutate: (s) => (s.props(T.repo, "dev-api-repo").imageTagMutability = "MUTABLE"),
    },
    {
        id: "ecr-scan-off",
        stack: "prod",
        what: "the web repository stops scanning on push",
        target: { type: T.repo, name: "prod-web-repo" },
        mutate: (s) => (s.props(T.repo, "prod-web-repo").imageScanningConfiguration = { scanOnPush: false }),
    },
    {
        id: "ecr-lifecycle-removed",
        stack: "dev",
        what: "the api repository's lifecycle policy is deleted",
        target: { type: T.repo, name: "dev-api-repo" },
        mutate: (s) => s.remove(T.lifecycle, "dev-api-repo-lifecycle"),
    },
    // EFS
    {
        id: "efs-policy-public",
        stack: "prod",
        what: "the file system policy lets everyone mount",
        target: { type: T.efsPolicy, name: "prod-eks-storage-efs-policy" },
        mutate: addStatement(T.efsPolicy, "prod-eks-storage-efs-policy", "policy", { Effect: "Allow", Principal: { AWS: "*" }, Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], Resource: "*" }),
    },
    {
        id: "efs-unencrypted",
        stack: "dev",
        what: "the swarm file system is not encrypted",
        target: { type: T.efs, name: "dev-swarm-storage-efs" },
        mutate: (s) => (s.props(T.efs, "dev-swarm-storage-efs").encrypted = false),
    },
    {
        id: "efs-access-point-root",
        stack: "dev",
        what: "redis's access point exposes the file system root",
        target: { type: T.accessPoint, name: "dev-redis-data" },
        mutate: (s) => (s.props(T.accessPoint, "dev-redis-data").rootDirectory.path = "/"),
    },
    {
        id: "efs-access-point-any-user",
        stack: "dev",
        what: "redis's access point stops enforcing a POSIX user",
        target: { type: T.accessPoint, name: "dev-redis-data" },
        mutate: (s) => delete s.props(T.accessPoint, "dev-redis-data").posixUser,
    },
    // EC2
    {
        id: "imds-hop-limit-template",
        stack: "prod",
        what: "the EKS node launch template's IMDS hop limit becomes 2",
        target: { type: T.launchTemplate, name: "prod-eks-nodes-lt" },
        mutate: (s) => (s.props(T.launchTemplate, "prod-eks-nodes-lt").metadataOptions.httpPutResponseHopLimit = 2),
    },
    {
        id: "imds-hop-limit-instance",
        stack: "dev",
        what: "the manager's IMDS hop limit becomes 3",
        target: { type: T.instance, name: "dev-swarm-nodes-manager-0" },
        mutate: (s) => (s.props(T.instance, "dev-swarm-nodes-manager-0").metadataOptions.httpPutResponseHopLimit = 3),
    },
    {
        id: "imds-hop-limit-dropped",
        stack: "dev",
        what: "the worker launch template drops the hop limit (AMI default 2)",
        target: { type: T.launchTemplate, name: "dev-swarm-nodes-worker" },
        mutate: (s) => delete s.props(T.launchTemplate, "dev-swarm-nodes-worker").metadataOptions.httpPutResponseHopLimit,
    },
    {
        id: "imdsv1-allowed",
        stack: "dev",
        what: "the worker launch template allows IMDSv1",
        target: { type: T.launchTemplate, name: "dev-swarm-nodes-worker" },
        mutate: (s) => (s.props(T.launchTemplate, "dev-swarm-nodes-worker").metadataOptions.httpTokens = "optional"),
    },
    {
        id: "ebs-root-unencrypted",
        stack: "dev",
        what: "the manager's root volume is not encrypted",
        target: { type: T.instance, name: "dev-swarm-nodes-manager-0" },
        mutate: (s) => (s.props(T.instance, "dev-swarm-nodes-manager-0").rootBlockDevice.encrypted = false),
    },
    // Security groups
    {
        id: "sg-world-as-two-halves-inline",
        stack: "prod",
        what: "the EFS group admits NFS from 0.0.0.0/1 and 128.0.0.0/1",
        target: { type: T.sg, name: "prod-eks-storage-efs-sg" },
        mutate: (s) => s.props(T.sg, "prod-eks-storage-efs-sg").ingress.push({ protocol: "tcp", fromPort: 2049, toPort: 2049, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"], description: "nfs" }),
    },
    {
        id: "sg-world-as-two-rules",
        stack: "dev",
        what: "two rules open 6379 to 0.0.0.0/1 and 128.0.0.0/1",
        target: { type: T.ingressRule, name: "redis-low" },
        mutate: (s) => {
            s.add(ingressRule("redis-low", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 6379, toPort: 6379, cidrIpv4: "0.0.0.0/1" }));
            s.add(ingressRule("redis-high", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 6379, toPort: 6379, cidrIpv4: "128.0.0.0/1" }));
        },
    },
    {
        id: "sg-http-as-two-rules-on-nodes",
        stack: "dev",
        what: "two rules open port 80 of the (non-listener) node group to both halves of the internet",
        target: { type: T.ingressRule, name: "http-high" },
        mutate: (s) => {
            s.add(ingressRule("http-low", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/1" }));
            s.add(ingressRule("http-high", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "128.0.0.0/1" }));
        },
    },
    {
        id: "sg-ssh-from-world",
        stack: "dev",
        what: "a SecurityGroupRule opens SSH to 0.0.0.0/0",
        target: { type: T.sgRule, name: "ssh" },
        mutate: (s) => s.add({ type: T.sgRule, name: "ssh", props: { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1" } }),
    },
    {
        id: "sg-swarm-control-from-ipv6-world",
        stack: "dev",
        what: "swarm management (2377) opened to ::/0",
        target: { type: T.ingressRule, name: "manage-v6" },
        mutate: (s) => s.add(ingressRule("manage-v6", "dev-swarm-sg-managers", { ipProtocol: "tcp", fromPort: 2377, toPort: 2377, cidrIpv6: "::/0" })),
    },
    {
        id: "sg-all-protocols-from-world",
        stack: "dev",
        what: "an all-protocols rule from 0.0.0.0/0 on the node group",
        target: { type: T.ingressRule, name: "anything" },
        mutate: (s) => s.add(ingressRule("anything", DEV_NODES_SG, { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" })),
    },
    {
        id: "sg-http-on-node-group",
        stack: "dev",
        what: "port 80 from 0.0.0.0/0 on the node group (no load balancer, not direct ingress)",
        target: { type: T.ingressRule, name: "nodes-http" },
        mutate: (s) => s.add(ingressRule("nodes-http", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" })),
    },
    {
        id: "sg-malformed-world",
        stack: "dev",
        what: 'Postgres opened to "0.0.0.0/00"',
        target: { type: T.ingressRule, name: "postgres" },
        mutate: (s) => s.add(ingressRule("postgres", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "0.0.0.0/00" })),
    },
    // Halves that differ in port range or protocol spelling (cold review of issue 17, finding 1).
    {
        id: "sg-ssh-halves-wide-range",
        stack: "dev",
        what: "SSH from 0.0.0.0/1 on one rule, every tcp port from 128.0.0.0/1 on another",
        target: { type: T.ingressRule, name: "ssh-low" },
        mutate: (s) => {
            s.add(ingressRule("ssh-low", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/1" }));
            s.add(ingressRule("tcp-high", DEV_NODES_SG, { ipProtocol: "tcp", fromPort: 0, toPort: 65535, cidrIpv4: "128.0.0.0/1" }));
        },
    },
    {
        id: "sg-ssh-halves-protocol-number",
        stack: "dev",
        what: 'SSH from 0.0.0.0/1 as "tcp", and from 128.0.0.0/1 as protocol "6" on an ec2.SecurityGroupRule',
        target: { type: T.sgRule, name: "ssh-six" },
        mutate: (s) => {
            s.add(ingressRule("ssh-tcp", "dev-swarm-sg-managers", { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/1" }));
            s.add({
                type: T.sgRule,
                name: "ssh-six",
                props: { type: "ingress", protocol: "6", fromPort: 22, toPort: 22, cidrBlocks: ["128.0.0.0/1"], securityGroupId: "dev-swarm-sg-managers-id" },
                propertyDependencies: { securityGroupId: ["dev-swarm-sg-managers"] },
            });
        },
    },
    {
        id: "sg-ssh-halves-all-protocols",
        stack: "prod",
        what: "the EFS group's inline rules gain SSH from 0.0.0.0/1, and a separate rule every protocol from 128.0.0.0/1",
        target: { type: T.ingressRule, name: "efs-any-high" },
        mutate: (s) => {
            s.props(T.sg, "prod-eks-storage-efs-sg").ingress.push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/1"], description: "ssh" });
            s.add(ingressRule("efs-any-high", "prod-eks-storage-efs-sg", { ipProtocol: "-1", cidrIpv4: "128.0.0.0/1" }));
        },
    },
    {
        id: "sg-docker-api-ipv6-halves",
        stack: "dev",
        what: 'the Docker API from ::/1 on one rule, protocol "all" from 8000::/1 on another',
        target: { type: T.ingressRule, name: "docker-v6-low" },
        mutate: (s) => {
            s.add(ingressRule("docker-v6-low", "dev-swarm-sg-managers", { ipProtocol: "tcp", fromPort: 2375, toPort: 2375, cidrIpv6: "::/1" }));
            s.add(ingressRule("any-v6-high", "dev-swarm-sg-managers", { ipProtocol: "all", cidrIpv6: "8000::/1" }));
        },
    },
    {
        id: "sg-all-protocols-halves-spelled-twice",
        stack: "dev",
        what: 'every protocol from 0.0.0.0/1 as "-1", and from 128.0.0.0/1 as "ALL"',
        target: { type: T.ingressRule, name: "any-high" },
        mutate: (s) => {
            s.add(ingressRule("any-low", DEV_NODES_SG, { ipProtocol: "-1", cidrIpv4: "0.0.0.0/1" }));
            s.add(ingressRule("any-high", DEV_NODES_SG, { ipProtocol: "ALL", cidrIpv4: "128.0.0.0/1" }));
        },
    },
    // EKS
    {
        id: "eks-endpoint-two-halves",
        stack: "prod",
        what: "the API endpoint is public to 0.0.0.0/1 and 128.0.0.0/1",
        target: { type: T.eksCluster, name: "prod-eks-cluster" },
        mutate: (s) => (s.props(T.eksCluster, "prod-eks-cluster").publicAccessCidrs = ["0.0.0.0/1", "128.0.0.0/1"]),
    },
    {
        id: "eks-endpoint-world",
        stack: "prod",
        what: "the API endpoint is public to 0.0.0.0/0",
        target: { type: T.eksCluster, name: "prod-eks-cluster" },
        mutate: (s) => (s.props(T.eksCluster, "prod-eks-cluster").publicAccessCidrs = ["0.0.0.0/0"]),
    },
    {
        id: "eks-audit-log-off",
        stack: "prod",
        what: "the control plane stops sending audit logs",
        target: { type: T.eksCluster, name: "prod-eks-cluster" },
        mutate: (s) => (s.props(T.eksCluster, "prod-eks-cluster").enabledClusterLogTypes = ["api", "authenticator"]),
    },
    {
        id: "eks-secrets-unencrypted",
        stack: "prod",
        what: "Secrets lose envelope encryption",
        target: { type: T.eksCluster, name: "prod-eks-cluster" },
        mutate: (s) => delete s.props(T.eksCluster, "prod-eks-cluster").encryptionConfigKeyArn,
    },
    {
        id: "node-group-remote-access",
        stack: "prod",
        what: "a node group gets SSH remote access with a key pair",
        target: { type: T.nodeGroup, name: "prod-eks-nodes-ng-0" },
        mutate: (s) => (s.props(T.nodeGroup, "prod-eks-nodes-ng-0").remoteAccess = { ec2SshKey: "ops" }),
    },
    // Kubernetes pods
    {
        id: "k8s-added-capability",
        stack: "prod",
        what: "web adds NET_ADMIN",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "web-deployment").securityContext.capabilities.add = ["NET_ADMIN"]),
    },
    {
        id: "k8s-undeclared-capability",
        stack: "prod",
        what: "web adds CHOWN (of Docker's default set) without declaring it in dockyard.io/privileges",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "web-deployment").securityContext.capabilities.add = ["CHOWN"]),
    },
    {
        id: "k8s-declared-sys-admin",
        stack: "prod",
        what: "api declares and adds SYS_ADMIN",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => {
            const api = s.props(T.deployment, "api-deployment");
            api.metadata.annotations = { ...(api.metadata.annotations ?? {}), "dockyard.io/privileges": "SYS_ADMIN" };
            containerOf(s, T.deployment, "api-deployment").securityContext.capabilities.add = ["SYS_ADMIN"];
        },
    },
    {
        id: "k8s-sys-admin-without-drop",
        stack: "prod",
        what: "api stops dropping ALL and adds SYS_ADMIN",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "api-deployment").securityContext.capabilities = { add: ["SYS_ADMIN"] }),
    },
    {
        id: "k8s-privilege-escalation",
        stack: "prod",
        what: "redis allows privilege escalation",
        target: { type: T.statefulSet, name: "redis-statefulset" },
        mutate: (s) => (containerOf(s, T.statefulSet, "redis-statefulset").securityContext.allowPrivilegeEscalation = true),
    },
    {
        id: "k8s-docker-socket-host-path",
        stack: "prod",
        what: "web mounts the node's /var/run/docker.sock",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => {
            podOf(s, T.deployment, "web-deployment").volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock", type: "Socket" } });
            containerOf(s, T.deployment, "web-deployment").volumeMounts.push({ name: "docker", mountPath: "/var/run/docker.sock" });
        },
    },
    {
        id: "k8s-host-path-root",
        stack: "prod",
        what: "the migrate job mounts the node's /",
        target: { type: T.job, name: "migrate-job" },
        mutate: (s) => podOf(s, T.job, "migrate-job").volumes.push({ name: "host", hostPath: { path: "/" } }),
    },
    {
        id: "k8s-host-port",
        stack: "prod",
        what: "api binds hostPort 3000",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "api-deployment").ports[0].hostPort = 3000),
    },
    {
        id: "k8s-host-network",
        stack: "prod",
        what: "web joins the node's network namespace",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => (podOf(s, T.deployment, "web-deployment").hostNetwork = true),
    },
    {
        id: "k8s-seccomp-unconfined-pod",
        stack: "prod",
        what: "web's pod and container seccomp profiles become Unconfined",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => {
            podOf(s, T.deployment, "web-deployment").securityContext.seccompProfile = { type: "Unconfined" };
            delete containerOf(s, T.deployment, "web-deployment").securityContext.seccompProfile;
        },
    },
    {
        id: "k8s-seccomp-unconfined-container",
        stack: "prod",
        what: "the migrate container overrides the pod's RuntimeDefault with Unconfined",
        target: { type: T.job, name: "migrate-job" },
        mutate: (s) => (containerOf(s, T.job, "migrate-job").securityContext.seccompProfile = { type: "Unconfined" }),
    },
    {
        id: "k8s-privileged-in-kube-system",
        stack: "prod",
        what: "a privileged api pod is moved to kube-system",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => {
            s.props(T.deployment, "api-deployment").metadata.namespace = "kube-system";
            containerOf(s, T.deployment, "api-deployment").securityContext.privileged = true;
        },
    },
    {
        id: "k8s-run-as-root",
        stack: "prod",
        what: "web runs as uid 0",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => {
            const pod = podOf(s, T.deployment, "web-deployment");
            pod.securityContext.runAsUser = 0;
            pod.securityContext.runAsNonRoot = false;
            delete containerOf(s, T.deployment, "web-deployment").securityContext.runAsNonRoot;
        },
    },
    {
        id: "k8s-proc-mount-unmasked",
        stack: "prod",
        what: "api unmasks /proc",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "api-deployment").securityContext.procMount = "Unmasked"),
    },
    {
        id: "k8s-token-mounted",
        stack: "prod",
        what: "api mounts its service account token",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (podOf(s, T.deployment, "api-deployment").automountServiceAccountToken = true),
    },
    {
        id: "k8s-default-service-account",
        stack: "prod",
        what: "web runs as the default service account",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => delete podOf(s, T.deployment, "web-deployment").serviceAccountName,
    },
    {
        id: "k8s-default-namespace",
        stack: "prod",
        what: "api is deployed to the default namespace",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (s.props(T.deployment, "api-deployment").metadata.namespace = "default"),
    },
    {
        id: "k8s-secret-in-env",
        stack: "prod",
        what: "api reads the Redis password from an environment variable",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => containerOf(s, T.deployment, "api-deployment").env.push({ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "api-secret", key: "redis-password" } } }),
    },
    {
        id: "k8s-probes-removed",
        stack: "prod",
        what: "web loses its readiness probe",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => delete containerOf(s, T.deployment, "web-deployment").readinessProbe,
    },
    {
        id: "k8s-no-requests",
        stack: "prod",
        what: "redis drops its resource requests",
        target: { type: T.statefulSet, name: "redis-statefulset" },
        mutate: (s) => delete containerOf(s, T.statefulSet, "redis-statefulset").resources.requests,
    },
    {
        id: "k8s-writable-root",
        stack: "prod",
        what: "api's root filesystem becomes writable",
        target: { type: T.deployment, name: "api-deployment" },
        mutate: (s) => (containerOf(s, T.deployment, "api-deployment").securityContext.readOnlyRootFilesystem = false),
    },
    {
        id: "k8s-latest-image",
        stack: "prod",
        what: "redis runs redis:latest",
        target: { type: T.statefulSet, name: "redis-statefulset" },
        mutate: (s) => (containerOf(s, T.statefulSet, "redis-statefulset").image = "redis:latest"),
    },
    // Kubernetes cluster objects
    {
        id: "k8s-namespace-privileged",
        stack: "prod",
        what: "the stack's namespace enforces the privileged Pod Security level",
        target: { type: T.namespace, name: "prod-namespace" },
        mutate: (s) => (s.props(T.namespace, "prod-namespace").metadata.labels["pod-security.kubernetes.io/enforce"] = "privileged"),
    },
    {
        id: "k8s-namespace-baseline-undeclared",
        stack: "prod",
        what: "the stack's namespace enforces baseline though no workload declares a need for it",
        target: { type: T.namespace, name: "prod-namespace" },
        mutate: (s) => (s.props(T.namespace, "prod-namespace").metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline"),
    },
    {
        id: "k8s-namespace-label-removed",
        stack: "prod",
        what: "the stack's namespace loses its Pod Security enforce label",
        target: { type: T.namespace, name: "prod-namespace" },
        mutate: (s) => delete s.props(T.namespace, "prod-namespace").metadata.labels["pod-security.kubernetes.io/enforce"],
    },
    {
        id: "k8s-public-load-balancer",
        stack: "prod",
        what: "web's Service becomes an internet-facing LoadBalancer with no source ranges",
        target: { type: T.service, name: "web-service" },
        mutate: (s) => {
            const service = s.props(T.service, "web-service");
            service.spec.type = "LoadBalancer";
            service.metadata.annotations = { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" };
        },
    },
    {
        id: "k8s-load-balancer-two-halves",
        stack: "prod",
        what: "redis's Service becomes a LoadBalancer (default scheme) open to 0.0.0.0/1 and 128.0.0.0/1",
        target: { type: T.service, name: "redis-service" },
        mutate: (s) => {
            const service = s.props(T.service, "redis-service");
            service.spec.type = "LoadBalancer";
            service.spec.loadBalancerSourceRanges = ["0.0.0.0/1", "128.0.0.0/1"];
        },
    },
    {
        id: "k8s-node-port",
        stack: "prod",
        what: "api's Service becomes a NodePort",
        target: { type: T.service, name: "api-service" },
        mutate: (s) => (s.props(T.service, "api-service").spec.type = "NodePort"),
    },
    {
        id: "k8s-external-ips",
        stack: "prod",
        what: "api's Service claims an external IP",
        target: { type: T.service, name: "api-service" },
        mutate: (s) => (s.props(T.service, "api-service").spec.externalIPs = ["198.51.100.7"]),
    },
    {
        id: "k8s-alb-listen-port",
        stack: "prod",
        what: "the ALB Ingress listens on HTTP 8080",
        target: { type: T.ingress, name: "web-ingress" },
        mutate: (s) => (s.props(T.ingress, "web-ingress").metadata.annotations["alb.ingress.kubernetes.io/listen-ports"] = '[{"HTTP":80},{"HTTP":8080}]'),
    },
    {
        id: "k8s-cluster-admin-binding",
        stack: "prod",
        what: "web's service account is bound to cluster-admin",
        target: { type: T.clusterRoleBinding, name: "web-admin" },
        mutate: (s) => s.add(binding(T.clusterRoleBinding, "web-admin", "cluster-admin", WEB_SA)),
    },
    {
        id: "k8s-namespaced-cluster-admin",
        stack: "prod",
        what: "a RoleBinding grants cluster-admin in the stack's namespace",
        target: { type: T.roleBinding, name: "web-ns-admin" },
        mutate: (s) => s.add(binding(T.roleBinding, "web-ns-admin", "cluster-admin", WEB_SA, "prod")),
    },
    {
        id: "k8s-anonymous-binding",
        stack: "prod",
        what: "view is bound to system:anonymous",
        target: { type: T.clusterRoleBinding, name: "anonymous-view" },
        mutate: (s) => s.add(binding(T.clusterRoleBinding, "anonymous-view", "view", { kind: "User", name: "system:anonymous", apiGroup: "rbac.authorization.k8s.io" })),
    },
    {
        id: "k8s-wildcard-role",
        stack: "prod",
        what: "a Role grants every verb on every resource",
        target: { type: T.k8sRole, name: "web-everything" },
        mutate: (s) => s.add({ type: T.k8sRole, name: "web-everything", props: { metadata: { name: "web-everything", namespace: "prod" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] } }),
    },
    {
        id: "k8s-impersonate-role",
        stack: "prod",
        what: "a ClusterRole grants impersonate on users",
        target: { type: T.clusterRole, name: "impersonator" },
        mutate: (s) => s.add({ type: T.clusterRole, name: "impersonator", props: { metadata: { name: "impersonator" }, rules: [{ apiGroups: [""], resources: ["users"], verbs: ["impersonate"] }] } }),
    },
    {
        id: "k8s-storage-class-unencrypted",
        stack: "prod",
        what: "the gp3 StorageClass stops encrypting",
        target: { type: T.storageClass, name: "prod-eks-storage-gp3" },
        mutate: (s) => (s.props(T.storageClass, "prod-eks-storage-gp3").parameters.encrypted = "false"),
    },
    {
        id: "k8s-default-deny-removed",
        stack: "prod",
        what: "the namespace's default-deny NetworkPolicy is deleted",
        target: { type: T.deployment, name: "web-deployment" },
        mutate: (s) => s.remove(T.networkPolicy, "prod-default-deny"),
    },
    {
        id: "k8s-pdb-zero",
        stack: "prod",
        what: "api's disruption budget allows no eviction",
        target: { type: T.pdb, name: "api-pdb" },
        mutate: (s) => (s.props(T.pdb, "api-pdb").spec.maxUnavailable = 0),
    },
    {
        id: "helm-unpinned-chart",
        stack: "prod",
        what: "the load balancer controller chart loses its version (latest)",
        target: { type: T.helm, name: "prod-eks-lbc-release" },
        mutate: (s) => delete s.props(T.helm, "prod-eks-lbc-release").version,
    },
    // Swarm
    {
        id: "swarm-docker-socket",
        stack: "dev",
        what: "web bind-mounts the Docker socket",
        target: { type: T.swarmService, name: "dev-web" },
        mutate: (s) => swarmContainer(s, "dev-web").mounts.push({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }),
    },
    {
        id: "swarm-host-root-as-volume",
        stack: "local",
        what: "redis mounts the host's / through a local-driver volume with o=bind",
        target: { type: T.swarmService, name: "local-redis" },
        mutate: (s) =>
            swarmContainer(s, "local-redis").mounts.push({ type: "volume", source: "hostroot", target: "/host", volumeOptions: { driverName: "local", driverOptions: { type: "none", o: "bind", device: "/" } } }),
    },
    {
        id: "swarm-host-root-as-rbind-volume",
        stack: "dev",
        what: "api mounts the host's / through a local-driver volume with o=rbind",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) =>
            swarmContainer(s, "dev-api").mounts.push({ type: "volume", source: "hostroot", target: "/host", volumeOptions: { driverName: "local", driverOptions: { type: "none", o: "ro,rbind", device: "/" } } }),
    },
    {
        id: "swarm-added-capability",
        stack: "dev",
        what: "api adds NET_ADMIN",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => (swarmContainer(s, "dev-api").capAdds = ["NET_ADMIN"]),
    },
    {
        id: "swarm-undeclared-capability",
        stack: "dev",
        what: "api adds SETUID (of Docker's default set) without declaring it in dockyard.privileges",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => (swarmContainer(s, "dev-api").capAdds = ["SETUID"]),
    },
    {
        id: "swarm-root-declaring-capabilities-only",
        stack: "local",
        what: "web declares CHOWN only and runs as root",
        target: { type: T.swarmService, name: "local-web" },
        mutate: (s) => {
            s.props(T.swarmService, "local-web").labels.push({ label: "dockyard.privileges", value: "CHOWN" });
            swarmContainer(s, "local-web").user = "0:0";
        },
    },
    {
        id: "swarm-capabilities-kept",
        stack: "local",
        what: "web stops dropping capabilities",
        target: { type: T.swarmService, name: "local-web" },
        mutate: (s) => (swarmContainer(s, "local-web").capDrops = []),
    },
    {
        id: "swarm-host-network",
        stack: "dev",
        what: "web joins the host network",
        target: { type: T.swarmService, name: "dev-web" },
        mutate: (s) => s.props(T.swarmService, "dev-web").taskSpec.networksAdvanceds.push({ name: "host" }),
    },
    {
        id: "swarm-overlay-unencrypted",
        stack: "dev",
        what: "the workloads overlay network stops encrypting",
        target: { type: T.swarmNetwork, name: "dev-workloads" },
        mutate: (s) => delete s.props(T.swarmNetwork, "dev-workloads").options.encrypted,
    },
    {
        id: "swarm-root-user",
        stack: "local",
        what: "the migrate job runs as root",
        target: { type: T.swarmService, name: "local-migrate" },
        mutate: (s) => (swarmContainer(s, "local-migrate").user = "0:0"),
    },
    {
        id: "swarm-writable-root",
        stack: "dev",
        what: "redis's root filesystem becomes writable",
        target: { type: T.swarmService, name: "dev-redis" },
        mutate: (s) => (swarmContainer(s, "dev-redis").readOnly = false),
    },
    {
        id: "swarm-no-health-check",
        stack: "dev",
        what: "api's health check is disabled",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => (swarmContainer(s, "dev-api").healthcheck = { tests: ["NONE"] }),
    },
    {
        id: "swarm-latest-image",
        stack: "local",
        what: "web runs nginx:latest",
        target: { type: T.swarmService, name: "local-web" },
        mutate: (s) => (swarmContainer(s, "local-web").image = "nginx:latest"),
    },
    {
        id: "swarm-no-limits",
        stack: "dev",
        what: "api's limits are removed",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => delete s.props(T.swarmService, "dev-api").taskSpec.resources.limits,
    },
    {
        id: "swarm-no-rollback",
        stack: "dev",
        what: "a failed web update pauses instead of rolling back",
        target: { type: T.swarmService, name: "dev-web" },
        mutate: (s) => (s.props(T.swarmService, "dev-web").updateConfig.failureAction = "pause"),
    },
    // A restart policy that looks like a job's does not make a server a job (cold review of issue 17).
    {
        id: "swarm-server-restarted-on-failure-without-health-check",
        stack: "dev",
        what: "api restarts only on failure and loses its health check (no job-spec label)",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => {
            s.props(T.swarmService, "dev-api").taskSpec.restartPolicy.condition = "on-failure";
            swarmContainer(s, "dev-api").healthcheck = { tests: ["NONE"] };
        },
    },
    {
        id: "swarm-server-never-restarted-without-health-check",
        stack: "local",
        what: "api is never restarted and has no health check (no job-spec label)",
        target: { type: T.swarmService, name: "local-api" },
        mutate: (s) => {
            s.props(T.swarmService, "local-api").taskSpec.restartPolicy.condition = "none";
            delete swarmContainer(s, "local-api").healthcheck;
        },
    },
    {
        id: "swarm-server-restarted-on-failure-pauses-update",
        stack: "dev",
        what: "web restarts only on failure and a failed update pauses instead of rolling back",
        target: { type: T.swarmService, name: "dev-web" },
        mutate: (s) => {
            const web = s.props(T.swarmService, "dev-web");
            web.taskSpec.restartPolicy.condition = "on-failure";
            web.updateConfig.failureAction = "pause";
        },
    },
    {
        id: "swarm-deploys-build-cache",
        stack: "dev",
        what: "api runs the build-cache tag",
        target: { type: T.swarmService, name: "dev-api" },
        mutate: (s) => (swarmContainer(s, "dev-api").image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/buildcache/api:buildcache"),
    },
];

export interface MutationResult {
    readonly mutation: Mutation;
    readonly caught: boolean;
    /** The mandatory findings that name the target. */
    readonly findings: Finding[];
}

const renders = new Map<StackName, Promise<FakeResource[]>>();

/** The offline render of a stack as the policy engine sees it (rendered once per process). */
export function renderedResources(stack: StackName): Promise<FakeResource[]> {
    if (!renders.has(stack)) renders.set(stack, renderStack(stack).then((run) => fromRender(run)));
    return renders.get(stack)!;
}

/** Applies one mutation to a copy of its stack's render and runs the pack over the result. */
export async function runMutation(policies: Policies, mutation: Mutation): Promise<MutationResult> {
    const stack = new MutableStack(structuredClone(await renderedResources(mutation.stack)));
    mutation.mutate(stack);
    const subject = `${mutation.target.type} "${mutation.target.name}"`;
    const findings = (await runPack(policies, stack.resources)).filter((f) => f.enforcementLevel === "mandatory" && f.message.includes(subject));
    return { mutation, caught: findings.length > 0, findings };
}

export async function runMutations(policies: Policies, mutations: readonly Mutation[] = MUTATIONS): Promise<MutationResult[]> {
    const results: MutationResult[] = [];
    for (const mutation of mutations) results.push(await runMutation(policies, mutation));
    return results;
}

export function formatResults(results: readonly MutationResult[]): string {
    const caught = results.filter((r) => r.caught).length;
    const lines = results.map((r) => `  ${r.caught ? "caught" : "MISSED"}  ${r.mutation.stack.padEnd(5)} ${r.mutation.id}: ${r.mutation.what}`);
    return `${lines.join("\n")}\npolicy pack caught ${caught} of ${results.length} mutations`;
}

async function main(argv: readonly string[]): Promise<void> {
    const at = argv.indexOf("--rules");
    const rulesDir = at >= 0 ? path.resolve(argv[at + 1]) : path.join(__dirname, "..", "policy", "rules");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { policies } = require(rulesDir) as { policies: Policies };
    console.log(`rules: ${path.relative(process.cwd(), rulesDir) || "."}`);
    console.log(formatResults(await runMutations(policies)));
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err) => {
        console.error(err);
        process.exit(1);
    });
}
