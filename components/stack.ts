/**
 * The whole pipeline, in the order data flows: config -> network -> images -> cluster -> platform
 * -> workloads -> stack outputs. `index.ts` calls it with the stack's config and `workloads.ts`;
 * the benchmark calls it with synthetic workloads.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { sshPrivateKey, StackConfig } from "./config";
import { aliasRecord, certificateNames, DomainCertificate, publicHostNames } from "./dns";
import { EksCluster } from "./eks/cluster";
import { resolveImages } from "./images";
import { deployKubernetesWorkloads } from "./kubernetes/deploy";
import { Network } from "./network";
import { bootstrapSettings, SwarmCluster, swarmPortPublishing } from "./swarm/cluster";
import { localSwarmPlatform } from "./swarm/local";
import { SwarmNodeFiles } from "./swarm/nodeFileSync";
import { deploySwarmWorkloads } from "./swarm/workload";
import { stackAwsProvider } from "./tags";
import { prepareWorkloads, PublicEndpoint, publicEndpoints, WorkloadSpec } from "./workload";

/** What every stack exports; the rest depends on the target. */
export interface StackOutputs {
    readonly target: string;
    /** Where the public workloads answer. */
    readonly url: pulumi.Input<string | undefined>;
    /** Workload name to the deployed image pinned by digest: what another stack promotes. */
    readonly imageDigests: pulumi.Output<Record<string, string>>;
    readonly [name: string]: unknown;
}

export function declareStack(config: StackConfig, declared: readonly WorkloadSpec[]): StackOutputs {
    const specs = prepareWorkloads(declared, config.workloads);
    const endpoints = publicEndpoints(specs, config.target === "swarm" && config.swarm.engine === "ec2" ? swarmPortPublishing(config) : undefined);
    return config.swarm.engine === "local" ? declareLocalStack(config, specs, endpoints) : declareAwsStack(config, specs, endpoints);
}

function declareLocalStack(config: StackConfig, specs: WorkloadSpec[], endpoints: PublicEndpoint[]): StackOutputs {
    const platform = localSwarmPlatform(config.stack);
    const { images, digests } = resolveImages(config.stack, specs, config, {});
    deploySwarmWorkloads(config.stack, specs, images, platform, { commit: config.images.tag || undefined });
    return {
        target: "swarm (local engine)",
        url: endpoints.length > 0 ? `http://localhost:${endpoints[0].publishedPort}` : undefined,
        imageDigests: digests,
    };
}

function declareAwsStack(config: StackConfig, specs: WorkloadSpec[], endpoints: PublicEndpoint[]): StackOutputs {
    // Host names outside the domain stop the program here, before any resource exists.
    const hostNames = config.domain ? certificateNames(config.domain, publicHostNames(config.domain, endpoints)) : [];
    const awsProvider = stackAwsProvider(config);
    const withAws = { providers: [awsProvider] };
    // Images first: a bad images.digests stops the program before any resource exists.
    const { images, digests } = resolveImages(config.stack, specs, config, withAws);
    const network = new Network(`${config.stack}-network`, { cidr: config.network.cidr, azCount: config.network.azs, natGateways: config.network.natGateways }, withAws);

    const certificate = config.domain
        ? new DomainCertificate(`${config.stack}-certificate`, { domain: config.domain, hostNames }, withAws)
        : undefined;
    const certificateArn = certificate?.certificateArn ?? (config.certificateArn || undefined);

    if (config.target === "swarm") {
        const cluster = new SwarmCluster(
            `${config.stack}-swarm`,
            { config, network, endpoints, sshPrivateKey: sshPrivateKey(), certificateArn, zoneId: certificate?.zoneId },
            withAws,
        );
        const deployed = deploySwarmWorkloads(config.stack, specs, images, cluster.platform, { awsProvider, commit: config.images.tag || undefined });
        new SwarmNodeFiles(`${config.stack}-swarm-node-files`, {
            bootstrap: bootstrapSettings(config),
            managers: cluster.managerAccess,
            sshOptions: cluster.sshOptions,
            after: [...cluster.platform.dependsOn, deployed.network, ...Object.values(deployed.workloads)],
        });
        return {
            target: "swarm",
            url: cluster.url,
            imageDigests: digests,
            vpcId: network.vpcId,
            managerInstanceId: cluster.managerInstanceId,
            connect: cluster.connectHint,
            logGroup: cluster.logGroupName,
        };
    }

    const cluster = new EksCluster(`${config.stack}-eks`, { config, network, certificateArn }, withAws);
    const deployed = deployKubernetesWorkloads(config.stack, specs, images, cluster.platform, { commit: config.images.tag || undefined });
    if (certificate) {
        const albZoneId = aws.lb.getHostedZoneIdOutput({ loadBalancerType: "application" }, { provider: awsProvider });
        for (const host of publicHostNames(config.domain, endpoints)) {
            aliasRecord(
                `${config.stack}-alias-${host}`,
                { zoneId: certificate.zoneId, hostName: host, targetDnsName: deployed.ingressHostname.apply((h) => h ?? ""), targetZoneId: albZoneId.id },
                { provider: awsProvider, parent: certificate },
            );
        }
    }
    const scheme = certificateArn ? "https" : "http";
    const [firstHost] = publicHostNames(config.domain, endpoints);
    return {
        target: "eks",
        url: firstHost ? `${scheme}://${firstHost}` : deployed.ingressHostname.apply((h) => (h ? `${scheme}://${h}` : undefined)),
        imageDigests: digests,
        vpcId: network.vpcId,
        clusterName: cluster.clusterName,
        kubeconfig: cluster.kubeconfig,
        updateKubeconfig: cluster.updateKubeconfigCommand,
        albHostname: deployed.ingressHostname,
    };
}
