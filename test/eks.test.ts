import { expect } from "chai";
import { EksCluster, clusterNameFor, controlPlaneSettings, updateKubeconfigCommand } from "../components/eks/cluster";
import { NODE_METADATA_HOP_LIMIT } from "../components/eks/nodeGroup";
import { stackAwsProvider } from "../components/tags";
import { fakeHex } from "../scripts/offline/mocks";
import { isSecret, ofType, only, resolve, runDeclaration, stackConfig, RecordedResource, THREE_AZ_NETWORK } from "./harness";

const network = THREE_AZ_NETWORK;

/** A dev-like EKS stack: the dev file's cheap network, switched to the eks target. */
const DEV_EKS = { target: "eks", "network.natGateways": "none", "eks.publicAccessCidrs": ["203.0.113.0/24"], "eks.capacityType": "SPOT" };
const devNetwork = { ...network, publicSubnetIds: network.publicSubnetIds.slice(0, 2), privateSubnetIds: network.privateSubnetIds.slice(0, 2), nodeSubnetIds: network.publicSubnetIds.slice(0, 2), azs: network.azs.slice(0, 2) };

async function render(stack: "prod" | "dev") {
    const overrides = stack === "prod" ? {} : DEV_EKS;
    const config = stackConfig(stack, overrides);
    return runDeclaration(
        () =>
            new EksCluster(
                "eks",
                { config, network: stack === "prod" ? network : devNetwork, certificateArn: stack === "prod" ? "arn:aws:acm:us-east-1:123456789012:certificate/abc" : undefined },
                { providers: [stackAwsProvider(config)] },
            ),
        stack,
        overrides,
    );
}

const clusterOf = (resources: RecordedResource[]) => only(resources, "eks:index:Cluster").inputs as Record<string, any>;

describe("eks: dockyard:eks:Cluster", function () {
    let prod: Awaited<ReturnType<typeof render>>;
    let dev: Awaited<ReturnType<typeof render>>;
    before(async function () {
        prod = await render("prod");
        dev = await render("dev");
    });

    describe("control plane", function () {
        it("uses access entries only: cluster-admin for each admin principal, read-only for each viewer, none inside pulumi-eks", function () {
            const cluster = clusterOf(prod.resources);
            expect(cluster.authenticationMode).to.equal("API");
            expect(cluster).to.not.have.property("accessEntries");
            const entries = ofType(prod.resources, "aws:eks/accessEntry:AccessEntry").map((r) => r.inputs);
            expect(entries.map((e) => e.principalArn)).to.deep.equal(["arn:aws:iam::123456789012:role/platform-admin", "arn:aws:iam::123456789012:role/dockyard-preview"]);
            const policies = ofType(prod.resources, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").map((r) => [r.inputs.principalArn, r.inputs.policyArn, r.inputs.accessScope]);
            expect(policies).to.deep.equal([
                ["arn:aws:iam::123456789012:role/platform-admin", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", { type: "cluster" }],
                ["arn:aws:iam::123456789012:role/dockyard-preview", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", { type: "cluster" }],
            ]);
        });

        it("limits the public endpoint to the listed CIDRs, private access always on", function () {
            const prodCluster = clusterOf(prod.resources);
            expect(prodCluster.endpointPrivateAccess).to.equal(true);
            expect(prodCluster.endpointPublicAccess).to.equal(true);
            expect(prodCluster.publicAccessCidrs).to.deep.equal(["203.0.113.0/24"]);
            const devCluster = clusterOf(dev.resources);
            expect(devCluster.endpointPrivateAccess).to.equal(true);
            expect(devCluster.endpointPublicAccess).to.equal(true);
            expect(devCluster.publicAccessCidrs).to.deep.equal(["203.0.113.0/24"]);
        });

        it("logs api, audit and authenticator into a log group it creates first with the stack's retention", function () {
            const cluster = clusterOf(prod.resources);
            expect(cluster.enabledClusterLogTypes).to.deep.equal(["api", "audit", "authenticator"]);
            const logGroup = only(prod.resources, "aws:cloudwatch/logGroup:LogGroup");
            expect(logGroup.inputs.name).to.equal(`/aws/eks/${cluster.name}/cluster`);
            expect(logGroup.inputs.retentionInDays).to.equal(90);
            expect(only(dev.resources, "aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).to.equal(14);
        });

        it("encrypts Secrets with a rotating KMS key the stack owns", function () {
            const key = only(prod.resources, "aws:kms/key:Key");
            expect(key.inputs.enableKeyRotation).to.equal(true);
            expect(clusterOf(prod.resources).encryptionConfigKeyArn).to.match(/^arn:aws:kms:us-east-1:\d{12}:key\//);
        });

        it("has no default node group, no OIDC provider and no self-managed add-ons, in the network's subnets", function () {
            const cluster = clusterOf(prod.resources);
            expect(cluster.skipDefaultNodeGroup).to.equal(true);
            expect(cluster.createOidcProvider).to.equal(false);
            expect(cluster.bootstrapSelfManagedAddons).to.equal(false);
            expect(cluster.vpcId).to.equal(network.vpcId);
            // Control-plane ENIs only in private subnets.
            expect(cluster).to.not.have.property("publicSubnetIds");
            expect(cluster.privateSubnetIds).to.deep.equal(network.privateSubnetIds);
            expect(cluster.version).to.equal(stackConfig("prod").eks.version);
        });

        it("protects the prod cluster from deletion but not dev", function () {
            expect(clusterOf(prod.resources).deletionProtection).to.equal(true);
            expect(clusterOf(dev.resources).deletionProtection).to.equal(false);
        });

        it("controlPlaneSettings follows the config it is given", function () {
            const settings = controlPlaneSettings(stackConfig("prod", { "eks.adminPrincipals": [], "eks.publicAccessCidrs": ["198.51.100.0/24"], "eks.version": "1.35" }));
            expect(settings.publicAccessCidrs).to.deep.equal(["198.51.100.0/24"]);
            expect(settings.version).to.equal("1.35");
            expect(settings.upgradePolicy).to.deep.equal({ supportType: "STANDARD" });
        });
    });

    describe("outputs and platform", function () {
        it("names the cluster after project and stack and prints the update-kubeconfig command", async function () {
            expect(await resolve(prod.value.clusterName)).to.equal("dockyard-prod");
            expect(clusterNameFor({ project: "shop", stack: "feature.x" })).to.equal("shop-feature-x");
            expect(await resolve(prod.value.updateKubeconfigCommand)).to.equal(updateKubeconfigCommand("dockyard-prod", "us-east-1"));
            expect(await resolve(prod.value.updateKubeconfigCommand)).to.equal("aws eks update-kubeconfig --name dockyard-prod --region us-east-1");
            expect(await resolve(prod.value.endpoint)).to.match(/^https:\/\/.+\.eks\.amazonaws\.com$/);
        });

        it("keeps the kubeconfig secret, in the output and in the provider", async function () {
            expect(await isSecret(prod.value.kubeconfig)).to.equal(true);
            const provider = only(prod.resources, "pulumi:providers:kubernetes");
            expect(provider.name).to.equal("eks-k8s");
            expect(provider.inputs.kubeconfig).to.equal("[secret]");
            expect(JSON.parse(await resolve(prod.value.kubeconfig))).to.have.property("kind", "Config");
        });

        it("hands the adapter a platform with the provider, storage classes, ingress class and certificate", function () {
            const platform = prod.value.platform;
            expect(platform.kind).to.equal("kubernetes");
            expect(platform.persistentStorageClass).to.equal("gp3");
            expect(platform.sharedStorageClass).to.equal("efs");
            expect(platform.ingressClass).to.equal("alb");
            expect(platform.certificateArn).to.equal("arn:aws:acm:us-east-1:123456789012:certificate/abc");
            expect(dev.value.platform.certificateArn).to.equal(undefined);
            expect(platform.dependsOn.length).to.be.greaterThan(3);
        });

        it("creates every Kubernetes resource with the cluster's provider", function () {
            for (const run of [prod, dev]) {
                const kubernetes = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
                expect(kubernetes.map((r) => r.type)).to.include.members(["kubernetes:storage.k8s.io/v1:StorageClass", "kubernetes:helm.sh/v3:Release"]);
                for (const resource of kubernetes) expect(resource.provider, `${resource.type} ${resource.name}`).to.equal("eks-k8s");
            }
        });

        it("creates every AWS resource with the stack's AWS provider, inherited from the component", function () {
            for (const [run, stack] of [[prod, "prod"], [dev, "dev"]] as const) {
                const aws = run.resources.filter((r) => r.type.startsWith("aws:"));
                expect(aws.length).to.be.greaterThan(20);
                for (const resource of aws) expect(resource.provider, resource.name).to.equal(`${stack}-aws`);
            }
        });
    });

    describe("storage", function () {
        it("makes an encrypted gp3 StorageClass the default, binding where the pod lands", function () {
            const gp3 = ofType(prod.resources, "kubernetes:storage.k8s.io/v1:StorageClass").find((r) => (r.inputs.metadata as any).name === "gp3")!;
            expect((gp3.inputs.metadata as any).annotations["storageclass.kubernetes.io/is-default-class"]).to.equal("true");
            expect(gp3.inputs.parameters).to.include({ type: "gp3", encrypted: "true" });
            expect(gp3.inputs.volumeBindingMode).to.equal("WaitForFirstConsumer");
            expect(gp3.inputs.reclaimPolicy).to.equal("Retain");
            const devGp3 = ofType(dev.resources, "kubernetes:storage.k8s.io/v1:StorageClass").find((r) => (r.inputs.metadata as any).name === "gp3")!;
            expect(devGp3.inputs.reclaimPolicy).to.equal("Delete");
        });

        it("backs the efs StorageClass with an encrypted EFS file system reachable in every AZ", function () {
            const fileSystem = only(prod.resources, "aws:efs/fileSystem:FileSystem");
            expect(fileSystem.inputs.encrypted).to.equal(true);
            const mountTargets = ofType(prod.resources, "aws:efs/mountTarget:MountTarget");
            expect(mountTargets.map((m) => m.inputs.subnetId)).to.deep.equal(network.nodeSubnetIds);
            expect(ofType(dev.resources, "aws:efs/mountTarget:MountTarget")).to.have.length(2);
            const efs = ofType(prod.resources, "kubernetes:storage.k8s.io/v1:StorageClass").find((r) => (r.inputs.metadata as any).name === "efs")!;
            expect(efs.inputs.provisioner).to.equal("efs.csi.aws.com");
            expect(efs.inputs.parameters).to.include({ provisioningMode: "efs-ap", fileSystemId: `fs-${fakeHex("eks-storage-efs")}` });
            const sg = ofType(prod.resources, "aws:ec2/securityGroup:SecurityGroup").find((r) => r.name === "eks-storage-efs-sg")!;
            // NFS only from the nodes' security group, not the whole VPC (issue 17 item 11).
            expect(sg.inputs.ingress).to.deep.equal([{ protocol: "tcp", fromPort: 2049, toPort: 2049, securityGroups: [`sg-${fakeHex("eks-cluster-cluster")}`], description: "NFS from the cluster's nodes" }]);
            const policy = JSON.parse(only(prod.resources, "aws:efs/fileSystemPolicy:FileSystemPolicy").inputs.policy as string);
            expect(policy.Statement).to.deep.equal([
                { Sid: "DenyUnencryptedTransport", Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Resource: fileSystem.inputs.arn ?? policy.Statement[0].Resource, Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ]);
            expect(policy.Statement[0].Resource).to.match(/^arn:aws:efs:us-east-1:123456789012:/);
        });
    });

    describe("node group", function () {
        const nodeGroupsOf = (run: typeof prod) => ofType(run.resources, "aws:eks/nodeGroup:NodeGroup").map((r) => r.inputs as Record<string, any>);
        const nodeGroupOf = (run: typeof prod) => nodeGroupsOf(run)[0];

        it("runs prod on on-demand Graviton nodes, one group per AZ in its node subnet, splitting config's sizes", function () {
            const groups = nodeGroupsOf(prod);
            expect(groups.map((ng) => ng.nodeGroupNamePrefix)).to.deep.equal(["dockyard-prod-az1-", "dockyard-prod-az2-", "dockyard-prod-az3-"]);
            expect(groups.map((ng) => ng.subnetIds)).to.deep.equal(network.nodeSubnetIds.map((id) => [id]));
            for (const ng of groups) {
                expect(ng.instanceTypes).to.deep.equal(["m7g.large"]);
                expect(ng.amiType).to.equal("AL2023_ARM_64_STANDARD");
                expect(ng.capacityType).to.equal("ON_DEMAND");
                expect(ng.scalingConfig).to.deep.equal({ minSize: 1, desiredSize: 1, maxSize: 3 });
                expect(ng.clusterName).to.equal("dockyard-prod");
            }
        });

        it("runs dev-like stacks on the defaults with spot capacity in public subnets", function () {
            const groups = nodeGroupsOf(dev);
            expect(groups.map((ng) => ng.subnetIds)).to.deep.equal(devNetwork.publicSubnetIds.map((id) => [id]));
            expect(groups.map((ng) => ng.scalingConfig)).to.deep.equal([
                { minSize: 1, desiredSize: 1, maxSize: 2 },
                { minSize: 0, desiredSize: 1, maxSize: 1 },
            ]);
            for (const ng of groups) {
                expect(ng.instanceTypes).to.deep.equal(["t4g.medium"]);
                expect(ng.capacityType).to.equal("SPOT");
            }
        });

        it("tags the node group for Cluster Autoscaler discovery", function () {
            expect(nodeGroupOf(prod).tags).to.deep.equal({ "k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/dockyard-prod": "owned" });
        });

        it("launches nodes with IMDSv2 only and an encrypted gp3 root disk of eks.diskGb", function () {
            const lt = only(prod.resources, "aws:ec2/launchTemplate:LaunchTemplate").inputs as Record<string, any>;
            expect(lt.metadataOptions).to.deep.equal({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: NODE_METADATA_HOP_LIMIT });
            expect(lt.blockDeviceMappings[0].ebs).to.deep.equal({ volumeSize: 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
            const devLt = only(dev.resources, "aws:ec2/launchTemplate:LaunchTemplate").inputs as Record<string, any>;
            expect(devLt.blockDeviceMappings[0].ebs.volumeSize).to.equal(20);
            expect(nodeGroupOf(prod).launchTemplate.id).to.match(/^lt-[0-9a-f]+$/);
            expect(nodeGroupOf(prod).launchTemplate.version).to.equal("1");
        });

        it("gives the node role only the four managed policies nodes need", function () {
            const nodeRole = only(prod.resources, "aws:iam/role:Role", "eks-nodes-role");
            expect(JSON.parse(nodeRole.inputs.assumeRolePolicy as string).Statement[0].Principal).to.deep.equal({ Service: "ec2.amazonaws.com" });
            const attached = ofType(prod.resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                .filter((r) => r.parent === "eks-nodes")
                .map((r) => r.inputs.policyArn);
            expect(attached).to.have.members([
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            ]);
        });
    });
});
