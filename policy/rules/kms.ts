/**
 * Customer-managed KMS keys rotate their key material yearly (Checkov CKV_AWS_7, AWS FSBP KMS.4;
 * awsguard `cmk-backing-key-rotation-enabled`). Rotation exists only for symmetric encryption keys
 * (AWS KMS Developer Guide, "Rotating AWS KMS keys"), so asymmetric and HMAC keys are exempt.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { describe } from "./common";

const ROTATABLE_SPECS = new Set([undefined, "SYMMETRIC_DEFAULT"]);

export const kmsKeyRotation: ResourceValidationPolicy = {
    name: "kms-key-rotation",
    description: "Symmetric KMS keys have automatic rotation on (Checkov CKV_AWS_7, AWS FSBP KMS.4).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        if (args.type !== "aws:kms/key:Key") return args.notApplicable("not a KMS key");
        const spec = args.props.customerMasterKeySpec ?? args.props.keySpec;
        if (!ROTATABLE_SPECS.has(spec)) return args.notApplicable(`a ${spec} key cannot rotate automatically`);
        if (args.props.enableKeyRotation !== true) {
            report(`${describe(args)}: enableKeyRotation must be true, found ${JSON.stringify(args.props.enableKeyRotation ?? "unset (off)")}`);
        }
    },
};
