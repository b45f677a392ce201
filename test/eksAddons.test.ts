import { expect } from "chai";
import { EKS_ADDON_NAMES } from "../components/config";
import { addonPlan, pinProblem } from "../components/eks/addons";
import { CLUSTER_AUTOSCALER_CHART } from "../components/eks/autoscaler";
import { EksCluster } from "../components/eks/cluster";
import { autoscalerDiscoveryTags, clusterAutoscalerPolicy, loadBalancerControllerPolicy, podIdentityTrustPolicy, PolicyStatement } from "../components/eks/iam";
import { LOAD_BALANCER_CONTROLLER_CHART } from "../components/eks/loadBalancerController";
import { amiTypeFor, nodeGroupSettings } from "../components/eks/nodeGroup";
import { autoscalerImageTag } from "../components/eks/versions";
import { mockAddonVersion } from "../scripts/offline/mocks";
import { ofType, only, RecordedResource, runDeclaration, stackConfig, THREE_AZ_NETWORK } from "./harness";

const network = THREE_AZ_NETWORK;

const actions = (statement: PolicyStatement) => [statement.Action].flat();

describe("eks: add-ons, IAM and node autoscaling", function () {
    describe("pure settings", function () {
        it("picks the AL2023 AMI type by architecture", function () {
            expect(amiTypeFor(["t4g.medium"])).to.equal("AL2023_ARM_64_STANDARD");
            expect(amiTypeFor(["m7g.large", "c7gn.xlarge", "r6gd.large"])).to.equal("AL2023_ARM_64_STANDARD");
            expect(amiTypeFor(["t3.medium", "m5.large"])).to.equal("AL2023_x86_64_STANDARD");
            expect(amiTypeFor(["g4dn.xlarge"])).to.equal("AL2023_x86_64_STANDARD");
            expect(amiTypeFor(["a1.large"])).to.equal("AL2023_ARM_64_STANDARD");
            expect(amiTypeFor(["m7i-flex.large"])).to.equal("AL2023_x86_64_STANDARD");
        });

        it("rejects a node group mixing architectures, naming the key and both sides", function () {
            expect(() => amiTypeFor(["t4g.medium", "t3.medium"])).to.throw(/dockyard:eks\.instanceTypes.*arm64: t4g\.medium; x86_64: t3\.medium/);
        });

        it("derives the node group from config per stack", function () {
            const prod = nodeGroupSettings(stackConfig("prod"));
            expect(prod).to.deep.include({ instanceTypes: ["m7g.large"], capacityType: "ON_DEMAND", amiType: "AL2023_ARM_64_STANDARD", diskGb: 50 });
            expect(prod.scaling).to.deep.equal({ minSize: 3, desiredSize: 3, maxSize: 9 });
            const dev = nodeGroupSettings(stackConfig("dev", { target: "eks", "eks.publicAccessCidrs": ["203.0.113.0/24"], "eks.instanceTypes": ["t3.large"], "eks.capacityType": "SPOT" }));
            expect(dev).to.deep.include({ instanceTypes: ["t3.large"], capacityType: "SPOT", amiType: "AL2023_x86_64_STANDARD", diskGb: 20 });
        });

        it("lists every add-on with its phase, unpinned by default so EKS's default for the version applies", function () {
            const plan = addonPlan(stackConfig("prod"));
            expect(plan.map((a) => a.name)).to.deep.equal([...EKS_ADDON_NAMES]);
            for (const addon of plan) expect(addon.pinned, addon.name).to.equal(undefined);
            expect(plan.filter((a) => a.phase === "beforeNodes").map((a) => a.name)).to.deep.equal(["vpc-cni", "kube-proxy", "eks-pod-identity-agent"]);
        });

        it("takes a pin for one add-on and leaves the others to follow the Kubernetes version", function () {
            const plan = addonPlan(stackConfig("prod", { "eks.addonVersions": { coredns: "v1.12.1-eksbuild.2" } }));
            expect(plan.find((a) => a.name === "coredns")!.pinned).to.equal("v1.12.1-eksbuild.2");
            expect(plan.find((a) => a.name === "vpc-cni")!.pinned).to.equal(undefined);
        });

        it("rejects a pinned kube-proxy of another Kubernetes minor, and unknown add-ons in config", function () {
            expect(() => addonPlan(stackConfig("prod", { "eks.addonVersions": { "kube-proxy": "v1.34.1-eksbuild.2" } }))).to.throw(
                'dockyard:eks.addonVersions.kube-proxy is "v1.34.1-eksbuild.2" but dockyard:eks.version is "1.35"; allowed: a kube-proxy v1.35.x version, or no pin (EKS\'s default for the version)',
            );
            expect(() => stackConfig("prod", { "eks.addonVersions": { "not-an-addon": "v1.0.0-eksbuild.1" } })).to.throw(/dockyard:eks\.addonVersions.*not-an-addon/);
        });

        it("refuses a pin newer than anything EKS offers for the cluster's version, naming the key and the newest", function () {
            expect(pinProblem("coredns", "v1.12.4-eksbuild.3", "v1.12.4-eksbuild.3", "1.35")).to.equal(undefined);
            expect(pinProblem("coredns", "v1.11.9-eksbuild.9", "v1.12.4-eksbuild.3", "1.35")).to.equal(undefined);
            expect(pinProblem("coredns", "v1.13.0-eksbuild.1", "v1.12.4-eksbuild.3", "1.35")).to.equal(
                'dockyard:eks.addonVersions.coredns is "v1.13.0-eksbuild.1", newer than any version EKS offers for Kubernetes 1.35 (newest: v1.12.4-eksbuild.3); ' +
                    "allowed: a version from `aws eks describe-addon-versions --addon-name coredns --kubernetes-version 1.35`, or no pin",
            );
        });

        it("matches the Cluster Autoscaler's minor version to the cluster's", function () {
            expect(["1.33", "1.34", "1.35"].map(autoscalerImageTag)).to.deep.equal(["v1.33.5", "v1.34.4", "v1.35.1"]);
            expect(() => autoscalerImageTag("1.29")).to.throw(/dockyard:eks\.version is "1\.29"/);
        });
    });

    describe("IAM documents", function () {
        it("lets a Pod Identity role be used only by its cluster, namespace and service account", function () {
            const trust = podIdentityTrustPolicy({ clusterName: "dockyard-prod", namespace: "kube-system", serviceAccount: "cluster-autoscaler" });
            expect(trust.Statement).to.have.length(1);
            expect(trust.Statement[0].Principal).to.deep.equal({ Service: "pods.eks.amazonaws.com" });
            expect(trust.Statement[0].Action).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
            expect(trust.Statement[0].Condition!.StringEquals).to.deep.equal({
                "aws:RequestTag/eks-cluster-name": "dockyard-prod",
                "aws:RequestTag/kubernetes-namespace": "kube-system",
                "aws:RequestTag/kubernetes-service-account": "cluster-autoscaler",
            });
        });

        it("lets the Cluster Autoscaler resize only this cluster's tagged groups", function () {
            const policy = clusterAutoscalerPolicy("dockyard-prod", "arn:aws:eks:us-east-1:123456789012:cluster/dockyard-prod");
            const writes = policy.Statement.filter((s) => actions(s).some((a) => a === "autoscaling:SetDesiredCapacity" || a === "autoscaling:TerminateInstanceInAutoScalingGroup"));
            expect(writes).to.have.length(1);
            expect(writes[0].Condition).to.deep.equal({
                StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true", "aws:ResourceTag/k8s.io/cluster-autoscaler/dockyard-prod": "owned" },
            });
            const describe = policy.Statement.find((s) => actions(s).includes("eks:DescribeNodegroup"))!;
            expect(describe.Resource).to.equal("arn:aws:eks:us-east-1:123456789012:nodegroup/dockyard-prod/*/*");
            expect(Object.keys(autoscalerDiscoveryTags("dockyard-prod"))).to.deep.equal(["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/dockyard-prod"]);
        });

        it("limits the Load Balancer Controller's changes to resources carrying its cluster tag", function () {
            const policy = loadBalancerControllerPolicy();
            const sids = policy.Statement.map((s) => s.Sid);
            expect(new Set(sids).size).to.equal(sids.length);
            const changes = ["elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup", "ec2:DeleteSecurityGroup", "elasticloadbalancing:CreateLoadBalancer"];
            for (const action of changes) {
                const granting = policy.Statement.filter((s) => actions(s).includes(action));
                expect(granting, action).to.have.length(1);
                expect(JSON.stringify(granting[0].Condition), action).to.contain("elbv2.k8s.aws/cluster");
            }
            const all = policy.Statement.flatMap(actions);
            expect(all).to.include.members(["elasticloadbalancing:RegisterTargets", "acm:DescribeCertificate", "wafv2:AssociateWebACL", "ec2:DescribeSubnets"]);
            expect(all.some((a) => a.endsWith(":*") || a === "*")).to.equal(false);
        });
    });

    describe("under mocks (prod)", function () {
        let resources: RecordedResource[];
        before(async function () {
            const config = stackConfig("prod");
            ({ resources } = await runDeclaration(() => new EksCluster("eks", { config, network }), "prod"));
        });

        const addonNamed = (addon: string) => ofType(resources, "aws:eks/addon:Addon").find((r) => r.inputs.addonName === addon)!;

        it("installs every add-on as an EKS add-on at EKS's default version for the cluster's Kubernetes version", function () {
            const addons = ofType(resources, "aws:eks/addon:Addon");
            expect(addons.map((a) => a.inputs.addonName)).to.have.members([...EKS_ADDON_NAMES]);
            expect(addonNamed("kube-proxy").inputs.addonVersion).to.equal("v1.35.0-eksbuild.1");
            for (const addon of addons) {
                expect(addon.inputs.addonVersion).to.equal(mockAddonVersion(addon.inputs.addonName as string, "1.35", false));
                expect(addon.inputs.clusterName).to.equal("dockyard-prod");
            }
            expect(addonNamed("vpc-cni").parent).to.equal("eks-system-addons");
            expect(addonNamed("coredns").parent).to.equal("eks-addons");
        });

        it("gives the EBS and EFS CSI controllers Pod Identity roles with their managed policies", function () {
            const associations = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
            const bySa = Object.fromEntries(associations.map((a) => [`${a.inputs.namespace}/${a.inputs.serviceAccount}`, a]));
            expect(Object.keys(bySa)).to.have.members([
                "kube-system/ebs-csi-controller-sa",
                "kube-system/efs-csi-controller-sa",
                "kube-system/aws-load-balancer-controller",
                "kube-system/cluster-autoscaler",
            ]);
            for (const association of associations) expect(association.inputs.clusterName).to.equal("dockyard-prod");
            const policyOf = (parent: string) => ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((r) => r.parent === parent).map((r) => r.inputs.policyArn);
            expect(policyOf("eks-addons-aws-ebs-csi-driver")).to.deep.equal(["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]);
            expect(policyOf("eks-addons-aws-efs-csi-driver")).to.deep.equal(["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]);
            const ebsRole = only(resources, "aws:iam/role:Role", "eks-addons-aws-ebs-csi-driver-role");
            expect(JSON.parse(ebsRole.inputs.assumeRolePolicy as string).Statement[0].Condition.StringEquals["aws:RequestTag/kubernetes-service-account"]).to.equal("ebs-csi-controller-sa");
        });

        it("installs the Load Balancer Controller from the pinned eks-charts release with its policy", function () {
            const release = only(resources, "kubernetes:helm.sh/v3:Release", "eks-lbc-release").inputs as Record<string, any>;
            expect(release.chart).to.equal("aws-load-balancer-controller");
            expect(release.repositoryOpts).to.deep.equal({ repo: "https://aws.github.io/eks-charts" });
            expect(release.version).to.equal(LOAD_BALANCER_CONTROLLER_CHART.version);
            expect(release.values).to.deep.include({ clusterName: "dockyard-prod", region: "us-east-1", vpcId: network.vpcId, ingressClass: "alb", createIngressClassResource: true });
            expect(release.values.serviceAccount).to.deep.equal({ create: true, name: "aws-load-balancer-controller" });
            expect(release.values.defaultTags).to.include({ "dockyard:stack": "prod" });
            const inline = only(resources, "aws:iam/rolePolicy:RolePolicy", "eks-lbc-identity-inline");
            expect(JSON.parse(inline.inputs.policy as string)).to.deep.equal(loadBalancerControllerPolicy());
        });

        it("installs the Cluster Autoscaler discovering node groups by tag, scoped to this cluster", function () {
            const release = only(resources, "kubernetes:helm.sh/v3:Release", "eks-autoscaler-release").inputs as Record<string, any>;
            expect(release.chart).to.equal("cluster-autoscaler");
            expect(release.repositoryOpts).to.deep.equal({ repo: CLUSTER_AUTOSCALER_CHART.repo });
            expect(release.version).to.equal(CLUSTER_AUTOSCALER_CHART.version);
            expect(release.values.autoDiscovery).to.deep.equal({ clusterName: "dockyard-prod", tags: ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/dockyard-prod"] });
            expect(release.values.image).to.deep.equal({ tag: "v1.35.1" });
            expect(release.values.rbac.serviceAccount.name).to.equal("cluster-autoscaler");
            const inline = JSON.parse(only(resources, "aws:iam/rolePolicy:RolePolicy", "eks-autoscaler-identity-inline").inputs.policy as string);
            expect(inline).to.deep.equal(clusterAutoscalerPolicy("dockyard-prod", "arn:aws:eks:us-east-1:123456789012:cluster/dockyard-prod"));
        });
    });
});
