/**
 * Resource policies never open a resource to everyone: an `Allow` for `Principal: "*"` (or
 * `{"AWS": "*"}`) is accepted only when a condition narrows it to an organization, account,
 * principal or network path (see `IDENTITY_CONDITION_KEYS`). Modelled on Checkov CKV_AWS_32
 * ("Ensure ECR policy is not set to public"), CKV_AWS_33 ("Ensure KMS key policy does not contain
 * wildcard (*) principal") and the "public" test of IAM Access Analyzer (a wildcard principal that no condition narrows).
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { describe } from "./common";
import { hasWildcardPrincipal, isAllow, narrowsPrincipal, statementsOf } from "./documents";

/** Resource types with a resource policy, and the property that holds it. */
export const RESOURCE_POLICY_PROPERTY: Readonly<Record<string, string>> = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": "policy",
};

export const noPublicResourcePolicies: ResourceValidationPolicy = {
    name: "no-public-resource-policies",
    description: 'Resource policies (ECR, KMS, EFS, S3, SQS, SNS, Secrets Manager) never allow Principal "*" without a condition on the caller\'s organization, account or network (Checkov CKV_AWS_32, CKV_AWS_33).',
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        const property = RESOURCE_POLICY_PROPERTY[args.type];
        if (!property) return args.notApplicable("has no resource policy");
        const document = args.props[property];
        if (document === undefined) return args.notApplicable("sets no resource policy (the service default applies)");
        const statements = statementsOf(document);
        if (statements === undefined) return report(`${describe(args)}: ${property} is not a JSON policy document, so it cannot be checked`);
        statements.forEach((s, i) => {
            if (isAllow(s) && hasWildcardPrincipal(s) && !narrowsPrincipal(s)) {
                report(`${describe(args)}: ${property} ${s.Sid ? `statement "${s.Sid}"` : `statement ${i}`} allows ${JSON.stringify(s.Action ?? s.NotAction)} to everyone (Principal ${JSON.stringify(s.Principal)}); name the principals or add an aws:PrincipalOrgID / aws:PrincipalAccount / aws:SourceVpce condition`);
            }
        });
    },
};
