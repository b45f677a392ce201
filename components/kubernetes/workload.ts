/**
 * `dockyard:kubernetes:Workload`: one WorkloadSpec as the Kubernetes objects that run it. The mapping
 * itself lives in ./manifests; this component only creates the resources.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { KubernetesPlatform } from "../platform";
import { afterSecretTotal, checkedSecrets, claimSizeResourceName, DEFAULT_VOLUME_SIZE, parseQuantity, publicServiceName, WorkloadSpec } from "../workload";
import * as manifests from "./manifests";
import { VolumeSize } from "./volumeSize";

export interface KubernetesWorkloadArgs {
    readonly spec: WorkloadSpec;
    /** Image reference the container runs (an ECR digest or the spec's `ref`). */
    readonly image: pulumi.Input<string>;
    readonly namespace: pulumi.Input<string>;
    readonly platform: KubernetesPlatform;
    /** The stack's ALB group: every public workload of a stack shares one load balancer. */
    readonly ingressGroup: string;
    /** Resources the workload's pods wait for, such as the Jobs named in `spec.after`. */
    readonly waitFor?: pulumi.Resource[];
    /** The deployed commit (`images.tag`): annotation `dockyard.io/commit` on the controller object, not its pod template, so it rolls nothing. */
    readonly commit?: string;
    /** Every workload of the stack, for the NetworkPolicy: who connects to this one. */
    readonly stackSpecs: readonly WorkloadSpec[];
}

/**
 * How long `pulumi up` waits for a Job to finish (the provider's default is 10 minutes): its
 * backoff retries included. A Job that fails is replaced by the next `up`
 * (`pulumi.com/replaceUnready`, pulumi/pulumi-kubernetes#1575), so a re-run needs no manual delete.
 */
export const JOB_TIMEOUTS = { create: "20m", update: "20m", delete: "5m" } as const;
/** Rollouts wait for every new pod to be ready, one surge at a time (provider default 10 minutes). */
export const ROLLOUT_TIMEOUTS = { create: "15m", update: "15m", delete: "10m" } as const;

export class KubernetesWorkload extends pulumi.ComponentResource {
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** The secrets as files, when the spec has any. */
    public readonly secret?: k8s.core.v1.Secret;
    /** The claims behind `shared` volumes. */
    public readonly sharedClaims: k8s.core.v1.PersistentVolumeClaim[];
    /** What runs the pods: a Deployment, a StatefulSet (persistent volumes) or a Job. */
    public readonly controller: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet | k8s.batch.v1.Job;
    /** Set for `kind: job`: what workloads that run `after` it depend on. */
    public readonly job?: k8s.batch.v1.Job;
    public readonly service?: k8s.core.v1.Service;
    /** The NLB Service of public tcp ports. */
    public readonly publicService?: k8s.core.v1.Service;
    /** The ALB Ingress of public http ports. */
    public readonly ingress?: k8s.networking.v1.Ingress;
    public readonly autoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
    public readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
    /** The governing headless Service of a StatefulSet. */
    public readonly headlessService?: k8s.core.v1.Service;
    /** A StatefulSet's claims at the size the spec asks for. */
    public readonly claimSizes: k8s.core.v1.PersistentVolumeClaimPatch[] = [];
    /** DNS name of the ALB serving this workload's public http ports, once the controller has made it. */
    public readonly ingressHostname: pulumi.Output<string | undefined>;

    constructor(name: string, args: KubernetesWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:kubernetes:Workload", name, {}, opts);
        const { spec, platform, namespace } = args;
        const base = { parent: this, provider: platform.provider };
        const after = (...resources: pulumi.Input<pulumi.Resource>[]) => ({ ...base, dependsOn: [...platform.dependsOn, ...resources] });
        const metadata = (extra: { annotations?: Record<string, pulumi.Input<string>> } = {}) => ({ name: spec.name, namespace, labels: manifests.workloadLabels(spec), ...extra });

        this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-serviceaccount`, { metadata: metadata(), automountServiceAccountToken: false }, after());

        const checked = checkedSecrets(spec);
        if (Object.keys(checked).length > 0) {
            // Auto-named: a changed secret is a new Secret (the provider replaces Secrets), which rolls the pods.
            this.secret = new k8s.core.v1.Secret(
                `${name}-secret`,
                {
                    metadata: { namespace, labels: manifests.workloadLabels(spec) },
                    type: "Opaque",
                    stringData: pulumi.secret(afterSecretTotal(spec, checked, checked)),
                },
                after(),
            );
        }

        this.sharedClaims = (spec.volumes ?? [])
            .filter((v) => v.kind === "shared")
            .map(
                (volume) =>
                    new k8s.core.v1.PersistentVolumeClaim(
                        `${name}-${volume.name}-claim`,
                        { metadata: { ...metadata(), name: manifests.sharedClaimName(spec, volume) }, spec: manifests.sharedClaimSpec(volume, platform) },
                        after(),
                    ),
            );

        const storage = manifests.podStorage(spec, platform, this.secret?.metadata.name);
        const template = manifests.podTemplate(spec, args.image, storage);
        const podPrerequisites = after(this.serviceAccount, ...this.sharedClaims, ...(args.waitFor ?? []));
        const privileges = manifests.privilegesAnnotations(spec);
        const controllerAnnotations = { ...(args.commit ? { "dockyard.io/commit": args.commit } : {}), ...privileges };
        const controllerMetadata = metadata(Object.keys(controllerAnnotations).length > 0 ? { annotations: controllerAnnotations } : {});
        switch (manifests.controllerKind(spec)) {
            case "Job":
                this.job = new k8s.batch.v1.Job(
                    `${name}-job`,
                    { metadata: metadata({ annotations: { "pulumi.com/replaceUnready": "true", ...privileges } }), spec: manifests.jobSpec(template) },
                    // A Job's pod template is immutable, and a new image or args must run the job again.
                    { ...podPrerequisites, replaceOnChanges: ["spec"], deleteBeforeReplace: true, customTimeouts: JOB_TIMEOUTS },
                );
                this.controller = this.job;
                break;
            case "StatefulSet": {
                const headless = manifests.headlessServiceSpec(spec)!;
                this.headlessService = new k8s.core.v1.Service(
                    `${name}-headless`,
                    { metadata: { ...metadata(), name: manifests.headlessServiceName(spec) }, spec: headless },
                    after(),
                );
                const statefulSet = new k8s.apps.v1.StatefulSet(
                    `${name}-statefulset`,
                    { metadata: controllerMetadata, spec: manifests.statefulSetSpec(spec, template, storage, platform.retainClaims) },
                    {
                        ...podPrerequisites,
                        dependsOn: [...(podPrerequisites.dependsOn as pulumi.Resource[]), this.headlessService],
                        // Claim sizes live on the claims (below); a changed template would replace the StatefulSet.
                        ignoreChanges: [...(spec.autoscaling ? ["spec.replicas"] : []), "spec.volumeClaimTemplates"],
                        customTimeouts: ROLLOUT_TIMEOUTS,
                    },
                );
                this.controller = statefulSet;
                const guards = (spec.volumes ?? [])
                    .map((volume, i) => ({ volume, i }))
                    .filter(({ volume }) => volume.kind === "persistent")
                    .map(({ volume, i }) => {
                        const size = volume.size ?? DEFAULT_VOLUME_SIZE;
                        return new VolumeSize(`${name}-${volume.name}-size-guard`, { label: `workload ${JSON.stringify(spec.name)}: volumes[${i}] (${volume.name})`, size, bytes: parseQuantity(size)! }, { parent: this });
                    });
                this.claimSizes = manifests.claimResizes(spec).map(
                    (claim) =>
                        new k8s.core.v1.PersistentVolumeClaimPatch(
                            claimSizeResourceName(name, claim.name),
                            {
                                // Server-side apply of the size only; forced, because the StatefulSet controller created the claim.
                                metadata: { name: claim.name, namespace, annotations: { "pulumi.com/patchForce": "true" } },
                                spec: { resources: { requests: { storage: claim.storage } } },
                            },
                            after(statefulSet, ...guards),
                        ),
                );
                break;
            }
            case "Deployment":
                this.controller = new k8s.apps.v1.Deployment(
                    `${name}-deployment`,
                    { metadata: controllerMetadata, spec: manifests.deploymentSpec(spec, template) },
                    // The autoscaler owns the replica count once it exists.
                    { ...podPrerequisites, ignoreChanges: spec.autoscaling ? ["spec.replicas"] : [], customTimeouts: ROLLOUT_TIMEOUTS },
                );
                break;
        }

        const serviceSpec = manifests.serviceSpec(spec);
        if (serviceSpec) this.service = new k8s.core.v1.Service(`${name}-service`, { metadata: metadata(), spec: serviceSpec }, after());

        const publicTcp = manifests.publicTcpService(spec);
        if (publicTcp) {
            this.publicService = new k8s.core.v1.Service(
                `${name}-public`,
                { metadata: { ...metadata({ annotations: publicTcp.annotations }), name: publicServiceName(spec.name) }, spec: publicTcp.spec },
                after(),
            );
        }

        const ingress = manifests.ingress(spec, { ingressClass: platform.ingressClass, group: args.ingressGroup, certificateArn: platform.certificateArn });
        if (ingress) {
            this.ingress = new k8s.networking.v1.Ingress(`${name}-ingress`, { metadata: metadata({ annotations: ingress.annotations }), spec: ingress.spec }, after(this.service!));
        }
        this.ingressHostname = this.ingress ? this.ingress.status.apply((s) => s?.loadBalancer?.ingress?.[0]?.hostname) : pulumi.output(undefined);

        const autoscalerSpec = manifests.autoscalerSpec(spec);
        if (autoscalerSpec) {
            this.autoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-hpa`, { metadata: metadata(), spec: autoscalerSpec }, after(this.controller));
        }

        const budgetSpec = manifests.disruptionBudgetSpec(spec);
        if (budgetSpec) this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: metadata(), spec: budgetSpec }, after());

        this.networkPolicy = new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            { metadata: metadata(), spec: manifests.networkPolicySpec(spec, args.stackSpecs, platform.vpcCidr) },
            after(),
        );

        this.registerOutputs({
            controller: this.controller,
            service: this.service,
            ingress: this.ingress,
            ingressHostname: this.ingressHostname,
        });
    }
}
