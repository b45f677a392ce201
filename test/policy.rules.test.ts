import { expect } from "chai";
import { ResourceValidationPolicy } from "@pulumi/policy";
import { JOB_SPEC_LABEL } from "../components/swarm/service";
import { natGatewayPerAzOutsideProduction } from "../policy/rules/cost";
import { ecrImmutableTags, ecrScanOnPush } from "../policy/rules/ecr";
import { eksControlPlaneLogs, eksEndpointNotPublic, eksSecretsEncryption } from "../policy/rules/eks";
import { policies } from "../policy/rules";
import { imdsv2Required } from "../policy/rules/instances";
import { k8sCapabilities, k8sNoHostNamespaces, k8sNotPrivileged, k8sPinnedImages, k8sReadOnlyRootFilesystem, k8sResourceLimits, k8sRunAsNonRoot } from "../policy/rules/kubernetes";
import { k8sNamespacePodSecurity } from "../policy/rules/kubernetesCluster";
import { declaredPrivileges, workloadPrivileges } from "../policy/rules/privileges";
import { listenersOnlyOnLoadBalancers, noAdminPortsFromInternet, noPublicIngressExceptListeners } from "../policy/rules/securityGroups";
import { ebsEncrypted, efsEncrypted } from "../policy/rules/storage";
import { swarmCapabilities, swarmHealthCheck, swarmNonRootUser, swarmPinnedImages, swarmReadOnly, swarmResourceLimits, swarmRollbackOnFailure } from "../policy/rules/swarm";
import { FakeResource, runResourcePolicy, runStackPolicy } from "./policyHarness";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:${"a".repeat(64)}`;

/** Asserts the policy passes `good`, and reports on `bad` with a message naming it and matching `expected`. */
async function expectRule(policy: ResourceValidationPolicy, good: FakeResource, bad: FakeResource, expected: RegExp, config: Record<string, unknown> = {}) {
    const pass = await runResourcePolicy(policy, { name: "good", ...good }, config);
    expect(pass.applicable, `${policy.name} applies to ${good.type}`).to.equal(true);
    expect(pass.violations, `${policy.name} on the good ${good.type}`).to.deep.equal([]);
    const fail = await runResourcePolicy(policy, { name: "bad", ...bad }, config);
    expect(fail.violations, `${policy.name} on the bad ${bad.type}`).to.have.length.greaterThan(0);
    for (const message of fail.violations) expect(message).to.include(`${bad.type} "bad"`);
    expect(fail.violations.join("\n")).to.match(expected);
}

describe("policy rules", () => {
    it("every policy has a unique name, a description and an explicit enforcement level", () => {
        const names = policies.map((p) => p.name);
        expect(new Set(names).size).to.equal(names.length);
        for (const p of policies) {
            expect(p.description, p.name).to.have.length.greaterThan(10);
            expect(["mandatory", "advisory"], p.name).to.include(p.enforcementLevel);
        }
        expect(policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).to.deep.equal(["workload-privileges", "nat-gateway-per-az-outside-production"]);
    });

    it("is not applicable to other resource types", async () => {
        const result = await runResourcePolicy(ebsEncrypted, { type: "aws:s3/bucket:Bucket", props: {} });
        expect(result).to.deep.equal({ applicable: false, violations: [] });
    });

    describe("storage", () => {
        it("EBS volumes are encrypted", () =>
            expectRule(ebsEncrypted, { type: "aws:ebs/volume:Volume", props: { encrypted: true } }, { type: "aws:ebs/volume:Volume", props: { size: 10 } }, /encrypted must be true/));

        it("instance root and data devices are encrypted, and an omitted root device is not", async () => {
            const type = "aws:ec2/instance:Instance";
            await expectRule(
                ebsEncrypted,
                { type, props: { rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }] } },
                { type, props: { rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }] } },
                /ebsBlockDevices\[0\] \(\/dev\/sdf\)/,
            );
            expect((await runResourcePolicy(ebsEncrypted, { type, props: {} })).violations[0]).to.match(/rootBlockDevice.encrypted must be true/);
        });

        it("launch template block devices are encrypted (the schema's string \"true\")", async () => {
            const type = "aws:ec2/launchTemplate:LaunchTemplate";
            const mapping = (encrypted: unknown) => ({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted, volumeType: "gp3" } }] });
            await expectRule(ebsEncrypted, { type, props: mapping("true") }, { type, props: mapping("false") }, /blockDeviceMappings\[0\] \(\/dev\/xvda\) must set ebs.encrypted/);
            expect((await runResourcePolicy(ebsEncrypted, { type, props: {} })).violations[0]).to.match(/declares no EBS block device/);
        });

        it("EFS file systems are encrypted", () =>
            expectRule(efsEncrypted, { type: "aws:efs/fileSystem:FileSystem", props: { encrypted: true } }, { type: "aws:efs/fileSystem:FileSystem", props: {} }, /encrypted must be true/));
    });

    describe("IMDSv2", () => {
        for (const type of ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"]) {
            it(`is required on ${type}`, () =>
                expectRule(imdsv2Required, { type, props: { metadataOptions: { httpTokens: "required" } } }, { type, props: { metadataOptions: { httpTokens: "optional" } } }, /httpTokens must be "required".*"optional"/));
        }
    });

    describe("network exposure", () => {
        const inline = (fromPort: number, toPort: number, cidr = "0.0.0.0/0", protocol = "tcp") => ({ ingress: [{ protocol, fromPort, toPort, cidrBlocks: [cidr] }] });

        it("allows 80 and 443 from the internet and anything from private ranges", async () => {
            const ok = { ingress: [...inline(80, 80).ingress, ...inline(443, 443).ingress, ...inline(0, 65535, "10.0.0.0/16").ingress] };
            await expectRule(noPublicIngressExceptListeners, { type: SG, props: ok }, { type: SG, props: inline(8080, 8080) }, /tcp port 8080 from 0.0.0.0\/0/);
        });

        it("rejects a range that spans the listener ports, all protocols, and IPv6 ::/0", async () => {
            const wide = await runResourcePolicy(noPublicIngressExceptListeners, { type: SG, name: "wide", props: inline(80, 443) });
            expect(wide.violations[0]).to.match(/ports 80-443/);
            const all = await runResourcePolicy(noPublicIngressExceptListeners, { type: SG, name: "all", props: inline(0, 0, "0.0.0.0/0", "-1") });
            expect(all.violations[0]).to.match(/all protocols ports 0-65535/);
            const v6 = await runResourcePolicy(noPublicIngressExceptListeners, { type: SG, name: "v6", props: { ingress: [{ protocol: "udp", fromPort: 53, toPort: 53, ipv6CidrBlocks: ["::/0"] }] } });
            expect(v6.violations[0]).to.match(/udp port 53 from ::\/0/);
        });

        it("checks SecurityGroupRule (ingress only) and vpc.SecurityGroupIngressRule", async () => {
            await expectRule(
                noPublicIngressExceptListeners,
                { type: SG_RULE, props: { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] } },
                { type: SG_RULE, props: { type: "ingress", protocol: "tcp", fromPort: 9000, toPort: 9000, cidrBlocks: ["0.0.0.0/0"] } },
                /port 9000/,
            );
            await expectRule(
                noPublicIngressExceptListeners,
                { type: INGRESS_RULE, props: { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" } },
                { type: INGRESS_RULE, props: { ipProtocol: "-1", cidrIpv6: "::/0" } },
                /all protocols ports 0-65535 from ::\/0/,
            );
        });

        it("never opens SSH or the Docker API to the internet", async () => {
            await expectRule(noAdminPortsFromInternet, { type: SG, props: inline(22, 22, "203.0.113.0/24") }, { type: SG, props: inline(22, 22) }, /SSH \(port 22\) to 0.0.0.0\/0/);
            await expectRule(
                noAdminPortsFromInternet,
                { type: INGRESS_RULE, props: { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" } },
                { type: INGRESS_RULE, props: { ipProtocol: "tcp", fromPort: 2000, toPort: 3000, cidrIpv4: "0.0.0.0/0" } },
                /Docker API \(port 2375\)[\s\S]*port 2376[\s\S]*port 2377/,
            );
        });

        it("allows listener ports from the internet only on a security group a load balancer uses", async () => {
            const lbGroup: FakeResource = { type: SG, name: "lb", props: inline(443, 443) };
            const nodeGroup: FakeResource = { type: SG, name: "nodes", props: {} };
            const nodeRule: FakeResource = { type: INGRESS_RULE, name: "nodes-http", props: { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { securityGroupId: ["nodes"] } };
            const lbRule: FakeResource = { type: INGRESS_RULE, name: "lb-http", props: { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { securityGroupId: ["lb"] } };
            const alb: FakeResource = { type: "aws:lb/loadBalancer:LoadBalancer", name: "alb", props: { securityGroups: ["sg-1"] }, propertyDependencies: { securityGroups: ["lb"] } };

            const attached = await runStackPolicy(listenersOnlyOnLoadBalancers, [lbGroup, nodeGroup, lbRule, alb]);
            expect(attached.violations).to.deep.equal([]);
            const stray = await runStackPolicy(listenersOnlyOnLoadBalancers, [lbGroup, nodeGroup, lbRule, nodeRule, alb]);
            expect(stray.violations).to.deep.equal([`${INGRESS_RULE} "nodes-http": allows tcp port 80 from 0.0.0.0/0 but its security group is not attached to any load balancer of the stack`]);
            const noLoadBalancer = await runStackPolicy(listenersOnlyOnLoadBalancers, [lbGroup]);
            expect(noLoadBalancer.violations[0]).to.match(/^aws:ec2\/securityGroup:SecurityGroup "lb": allows tcp port 443/);
        });

        it("treats a node group tagged dockyard:ingress=direct as its own listener, and nothing else", async () => {
            const directGroup: FakeResource = { type: SG, name: "managers", props: { tags: { "dockyard:ingress": "direct" } } };
            const otherGroup: FakeResource = { type: SG, name: "managers", props: { tags: { "dockyard:ingress": "alb" } } };
            const httpRule: FakeResource = { type: INGRESS_RULE, name: "managers-http", props: { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { securityGroupId: ["managers"] } };
            expect((await runStackPolicy(listenersOnlyOnLoadBalancers, [directGroup, httpRule])).violations).to.deep.equal([]);
            expect((await runStackPolicy(listenersOnlyOnLoadBalancers, [otherGroup, httpRule])).violations).to.have.length(1);
        });
    });

    describe("ECR", () => {
        const type = "aws:ecr/repository:Repository";
        it("scans on push", () =>
            expectRule(ecrScanOnPush, { type, props: { imageScanningConfiguration: { scanOnPush: true } } }, { type, props: { imageScanningConfiguration: { scanOnPush: false } } }, /scanOnPush must be true/));
        it("has immutable tags", () => expectRule(ecrImmutableTags, { type, props: { imageTagMutability: "IMMUTABLE" } }, { type, props: {} }, /IMMUTABLE.*MUTABLE \(the default\)/));
        it("lets only the build-cache tag move", () =>
            expectRule(
                ecrImmutableTags,
                { type, props: { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "buildcache", filterType: "WILDCARD" }] } },
                { type, props: { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "release-*", filterType: "WILDCARD" }] } },
                /only the "buildcache" tag may move; exclusion filters \["release-\*"\]/,
            ));
    });

    describe("EKS", () => {
        const component = "eks:index:Cluster";
        const awsCluster = "aws:eks/cluster:Cluster";
        const logs = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

        it("control-plane logs are on, for the component and a plain aws.eks.Cluster", async () => {
            await expectRule(eksControlPlaneLogs, { type: component, props: { enabledClusterLogTypes: logs } }, { type: component, props: { enabledClusterLogTypes: ["api"] } }, /lacks audit, authenticator/);
            await expectRule(eksControlPlaneLogs, { type: awsCluster, props: { enabledClusterLogTypes: logs } }, { type: awsCluster, props: {} }, /lacks api, audit, authenticator/);
        });

        it("reads the required log types from the policy config", async () => {
            const result = await runResourcePolicy(eksControlPlaneLogs, { type: component, props: { enabledClusterLogTypes: ["api", "audit", "authenticator"] } }, { requiredLogTypes: ["scheduler"] });
            expect(result.violations[0]).to.match(/lacks scheduler/);
        });

        it("secrets are envelope-encrypted with a KMS key", async () => {
            const key = "arn:aws:kms:us-east-1:123456789012:key/abc";
            await expectRule(eksSecretsEncryption, { type: component, props: { encryptionConfigKeyArn: key } }, { type: component, props: {} }, /encryptionConfigKeyArn/);
            await expectRule(
                eksSecretsEncryption,
                { type: awsCluster, props: { encryptionConfig: { resources: ["secrets"], provider: { keyArn: key } } } },
                { type: awsCluster, props: { encryptionConfig: { resources: [], provider: { keyArn: key } } } },
                /not envelope-encrypted/,
            );
        });

        it("the public endpoint is off or limited to listed CIDRs", async () => {
            await expectRule(eksEndpointNotPublic, { type: component, props: { endpointPublicAccess: false } }, { type: component, props: {} }, /no publicAccessCidrs, which EKS opens to 0.0.0.0\/0/);
            await expectRule(
                eksEndpointNotPublic,
                { type: component, props: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] } },
                { type: component, props: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/0"] } },
                /opens the API endpoint to 0.0.0.0\/0/,
            );
            await expectRule(
                eksEndpointNotPublic,
                { type: awsCluster, props: { vpcConfig: { endpointPublicAccess: false, subnetIds: [] } } },
                { type: awsCluster, props: { vpcConfig: { subnetIds: [] } } },
                /public endpoint is on/,
            );
        });
    });

    describe("Kubernetes containers", () => {
        const hardened = {
            name: "api",
            image: DIGEST,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
            resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m", memory: "128Mi" } },
        };
        const deployment = (container: Record<string, unknown>, pod: Record<string, unknown> = {}, namespace = "apps"): FakeResource => ({
            type: "kubernetes:apps/v1:Deployment",
            props: { metadata: { namespace }, spec: { template: { spec: { containers: [container], ...pod } } } },
        });
        const cases: [ResourceValidationPolicy, Record<string, unknown>, RegExp][] = [
            [k8sRunAsNonRoot, { securityContext: { ...hardened.securityContext, runAsNonRoot: undefined, runAsUser: 0 } }, /container "api": runs as root/],
            [k8sNotPrivileged, { securityContext: { ...hardened.securityContext, privileged: true } }, /must not be privileged/],
            [k8sResourceLimits, { resources: { limits: { memory: "256Mi" } } }, /resources.limits lacks cpu/],
            [k8sReadOnlyRootFilesystem, { securityContext: { ...hardened.securityContext, readOnlyRootFilesystem: false } }, /readOnlyRootFilesystem: true/],
            [k8sPinnedImages, { image: "nginx:latest" }, /uses :latest/],
        ];
        for (const [policy, change, expected] of cases) {
            it(`${policy.name}`, () => expectRule(policy, deployment(hardened), deployment({ ...hardened, ...change }), expected));
        }

        it("k8s-run-as-non-root accepts the pod-level security context and rejects a container that says nothing", async () => {
            const bare = { ...hardened, securityContext: { readOnlyRootFilesystem: true } };
            await expectRule(k8sRunAsNonRoot, deployment(bare, { securityContext: { runAsNonRoot: true } }), deployment(bare), /set securityContext.runAsNonRoot: true/);
        });

        it("k8s-no-host-namespaces", () => expectRule(k8sNoHostNamespaces, deployment(hardened), deployment(hardened, { hostNetwork: true, hostPID: true }), /hostNetwork must not be true[\s\S]*hostPID/));

        it("k8s-pinned-images rejects untagged images and accepts version tags and digests", async () => {
            await expectRule(k8sPinnedImages, deployment({ ...hardened, image: "redis:7.4-alpine" }), deployment({ ...hardened, image: "registry.example.com:5000/team/redis" }), /has no tag/);
        });

        it("checks init containers and every workload kind's pod template", async () => {
            const bad = { ...hardened, name: "migrate", image: "busybox" };
            const kinds: FakeResource[] = [
                { type: "kubernetes:apps/v1:StatefulSet", props: { spec: { template: { spec: { containers: [hardened], initContainers: [bad] } } } } },
                { type: "kubernetes:apps/v1:DaemonSet", props: { spec: { template: { spec: { containers: [bad] } } } } },
                { type: "kubernetes:batch/v1:Job", props: { spec: { template: { spec: { containers: [bad] } } } } },
                { type: "kubernetes:batch/v1:CronJob", props: { spec: { jobTemplate: { spec: { template: { spec: { containers: [bad] } } } } } } },
                { type: "kubernetes:core/v1:Pod", props: { spec: { containers: [bad] } } },
            ];
            for (const kind of kinds) {
                const result = await runResourcePolicy(k8sPinnedImages, kind);
                expect(result.violations, kind.type).to.deep.equal([`${kind.type} "subject" container "migrate": image "busybox" has no tag (it means :latest); pin a version tag or a digest`]);
            }
        });

        it("exempts no namespace by default, so a privileged pod moved to kube-system is still reported; the config can list exemptions", async () => {
            const privileged = deployment({ ...hardened, securityContext: { privileged: true } }, {}, "kube-system");
            expect((await runResourcePolicy(k8sNotPrivileged, privileged)).violations).to.have.length(1);
            expect(await runResourcePolicy(k8sNotPrivileged, privileged, { exemptNamespaces: ["kube-system"] })).to.deep.equal({ applicable: false, violations: [] });
        });
    });

    describe("Swarm services", () => {
        const type = "docker:index/service:Service";
        const service = (container: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): FakeResource => ({
            type,
            props: {
                taskSpec: {
                    containerSpec: { image: DIGEST, user: "10001:10001", readOnly: true, healthcheck: { tests: ["CMD", "wget", "-q", "http://127.0.0.1:8080/health"] }, ...container },
                    resources: { limits: { nanoCpus: 500000000, memoryBytes: 268435456 } },
                    restartPolicy: { condition: "any" },
                },
                updateConfig: { failureAction: "rollback", order: "start-first" },
                ...rest,
            },
        });

        it("swarm-health-check", () => expectRule(swarmHealthCheck, service(), service({ healthcheck: { tests: ["NONE"] } }), /healthcheck.tests must declare a check/));
        /** A service as components/swarm/workload.ts renders a job: the job-spec label on its tasks, restarted on failure only. */
        const job = (condition: string, container: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): FakeResource => {
            const resource = service({ labels: [{ label: JOB_SPEC_LABEL, value: "a69c786c2559a2d8" }], ...container }, rest);
            resource.props.taskSpec.restartPolicy = { condition, maxAttempts: 2 };
            return resource;
        };
        /** A long-running service whose restart policy alone looks like a job's. */
        const unlabelled = (condition: string, container: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): FakeResource => {
            const resource = service(container, rest);
            resource.props.taskSpec.restartPolicy = { condition, maxAttempts: 2 };
            return resource;
        };

        it("swarm-health-check", () => expectRule(swarmHealthCheck, service(), service({ healthcheck: { tests: ["NONE"] } }), /healthcheck.tests must declare a check/));
        it("swarm-health-check does not apply to jobs: labelled with the job spec and restarted on failure only (or never)", async () => {
            for (const condition of ["on-failure", "none"]) {
                expect(await runResourcePolicy(swarmHealthCheck, job(condition, { healthcheck: undefined })), condition).to.deep.equal({ applicable: false, violations: [] });
            }
        });
        it("swarm-health-check applies to a service restarted on failure only without the job-spec label, or with the label and restarted always", async () => {
            for (const resource of [unlabelled("on-failure", { healthcheck: undefined }), unlabelled("none", { healthcheck: undefined }), job("any", { healthcheck: undefined }), service({ healthcheck: undefined, labels: [{ label: JOB_SPEC_LABEL, value: "" }] })]) {
                expect((await runResourcePolicy(swarmHealthCheck, resource)).violations, JSON.stringify(resource.props.taskSpec)).to.have.length(1);
            }
        });
        it("swarm-rollback-on-failure", () => expectRule(swarmRollbackOnFailure, service(), service({}, { updateConfig: { failureAction: "pause" } }), /failureAction must be "rollback", found "pause"/));
        it("swarm-rollback-on-failure exempts jobs, which update with continue", async () => {
            expect(await runResourcePolicy(swarmRollbackOnFailure, job("on-failure", {}, { updateConfig: { failureAction: "continue" } }))).to.deep.equal({ applicable: false, violations: [] });
        });
        it("swarm-rollback-on-failure applies to an unlabelled service restarted on failure only", async () => {
            expect((await runResourcePolicy(swarmRollbackOnFailure, unlabelled("on-failure", {}, { updateConfig: { failureAction: "continue" } }))).violations).to.deep.equal([
                'docker:index/service:Service "subject": updateConfig.failureAction must be "rollback", found "continue"',
            ]);
        });
        it("swarm-resource-limits", () => expectRule(swarmResourceLimits, service(), { type, props: { taskSpec: { containerSpec: { image: DIGEST } } } }, /lacks nanoCpus and memoryBytes/));
        it("swarm-read-only", () => expectRule(swarmReadOnly, service(), service({ readOnly: false }), /readOnly must be true/));
        it("swarm-non-root-user", async () => {
            await expectRule(swarmNonRootUser, service(), service({ user: "root" }), /user "root" is root/);
            expect((await runResourcePolicy(swarmNonRootUser, service({ user: "0:0" }))).violations[0]).to.match(/is root/);
            expect((await runResourcePolicy(swarmNonRootUser, service({ user: undefined }))).violations[0]).to.match(/must name a non-root user/);
        });
        it("swarm-pinned-images", () => expectRule(swarmPinnedImages, service({ image: "redis:7.4-alpine" }), service({ image: "redis:latest" }), /uses :latest/));
    });

    describe("privileges asked for in the spec (privileges.root, privileges.capabilities)", () => {
        const securityContext = (extra: Record<string, unknown>) => ({ runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...extra });
        const controller = (declared: string | undefined, context: Record<string, unknown>): FakeResource => ({
            type: "kubernetes:apps/v1:Deployment",
            props: {
                metadata: { namespace: "apps", ...(declared === undefined ? {} : { annotations: { "dockyard.io/privileges": declared } }) },
                spec: { template: { spec: { containers: [{ name: "db", image: DIGEST, securityContext: securityContext(context) }] } } },
            },
        });
        const root = { runAsNonRoot: false, runAsUser: 0 };
        const chown = { capabilities: { drop: ["ALL"], add: ["CHOWN", "SETUID"] } };
        const swarm = (declared: string | undefined, container: Record<string, unknown>): FakeResource => ({
            type: "docker:index/service:Service",
            props: { labels: declared === undefined ? [] : [{ label: "dockyard.privileges", value: declared }], taskSpec: { containerSpec: { image: DIGEST, user: "10001:10001", capDrops: ["ALL"], ...container } } },
        });
        const namespace = (labels: Record<string, string>, declared?: string): FakeResource => ({
            type: "kubernetes:core/v1:Namespace",
            props: { metadata: { name: "apps", labels, ...(declared === undefined ? {} : { annotations: { "dockyard.io/privileges": declared } }) } },
        });
        const baseline = { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" };

        it("k8s-run-as-non-root accepts uid 0 only on a controller that declares root", async () => {
            await expectRule(k8sRunAsNonRoot, controller("root,CHOWN", root), controller(undefined, root), /runs as root \(runAsUser 0\)/);
            expect((await runResourcePolicy(k8sRunAsNonRoot, controller("CHOWN", root))).violations).to.have.length(1);
        });

        it("k8s-capabilities accepts declared capabilities of Docker's default set, never undeclared ones or others", async () => {
            await expectRule(k8sCapabilities, controller("CHOWN,SETUID", chown), controller("CHOWN", chown), /adds capabilities SETUID; only NET_BIND_SERVICE, CHOWN may be added/);
            expect((await runResourcePolicy(k8sCapabilities, controller("SYS_ADMIN", { capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }))).violations[0]).to.match(/adds capabilities SYS_ADMIN; only NET_BIND_SERVICE may be added/);
            expect((await runResourcePolicy(k8sCapabilities, controller("NET_RAW", { capabilities: { drop: ["ALL"], add: ["NET_RAW"] } }))).violations).to.have.length(1);
        });

        it("swarm-non-root-user and swarm-capabilities accept what the service declares, and only that", async () => {
            await expectRule(swarmNonRootUser, swarm("root", { user: "0:0" }), swarm("CHOWN", { user: "0:0" }), /"0:0" is root/);
            expect((await runResourcePolicy(swarmNonRootUser, swarm("root", { user: "" }))).violations[0]).to.match(/must name a non-root user/);
            await expectRule(swarmCapabilities, swarm("CHOWN,SETUID", { capAdds: ["CHOWN", "SETUID"] }), swarm(undefined, { capAdds: ["CHOWN"] }), /capAdds CHOWN; only NET_BIND_SERVICE may be added/);
            expect((await runResourcePolicy(swarmCapabilities, swarm("SYS_ADMIN", { capAdds: ["SYS_ADMIN"] }))).violations).to.have.length(1);
            expect((await runResourcePolicy(swarmCapabilities, swarm("CHOWN", { capDrops: [], capAdds: ["CHOWN"] }))).violations[0]).to.match(/capDrops must include "ALL"/);
        });

        it("k8s-namespace-pod-security accepts baseline only when the namespace declares why, and it still warns and audits restricted", async () => {
            await expectRule(k8sNamespacePodSecurity, namespace(baseline, 'workload "db" runs as uid 0'), namespace(baseline), /is "baseline"; set it to "restricted" \(baseline only with annotation dockyard.io\/privileges/);
            const quiet = await runResourcePolicy(k8sNamespacePodSecurity, namespace({ ...baseline, "pod-security.kubernetes.io/warn": "baseline" }, 'workload "db" runs as uid 0'));
            expect(quiet.violations).to.deep.equal(['kubernetes:core/v1:Namespace "subject": enforces baseline for its privileged workloads, so label pod-security.kubernetes.io/warn must be "restricted" (found "baseline"), so each exception stays visible']);
            expect((await runResourcePolicy(k8sNamespacePodSecurity, namespace({ ...baseline, "pod-security.kubernetes.io/enforce": "privileged" }, "x"))).violations).to.have.length(1);
        });

        it("workload-privileges (advisory) reports each declaration: controllers, services and the namespace", async () => {
            expect((await runResourcePolicy(workloadPrivileges, { name: "db", ...controller("root,CHOWN", root) })).violations).to.deep.equal(['kubernetes:apps/v1:Deployment "db": runs with privileges "root,CHOWN" (spec field privileges)']);
            expect((await runResourcePolicy(workloadPrivileges, { name: "web", ...swarm("NET_BIND_SERVICE", {}) })).violations).to.deep.equal(['docker:index/service:Service "web": runs with privileges "NET_BIND_SERVICE" (spec field privileges)']);
            expect((await runResourcePolicy(workloadPrivileges, { name: "prod", ...namespace(baseline, 'workload "db" runs as uid 0') })).violations).to.deep.equal([
                'kubernetes:core/v1:Namespace "prod": enforces the baseline Pod Security Standard, not restricted, because workload "db" runs as uid 0',
            ]);
            for (const quiet of [controller(undefined, {}), swarm(undefined, {}), namespace({ "pod-security.kubernetes.io/enforce": "restricted" })]) {
                expect((await runResourcePolicy(workloadPrivileges, quiet)).violations, quiet.type).to.deep.equal([]);
            }
            expect(declaredPrivileges("root, CHOWN,SYS_ADMIN,bogus")).to.deep.equal({ root: true, capabilities: ["CHOWN"] });
            expect(declaredPrivileges(undefined)).to.deep.equal({ root: false, capabilities: [] });
        });
    });

    describe("cost (advisory)", () => {
        const provider = (stack: string) => ({ type: "pulumi:providers:aws", name: `${stack}-aws`, props: { defaultTags: JSON.stringify({ tags: { "dockyard:stack": stack } }) } });
        const nat = (stack: string, n: number): FakeResource[] =>
            Array.from({ length: n }, (_, i) => ({ type: "aws:ec2/natGateway:NatGateway", name: `${stack}-nat-${i}`, props: {}, provider: provider(stack) }));

        it("flags a NAT gateway per AZ outside production, naming the stack and the gateways", async () => {
            const result = await runStackPolicy(natGatewayPerAzOutsideProduction, nat("dev", 3));
            expect(result.violations).to.have.length(1);
            expect(result.violations[0]).to.match(/^stack dev \(not production\) has 3 NAT gateways \(dev-nat-0, dev-nat-1, dev-nat-2\); network.natGateways: single saves about \$66\/month$/);
        });

        it("accepts one NAT gateway anywhere, and one per AZ in a production stack", async () => {
            expect((await runStackPolicy(natGatewayPerAzOutsideProduction, nat("dev", 1))).violations).to.deep.equal([]);
            expect((await runStackPolicy(natGatewayPerAzOutsideProduction, nat("prod", 3))).violations).to.deep.equal([]);
            expect((await runStackPolicy(natGatewayPerAzOutsideProduction, nat("live", 3), { productionStacks: ["live"] })).violations).to.deep.equal([]);
        });
    });
});
