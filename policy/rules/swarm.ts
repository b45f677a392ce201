/**
 * Swarm services (`docker.Service`) carry a health check, roll back a failed update, and run with
 * limits, a read-only root filesystem, a non-root user and a pinned image.
 */
import * as docker from "@pulumi/docker";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { describe, unpinnedImageReason } from "./common";

type ServiceProps = Record<string, any>;
type ServiceCheck = (service: ServiceProps, args: ResourceValidationArgs, report: ReportViolation) => void;

/** Tasks that restart only on failure (or never) run to completion: they are jobs, not servers. */
export const isRunToCompletion = (service: ServiceProps) => ["on-failure", "none"].includes(service.taskSpec?.restartPolicy?.condition);

function swarmPolicy(name: string, description: string, check: ServiceCheck): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: validateResourceOfType(docker.Service, (service, args, report) => check(service, args, report)),
    };
}

const container = (service: ServiceProps): Record<string, any> => service.taskSpec?.containerSpec ?? {};

export const swarmHealthCheck = swarmPolicy("swarm-health-check", "Long-running Swarm services declare a health check (jobs are exempt).", (service, args, report) => {
    if (isRunToCompletion(service)) return args.notApplicable("a run-to-completion job needs no health check");
    const tests: string[] = container(service).healthcheck?.tests ?? [];
    if (tests.length === 0 || tests[0] === "NONE") report(`${describe(args)}: taskSpec.containerSpec.healthcheck.tests must declare a check`);
});

export const swarmRollbackOnFailure = swarmPolicy("swarm-rollback-on-failure", "A failed Swarm update rolls back.", (service, args, report) => {
    const action = service.updateConfig?.failureAction;
    if (action !== "rollback") report(`${describe(args)}: updateConfig.failureAction must be "rollback", found ${JSON.stringify(action ?? "pause (the default)")}`);
});

export const swarmResourceLimits = swarmPolicy("swarm-resource-limits", "Swarm tasks have CPU and memory limits.", (service, args, report) => {
    const limits = service.taskSpec?.resources?.limits ?? {};
    const missing = ["nanoCpus", "memoryBytes"].filter((k) => !(Number(limits[k]) > 0));
    if (missing.length > 0) report(`${describe(args)}: taskSpec.resources.limits lacks ${missing.join(" and ")}`);
});

export const swarmReadOnly = swarmPolicy("swarm-read-only", "Swarm containers have a read-only root filesystem.", (service, args, report) => {
    if (container(service).readOnly !== true) report(`${describe(args)}: taskSpec.containerSpec.readOnly must be true`);
});

export const swarmNonRootUser = swarmPolicy("swarm-non-root-user", "Swarm containers run as a non-root user.", (service, args, report) => {
    const user = container(service).user;
    const name = typeof user === "string" ? user.split(":")[0] : "";
    if (name === "") report(`${describe(args)}: taskSpec.containerSpec.user must name a non-root user (the image default may be root)`);
    else if (name === "root" || name === "0") report(`${describe(args)}: taskSpec.containerSpec.user "${user}" is root`);
});

export const swarmPinnedImages = swarmPolicy("swarm-pinned-images", "Swarm images are pinned by a version tag or a digest.", (service, args, report) => {
    const reason = unpinnedImageReason(container(service).image);
    if (reason) report(`${describe(args)}: ${reason}`);
});
