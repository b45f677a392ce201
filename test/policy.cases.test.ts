/**
 * Every rule of the pack, each with a resource (or stack) it must pass and one it must report,
 * named in the message. The list must name every policy: a rule added without a case fails here.
 */
import { expect } from "chai";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policy/rules";
import { FakeResource, runResourcePolicy, runStackPolicy } from "./policyHarness";

const DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:${"a".repeat(64)}`;

interface ResourceCase {
    readonly good: FakeResource;
    readonly bad: FakeResource;
    /** What the report on `bad` says. */
    readonly expected: RegExp;
}

interface StackCase {
    readonly good: FakeResource[];
    readonly bad: FakeResource[];
    /** The resource of `bad` that the report names. */
    readonly named: string;
    readonly expected: RegExp;
}

const doc = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const trust = (Principal: unknown, Condition?: unknown) => doc({ Effect: "Allow", Principal, Action: "sts:AssumeRole", ...(Condition ? { Condition } : {}) });

const rule = (ipProtocol: string, fromPort: number, cidrIpv4: string, group = "nodes", name = `${group}-${fromPort}-${cidrIpv4}`): FakeResource => ({
    type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    name,
    props: { ipProtocol, fromPort, toPort: fromPort, cidrIpv4, securityGroupId: `${group}-id` },
    propertyDependencies: { securityGroupId: [group] },
});
const group = (name: string, tags: Record<string, string> = {}): FakeResource => ({ type: "aws:ec2/securityGroup:SecurityGroup", name, props: { tags } });


/** A hardened container, as the program renders one; cases change one thing. */
const CONTAINER = {
    name: "api",
    image: DIGEST,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
    resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m", memory: "128Mi" } },
    readinessProbe: { httpGet: { path: "/healthz", port: 3000 } },
    livenessProbe: { tcpSocket: { port: 3000 } },
};
const POD = { automountServiceAccountToken: false, serviceAccountName: "api", securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } } };

const deployment = (container: Record<string, unknown> = {}, pod: Record<string, unknown> = {}, namespace = "apps"): FakeResource => ({
    type: "kubernetes:apps/v1:Deployment",
    props: { metadata: { name: "api", namespace }, spec: { template: { spec: { ...POD, containers: [{ ...CONTAINER, ...container }], ...pod } } } },
});

const swarmService = (container: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): FakeResource => ({
    type: "docker:index/service:Service",
    props: {
        taskSpec: {
            containerSpec: { image: DIGEST, user: "10001:10001", readOnly: true, capDrops: ["ALL"], healthcheck: { tests: ["CMD", "wget", "-q", "http://127.0.0.1:8080/health"] }, ...container },
            resources: { limits: { nanoCpus: 500000000, memoryBytes: 268435456 } },
            restartPolicy: { condition: "any" },
        },
        updateConfig: { failureAction: "rollback" },
        ...rest,
    },
});

export const RESOURCE_CASES: Record<string, ResourceCase> = {
    "iam-no-wildcard-actions": {
        good: { type: "aws:iam/rolePolicy:RolePolicy", props: { policy: doc({ Effect: "Allow", Action: ["ssm:GetParameter", "ec2:Describe*"], Resource: "*" }, { Effect: "Deny", Action: "*", Resource: "*" }) } },
        bad: { type: "aws:iam/rolePolicy:RolePolicy", props: { policy: doc({ Effect: "Allow", Action: ["ssm:GetParameter", "s3:*"], Resource: "*" }) } },
        expected: /statement 0 allows "s3:\*" on Resource "\*"/,
    },
    "iam-trust-no-public-principal": {
        good: { type: "aws:iam/role:Role", props: { assumeRolePolicy: trust({ Service: "ec2.amazonaws.com" }) } },
        bad: { type: "aws:iam/role:Role", props: { assumeRolePolicy: trust({ AWS: ["arn:aws:iam::123456789012:root", "*"] }, { Bool: { "aws:SecureTransport": "true" } }) } },
        expected: /lets any AWS principal assume the role/,
    },
    "iam-no-admin-managed-policies": {
        good: { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } },
        bad: { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } },
        expected: /attaches arn:aws:iam::aws:policy\/AdministratorAccess, which grants administrator access/,
    },
    "iam-no-user-credentials": {
        good: { type: "aws:iam/role:Role", props: { assumeRolePolicy: trust({ Service: "ec2.amazonaws.com" }) } },
        bad: { type: "aws:iam/accessKey:AccessKey", props: { user: "deployer" } },
        expected: /creates a long-lived access key/,
    },
    "no-public-resource-policies": {
        good: {
            type: "aws:ecr/repositoryPolicy:RepositoryPolicy",
            props: { policy: doc({ Effect: "Allow", Principal: "*", Action: "ecr:BatchGetImage", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc" } } }) },
        },
        bad: { type: "aws:ecr/repositoryPolicy:RepositoryPolicy", props: { policy: doc({ Sid: "Pull", Effect: "Allow", Principal: { AWS: "*" }, Action: "ecr:BatchGetImage", Condition: { Bool: { "aws:SecureTransport": "true" } } }) } },
        expected: /statement "Pull" allows "ecr:BatchGetImage" to everyone/,
    },
    "kms-key-rotation": {
        good: { type: "aws:kms/key:Key", props: { enableKeyRotation: true } },
        bad: { type: "aws:kms/key:Key", props: { keySpec: "SYMMETRIC_DEFAULT" } },
        expected: /enableKeyRotation must be true, found "unset \(off\)"/,
    },
    "log-group-retention": {
        good: { type: "aws:cloudwatch/logGroup:LogGroup", props: { retentionInDays: 14 } },
        bad: { type: "aws:cloudwatch/logGroup:LogGroup", props: { retentionInDays: 0 } },
        expected: /retentionInDays must be set \(1 to 3653 days\), found 0/,
    },
    "ebs-encrypted": {
        good: { type: "aws:ebs/volume:Volume", props: { encrypted: true } },
        bad: { type: "aws:ebs/volume:Volume", props: { size: 10 } },
        expected: /encrypted must be true/,
    },
    "efs-encrypted": {
        good: { type: "aws:efs/fileSystem:FileSystem", props: { encrypted: true } },
        bad: { type: "aws:efs/fileSystem:FileSystem", props: {} },
        expected: /encrypted must be true/,
    },
    "efs-access-points-enforced": {
        good: { type: "aws:efs/accessPoint:AccessPoint", props: { posixUser: { uid: 999, gid: 1000 }, rootDirectory: { path: "/dockyard/dev/redis" } } },
        bad: { type: "aws:efs/accessPoint:AccessPoint", props: { rootDirectory: { path: "/" } } },
        expected: /rootDirectory.path must name a directory below \/[\s\S]*posixUser must set uid and gid/,
    },
    "imdsv2-required": {
        good: { type: "aws:ec2/instance:Instance", props: { metadataOptions: { httpTokens: "required" } } },
        bad: { type: "aws:ec2/instance:Instance", props: { metadataOptions: { httpTokens: "optional" } } },
        expected: /httpTokens must be "required"/,
    },
    "imds-hop-limit": {
        good: { type: "aws:ec2/launchTemplate:LaunchTemplate", props: { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } } },
        bad: { type: "aws:ec2/launchTemplate:LaunchTemplate", props: { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } } },
        expected: /httpPutResponseHopLimit must be 1, found 2/,
    },
    "no-public-ingress-except-listeners": {
        good: { type: "aws:ec2/securityGroup:SecurityGroup", props: { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }, { protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/1"] }] } },
        bad: { type: "aws:ec2/securityGroup:SecurityGroup", props: { ingress: [{ protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"] }] } },
        expected: /allows tcp port 6379 from 0.0.0.0\/1\+128.0.0.0\/1/,
    },
    "no-admin-ports-from-internet": {
        good: { type: "aws:ec2/securityGroupRule:SecurityGroupRule", props: { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] } },
        bad: { type: "aws:ec2/securityGroupRule:SecurityGroupRule", props: { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["::/1", "8000::/1"] } },
        expected: /opens SSH \(port 22\) to ::\/1\+8000::\/1/,
    },
    "ecr-scan-on-push": {
        good: { type: "aws:ecr/repository:Repository", props: { imageScanningConfiguration: { scanOnPush: true } } },
        bad: { type: "aws:ecr/repository:Repository", props: {} },
        expected: /scanOnPush must be true/,
    },
    "ecr-immutable-tags": {
        good: { type: "aws:ecr/repository:Repository", props: { imageTagMutability: "IMMUTABLE" } },
        bad: { type: "aws:ecr/repository:Repository", props: { imageTagMutability: "MUTABLE" } },
        expected: /imageTagMutability must be "IMMUTABLE"/,
    },
    "images-no-cache-deploys": {
        good: { type: "docker:index/service:Service", props: { taskSpec: { containerSpec: { image: DIGEST } } } },
        bad: { type: "docker:index/service:Service", props: { taskSpec: { containerSpec: { image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/buildcache/api:buildcache" } } } },
        expected: /a build-cache reference/,
    },
    "images-immutable-deploy-repositories": {
        good: { type: "aws:ecr/repository:Repository", props: { name: "dockyard/dev/api", imageTagMutability: "IMMUTABLE" } },
        bad: { type: "aws:ecr/repository:Repository", props: { name: "dockyard/dev/api", imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "buildcache" }] } },
        expected: /must be "IMMUTABLE" in a deploy repository/,
    },
    "eks-control-plane-logs": {
        good: { type: "eks:index:Cluster", props: { enabledClusterLogTypes: ["api", "audit", "authenticator"] } },
        bad: { type: "eks:index:Cluster", props: { enabledClusterLogTypes: ["api"] } },
        expected: /lacks audit, authenticator/,
    },
    "eks-secrets-encryption": {
        good: { type: "eks:index:Cluster", props: { encryptionConfigKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abc" } },
        bad: { type: "eks:index:Cluster", props: {} },
        expected: /not envelope-encrypted/,
    },
    "eks-endpoint-not-public": {
        good: { type: "eks:index:Cluster", props: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/1"] } },
        bad: { type: "eks:index:Cluster", props: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/1", "128.0.0.0/1"] } },
        expected: /opens the API endpoint to the whole internet \(0.0.0.0\/1 \+ 128.0.0.0\/1\)/,
    },
    "eks-node-group-no-remote-access": {
        good: { type: "aws:eks/nodeGroup:NodeGroup", props: { clusterName: "c" } },
        bad: { type: "aws:eks/nodeGroup:NodeGroup", props: { clusterName: "c", remoteAccess: { ec2SshKey: "ops" } } },
        expected: /remoteAccess opens SSH to the nodes from 0.0.0.0\/0/,
    },
    "k8s-run-as-non-root": {
        good: deployment(),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, runAsNonRoot: undefined, runAsUser: 0 } }),
        expected: /container "api": runs as root/,
    },
    "k8s-not-privileged": { good: deployment(), bad: deployment({ securityContext: { ...CONTAINER.securityContext, privileged: true } }), expected: /must not be privileged/ },
    "k8s-no-host-namespaces": { good: deployment(), bad: deployment({}, { hostPID: true }), expected: /hostPID must not be true/ },
    "k8s-resource-limits": { good: deployment(), bad: deployment({ resources: { limits: { memory: "256Mi" } } }), expected: /resources.limits lacks cpu/ },
    "k8s-read-only-root-filesystem": {
        good: deployment(),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, readOnlyRootFilesystem: false } }),
        expected: /readOnlyRootFilesystem: true/,
    },
    "k8s-pinned-images": { good: deployment({ image: "redis:7.4-alpine" }), bad: deployment({ image: "redis" }), expected: /has no tag/ },
    "swarm-health-check": { good: swarmService(), bad: swarmService({ healthcheck: { tests: ["NONE"] } }), expected: /healthcheck.tests must declare a check/ },
    "swarm-rollback-on-failure": { good: swarmService(), bad: swarmService({}, { updateConfig: { failureAction: "continue" } }), expected: /failureAction must be "rollback"/ },
    "swarm-resource-limits": { good: swarmService(), bad: { type: "docker:index/service:Service", props: { taskSpec: { containerSpec: { image: DIGEST } } } }, expected: /lacks nanoCpus and memoryBytes/ },
    "swarm-read-only": { good: swarmService(), bad: swarmService({ readOnly: false }), expected: /readOnly must be true/ },
    "swarm-non-root-user": { good: swarmService(), bad: swarmService({ user: "0:0" }), expected: /is root/ },
    "swarm-pinned-images": { good: swarmService(), bad: swarmService({ image: "redis:latest" }), expected: /uses :latest/ },
    "swarm-no-host-mounts": {
        good: swarmService({ mounts: [{ type: "volume", source: "data", target: "/data" }, { type: "tmpfs", target: "/tmp" }] }),
        bad: swarmService({ mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] }),
        expected: /exposes the host's "\/var\/run\/docker.sock" \(the Docker socket: root on the node\)/,
    },
    "swarm-capabilities": { good: swarmService({ capAdds: ["NET_BIND_SERVICE"] }), bad: swarmService({ capAdds: ["SYS_PTRACE"] }), expected: /capAdds SYS_PTRACE/ },
    "swarm-no-host-network": {
        good: swarmService({}, { taskSpec: { ...swarmService().props.taskSpec, networksAdvanceds: [{ id: "net-1" }] } }),
        bad: swarmService({}, { taskSpec: { ...swarmService().props.taskSpec, networksAdvanceds: [{ name: "host" }] } }),
        expected: /joins the host network/,
    },
    "swarm-no-host-volumes": {
        good: { type: "docker:index/volume:Volume", props: { driver: "local", driverOpts: { type: "nfs", o: "addr=fs-1.efs.us-east-1.amazonaws.com,nfsvers=4.1", device: ":/" } } },
        bad: { type: "docker:index/volume:Volume", props: { driverOpts: { type: "none", o: "rbind", device: "/var/run/docker.sock" } } },
        expected: /driverOpts o=rbind binds the host's "\/var\/run\/docker.sock" \(the Docker socket: root on the node\)/,
    },
    "swarm-overlay-encrypted": {
        good: { type: "docker:index/network:Network", props: { driver: "overlay", options: { encrypted: "true" } } },
        bad: { type: "docker:index/network:Network", props: { driver: "overlay" } },
        expected: /options.encrypted must be "true"/,
    },
    "k8s-no-privilege-escalation": {
        good: deployment(),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, allowPrivilegeEscalation: undefined } }),
        expected: /allowPrivilegeEscalation: false/,
    },
    "k8s-capabilities": {
        good: deployment({ securityContext: { ...CONTAINER.securityContext, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } } }),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, capabilities: { drop: ["ALL"], add: ["CAP_SYS_ADMIN"] } } }),
        expected: /adds capabilities CAP_SYS_ADMIN/,
    },
    "k8s-seccomp": {
        good: deployment({ securityContext: { ...CONTAINER.securityContext, seccompProfile: undefined } }),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, seccompProfile: { type: "Unconfined" } } }),
        expected: /seccompProfile.type is "Unconfined"/,
    },
    "k8s-default-proc-mount": {
        good: deployment({ securityContext: { ...CONTAINER.securityContext, procMount: "Default" } }),
        bad: deployment({ securityContext: { ...CONTAINER.securityContext, procMount: "Unmasked" } }),
        expected: /procMount "Unmasked"/,
    },
    "k8s-no-host-paths": {
        good: deployment({}, { volumes: [{ name: "tmp", emptyDir: {} }] }),
        bad: deployment({}, { volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }] }),
        expected: /volume "docker" mounts the node's "\/var\/run\/docker.sock" \(the container runtime socket/,
    },
    "k8s-no-host-ports": { good: deployment({ ports: [{ containerPort: 3000 }] }), bad: deployment({ ports: [{ containerPort: 3000, hostPort: 3000 }] }), expected: /hostPort 3000/ },
    "k8s-service-account-token": {
        good: deployment(),
        bad: deployment({}, { automountServiceAccountToken: undefined, serviceAccountName: "default" }),
        expected: /automountServiceAccountToken: false[\s\S]*not "default"/,
    },
    "k8s-probes": { good: deployment(), bad: deployment({ livenessProbe: undefined }), expected: /declares no livenessProbe/ },
    "k8s-no-secret-env": {
        good: deployment({ env: [{ name: "PORT", value: "3000" }] }),
        bad: deployment({ env: [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis", key: "password" } } }] }),
        expected: /env REDIS_PASSWORD reads Secret "redis"/,
    },
    "k8s-not-default-namespace": { good: deployment(), bad: deployment({}, {}, "default"), expected: /metadata.namespace is "default"/ },
    "k8s-namespace-pod-security": {
        good: { type: "kubernetes:core/v1:Namespace", props: { metadata: { name: "apps", labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } },
        bad: { type: "kubernetes:core/v1:Namespace", props: { metadata: { name: "apps", labels: { "pod-security.kubernetes.io/enforce": "privileged" } } } },
        expected: /is "privileged"; set it to "restricted"/,
    },
    "k8s-no-powerful-bindings": {
        good: { type: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", props: { roleRef: { kind: "Role", name: "reader" }, subjects: [{ kind: "ServiceAccount", name: "api", namespace: "apps" }] } },
        bad: { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", props: { roleRef: { kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "api", namespace: "apps" }] } },
        expected: /binds cluster-admin to ServiceAccount apps\/api/,
    },
    "k8s-no-rbac-wildcards": {
        good: { type: "kubernetes:rbac.authorization.k8s.io/v1:Role", props: { rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] } },
        bad: { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", props: { rules: [{ apiGroups: [""], resources: ["*"], verbs: ["get"] }] } },
        expected: /rules\[0\] uses "\*" in resources/,
    },
    "k8s-service-exposure": {
        good: { type: "kubernetes:core/v1:Service", props: { metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" } }, spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["203.0.113.0/24"] } } },
        bad: { type: "kubernetes:core/v1:Service", props: { metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" } }, spec: { type: "LoadBalancer" } } },
        expected: /internet-facing LoadBalancer with no loadBalancerSourceRanges/,
    },
    "k8s-ingress-listen-ports": {
        good: { type: "kubernetes:networking.k8s.io/v1:Ingress", props: { metadata: { annotations: { "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]' } } } },
        bad: { type: "kubernetes:networking.k8s.io/v1:Ingress", props: { metadata: { annotations: { "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":8443}]' } } } },
        expected: /opens HTTPS 8443/,
    },
    "k8s-storage-class-encrypted": {
        good: { type: "kubernetes:storage.k8s.io/v1:StorageClass", props: { provisioner: "ebs.csi.aws.com", parameters: { type: "gp3", encrypted: "true" } } },
        bad: { type: "kubernetes:storage.k8s.io/v1:StorageClass", props: { provisioner: "ebs.csi.aws.com", parameters: { type: "gp3" } } },
        expected: /parameters.encrypted must be "true", found "unset"/,
    },
    "k8s-pdb-allows-disruption": {
        good: { type: "kubernetes:policy/v1:PodDisruptionBudget", props: { spec: { maxUnavailable: 1 } } },
        bad: { type: "kubernetes:policy/v1:PodDisruptionBudget", props: { spec: { maxUnavailable: "0%" } } },
        expected: /maxUnavailable "0%" forbids every eviction/,
    },
    "workload-privileges": {
        good: deployment(),
        bad: { type: "kubernetes:apps/v1:Deployment", props: { metadata: { name: "db", namespace: "apps", annotations: { "dockyard.io/privileges": "root,CHOWN" } }, spec: { template: { spec: { ...POD, containers: [CONTAINER] } } } } },
        expected: /runs with privileges "root,CHOWN"/,
    },
    "helm-pinned-chart-version": {
        good: { type: "kubernetes:helm.sh/v3:Release", props: { chart: "cluster-autoscaler", version: "9.50.1" } },
        bad: { type: "kubernetes:helm.sh/v3:Release", props: { chart: "cluster-autoscaler", version: "^9.50" } },
        expected: /version "\^9.50" is not an exact version/,
    },
};

export const STACK_CASES: Record<string, StackCase> = {
    "public-listeners-only-on-load-balancers": {
        good: [group("managers", { "dockyard:ingress": "direct" }), rule("tcp", 80, "0.0.0.0/0", "managers")],
        bad: [group("managers", { "dockyard:ingress": "alb" }), rule("tcp", 80, "0.0.0.0/0", "managers", "managers-http")],
        named: "managers-http",
        expected: /allows tcp port 80 from 0.0.0.0\/0 but its security group is not attached/,
    },
    "no-internet-ingress-across-rules": {
        good: [group("nodes"), rule("tcp", 6379, "0.0.0.0/1"), rule("tcp", 6380, "128.0.0.0/1")],
        bad: [group("nodes"), rule("tcp", 6379, "0.0.0.0/1", "nodes", "low"), rule("tcp", 6379, "128.0.0.0/1", "nodes", "high")],
        named: "high",
        expected: /together with "low", "high" allows tcp port 6379 from 0.0.0.0\/1\+128.0.0.0\/1, which is the whole internet/,
    },
    "k8s-default-deny-network-policy": {
        good: [
            { ...deployment(), name: "api" },
            { type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", name: "deny", props: { metadata: { namespace: "apps" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } } },
        ],
        bad: [
            { ...deployment(), name: "api" },
            { type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", name: "allow", props: { metadata: { namespace: "apps" }, spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] } } },
        ],
        named: '"api"',
        expected: /namespace apps has no default-deny NetworkPolicy/,
    },
    "ecr-lifecycle-policy": {
        good: [
            { type: "aws:ecr/repository:Repository", name: "api-repo", props: { name: "dockyard/dev/api" } },
            { type: "aws:ecr/lifecyclePolicy:LifecyclePolicy", name: "api-lifecycle", props: { repository: "dockyard/dev/api" } },
        ],
        bad: [
            { type: "aws:ecr/repository:Repository", name: "api-repo", props: { name: "dockyard/dev/api" } },
            { type: "aws:ecr/lifecyclePolicy:LifecyclePolicy", name: "web-lifecycle", props: { repository: "dockyard/dev/web" } },
        ],
        named: "api-repo",
        expected: /no aws.ecr.LifecyclePolicy applies to it/,
    },
    "nat-gateway-per-az-outside-production": {
        good: [{ type: "aws:ec2/natGateway:NatGateway", name: "nat-0", props: {}, provider: { type: "pulumi:providers:aws", name: "aws", props: { defaultTags: JSON.stringify({ tags: { "dockyard:stack": "dev" } }) } } }],
        bad: ["nat-0", "nat-1"].map((name) => ({ type: "aws:ec2/natGateway:NatGateway", name, props: {}, provider: { type: "pulumi:providers:aws", name: "aws", props: { defaultTags: JSON.stringify({ tags: { "dockyard:stack": "dev" } }) } } })),
        named: "nat-0",
        expected: /has 2 NAT gateways \(nat-0, nat-1\)/,
    },
};

describe("every policy, with a passing and a violating case", () => {
    it("has a case for every policy of the pack, and none for a policy that does not exist", () => {
        const names = policies.map((p) => p.name).sort();
        expect([...Object.keys(RESOURCE_CASES), ...Object.keys(STACK_CASES)].sort()).to.deep.equal(names);
    });

    for (const policy of policies) {
        if ("validateStack" in policy) {
            const c = STACK_CASES[policy.name];
            if (!c) continue;
            it(`${policy.name} (stack)`, async () => {
                const stackPolicy = policy as StackValidationPolicy;
                expect((await runStackPolicy(stackPolicy, c.good)).violations, "on the passing stack").to.deep.equal([]);
                const bad = await runStackPolicy(stackPolicy, c.bad);
                expect(bad.violations, "on the violating stack").to.have.length.greaterThan(0);
                expect(bad.violations.join("\n")).to.include(c.named);
                expect(bad.violations.join("\n")).to.match(c.expected);
            });
        } else {
            const c = RESOURCE_CASES[policy.name];
            if (!c) continue;
            it(policy.name, async () => {
                const resourcePolicy = policy as ResourceValidationPolicy;
                const pass = await runResourcePolicy(resourcePolicy, { name: "good", ...c.good });
                expect(pass.applicable, `applies to ${c.good.type}`).to.equal(true);
                expect(pass.violations, "on the passing resource").to.deep.equal([]);
                const fail = await runResourcePolicy(resourcePolicy, { name: "bad", ...c.bad });
                expect(fail.violations, "on the violating resource").to.have.length.greaterThan(0);
                for (const message of fail.violations) expect(message).to.include(`${c.bad.type} "bad"`);
                expect(fail.violations.join("\n")).to.match(c.expected);
            });
        }
    }
});
