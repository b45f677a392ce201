/**
 * Swarm services (`docker.Service`) carry a health check, roll back a failed update, and run with
 * limits, a read-only root filesystem, a non-root user, a pinned image, no host mounts, no added
 * capabilities and no host network; their overlay network is encrypted. These are the pod rules
 * of Checkov, Polaris and the Pod Security Standards, spelled for Swarm.
 */
import * as docker from "@pulumi/docker";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { JOB_SPEC_LABEL } from "../../components/swarm/service";
import { PRIVILEGES_MARK, RESTRICTED_CAPABILITIES } from "../../components/workload";
import { describe, unpinnedImageReason } from "./common";
import { addableCapabilities, declaredPrivileges, swarmDeclaration } from "./privileges";

type ServiceProps = Record<string, any>;
type ServiceCheck = (service: ServiceProps, args: ResourceValidationArgs, report: ReportViolation) => void;

/**
 * A dockyard job: its task template carries the `dockyard.job-spec` label, the digest of the spec
 * whose runs its wait counts (components/swarm/workload.ts labels jobs and only jobs;
 * components/swarm/jobs.ts waits on them), and its tasks are not restarted once they exit 0
 * (`on-failure` or `none`). The restart policy alone says nothing: a server restarted only on
 * failure is still a server. A labelled service restarted whatever ends it (`any`, Swarm's default)
 * never completes, so it is no job either. The service mode cannot tell: the Docker provider knows
 * `replicated` and `global` only, no `replicated-job` or `global-job` (ServiceMode in @pulumi/docker,
 * from terraform-provider-docker's resource_docker_service.go; components/swarm/service.ts).
 */
export function isJobService(service: ServiceProps): boolean {
    const labels: { label?: unknown; value?: unknown }[] = service.taskSpec?.containerSpec?.labels ?? [];
    const labelled = labels.some((l) => l.label === JOB_SPEC_LABEL && typeof l.value === "string" && l.value !== "");
    return labelled && ["on-failure", "none"].includes(service.taskSpec?.restartPolicy?.condition);
}

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

/** What the service declares it may do beyond a non-root user without capabilities (privileges.ts). */
const declared = (service: ServiceProps) => declaredPrivileges(swarmDeclaration(service));

export const swarmHealthCheck = swarmPolicy("swarm-health-check", `Long-running Swarm services declare a health check; jobs (labelled ${JOB_SPEC_LABEL}, restarted on failure only) exempt (Checkov CKV_DOCKER_2, CKV_K8S_8/9 applied to Swarm).`, (service, args, report) => {
    if (isJobService(service)) return args.notApplicable("a run-to-completion job needs no health check");
    const tests: string[] = container(service).healthcheck?.tests ?? [];
    if (tests.length === 0 || tests[0] === "NONE") report(`${describe(args)}: taskSpec.containerSpec.healthcheck.tests must declare a check`);
});

export const swarmRollbackOnFailure = swarmPolicy("swarm-rollback-on-failure", `A failed Swarm update of a long-running service rolls back; jobs (labelled ${JOB_SPEC_LABEL}, restarted on failure only) exempt.`, (service, args, report) => {
    // swarmkit counts a job's task that completes within the monitor window as a failed update, so a
    // job that rolls back runs its old spec again (moby/swarmkit manager/orchestrator/update/updater.go);
    // dockyard's jobs update with "continue" and their wait judges the run (components/swarm/jobs.ts).
    if (isJobService(service)) return args.notApplicable("a run-to-completion job must not roll back: the old spec would run again");
    const action = service.updateConfig?.failureAction;
    if (action !== "rollback") report(`${describe(args)}: updateConfig.failureAction must be "rollback", found ${JSON.stringify(action ?? "pause (the default)")}`);
});

export const swarmResourceLimits = swarmPolicy("swarm-resource-limits", "Swarm tasks have CPU and memory limits (Checkov CKV_K8S_11/13 applied to Swarm).", (service, args, report) => {
    const limits = service.taskSpec?.resources?.limits ?? {};
    const missing = ["nanoCpus", "memoryBytes"].filter((k) => !(Number(limits[k]) > 0));
    if (missing.length > 0) report(`${describe(args)}: taskSpec.resources.limits lacks ${missing.join(" and ")}`);
});

export const swarmReadOnly = swarmPolicy("swarm-read-only", "Swarm containers have a read-only root filesystem (Checkov CKV_K8S_22 applied to Swarm).", (service, args, report) => {
    if (container(service).readOnly !== true) report(`${describe(args)}: taskSpec.containerSpec.readOnly must be true`);
});

export const swarmNonRootUser = swarmPolicy("swarm-non-root-user", `Swarm containers run as a non-root user (Checkov CKV_DOCKER_8, CKV_K8S_23 applied to Swarm), unless the service declares root (label ${PRIVILEGES_MARK.swarm}, from the spec's privileges.root).`, (service, args, report) => {
    const user = container(service).user;
    if (declared(service).root && typeof user === "string" && user !== "") return;
    const name = typeof user === "string" ? user.split(":")[0] : "";
    if (name === "") report(`${describe(args)}: taskSpec.containerSpec.user must name a non-root user (the image default may be root)`);
    else if (name === "root" || name === "0") report(`${describe(args)}: taskSpec.containerSpec.user "${user}" is root`);
});

export const swarmPinnedImages = swarmPolicy("swarm-pinned-images", "Swarm images are pinned by a version tag or a digest (Checkov CKV_K8S_14, CKV_DOCKER_7 applied to Swarm).", (service, args, report) => {
    const reason = unpinnedImageReason(container(service).image);
    if (reason) report(`${describe(args)}: ${reason}`);
});

/** Whether the local driver's mount options bind a host directory: moby/sys/mount parseOptions (vendored in moby/moby, flags_unix.go) turns both "bind" and "rbind" into MS_BIND. */
const bindsHostDirectory = (o: unknown): boolean => String(o ?? "").split(",").some((option) => option === "bind" || option === "rbind");

/**
 * A mount that exposes a host path: a `bind` mount, or a `volume` mount whose local driver binds a
 * host directory (`driverOptions: {type: none, o: bind, device: /path}`, the local driver's bind
 * form in the Docker docs "Volumes", "Create a volume using a bind mount").
 */
function hostPathOf(mount: Record<string, any>): string | undefined {
    if (mount.type === "bind") return String(mount.source ?? "");
    const options = mount.volumeOptions?.driverOptions ?? {};
    const localDriver = (mount.volumeOptions?.driverName ?? "local") === "local";
    if (mount.type === "volume" && localDriver && bindsHostDirectory(options.o)) return String(options.device ?? "");
    return undefined;
}

export const swarmNoHostMounts = swarmPolicy(
    "swarm-no-host-mounts",
    "Swarm containers mount no host path, least of all the Docker socket (root on the node; Docker docs \"Protect the Docker daemon socket\", Checkov CKV_K8S_27 and Polaris hostPathSet applied to Swarm).",
    (service, args, report) => {
        for (const mount of container(service).mounts ?? []) {
            const source = hostPathOf(mount);
            if (source === undefined) continue;
            const socket = /docker\.sock$|containerd\.sock$/.test(source) ? " (the Docker socket: root on the node)" : "";
            report(`${describe(args)}: mount at ${JSON.stringify(mount.target)} exposes the host's ${JSON.stringify(source)}${socket}; use a named volume, a tmpfs or a secret`);
        }
    },
);

export const swarmCapabilities = swarmPolicy(
    "swarm-capabilities",
    `Swarm containers drop ALL capabilities and add none but ${RESTRICTED_CAPABILITIES.join(", ")} and those the service declares (label ${PRIVILEGES_MARK.swarm}, from the spec's privileges.capabilities, within Docker's default set less NET_RAW) (capDrops/capAdds; Checkov CKV_K8S_25/37 and Polaris dangerousCapabilities applied to Swarm).`,
    (service, args, report) => {
        const spec = container(service);
        const addable = addableCapabilities(declared(service));
        if (!(spec.capDrops ?? []).includes("ALL")) report(`${describe(args)}: taskSpec.containerSpec.capDrops must include "ALL"`);
        // Docker also accepts CAP_-prefixed names (moby/moby daemon/pkg/oci/caps/utils.go NormalizeLegacyCapabilities).
        const added = (spec.capAdds ?? []).filter((cap: string) => !addable.includes(cap.replace(/^CAP_/, "")));
        if (added.length > 0) report(`${describe(args)}: capAdds ${added.join(", ")}; only ${addable.join(", ")} may be added (others must be declared in ${PRIVILEGES_MARK.swarm} through the spec's privileges.capabilities)`);
    },
);

export const swarmNoHostNetwork = swarmPolicy(
    "swarm-no-host-network",
    "Swarm services join the stack's overlay network, never the node's host network (Checkov CKV_K8S_19 and Polaris hostNetworkSet applied to Swarm).",
    (service, args, report) => {
        for (const network of service.taskSpec?.networksAdvanceds ?? []) {
            if (network.id === "host" || network.name === "host") report(`${describe(args)}: joins the host network, which puts the task in the node's network namespace`);
        }
    },
);

/**
 * A named volume whose local driver binds a host directory is the same host path as a bind mount,
 * only declared apart: a service then mounts it by name (`type: volume`, `source: <name>`, no
 * driver options), which swarm-no-host-mounts cannot see (the local driver's bind form: Docker docs
 * "Volumes", "Create a volume using a bind mount").
 */
export const swarmNoHostVolumes: ResourceValidationPolicy = {
    name: "swarm-no-host-volumes",
    description: "Swarm volumes keep their data in the volume driver, never a host directory bound by the local driver (o=bind: a host path by another name; Checkov CKV_K8S_27 applied to Docker volumes).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: validateResourceOfType(docker.Volume, (volume, args, report) => {
        if ((volume.driver ?? "local") !== "local") return args.notApplicable(`the ${volume.driver} driver keeps the data itself`);
        const options = (volume.driverOpts ?? {}) as Record<string, string>;
        if (!bindsHostDirectory(options.o)) return;
        const device = String(options.device ?? "");
        const socket = /docker\.sock$|containerd\.sock$/.test(device) ? " (the Docker socket: root on the node)" : "";
        report(`${describe(args)}: driverOpts o=${options.o} binds the host's ${JSON.stringify(device)}${socket} into every container that mounts it; use the local driver without o=bind, or the stack's EFS volumes`);
    }),
};

export const swarmOverlayEncrypted: ResourceValidationPolicy = {
    name: "swarm-overlay-encrypted",
    description: 'Swarm overlay networks encrypt traffic between nodes (options.encrypted: "true"; Docker docs "Encrypt traffic on an overlay network").',
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: validateResourceOfType(docker.Network, (network, args, report) => {
        if (network.driver !== "overlay") return args.notApplicable(`a ${network.driver ?? "bridge"} network stays on one node`);
        if (String(network.options?.encrypted) !== "true") report(`${describe(args)}: options.encrypted must be "true", so tasks on different nodes talk over IPsec`);
    }),
};
