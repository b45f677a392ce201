/**
 * IAM least privilege: no policy grants every action (of AWS or of a service), no role trusts
 * everyone, no AWS-managed policy that amounts to administrator is attached, and no long-lived
 * user credentials exist. Modelled on Checkov CKV_AWS_1/62/63 (no "*:*", no "*" action),
 * CKV_AWS_60 (roles assumable only by specific principals), CKV_AWS_274/286 (no AdministratorAccess,
 * no privilege escalation), CKV_AWS_40 and AWS Foundational Security Best Practices IAM.1 (no full
 * "*" administrative privileges), IAM.2 (no policies on users) and IAM.21 (no service-wide
 * wildcard actions).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { describe } from "./common";
import { asList, conditionKeysOf, hasWildcardPrincipal, isAllow, principalsOf, Statement, statementsOf } from "./documents";

/** Identity policy documents, by resource type: where each keeps its document(s). */
const IDENTITY_POLICY_DOCUMENTS: Record<string, (props: Record<string, any>) => { where: string; document: unknown }[]> = {
    "aws:iam/rolePolicy:RolePolicy": (p) => [{ where: "policy", document: p.policy }],
    "aws:iam/policy:Policy": (p) => [{ where: "policy", document: p.policy }],
    "aws:iam/userPolicy:UserPolicy": (p) => [{ where: "policy", document: p.policy }],
    "aws:iam/groupPolicy:GroupPolicy": (p) => [{ where: "policy", document: p.policy }],
    "aws:iam/role:Role": (p) => (Array.isArray(p.inlinePolicies) ? p.inlinePolicies : []).map((ip: Record<string, unknown>, i: number) => ({ where: `inlinePolicies[${i}]`, document: ip.policy })),
};

/** `*`, `*:*` and `service:*`: every action, or every action of a service. */
export const isWildcardAction = (action: string) => action === "*" || /^\*:/.test(action) || /^[^:]+:\*$/.test(action);

const label = (s: Statement, i: number) => (s.Sid ? `statement "${s.Sid}"` : `statement ${i}`);

function wildcardProblems(statements: Statement[]): string[] {
    const problems: string[] = [];
    statements.forEach((s, i) => {
        if (!isAllow(s)) return;
        if (s.NotAction !== undefined) problems.push(`${label(s, i)} allows NotAction ${JSON.stringify(s.NotAction)}, i.e. every other action; list the actions instead`);
        const wide = asList(s.Action).filter(isWildcardAction);
        if (wide.length > 0) {
            const all = asList(s.Resource).includes("*");
            problems.push(`${label(s, i)} allows ${wide.map((a) => JSON.stringify(a)).join(", ")}${all ? ' on Resource "*"' : ""}; name the actions the workload needs`);
        }
    });
    return problems;
}

export const iamNoWildcardActions: ResourceValidationPolicy = {
    name: "iam-no-wildcard-actions",
    description: 'IAM policies never allow "*", "*:*", a whole service ("s3:*") or NotAction (Checkov CKV_AWS_1/62/63, AWS FSBP IAM.1, IAM.21).',
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        const documents = IDENTITY_POLICY_DOCUMENTS[args.type]?.(args.props);
        if (!documents) return args.notApplicable("not an IAM identity policy");
        for (const { where, document } of documents) {
            const statements = statementsOf(document);
            if (statements === undefined) {
                report(`${describe(args)}: ${where} is not a JSON policy document, so it cannot be checked`);
                continue;
            }
            for (const problem of wildcardProblems(statements)) report(`${describe(args)}: ${where} ${problem}`);
        }
    },
};

/** Web-identity federation needs a `sub` condition, or any repository / workload of the provider may assume the role. */
function federationProblem(s: Statement, i: number): string | undefined {
    const keys = conditionKeysOf(s);
    const unconditioned = principalsOf(s)
        .filter((p) => p.kind === "Federated" && p.value.includes(":oidc-provider/"))
        .filter((p) => !keys.includes(`${p.value.slice(p.value.indexOf(":oidc-provider/") + ":oidc-provider/".length).toLowerCase()}:sub`));
    if (unconditioned.length === 0) return undefined;
    // GitHub, "Configuring OpenID Connect in Amazon Web Services": the trust policy must test `sub`.
    return `${label(s, i)} lets ${unconditioned.map((p) => p.value).join(", ")} assume the role without a condition on its ":sub" claim, so every identity of that provider can`;
}

export const iamTrustNoPublicPrincipal: ResourceValidationPolicy = {
    name: "iam-trust-no-public-principal",
    description: 'Role trust policies name their principals: no "*" or {"AWS": "*"}, no NotPrincipal, no OIDC federation without a ":sub" condition (Checkov CKV_AWS_60, GitHub OIDC guidance).',
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        if (args.type !== "aws:iam/role:Role") return args.notApplicable("not an IAM role");
        const statements = statementsOf(args.props.assumeRolePolicy);
        if (statements === undefined) return report(`${describe(args)}: assumeRolePolicy is not a JSON policy document, so it cannot be checked`);
        statements.forEach((s, i) => {
            if (!isAllow(s)) return;
            if (hasWildcardPrincipal(s)) report(`${describe(args)}: assumeRolePolicy ${label(s, i)} lets any AWS principal assume the role (Principal ${JSON.stringify(s.Principal)}); name the service, account or role`);
            if (s.NotPrincipal !== undefined) report(`${describe(args)}: assumeRolePolicy ${label(s, i)} uses NotPrincipal, which trusts everyone else`);
            const federation = federationProblem(s, i);
            if (federation) report(`${describe(args)}: assumeRolePolicy ${federation}`);
        });
    },
};

/**
 * AWS-managed policies that grant administrator power or the power to become administrator
 * (CKV_AWS_274 AdministratorAccess; IAMFullAccess and PowerUserAccess are CKV_AWS_286-style
 * privilege escalation: PowerUserAccess allows everything but IAM, IAMFullAccess can grant the rest).
 */
export const ADMIN_MANAGED_POLICIES: readonly string[] = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

const adminPolicyName = (arn: unknown) => {
    const match = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(String(arn));
    return match && ADMIN_MANAGED_POLICIES.includes(match[1]) ? match[1] : undefined;
};

const ATTACHMENT_TYPES = new Set([
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
]);

export const iamNoAdminManagedPolicies: ResourceValidationPolicy = {
    name: "iam-no-admin-managed-policies",
    description: `No role, user or group gets ${ADMIN_MANAGED_POLICIES.join(", ")} (Checkov CKV_AWS_274, CKV_AWS_286).`,
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const arns = ATTACHMENT_TYPES.has(args.type) ? [args.props.policyArn] : args.type === "aws:iam/role:Role" ? asList(args.props.managedPolicyArns) : undefined;
        if (arns === undefined) return args.notApplicable("attaches no managed policy");
        for (const arn of arns) {
            const name = adminPolicyName(arn);
            if (name) report(`${describe(args)}: attaches ${arn}, which grants ${name === "IAMFullAccess" ? "the power to grant any permission" : "administrator access"}; write a policy with the actions needed`);
        }
    },
};

const USER_CREDENTIAL_TYPES: Record<string, string> = {
    "aws:iam/user:User": "an IAM user",
    "aws:iam/accessKey:AccessKey": "a long-lived access key",
    "aws:iam/userLoginProfile:UserLoginProfile": "a console password",
    "aws:iam/userPolicy:UserPolicy": "a policy on a user",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "a policy attached to a user",
};

export const iamNoUserCredentials: ResourceValidationPolicy = {
    name: "iam-no-user-credentials",
    description: "No IAM users, access keys or user policies: machines use roles, people use SSO (Checkov CKV_AWS_40, AWS FSBP IAM.2).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (!args.type.startsWith("aws:iam/")) return args.notApplicable("not an IAM resource");
        const what = USER_CREDENTIAL_TYPES[args.type];
        if (what) report(`${describe(args)}: creates ${what}; give the workload or CI a role to assume instead`);
    },
};
