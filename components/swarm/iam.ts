/**
 * IAM documents of the swarm's nodes, as pure functions. Two roles rather than one role with
 * conditions: managers publish the join tokens and clean up dead nodes, workers only read the
 * worker token and finish their own termination hook, and a role boundary is easier to audit
 * than tag conditions on one role.
 *
 * A worker must never read the manager token: with it, it could join as a manager and read every
 * secret. `AmazonSSMManagedInstanceCore` allows `ssm:GetParameter(s)` on `*`, so the worker policy
 * denies every read of that parameter outright (an explicit deny beats any allow: IAM User Guide,
 * "Policy evaluation logic"), and its use of the stack's key is bound to the worker token: Parameter
 * Store passes the parameter's ARN to KMS as the encryption context `PARAMETER_ARN` (AWS KMS
 * Developer Guide, "How AWS Systems Manager Parameter Store uses AWS KMS"), so a decrypt for
 * another parameter is refused even if a read were allowed.
 */

export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: readonly string[];
    readonly Resource: string | readonly string[];
    readonly Condition?: Record<string, Record<string, string | string[]>>;
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

/** Every SSM action that returns a parameter's value. */
export const PARAMETER_READS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"] as const;

/** Trust policy: only EC2 may assume the node roles. */
export const EC2_TRUST_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Sid: "Ec2AssumesRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
} as const;

const parameterArn = (s: NodeIamScope, suffix: string) => `arn:${s.partition}:ssm:${s.region}:${s.accountId}:parameter${s.parameterPath}${suffix}`;

/** `parameter/`, every ancestor of the stack's path, the path itself and everything below it. */
export function pathReadResources(s: NodeIamScope): string[] {
    const base = `arn:${s.partition}:ssm:${s.region}:${s.accountId}:parameter`;
    const segments = s.parameterPath.split("/").filter(Boolean);
    const ancestors = segments.slice(0, -1).map((_, i) => `${base}/${segments.slice(0, i + 1).join("/")}`);
    return [`${base}/`, ...ancestors, parameterArn(s, ""), parameterArn(s, "/*")];
}

function logStatement(s: NodeIamScope): PolicyStatement {
    const group = `arn:${s.partition}:logs:${s.region}:${s.accountId}:log-group:${s.logGroupName}`;
    return { Sid: "ContainerLogsToStackLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [group, `${group}:log-stream:*`] };
}

/** The stack's key, only through Parameter Store and only for the parameters named (a `*` pattern allowed). */
function kmsStatement(s: NodeIamScope, actions: string[], parameters: string | string[]): PolicyStatement {
    return {
        Sid: "StackKeyThroughParameterStore",
        Effect: "Allow",
        Action: actions,
        Resource: s.kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `ssm.${s.region}.amazonaws.com` }, StringLike: { "kms:EncryptionContext:PARAMETER_ARN": parameters } },
    };
}

export function managerPolicy(s: NodeIamScope): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReadSwarmParameters", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], Resource: [parameterArn(s, ""), parameterArn(s, "/*")] },
            { Sid: "PublishSwarmParameters", Effect: "Allow", Action: ["ssm:PutParameter"], Resource: parameterArn(s, "/*") },
            kmsStatement(s, ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], parameterArn(s, "/*")),
            logStatement(s),
            { Sid: "FindDeadAndTerminatingNodes", Effect: "Allow", Action: [...ACTIONS_WITHOUT_RESOURCE_SCOPE], Resource: "*" },
        ],
    };
}

export function workerPolicy(s: NodeIamScope): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            // The stack's join parameters, and what the nodes of an older stack published under the path
            // itself, which nodes read until those are filled (cloudInit.ts find_param); join-address is
            // what managers bootstrapped before manager-addresses still publish there.
            {
                Sid: "ReadWorkerJoinParameters",
                Effect: "Allow",
                Action: ["ssm:GetParameter"],
                Resource: [
                    parameterArn(s, "/join/worker-token"),
                    parameterArn(s, "/join/manager-addresses"),
                    parameterArn(s, "/worker-token"),
                    parameterArn(s, "/manager-addresses"),
                    parameterArn(s, "/join-address"),
                ],
            },
            {
                Sid: "NeverTheManagerToken",
                Effect: "Deny",
                Action: PARAMETER_READS.filter((a) => a !== "ssm:GetParametersByPath"),
                Resource: [parameterArn(s, "/join/manager-token"), parameterArn(s, "/manager-token")],
            },
            // GetParametersByPath is authorized against the path asked for, not the parameters it
            // returns (Service Authorization Reference, AWS Systems Manager: its resource is the
            // parameter ARN of the path), so a deny on the token's ARN never matched it: the
            // stack's path, everything below it, and every ancestor a --recursive read would descend from.
            { Sid: "NeverTheManagerTokenByPath", Effect: "Deny", Action: ["ssm:GetParametersByPath"], Resource: pathReadResources(s) },
            kmsStatement(s, ["kms:Decrypt"], [parameterArn(s, "/join/worker-token"), parameterArn(s, "/worker-token")]),
            logStatement(s),
            {
                // Leaving through the termination hook, and reporting a failed bootstrap so the group replaces the worker.
                Sid: "FinishOwnTerminationHookAndReportHealth",
                Effect: "Allow",
                Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"],
                // The `*` is the group's id, which AWS generates; the name pins the group.
                Resource: `arn:${s.partition}:autoscaling:${s.region}:${s.accountId}:autoScalingGroup:*:autoScalingGroupName/${s.workerGroupName}`,
            },
        ],
    };
}
