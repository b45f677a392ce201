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
    description: "EBS volumes, instance root and data devices, and launch template block devices are encrypted.",
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
    description: "EFS file systems are encrypted at rest.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: validateResourceOfType(aws.efs.FileSystem, (fs, args, report) => {
        if (!isTrue(fs.encrypted)) report(`${describe(args)}: encrypted must be true`);
    }),
};
