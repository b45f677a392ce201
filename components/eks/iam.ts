/**
 * The IAM documents of the EKS target, as pure functions: trust policies for nodes and for Pod
 * Identity roles, the managed policies each role gets, and the two inline policies dockyard writes
 * itself (AWS Load Balancer Controller, Cluster Autoscaler). Resource code only serialises them.
 */

export interface PolicyStatement {
    readonly Sid?: string;
    readonly Effect: "Allow" | "Deny";
    readonly Principal?: Readonly<Record<string, string | readonly string[]>>;
    readonly Action: string | readonly string[];
    readonly Resource?: string | readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

const document = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement: statements });

const awsManaged = (path: string) => `arn:aws:iam::aws:policy/${path}`;

/**
 * What a node's instance role carries. The VPC CNI keeps its policy on the node role (as EKS and
 * terraform-aws-eks do by default): aws-node must assign pod IPs before the Pod Identity agent on a
 * fresh node can hand out credentials, so moving CNI to Pod Identity would race node start-up.
 * SSM replaces SSH for operator access.
 */
export const NODE_ROLE_POLICY_ARNS: readonly string[] = [
    awsManaged("AmazonEKSWorkerNodePolicy"),
    awsManaged("AmazonEC2ContainerRegistryReadOnly"),
    awsManaged("AmazonEKS_CNI_Policy"),
    awsManaged("AmazonSSMManagedInstanceCore"),
];

export const EBS_CSI_POLICY_ARN = awsManaged("service-role/AmazonEBSCSIDriverPolicy");
export const EFS_CSI_POLICY_ARN = awsManaged("service-role/AmazonEFSCSIDriverPolicy");
export const CLUSTER_ADMIN_ACCESS_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
export const CLUSTER_VIEW_ACCESS_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

/** Trust policy letting EC2 instances (the nodes) assume the node role. */
export function nodeTrustPolicy(): PolicyDocument {
    return document({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
}

/** Where a Pod Identity role may be used: one service account of one cluster. */
export interface ServiceAccountRef {
    readonly clusterName: string;
    readonly namespace: string;
    readonly serviceAccount: string;
}

/**
 * Trust policy for an EKS Pod Identity role. EKS tags every Pod Identity session with the cluster,
 * namespace and service account; matching on those tags means the role cannot be borrowed by
 * another cluster or service account even if someone associates it there.
 */
export function podIdentityTrustPolicy(ref: ServiceAccountRef): PolicyDocument {
    return document({
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
            StringEquals: {
                "aws:RequestTag/eks-cluster-name": ref.clusterName,
                "aws:RequestTag/kubernetes-namespace": ref.namespace,
                "aws:RequestTag/kubernetes-service-account": ref.serviceAccount,
            },
        },
    });
}

/** The tags Cluster Autoscaler discovers node groups by; EKS puts them on every managed node group's ASG. */
export function autoscalerDiscoveryTags(clusterName: string): Record<string, string> {
    return { "k8s.io/cluster-autoscaler/enabled": "true", [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned" };
}

/**
 * Cluster Autoscaler's policy (after the autoscaler's AWS cloud-provider README): it may read any
 * group, but change the size of or terminate instances in only the Auto Scaling groups tagged as
 * this cluster's, and describe only this cluster's node groups.
 */
export function clusterAutoscalerPolicy(clusterName: string, clusterArn: string): PolicyDocument {
    const nodegroups = `${clusterArn.replace(":cluster/", ":nodegroup/")}/*/*`;
    return document(
        {
            Sid: "ReadScalingState",
            Effect: "Allow",
            Action: [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            Resource: "*",
        },
        { Sid: "ReadOwnNodeGroups", Effect: "Allow", Action: "eks:DescribeNodegroup", Resource: nodegroups },
        {
            Sid: "ScaleOwnNodeGroups",
            Effect: "Allow",
            Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            Resource: "*",
            Condition: { StringEquals: Object.fromEntries(Object.entries(autoscalerDiscoveryTags(clusterName)).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) },
        },
    );
}

/** The tag the Load Balancer Controller puts on everything it creates; its write access is scoped by it. */
const LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster";
const requestTagged = { [`aws:RequestTag/${LBC_CLUSTER_TAG}`]: "false" };
const resourceTagged = { [`aws:ResourceTag/${LBC_CLUSTER_TAG}`]: "false" };
const retaggingOwned = { [`aws:RequestTag/${LBC_CLUSTER_TAG}`]: "true", [`aws:ResourceTag/${LBC_CLUSTER_TAG}`]: "false" };

const elb = (resource: string) => `arn:aws:elasticloadbalancing:*:*:${resource}`;
const LBC_TARGET_GROUPS_AND_LOAD_BALANCERS = [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")];
const LBC_LISTENERS_AND_RULES = [elb("listener/net/*/*/*"), elb("listener/app/*/*/*"), elb("listener-rule/net/*/*/*"), elb("listener-rule/app/*/*/*")];

/**
 * The AWS Load Balancer Controller's policy, built from the actions its documentation lists
 * (kubernetes-sigs/aws-load-balancer-controller, docs/install/iam_policy.json) and grouped by what
 * they are for. Reads are broad; every create, modify and delete of load balancers, target groups
 * and security groups is limited to resources carrying the controller's cluster tag.
 */
export function loadBalancerControllerPolicy(): PolicyDocument {
    return document(
        {
            Sid: "CreateElbServiceLinkedRole",
            Effect: "Allow",
            Action: "iam:CreateServiceLinkedRole",
            Resource: "*",
            Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
        },
        {
            Sid: "DiscoverNetworkAndLoadBalancers",
            Effect: "Allow",
            Action: [
                ...["DescribeAccountAttributes", "DescribeAddresses", "DescribeAvailabilityZones", "DescribeInternetGateways", "DescribeVpcs", "DescribeVpcPeeringConnections", "DescribeSubnets", "DescribeSecurityGroups", "DescribeInstances", "DescribeNetworkInterfaces", "DescribeTags", "DescribeRouteTables", "DescribeIpamPools", "GetCoipPoolUsage", "DescribeCoipPools", "GetSecurityGroupsForVpc"].map((a) => `ec2:${a}`),
                ...["DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeListeners", "DescribeListenerCertificates", "DescribeListenerAttributes", "DescribeSSLPolicies", "DescribeRules", "DescribeTargetGroups", "DescribeTargetGroupAttributes", "DescribeTargetHealth", "DescribeTags", "DescribeTrustStores", "DescribeCapacityReservation"].map((a) => `elasticloadbalancing:${a}`),
            ],
            Resource: "*",
        },
        {
            Sid: "UseCertificatesAuthAndFirewalls",
            Effect: "Allow",
            Action: [
                "cognito-idp:DescribeUserPoolClient",
                "acm:ListCertificates",
                "acm:DescribeCertificate",
                "iam:ListServerCertificates",
                "iam:GetServerCertificate",
                "waf-regional:GetWebACL",
                "waf-regional:GetWebACLForResource",
                "waf-regional:AssociateWebACL",
                "waf-regional:DisassociateWebACL",
                "wafv2:GetWebACL",
                "wafv2:GetWebACLForResource",
                "wafv2:AssociateWebACL",
                "wafv2:DisassociateWebACL",
                "shield:GetSubscriptionState",
                "shield:DescribeProtection",
                "shield:CreateProtection",
                "shield:DeleteProtection",
            ],
            Resource: "*",
        },
        { Sid: "ManageNodeSecurityGroupRules", Effect: "Allow", Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], Resource: "*" },
        { Sid: "CreateSecurityGroups", Effect: "Allow", Action: "ec2:CreateSecurityGroup", Resource: "*" },
        {
            Sid: "TagNewSecurityGroups",
            Effect: "Allow",
            Action: "ec2:CreateTags",
            Resource: "arn:aws:ec2:*:*:security-group/*",
            Condition: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" }, Null: requestTagged },
        },
        { Sid: "RetagOwnSecurityGroups", Effect: "Allow", Action: ["ec2:CreateTags", "ec2:DeleteTags"], Resource: "arn:aws:ec2:*:*:security-group/*", Condition: { Null: retaggingOwned } },
        {
            Sid: "ChangeOwnSecurityGroups",
            Effect: "Allow",
            Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            Resource: "*",
            Condition: { Null: resourceTagged },
        },
        {
            Sid: "CreateTaggedLoadBalancers",
            Effect: "Allow",
            Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            Resource: "*",
            Condition: { Null: requestTagged },
        },
        {
            Sid: "ManageListenersAndRules",
            Effect: "Allow",
            Action: ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"],
            Resource: "*",
        },
        {
            Sid: "RetagOwnLoadBalancers",
            Effect: "Allow",
            Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            Resource: LBC_TARGET_GROUPS_AND_LOAD_BALANCERS,
            Condition: { Null: retaggingOwned },
        },
        { Sid: "TagListenersAndRules", Effect: "Allow", Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], Resource: LBC_LISTENERS_AND_RULES },
        {
            Sid: "ChangeOwnLoadBalancers",
            Effect: "Allow",
            Action: [
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyCapacityReservation",
                "elasticloadbalancing:ModifyIpPools",
            ],
            Resource: "*",
            Condition: { Null: resourceTagged },
        },
        {
            Sid: "TagOnCreate",
            Effect: "Allow",
            Action: "elasticloadbalancing:AddTags",
            Resource: LBC_TARGET_GROUPS_AND_LOAD_BALANCERS,
            Condition: { StringEquals: { "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"] }, Null: requestTagged },
        },
        { Sid: "RegisterTargets", Effect: "Allow", Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], Resource: elb("targetgroup/*/*") },
        {
            Sid: "ConfigureListeners",
            Effect: "Allow",
            Action: [
                "elasticloadbalancing:SetWebAcl",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            Resource: "*",
        },
    );
}
