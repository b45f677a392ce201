/**
 * The Swarm adapter: each `WorkloadSpec` becomes a `dockyard:swarm:Workload` holding its Docker
 * secrets, its EFS access points (EC2 only) and one `docker.Service`, all on the stack's encrypted
 * overlay network. The mapping itself lives in `service.ts`.
 */
import * as aws from "@pulumi/aws";
import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import type * as Inputs from "@pulumi/docker/types/input";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SwarmPlatform } from "../platform";
import { afterSecretTotal, checkedSecrets, publicEndpoints, PublicEndpoint, VolumeSpec, WorkloadSpec } from "../workload";
import { jobCompletion } from "./jobs";
import { volumeDirectory } from "./volumes";
import {
    ANY_NODE,
    CONVERGE_TIMEOUT,
    deploymentOrder,
    efsPath,
    isJob,
    JOB_SPEC_LABEL,
    jobSpecDigest,
    SECRET_NAME_KEY_BYTES,
    secretDockerName,
    swarmPrivileges,
    swarmHealthcheck,
    swarmLabels,
    swarmMounts,
    swarmPlacement,
    swarmPorts,
    swarmReplicas,
    swarmResources,
    swarmRestartPolicy,
    swarmRollbackConfig,
    swarmSecretReference,
    swarmServiceName,
    swarmServiceOptions,
    swarmUpdateConfig,
    userIds,
} from "./service";

export interface SwarmWorkloadArgs {
    readonly stack: string;
    readonly spec: WorkloadSpec;
    /** Image reference the tasks run (a digest-pinned ECR reference, or a local tag on the local engine). */
    readonly image: pulumi.Input<string>;
    /** Id of the stack's overlay network. */
    readonly networkId: pulumi.Input<string>;
    readonly platform: SwarmPlatform;
    /** This workload's public ports with their stack-unique published ports (from `publicEndpoints`). */
    readonly publicEndpoints: readonly PublicEndpoint[];
    /** The stack's AWS provider, for the EFS access points of `persistent` and `shared` volumes on EC2. */
    readonly awsProvider?: aws.Provider;
    /** What this workload waits for: the completion of the jobs it runs after (`spec.after`). */
    readonly after?: readonly pulumi.Resource[];
    /** The deployed commit (`images.tag`), shown as the service label `dockyard.commit`. */
    readonly commit?: string;
    /** The stack's key for secret names (`secretDockerName`), base64; a Pulumi secret. */
    readonly secretNameKey: pulumi.Input<string>;
}

export class SwarmWorkload extends pulumi.ComponentResource {
    public readonly service: docker.Service;
    /** Docker secrets by the spec's secret name. */
    public readonly secrets: Record<string, docker.Secret>;
    /** EFS access points by volume name (EC2 only). */
    public readonly accessPoints: Record<string, aws.efs.AccessPoint>;
    /** The Docker service name, also the workload's DNS name on the overlay network. */
    public readonly serviceName: pulumi.Output<string>;
    /** For a job: done once the job has run to completion; what `after` waits for. */
    public readonly completion?: command.local.Command;

    constructor(name: string, args: SwarmWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:Workload", name, {}, opts);
        const { stack, spec, platform } = args;
        const engine = platform.engine;
        const dockerOpts: pulumi.CustomResourceOptions = { parent: this, provider: platform.provider, dependsOn: platform.dependsOn };

        const { replicas, notes } = swarmReplicas(spec, engine);
        for (const note of notes) pulumi.log.warn(`workload ${spec.name}: ${note}`, this);

        this.secrets = {};
        const checked = checkedSecrets(spec);
        for (const [secretName, plain] of Object.entries(checked)) {
            this.secrets[secretName] = new docker.Secret(
                `${name}-${secretName}`,
                {
                    // The keyed MAC in the name tells nothing about the value without the key; only the data is secret.
                    name: pulumi.unsecret(
                        pulumi.all([plain, args.secretNameKey]).apply(([v, key]) => secretDockerName(stack, spec.name, secretName, v, Buffer.from(key, "base64"))),
                    ),
                    data: pulumi.secret(plain.apply((v) => Buffer.from(v, "utf8").toString("base64"))),
                    labels: [{ label: "dockyard.stack", value: stack }],
                },
                dockerOpts,
            );
        }

        this.accessPoints = {};
        const volumeDirectories: command.local.Command[] = [];
        const nfs = (volume: VolumeSpec) => {
            if (!platform.efs) throw new Error(`workload ${spec.name}: volume ${volume.name} (${volume.kind}) needs the platform's EFS file system on engine ec2`);
            if (!args.awsProvider) throw new Error(`workload ${spec.name}: volume ${volume.name} needs the stack's AWS provider (awsProvider) for its EFS access point`);
            const { uid, gid } = userIds(spec);
            const accessPoint = new aws.efs.AccessPoint(
                `${name}-${volume.name}`,
                {
                    fileSystemId: platform.efs.fileSystemId,
                    posixUser: { uid: Number(uid), gid: Number(gid) },
                    rootDirectory: {
                        path: efsPath(stack, spec.name, volume.name),
                        creationInfo: { ownerUid: Number(uid), ownerGid: Number(gid), permissions: "0750" },
                    },
                },
                { parent: this, provider: args.awsProvider },
            );
            this.accessPoints[volume.name] = accessPoint;
            volumeDirectories.push(
                volumeDirectory(
                    `${name}-${volume.name}-directory`,
                    { shell: platform.shell, dnsName: platform.efs.dnsName, path: accessPoint.rootDirectory.path, uid: Number(uid), gid: Number(gid) },
                    { parent: this, dependsOn: platform.dependsOn },
                ),
            );
            return { dnsName: platform.efs.dnsName, path: accessPoint.rootDirectory.path };
        };

        const containerSpec: Inputs.ServiceTaskSpecContainerSpec = {
            image: args.image,
            commands: spec.command ? [...spec.command] : undefined,
            args: spec.args ? [...spec.args] : undefined,
            env: spec.env ? { ...spec.env } : undefined,
            user: `${userIds(spec).uid}:${userIds(spec).gid}`,
            readOnly: spec.readOnlyRootFilesystem ?? true,
            ...swarmPrivileges(spec),
            healthcheck: swarmHealthcheck(spec),
            mounts: swarmMounts(stack, spec, engine, nfs),
            // The references name no value (see secretDockerName), so they stay readable in a diff.
            secrets: pulumi.unsecret(
                afterSecretTotal(
                    spec,
                    checked,
                    Object.entries(this.secrets).map(([secretName, secret]) => swarmSecretReference(spec, secretName, { id: secret.id, name: secret.name })),
                ),
            ),
            stopGracePeriod: "10s",
        };
        const taskSpec: Inputs.ServiceTaskSpec = {
            containerSpec,
            resources: swarmResources(spec),
            restartPolicy: swarmRestartPolicy(spec),
            placement: swarmPlacement(platform.placement ?? ANY_NODE),
            networksAdvanceds: [{ id: args.networkId, aliases: [spec.name] }],
        };
        // A job's tasks carry the digest of the spec they run, so its wait can tell them from earlier runs.
        const specDigest = isJob(spec) ? pulumi.output(taskSpec).apply(jobSpecDigest) : undefined;

        this.service = new docker.Service(
            name,
            {
                name: swarmServiceName(stack, spec.name),
                // Service labels, not the task template's: swarmkit restarts tasks only when the task spec
                // changes (moby/swarmkit manager/orchestrator/task.go IsTaskDirty). Not on jobs: any change replaces a job's service, which runs it again.
                labels: [...swarmLabels(stack, spec), ...(args.commit && !isJob(spec) ? [{ label: "dockyard.commit", value: args.commit }] : [])],
                mode: { replicated: { replicas } },
                taskSpec: specDigest ? { ...taskSpec, containerSpec: { ...containerSpec, labels: [{ label: JOB_SPEC_LABEL, value: specDigest }] } } : taskSpec,
                endpointSpec: { mode: "vip", ports: swarmPorts(args.publicEndpoints, engine) },
                updateConfig: swarmUpdateConfig(spec, engine),
                rollbackConfig: swarmRollbackConfig(spec, engine),
                // A finished job is never "running", so waiting for convergence would time out.
                convergeConfig: isJob(spec) ? undefined : { delay: "5s", timeout: CONVERGE_TIMEOUT },
            },
            { ...dockerOpts, ...swarmServiceOptions(spec), dependsOn: [...platform.dependsOn, ...(args.after ?? []), ...volumeDirectories] },
        );
        this.serviceName = this.service.name;
        if (isJob(spec)) {
            this.completion = jobCompletion(
                `${name}-complete`,
                { service: this.service, shell: platform.shell, specDigest: specDigest! },
                { parent: this },
            );
        }

        this.registerOutputs({ service: this.service, serviceName: this.serviceName, secrets: this.secrets, accessPoints: this.accessPoints, completion: this.completion });
    }
}

export interface SwarmDeployOptions extends pulumi.ComponentResourceOptions {
    /** The stack's AWS provider; required on engine ec2 when a workload has a persistent or shared volume. */
    readonly awsProvider?: aws.Provider;
    /** The deployed commit, labelled on each service (see `SwarmWorkloadArgs.commit`). */
    readonly commit?: string;
}

/** Docker name of the stack's overlay network. */
export const networkName = (stack: string) => `${stack}-workloads`;

/**
 * Deploys a stack's workloads on Swarm: one encrypted, attachable overlay network and a
 * `SwarmWorkload` per spec; a workload with `after` waits until the named jobs have completed.
 */
export function deploySwarmWorkloads(
    stack: string,
    specs: readonly WorkloadSpec[],
    images: Record<string, pulumi.Input<string>>,
    platform: SwarmPlatform,
    opts: SwarmDeployOptions = {},
): { network: docker.Network; workloads: Record<string, SwarmWorkload> } {
    const { awsProvider, commit, ...resourceOpts } = opts;
    const network = new docker.Network(
        networkName(stack),
        {
            name: networkName(stack),
            driver: "overlay",
            attachable: true,
            // IPsec between nodes; on one local node no traffic leaves the machine, yet the engine accepts it, so both engines match.
            options: { encrypted: "true" },
            labels: [{ label: "dockyard.stack", value: stack }],
        },
        { parent: resourceOpts.parent, provider: platform.provider, dependsOn: platform.dependsOn },
    );
    // One key per stack, made once and kept in state as a secret: @pulumi/random's RandomBytes declares
    // additionalSecretOutputs ["base64", "hex"] (node_modules/@pulumi/random/randomBytes.js).
    const secretNameKey = new random.RandomBytes(`${stack}-secret-names`, { length: SECRET_NAME_KEY_BYTES }, { parent: resourceOpts.parent });
    const endpoints = publicEndpoints(specs, platform.portPublishing);
    const workloads: Record<string, SwarmWorkload> = {};
    for (const spec of deploymentOrder(specs)) {
        const image = images[spec.name];
        if (image === undefined) {
            throw new Error(`workload ${spec.name}: no image given; images has: ${Object.keys(images).join(", ") || "nothing"}`);
        }
        workloads[spec.name] = new SwarmWorkload(
            `${stack}-${spec.name}`,
            {
                stack,
                spec,
                image,
                networkId: network.id,
                platform,
                publicEndpoints: endpoints.filter((e) => e.workload === spec.name),
                awsProvider,
                after: (spec.after ?? []).map((job) => workloads[job].completion!),
                commit,
                secretNameKey: secretNameKey.base64,
            },
            resourceOpts,
        );
    }
    return { network, workloads };
}
