/**
 * `dockyard:swarm:Cluster`: a self-healing Docker Swarm on EC2 that Pulumi deploys to. Wires the
 * parts together; each decision lives in its own file's pure functions (see docs/swarm.md).
 */
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { aliasRecord, publicHostNames } from "../dns";
import type { SwarmPlatform } from "../platform";
import { FIRST_PUBLISHED_PORT, PortPublishing, PublicEndpoint } from "../workload";
import { AccessSettings, connectHint, dockerHost, identityFilePath, sshOptions, writeIdentityFile } from "./access";
import { BootstrapSettings, NodeRole, userDataBytes } from "./cloudInit";
import { managerPolicy, NodeIamScope, workerPolicy } from "./iam";
import { SwarmJoinParameters } from "./joinParameters";
import { listenerPlan, SwarmLoadBalancer } from "./loadBalancer";
import { SwarmNodes } from "./nodes";
import { ManagerAccess } from "./nodeFileSync";
import { readinessGate } from "./readiness";
import type { NodePlacement } from "./service";
import { securityGroupRules, SwarmSecurityGroups } from "./securityGroups";
import { SwarmStorage } from "./storage";

export interface SwarmNetwork {
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: pulumi.Input<string>;
    /** Where nodes run: public subnets without NAT, private ones with it. */
    readonly nodeSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly azs: pulumi.Input<pulumi.Input<string>[]>;
}

export interface SwarmClusterArgs {
    readonly config: StackConfig;
    readonly network: SwarmNetwork;
    /** The stack's public ports (`publicEndpoints()` of the workloads). */
    readonly endpoints: readonly PublicEndpoint[];
    /** Private half of `swarm.sshPublicKey` (a secret); without it SSH uses the operator's agent. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** Certificate for the HTTPS listener (a `DomainCertificate` or `ingress.certificateArn`). */
    readonly certificateArn?: pulumi.Input<string>;
    /** Hosted zone of `ingress.domain`: alias records are made for the public host names. */
    readonly zoneId?: pulumi.Input<string>;
}

/** Names fixed by the stack, so the nodes' bootstrap is a pure function of the config. */
/** How the swarm publishes public ports: on the manager itself (`direct`), or numbered behind the load balancer. */
export function swarmPortPublishing(config: Pick<StackConfig, "swarm">): PortPublishing {
    return config.swarm.ingress === "direct" ? "direct" : FIRST_PUBLISHED_PORT;
}

export function swarmNames(config: Pick<StackConfig, "project" | "stack">) {
    const base = `${config.project}-${config.stack}-swarm`;
    return {
        parameterPath: `/${config.project}/${config.stack}/swarm`,
        logGroupName: `/${config.project}/${config.stack}/swarm`,
        kmsKeyAlias: `alias/${base}`,
        workerGroupName: `${base}-workers`,
    };
}

/** What every node's bootstrap needs but its role. */
export function bootstrapSettings(config: StackConfig): Omit<BootstrapSettings, "role"> {
    const { swarm } = config;
    return {
        ...swarmNames(config),
        region: config.region,
        managers: swarm.managers,
        sshUser: swarm.sshUser,
        sshPublicKey: swarm.sshPublicKey,
        overlayAddressPool: swarm.overlayAddressPool,
    };
}

/** The engine label every node carries and the managers' reaper copies to a node label (cloudInit.ts). */
export const AZ_NODE_LABEL = "dockyard.az";

/**
 * Where the workloads run: on workers only when the worker group never goes below one worker
 * (`swarm.workersMin` and every `swarm.workerSchedule` minimum at least 1), so managers keep their
 * capacity for Raft; otherwise anywhere, or a stack without workers (dev's lone manager) would run
 * nothing. Replicas spread over the AZ label either way.
 */
export function workloadNodes(swarm: Pick<StackConfig["swarm"], "workersMin" | "workerSchedule">): NodePlacement {
    const scheduledMinimums = swarm.workerSchedule.map((entry) => Number(/ (\d+)\/\d+\/\d+$/.exec(entry)?.[1] ?? 0));
    const alwaysWorkers = swarm.workersMin >= 1 && scheduledMinimums.every((min) => min >= 1);
    return { workersOnly: alwaysWorkers, spreadLabel: AZ_NODE_LABEL };
}

/** The stack's own ECR registry, where its images are pushed or promoted to (components/images). */
export const ecrRegistryHost = (accountId: string, region: string, dnsSuffix: string) => `${accountId}.dkr.ecr.${region}.${dnsSuffix}`;

/** The Docker credential helper the provider runs for the stack's registry: `docker-credential-ecr-login`. */
export const ECR_CREDENTIAL_HELPER = "ecr-login";

/**
 * The Docker provider's registry auth for the stack's ECR registry. A Swarm task pulls with the
 * auth stored in its service spec, and dockerd never asks a credential helper itself
 * (awslabs/amazon-ecr-credential-helper#140, moby/moby#24372), so the provider must send it: it
 * sends the provider's `registryAuth` entry whose address is the image's registry host on every
 * service create and update, and an empty auth otherwise (kreuzwerker/terraform-provider-docker
 * internal/provider/resource_docker_service_funcs.go retrieveAndMarshalAuth, fromRegistryAuth).
 *
 * Not a username and password from `aws.ecr.getAuthorizationToken`: the token is new on every run,
 * and the provider diffs its `registryAuth` like any other config, so every `up` would show the
 * provider changed (pulumi/pulumi-docker#952; the fix that ignored username and password, #1327,
 * was reverted by #1341 in 4.6.1 for breaking previews with refresh, #1339; #986 never merged;
 * provider/hybrid.go DiffConfig still delegates to the bridge). Instead a Docker config naming the
 * ECR credential helper for the registry (`credHelpers`): the provider reads it when it is
 * configured and the helper returns a fresh token from the AWS credentials of the machine running
 * Pulumi (provider.go providerSetToRegistryAuth, config_file_content; docker/cli
 * cli/config/configfile/file.go GetAuthConfig runs `docker-credential-<helper>` for a host listed in
 * credHelpers). The entry is constant, holds no secret and puts no token in state.
 */
export function ecrRegistryAuth(registryHost: string): { address: string; configFileContent: string } {
    return { address: registryHost, configFileContent: JSON.stringify({ credHelpers: { [registryHost]: ECR_CREDENTIAL_HELPER } }) };
}

/** Settings the cluster refuses before creating anything. */
export function swarmConfigProblems(config: StackConfig): string[] {
    const problems: string[] = [];
    if (config.swarm.access === "ssh" && config.network.natGateways !== "none") {
        problems.push(
            `dockyard:swarm.access is "ssh" but dockyard:network.natGateways is ${JSON.stringify(config.network.natGateways)}: the managers sit in private subnets with no public address; allowed: swarm.access "ssm", or natGateways "none"`,
        );
    }
    if (config.swarm.ingress === "direct" && config.network.natGateways !== "none") {
        problems.push(`dockyard:swarm.ingress is "direct" but dockyard:network.natGateways is ${JSON.stringify(config.network.natGateways)}: direct ingress needs the manager in a public subnet; allowed: natGateways "none", or ingress "alb"/"nlb"`);
    }
    problems.push(...userDataProblems(bootstrapSettings(config)));
    return problems;
}

/**
 * EC2 refuses user data over 16 KB in raw form, before base64 (EC2 User Guide, "Run commands when you
 * launch an EC2 instance with user data"), and says so only at launch. The rendered bootstrap holds
 * the stack and project names and the SSH key several times, so a long name or an RSA key can push
 * a node over: checked here on the bytes EC2 is given (`userDataBytes`: managers' compressed), with
 * the stack's own values, before anything is created.
 */
export const EC2_USER_DATA_LIMIT_BYTES = 16 * 1024;

export function userDataProblems(settings: Omit<BootstrapSettings, "role">): string[] {
    return (["first-manager", "manager", "worker"] as NodeRole[]).flatMap((role) => {
        const bytes = userDataBytes({ ...settings, role }).length;
        return bytes <= EC2_USER_DATA_LIMIT_BYTES
            ? []
            : [`the ${role} user data rendered from this stack is ${bytes} bytes${role === "worker" ? "" : " compressed"}; allowed: at most ${EC2_USER_DATA_LIMIT_BYTES} (EC2's limit): shorten the project or stack name, or use an ed25519 dockyard:swarm.sshPublicKey`];
    });
}

export class SwarmCluster extends pulumi.ComponentResource {
    public readonly platform: SwarmPlatform;
    /** Where the public endpoints answer: the load balancer, or the manager's own address with `direct` ingress. */
    public readonly url: pulumi.Output<string>;
    public readonly managerInstanceId: pulumi.Output<string>;
    public readonly connectHint: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly loadBalancer?: SwarmLoadBalancer;
    /** How the program reaches each manager, in index order (for SwarmNodeFiles). */
    public readonly managerAccess: ManagerAccess[];
    public readonly sshOptions: pulumi.Output<string[]>;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:Cluster", name, {}, opts);
        const { config, network, endpoints } = args;
        const swarm = config.swarm;
        const problems = swarmConfigProblems(config);
        if (problems.length > 0) throw new Error(problems.join("\n"));
        const names = swarmNames(config);
        const plan = listenerPlan(endpoints, swarm.ingress, args.certificateArn !== undefined);

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: names.logGroupName, retentionInDays: config.logRetentionDays }, { parent: this });
        const key = new aws.kms.Key(
            `${name}-key`,
            { description: `dockyard: swarm join tokens of ${config.project}/${config.stack}`, enableKeyRotation: true, deletionWindowInDays: config.production ? 30 : 7 },
            { parent: this, protect: config.production },
        );
        const keyAlias = new aws.kms.Alias(`${name}-key`, { name: names.kmsKeyAlias, targetKeyId: key.keyId }, { parent: this });
        const joinParameters = new SwarmJoinParameters(`${name}-join`, { parameterPath: names.parameterPath, kmsKeyAlias: names.kmsKeyAlias, keyAlias }, { parent: this });

        const groups = new SwarmSecurityGroups(
            `${name}-sg`,
            { vpcId: network.vpcId, rules: securityGroupRules({ ingress: swarm.ingress, access: swarm.access, sshCidrs: swarm.sshCidrs, endpoints, listeners: plan }) },
            { parent: this },
        );
        const storage = new SwarmStorage(`${name}-storage`, { subnetIds: network.nodeSubnetIds, subnetCount: config.network.azs, securityGroupId: groups.ids.efs!, production: config.production }, { parent: this });

        if (plan.kind !== "none") {
            this.loadBalancer = new SwarmLoadBalancer(
                `${name}-lb`,
                { plan, vpcId: network.vpcId, subnetIds: network.publicSubnetIds, securityGroupId: groups.ids.lb!, certificateArn: args.certificateArn, deletionProtection: config.production },
                { parent: this },
            );
        }

        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partitionInfo = aws.getPartitionOutput({}, { parent: this });
        const partition = partitionInfo.partition;
        const scope = pulumi.all([partition, identity.accountId, key.arn]).apply(
            ([p, accountId, kmsKeyArn]): NodeIamScope => ({ partition: p, region: config.region, accountId, kmsKeyArn, ...names }),
        );
        // The key file must exist before ssh runs; the settings carry the dependency (and stay secret).
        const access = pulumi.output(args.sshPrivateKey ?? "").apply((privateKey): AccessSettings => {
            const settings = { access: swarm.access, region: config.region, sshUser: swarm.sshUser };
            if (privateKey.trim() === "") return settings;
            const identityFile = identityFilePath(config.project, config.stack);
            writeIdentityFile(identityFile, privateKey);
            return { ...settings, identityFile };
        });
        const options = access.apply(sshOptions);
        const nodes = new SwarmNodes(
            `${name}-nodes`,
            {
                config,
                subnetIds: network.nodeSubnetIds,
                nodeSecurityGroupId: groups.ids.nodes!,
                managerSecurityGroupId: groups.ids.managers!,
                bootstrap: bootstrapSettings(config),
                managerPolicy: scope.apply((s) => JSON.stringify(managerPolicy(s))),
                workerPolicy: scope.apply((s) => JSON.stringify(workerPolicy(s))),
                partition,
                targetGroups: this.loadBalancer ? plan.targetGroups.map((tg, i) => ({ key: tg.key, port: tg.port, arn: this.loadBalancer!.targetGroupArns[i] })) : [],
                sshOptions: options,
            },
            // The nodes read and write the join parameters, so they come after them and, on destroy, go first:
            // a dying manager's reaper can then not write one back after Pulumi deleted it.
            { parent: this, dependsOn: [logGroup, joinParameters] },
        );
        const manager = nodes.managers[0];

        let publicAddress: pulumi.Output<string> = manager.publicIp;
        if (swarm.ingress === "direct") {
            publicAddress = new aws.ec2.Eip(`${name}-manager-ip`, { domain: "vpc", instance: manager.id, tags: { Name: `${name}-manager` } }, { parent: this }).publicIp;
        }
        const https = args.certificateArn !== undefined && plan.kind === "application";
        const firstPort = endpoints[0]?.publishedPort;
        this.url = this.loadBalancer
            ? pulumi.interpolate`${https ? "https" : "http"}://${this.loadBalancer.dnsName}`
            : firstPort !== undefined && firstPort !== 80
              ? pulumi.interpolate`http://${publicAddress}:${firstPort}`
              : pulumi.interpolate`http://${publicAddress}`;

        const hostNames = publicHostNames(config.domain, endpoints);
        if (args.zoneId !== undefined) {
            for (const hostName of hostNames) {
                if (this.loadBalancer) {
                    aliasRecord(`${name}-dns-${hostName}`, { zoneId: args.zoneId, hostName, targetDnsName: this.loadBalancer.dnsName, targetZoneId: this.loadBalancer.zoneId }, { parent: this });
                } else {
                    new aws.route53.Record(`${name}-dns-${hostName}`, { zoneId: args.zoneId, name: hostName, type: "A", ttl: 300, records: [publicAddress] }, { parent: this });
                }
            }
        }

        const target = swarm.access === "ssm" ? manager.id : publicAddress;
        const placement = workloadNodes(swarm);
        const gate = readinessGate(
            `${name}-ready`,
            {
                after: [...nodes.managers, ...(nodes.workerGroup ? [nodes.workerGroup] : [])],
                // Every manager of this up, the one it replaced or changed included (cold review of b62a90a, H1).
                check: pulumi.all([target, ...nodes.managers.map((m) => m.id)]).apply(([t, ...managerIds]) => ({
                    sshTarget: `${swarm.sshUser}@${t}`,
                    managerIds,
                    whole: false,
                    workersNeeded: placement.workersOnly ? 1 : 0,
                })),
                sshOptions: options,
                triggers: nodes.managers.flatMap((m) => [m.id, m.ami, m.instanceType]),
            },
            { parent: this },
        );
        // Every manager is to hold the node files of this program, whatever its user data: the stack
        // syncs them once the workloads are deployed (nodeFileSync.ts), through these.
        this.managerAccess = nodes.managers.map((m, i) => ({
            sshTarget: pulumi.interpolate`${swarm.sshUser}@${swarm.access === "ssm" ? m.id : i === 0 ? publicAddress : m.publicIp}`,
            instanceId: m.id,
        }));
        this.sshOptions = options;
        const provider = new docker.Provider(
            `${name}-docker`,
            // The host waits for the gate's answer, so the provider never pings a daemon that is not there yet.
            {
                host: pulumi.all([target, gate.stdout]).apply(([t]) => dockerHost(swarm.sshUser, t)),
                sshOpts: options,
                registryAuth: [pulumi.all([identity.accountId, partitionInfo.dnsSuffix]).apply(([accountId, dnsSuffix]) => ecrRegistryAuth(ecrRegistryHost(accountId, config.region, dnsSuffix)))],
            },
            { parent: this, dependsOn: [gate] },
        );

        this.platform = {
            kind: "swarm",
            provider,
            engine: "ec2",
            portPublishing: swarmPortPublishing(config),
            shell: pulumi.all([target, options]).apply(([t, sshOptions]) => ({ sshTarget: `${swarm.sshUser}@${t}`, sshOptions })),
            efs: { fileSystemId: storage.fileSystemId, dnsName: storage.dnsName },
            dependsOn: [gate],
            placement,
        };
        this.managerInstanceId = manager.id;
        this.connectHint = pulumi.unsecret(pulumi.all([access, target]).apply(([a, t]) => connectHint(a, t)));
        this.logGroupName = logGroup.name;
        this.registerOutputs({ url: this.url, managerInstanceId: this.managerInstanceId, connectHint: this.connectHint, logGroupName: this.logGroupName });
    }
}
