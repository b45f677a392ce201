/**
 * IAM documents of the swarm's nodes, as pure functions. Two roles rather than one role with
 * conditions: managers publish the join tokens and clean up dead nodes, workers only read the
 * worker token and finish their own termination hook, and a role boundary is easier to audit
 * than tag conditions on one role.
 */

export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow";
    readonly Action: readonly string[];
    readonly Resource: string | readonly string[];
    readonly Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

/** Where the nodes' permissions end: the stack's own parameters, log group, key and worker group. */
export interface NodeIamScope {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
    /** SSM parameter path of the stack's swarm, e.g. `/dockyard/dev/swarm`. */
    readonly parameterPath: string;
    readonly logGroupName: string;
    readonly kmsKeyArn: string;
    readonly workerGroupName: string;
}

/** AWS managed policies every node gets: Session Manager and pulling from ECR. */
export const NODE_MANAGED_POLICIES = ["AmazonSSMManagedInstanceCore", "AmazonEC2ContainerRegistryReadOnly"] as const;

/** Actions AWS offers no resource-level permissions for, so `Resource: "*"` is the narrowest possible. */
export const ACTIONS_WITHOUT_RESOURCE_SCOPE = ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances"] as const;

/** Trust policy: only EC2 may assume the node roles. */
export const EC2_TRUST_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Sid: "Ec2AssumesRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
} as const;

const parameterArn = (s: NodeIamScope, suffix: string) => `arn:${s.partition}:ssm:${s.region}:${s.accountId}:parameter${s.parameterPath}${suffix}`;

function logStatement(s: NodeIamScope): PolicyStatement {
    const group = `arn:${s.partition}:logs:${s.region}:${s.accountId}:log-group:${s.logGroupName}`;
    return { Sid: "ContainerLogsToStackLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [group, `${group}:log-stream:*`] };
}

function kmsStatement(s: NodeIamScope, actions: string[]): PolicyStatement {
    return {
        Sid: "StackKeyThroughParameterStore",
        Effect: "Allow",
        Action: actions,
        Resource: s.kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `ssm.${s.region}.amazonaws.com` } },
    };
}

export function managerPolicy(s: NodeIamScope): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReadSwarmParameters", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], Resource: [parameterArn(s, ""), parameterArn(s, "/*")] },
            { Sid: "PublishSwarmParameters", Effect: "Allow", Action: ["ssm:PutParameter"], Resource: parameterArn(s, "/*") },
            kmsStatement(s, ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]),
            logStatement(s),
            { Sid: "FindDeadAndTerminatingNodes", Effect: "Allow", Action: [...ACTIONS_WITHOUT_RESOURCE_SCOPE], Resource: "*" },
        ],
    };
}

export function workerPolicy(s: NodeIamScope): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReadWorkerJoinParameters", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [parameterArn(s, "/worker-token"), parameterArn(s, "/join-address")] },
            kmsStatement(s, ["kms:Decrypt"]),
            logStatement(s),
            {
                Sid: "FinishOwnTerminationHook",
                Effect: "Allow",
                Action: ["autoscaling:CompleteLifecycleAction"],
                // The `*` is the group's id, which AWS generates; the name pins the group.
                Resource: `arn:${s.partition}:autoscaling:${s.region}:${s.accountId}:autoScalingGroup:*:autoScalingGroupName/${s.workerGroupName}`,
            },
        ],
    };
}
