/**
 * Data at rest is encrypted: every EBS volume (stand-alone, an instance's root and data devices,
 * a launch template's block devices) and every EFS file system.
 */
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe } from "./common";

/** The schema types a launch template's `ebs.encrypted` as a string ("true"); accept both spellings. */
const isTrue = (value: unknown) => value === true || value === "true";

export const ebsEncrypted: ResourceValidationPolicy = {
    name: "ebs-encrypted",
    description: "EBS volumes, instance root and data devices, and launch template block devices are encrypted (Checkov CKV_AWS_3/8, AWS FSBP EC2.7).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: [
        validateResourceOfType(aws.ebs.Volume, (volume, args, report) => {
            if (!isTrue(volume.encrypted)) report(`${describe(args)}: encrypted must be true`);
        }),
        validateResourceOfType(aws.ec2.Instance, (instance, args, report) => {
            if (!isTrue(instance.rootBlockDevice?.encrypted)) {
                report(`${describe(args)}: rootBlockDevice.encrypted must be true (an omitted root device takes the AMI's unencrypted default)`);
            }
            (instance.ebsBlockDevices ?? []).forEach((device, i) => {
                if (!isTrue(device.encrypted)) report(`${describe(args)}: ebsBlockDevices[${i}] (${device.deviceName}) must set encrypted: true`);
            });
        }),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, report) => {
            const mappings = template.blockDeviceMappings ?? [];
            if (!mappings.some((m) => m.ebs)) {
                report(`${describe(args)}: declares no EBS block device, so the root volume takes the AMI's unencrypted default; add blockDeviceMappings[].ebs with encrypted: "true"`);
            }
            mappings.forEach((mapping, i) => {
                if (mapping.ebs && !isTrue(mapping.ebs.encrypted)) {
                    report(`${describe(args)}: blockDeviceMappings[${i}] (${mapping.deviceName}) must set ebs.encrypted: "true"`);
                }
            });
        }),
    ],
};

export const efsEncrypted: ResourceValidationPolicy = {
    name: "efs-encrypted",
    description: "EFS file systems are encrypted at rest (Checkov CKV_AWS_42, AWS FSBP EFS.1).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: validateResourceOfType(aws.efs.FileSystem, (fs, args, report) => {
        if (!isTrue(fs.encrypted)) report(`${describe(args)}: encrypted must be true`);
    }),
};

export const efsAccessPointsEnforced: ResourceValidationPolicy = {
    name: "efs-access-points-enforced",
    description: "EFS access points enforce a root directory other than / and a POSIX user (AWS FSBP EFS.3, EFS.4).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: validateResourceOfType(aws.efs.AccessPoint, (ap, args, report) => {
        const path = ap.rootDirectory?.path;
        if (!path || path === "/") report(`${describe(args)}: rootDirectory.path must name a directory below / (found ${JSON.stringify(path ?? "unset")}), or every client sees the whole file system`);
        if (ap.posixUser?.uid === undefined || ap.posixUser?.gid === undefined) report(`${describe(args)}: posixUser must set uid and gid, so clients cannot act as any user`);
    }),
};
