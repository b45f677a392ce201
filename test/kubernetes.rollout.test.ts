/**
 * The Kubernetes adapter on day two (issue 16 items 3, 4, 7, 10, 12, 13; issue 17 item 11):
 * rollouts that drop no requests, nodes the autoscaler can remove, volumes that grow in place,
 * Jobs a re-`up` re-runs, and NetworkPolicies that admit only what the specs declare. Exact
 * assertions on the rendered objects and on the options that decide the plan of changes.
 */
import { expect } from "chai";
import { addonPlan } from "../components/eks/addons";
import { loadBalancerControllerValues } from "../components/eks/loadBalancerController";
import { deployKubernetesWorkloads } from "../components/kubernetes/deploy";
import {
    claimResizes,
    drainTimings,
    headlessServiceSpec,
    ingress,
    namespaceNetworkPolicies,
    networkPolicySpec,
    podStorage,
    podTemplate,
    SAFE_TO_EVICT_LOCAL_VOLUMES,
    statefulSetSpec,
} from "../components/kubernetes/manifests";
import { shrinkProblem } from "../components/kubernetes/volumeSize";
import { JOB_TIMEOUTS, ROLLOUT_TIMEOUTS } from "../components/kubernetes/workload";
import type { KubernetesPlatform } from "../components/platform";
import type { WorkloadSpec } from "../components/workload";
import * as pulumi from "@pulumi/pulumi";
import { sampleWorkloads, workloads } from "../workloads";
import * as k8s from "@pulumi/kubernetes";
import { ofType, only, RecordedResource, renderStack, runDeclaration, stackConfig } from "./harness";
import { kubernetesProblems } from "./k8sSchema";

const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const classes = { persistentStorageClass: "gp3", sharedStorageClass: "efs" };
const SAMPLES = sampleWorkloads({ redisPassword: "pw" });
const sample = (name: string) => SAMPLES.find((s) => s.name === name)!;
const VPC = "10.20.0.0/16";

function deploy(specs: readonly WorkloadSpec[], extra: Partial<KubernetesPlatform> = {}) {
    return runDeclaration(() => {
        const provider = new k8s.Provider("test-k8s", { kubeconfig: "{}" });
        const platform: KubernetesPlatform = { kind: "kubernetes", provider, persistentStorageClass: "gp3", sharedStorageClass: "efs", ingressClass: "alb", vpcCidr: VPC, retainClaims: true, dependsOn: [], ...extra };
        return deployKubernetesWorkloads("prod", specs, Object.fromEntries(specs.map((s) => [s.name, `example/${s.name}:1`])), platform);
    }, "prod");
}
const obj = (r: RecordedResource) => r.inputs as Record<string, any>;

describe("kubernetes: rollouts, scale-down, volumes, jobs and network policies", function () {
    let run: Awaited<ReturnType<typeof deploy>>;
    before(async function () {
        run = await deploy(SAMPLES);
    });

    describe("zero-downtime rollouts behind the ALB", function () {
        it("asks the Load Balancer Controller for readiness gates on the stack's namespace", function () {
            expect(obj(only(run.resources, "kubernetes:core/v1:Namespace")).metadata.labels).to.include({ "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled" });
        });

        it("derives preStop sleep, deregistration delay and grace period together: sleep < delay <= grace", function () {
            const timings = drainTimings(sample("web"))!;
            expect(timings).to.deep.equal({ preStopSleepSeconds: 15, deregistrationDelaySeconds: 25, terminationGracePeriodSeconds: 30 });
            expect(timings.preStopSleepSeconds).to.be.lessThan(timings.deregistrationDelaySeconds);
            expect(timings.deregistrationDelaySeconds).to.be.at.most(timings.terminationGracePeriodSeconds);
            expect(drainTimings(sample("migrate"))).to.equal(undefined);
        });

        it("renders them on the pod, the container and the Ingress's target group", function () {
            const web = obj(only(run.resources, "kubernetes:apps/v1:Deployment", "web-deployment"));
            expect(web.spec.template.spec.terminationGracePeriodSeconds).to.equal(30);
            expect(web.spec.template.spec.containers[0].lifecycle).to.deep.equal({ preStop: { sleep: { seconds: 15 } } });
            const ing = obj(only(run.resources, "kubernetes:networking.k8s.io/v1:Ingress", "web-ingress"));
            expect(ing.metadata.annotations["alb.ingress.kubernetes.io/target-group-attributes"]).to.equal("deregistration_delay.timeout_seconds=25");
            expect(ingress(sample("web"), { ingressClass: "alb", group: "g" })!.annotations["alb.ingress.kubernetes.io/target-type"]).to.equal("ip");
        });
    });

    describe("Cluster Autoscaler scale-down", function () {
        it("names every emptyDir of a pod as safe to evict, and nothing else", function () {
            const redis = sample("redis");
            const template = podTemplate(redis, "img", podStorage(redis, classes, "secret")) as any;
            expect(template.metadata.annotations).to.deep.equal({ [SAFE_TO_EVICT_LOCAL_VOLUMES]: "dockyard-tmp" });
            const scratchy: WorkloadSpec = { name: "w", image: { ref: "x" }, resources, volumes: [{ name: "cache", kind: "ephemeral", mountPath: "/cache" }] };
            expect((podTemplate(scratchy, "img", podStorage(scratchy, classes)) as any).metadata.annotations[SAFE_TO_EVICT_LOCAL_VOLUMES]).to.equal("dockyard-tmp,cache");
            for (const d of ofType(run.resources, "kubernetes:apps/v1:Deployment")) expect(obj(d).spec.template.metadata.annotations[SAFE_TO_EVICT_LOCAL_VOLUMES], d.name).to.equal("dockyard-tmp");
        });
    });

    describe("persistent volumes grow in place", function () {
        const redis = (size: string): WorkloadSpec => ({ ...sample("redis"), volumes: [{ name: "data", kind: "persistent", mountPath: "/data", size }] });

        it("patches each replica's claim to the spec's size, and the StatefulSet ignores its templates", async function () {
            expect(claimResizes({ ...redis("5Gi"), replicas: 2 })).to.deep.equal([
                { name: "data-redis-0", storage: "5Gi" },
                { name: "data-redis-1", storage: "5Gi" },
            ]);
            const [small, large] = [await deploy([redis("1Gi")]), await deploy([redis("2Gi")])];
            const set = (r: typeof small) => only(r.resources, "kubernetes:apps/v1:StatefulSet");
            expect(set(large).options.ignoreChanges).to.include("spec.volumeClaimTemplates");
            expect(set(large).options.replaceOnChanges).to.deep.equal([]);
            // Growing the volume changes only the claim's patch: the StatefulSet's other inputs stay as they were.
            const { volumeClaimTemplates: a, ...restSmall } = obj(set(small)).spec;
            const { volumeClaimTemplates: b, ...restLarge } = obj(set(large)).spec;
            expect(restLarge).to.deep.equal(restSmall);
            expect([a[0].spec.resources.requests.storage, b[0].spec.resources.requests.storage]).to.deep.equal(["1Gi", "2Gi"]);
            const patch = only(large.resources, "kubernetes:core/v1:PersistentVolumeClaimPatch");
            expect(obj(patch)).to.deep.include({ spec: { resources: { requests: { storage: "2Gi" } } } });
            expect(obj(patch).metadata).to.deep.include({ name: "data-redis-0", namespace: "prod", annotations: { "pulumi.com/patchForce": "true" } });
            expect(patch.dependencies).to.include.members(["redis-statefulset", "redis-data-size-guard"]);
        });

        it("refuses a smaller size at preview, naming the workload, the volume and what is allowed", function () {
            const label = 'workload "redis": volumes[0] (data)';
            expect(shrinkProblem({ label, size: "2Gi", bytes: 2 * 2 ** 30 }, { label, size: "1Gi", bytes: 2 ** 30 })).to.equal(
                'workload "redis": volumes[0] (data): size is "1Gi" but the deployed claims are "2Gi"; allowed: 2Gi or larger (a volume\'s claim can grow, never shrink; to start smaller, move the data to a new volume name)',
            );
            expect(shrinkProblem({ label, size: "1Gi", bytes: 2 ** 30 }, { label, size: "2Gi", bytes: 2 * 2 ** 30 })).to.equal(undefined);
            expect(shrinkProblem(undefined, { label, size: "1Gi", bytes: 2 ** 30 })).to.equal(undefined);
            const guard = ofType(run.resources, "pulumi-nodejs:dynamic/dockyard-volume-size:Resource").find((r) => r.name === "redis-data-size-guard")!;
            expect(obj(guard)).to.deep.include({ label, size: "1Gi", bytes: 2 ** 30 });
        });

        it("keeps claims on delete in production only, so a non-production destroy leaves no volume behind", function () {
            const redisSpec = sample("redis");
            const storage = podStorage(redisSpec, classes);
            const template = podTemplate(redisSpec, "img", storage);
            expect(statefulSetSpec(redisSpec, template, storage, true).persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: "Retain", whenScaled: "Retain" });
            expect(statefulSetSpec(redisSpec, template, storage, false).persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: "Delete", whenScaled: "Retain" });
        });
    });

    describe("StatefulSet identity, Jobs and waits", function () {
        it("governs the StatefulSet with a headless Service so each pod has its own DNS name", function () {
            expect(headlessServiceSpec(sample("redis"))).to.deep.equal({
                clusterIP: "None",
                selector: { "app.kubernetes.io/name": "redis" },
                publishNotReadyAddresses: true,
                ports: [{ name: "redis", port: 6379, targetPort: "redis", protocol: "TCP" }],
            });
            const set = obj(only(run.resources, "kubernetes:apps/v1:StatefulSet"));
            const headless = ofType(run.resources, "kubernetes:core/v1:Service").find((r) => obj(r).metadata.name === set.spec.serviceName)!;
            expect(obj(headless).spec.clusterIP).to.equal("None");
            expect(headlessServiceSpec(sample("api"))).to.equal(undefined);
        });

        it("replaces a failed Job on the next up and waits long enough for its retries", function () {
            const job = only(run.resources, "kubernetes:batch/v1:Job");
            expect(obj(job).metadata.annotations).to.deep.equal({ "pulumi.com/replaceUnready": "true" });
            expect(job.options.customTimeouts).to.deep.equal(JOB_TIMEOUTS);
            expect(job.options).to.deep.include({ replaceOnChanges: ["spec"], deleteBeforeReplace: true });
            for (const r of [...ofType(run.resources, "kubernetes:apps/v1:Deployment"), ...ofType(run.resources, "kubernetes:apps/v1:StatefulSet")]) expect(r.options.customTimeouts, r.name).to.deep.equal(ROLLOUT_TIMEOUTS);
        });
    });

    describe("network policies", function () {
        it("denies everything in the namespace by default, except DNS to CoreDNS", function () {
            expect(namespaceNetworkPolicies().map((p) => p.name)).to.deep.equal(["default-deny", "allow-dns"]);
            expect(namespaceNetworkPolicies()[0].spec).to.deep.equal({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            const names = ofType(run.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => obj(r).metadata.name).sort();
            expect(names).to.deep.equal(["allow-dns", "api", "default-deny", "migrate", "redis", "web"]);
        });

        it("lets redis be reached only by the workloads that name it, on its port", function () {
            expect(networkPolicySpec(sample("redis"), SAMPLES, VPC)).to.deep.equal({
                podSelector: { matchLabels: { "app.kubernetes.io/name": "redis" } },
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["migrate", "api"] }] } }], ports: [{ protocol: "TCP", port: 6379 }] }],
                egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [VPC] } }] }],
            });
        });

        it("lets web take traffic from the load balancer inside the VPC and reach only api in the cluster", function () {
            expect(networkPolicySpec(sample("web"), SAMPLES, VPC)).to.deep.equal({
                podSelector: { matchLabels: { "app.kubernetes.io/name": "web" } },
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: [{ ipBlock: { cidr: VPC } }], ports: [{ protocol: "TCP", port: 8080 }] }],
                egress: [
                    { to: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["api"] }] } }], ports: [{ protocol: "TCP", port: 3000 }] },
                    { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [VPC] } }] },
                ],
            });
            // api is reached from web only; the job reaches redis and nothing reaches it.
            expect(networkPolicySpec(sample("api"), SAMPLES, VPC).ingress).to.deep.equal([
                { from: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["web"] }] } }], ports: [{ protocol: "TCP", port: 3000 }] },
            ]);
            expect(networkPolicySpec(sample("migrate"), SAMPLES, VPC).ingress).to.deep.equal([]);
        });

        it("turns the policies on in the VPC CNI, without which they do nothing", function () {
            expect(addonPlan(stackConfig("prod")).find((a) => a.name === "vpc-cni")!.configurationValues).to.equal('{"enableNetworkPolicy":"true"}');
        });
    });

    describe("Load Balancer Controller", function () {
        it("keeps one replica through drains and scopes its pod webhook to dockyard's pods in gated namespaces", function () {
            const values = loadBalancerControllerValues(stackConfig("prod"), "dockyard-prod", "vpc-1");
            expect(values).to.deep.include({
                replicaCount: 2,
                podDisruptionBudget: { maxUnavailable: 1 },
                webhookNamespaceSelectors: [{ key: "elbv2.k8s.aws/pod-readiness-gate-inject", operator: "In", values: ["enabled"] }],
                objectSelector: { matchExpressions: [{ key: "app.kubernetes.io/part-of", operator: "In", values: ["dockyard"] }] },
                ingressValidatorWebhookConfig: { failurePolicy: "Ignore" },
            });
        });
    });

    describe("the prod render", function () {
        it("every Kubernetes object, the new ones included, validates against the schema and lines up", async function () {
            const prod = await renderStack("prod");
            // The namespace's baseline policies, then one per workload, whatever workloads.ts declares.
            const declared = workloads({ stack: "prod", generatedSecret: () => pulumi.secret(""), configSecret: () => pulumi.secret("") });
            expect(ofType(prod.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy")).to.have.length(namespaceNetworkPolicies().length + declared.length);
            const persistentVolumes = declared.flatMap((w) => (w.volumes ?? []).filter((v) => v.kind === "persistent")).length;
            expect(ofType(prod.resources, "kubernetes:core/v1:PersistentVolumeClaimPatch")).to.have.length(persistentVolumes);
            expect(kubernetesProblems(prod.resources)).to.deep.equal([]);
        });
    });
});
