import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { deployKubernetesWorkloads } from "../components/kubernetes/deploy";
import { KubernetesWorkload } from "../components/kubernetes/workload";
import type { KubernetesPlatform } from "../components/platform";
import { claimSizeResourceName, KUBERNETES_MAX_SECRET_BYTES, statefulClaimName, validateWorkloads, volumeResourceName, WorkloadSpec } from "../components/workload";
import { sampleWorkloads } from "../workloads";
import { RecordedResource, isSecret, ofType, only, resolve, runDeclaration } from "./harness";
import { kubernetesObjects, kubernetesProblems, schemaProblems, wiringProblems } from "./k8sSchema";

const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f3b1c2d-aaaa-bbbb-cccc-123456789012";

/** A stack that uses every spec field, the way a real team's workloads.ts would. */
const RICH: WorkloadSpec[] = [
    {
        name: "api",
        image: { build: { context: "services/api" } },
        command: ["node"],
        args: ["dist/main.js"],
        ports: [{ name: "http", port: 8080, public: { path: "/api" } }, { name: "metrics", port: 9100, protocol: "tcp" }],
        env: { REDIS_HOST: "redis", LOG_LEVEL: "info" },
        secrets: { "api-token": pulumi.secret("tok-123"), "redis-password": "hunter2" },
        resources,
        health: { http: { path: "/healthz", port: 8080 }, intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 10 },
        volumes: [{ name: "uploads", kind: "shared", mountPath: "/data/uploads", size: "5Gi" }],
        update: { parallelism: 2, delaySeconds: 5, onFailure: "rollback", order: "start-first" },
        autoscaling: { min: 2, max: 6, cpuPercent: 70 },
        after: ["migrate"],
    },
    { name: "web", image: { build: { context: "services/web" } }, replicas: 2, ports: [{ name: "http", port: 8080, public: { path: "/" } }], resources, health: { http: { path: "/", port: 8080 } }, after: ["seed"] },
    {
        name: "redis",
        image: { ref: "redis:7.4-alpine" },
        args: ["redis-server", "--requirepass-file", "/run/secrets/redis-password"],
        user: "999:999",
        ports: [{ name: "redis", port: 6379, protocol: "tcp" }],
        secrets: { "redis-password": "hunter2" },
        resources,
        health: { command: ["redis-cli", "ping"] },
        volumes: [{ name: "data", kind: "persistent", mountPath: "/data", size: "10Gi" }],
        update: { order: "stop-first" },
    },
    { name: "broker", image: { ref: "eclipse-mosquitto:2" }, ports: [{ name: "mqtt", port: 1883, protocol: "tcp", public: { sourceRanges: ["203.0.113.0/24"] } }], resources, health: { tcp: { port: 1883 } }, volumes: [{ name: "spool", kind: "ephemeral", mountPath: "/spool", size: "256Mi" }], readOnlyRootFilesystem: false },
    { name: "migrate", kind: "job", image: { build: { context: "services/api" } }, args: ["migrate"], secrets: { "redis-password": "hunter2" }, resources },
    { name: "seed", kind: "job", image: { build: { context: "services/api" } }, args: ["seed"], resources, after: ["migrate"] },
];

const IMAGES: Record<string, string> = {
    api: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard-prod-api@sha256:" + "a".repeat(64),
    web: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard-prod-web@sha256:" + "b".repeat(64),
    redis: "redis:7.4-alpine",
    broker: "eclipse-mosquitto:2",
    migrate: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard-prod-api@sha256:" + "a".repeat(64),
    seed: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard-prod-api@sha256:" + "a".repeat(64),
};

interface Registration {
    readonly dependencies: string[];
    readonly replaceOnChanges: string[];
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: string[];
}

/** Records the resource options the engine receives, which RecordedResource leaves out. */
function captureRegistrations(): Map<string, Registration> {
    const seen = new Map<string, Registration>();
    const monitor = pulumi.runtime.getMonitor() as any;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        seen.set(req.getName(), {
            dependencies: req.getDependenciesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            ignoreChanges: req.getIgnorechangesList(),
        });
        return original(req, callback);
    };
    return seen;
}

function testPlatform(extra: Partial<KubernetesPlatform> = {}): KubernetesPlatform {
    const provider = new k8s.Provider("test-k8s", { kubeconfig: "{}" });
    const addons = new k8s.core.v1.ConfigMap("addons-ready", { metadata: { name: "addons-ready", namespace: "kube-system" } }, { provider });
    return { kind: "kubernetes", provider, persistentStorageClass: "gp3", sharedStorageClass: "efs", ingressClass: "alb", vpcCidr: "10.20.0.0/16", retainClaims: true, dependsOn: [addons], ...extra } as KubernetesPlatform;
}

async function deployRich(extra: Partial<KubernetesPlatform> = {}, specs: WorkloadSpec[] = RICH) {
    let registrations!: Map<string, Registration>;
    const run = await runDeclaration(
        () => {
            registrations = captureRegistrations();
            return deployKubernetesWorkloads("prod", specs, IMAGES, testPlatform(extra));
        },
        "prod",
    );
    return { ...run, registrations };
}

const obj = (r: RecordedResource) => r.inputs as Record<string, any>;
const workloadObjects = (resources: RecordedResource[]) => kubernetesObjects(resources).filter((r) => r.name !== "addons-ready");

describe("kubernetes adapter under mocks", function () {
    let run: Awaited<ReturnType<typeof deployRich>>;
    before(async () => {
        run = await deployRich();
    });

    it("validates every object against the Kubernetes OpenAPI schema, with matching selectors and real target ports", () => {
        expect(workloadObjects(run.resources).length).to.be.greaterThan(25);
        expect(kubernetesProblems(run.resources)).to.deep.equal([]);
    });

    it("creates one namespace named after the stack, enforcing the restricted pod security standard", async () => {
        const ns = only(run.resources, "kubernetes:core/v1:Namespace");
        expect(obj(ns).metadata.name).to.equal("prod");
        expect(obj(ns).metadata.labels).to.include({ "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" });
        expect(obj(ns).metadata).not.to.have.property("annotations");
        expect(await resolve(run.value.namespace.metadata.name)).to.equal("prod");
        for (const r of workloadObjects(run.resources).filter((x) => x.type !== "kubernetes:core/v1:Namespace")) expect(obj(r).metadata.namespace, r.name).to.equal("prod");
    });

    it("uses the platform's provider and waits for the platform on every resource", () => {
        const addonsUrn = [...run.registrations.keys()].includes("addons-ready");
        expect(addonsUrn).to.equal(true);
        for (const r of workloadObjects(run.resources)) {
            expect(r.provider, r.name).to.equal("test-k8s");
            expect(run.registrations.get(r.name)!.dependencies.some((u) => u.endsWith("::addons-ready")), `${r.name} depends on the platform`).to.equal(true);
        }
    });

    it("makes one component per workload, parent of all its resources, in job-first order", () => {
        const components = ofType(run.resources, "dockyard:kubernetes:Workload").map((r) => r.name);
        expect(components).to.deep.equal(["migrate", "seed", "api", "web", "redis", "broker"]);
        expect(Object.keys(run.value.workloads)).to.deep.equal(components);
        // The namespace and its baseline NetworkPolicies belong to the stack, not to one workload.
        const stackLevel = ["prod-namespace", "prod-default-deny", "prod-allow-dns"];
        for (const r of workloadObjects(run.resources).filter((x) => !stackLevel.includes(x.name))) expect(components, r.name).to.include(r.parent);
    });

    it("maps each workload to the right controller and companions", () => {
        const names = (type: string) => ofType(run.resources, type).map((r) => obj(r).metadata.name).sort();
        expect(names("kubernetes:apps/v1:Deployment")).to.deep.equal(["api", "broker", "web"]);
        expect(names("kubernetes:apps/v1:StatefulSet")).to.deep.equal(["redis"]);
        expect(names("kubernetes:batch/v1:Job")).to.deep.equal(["migrate", "seed"]);
        expect(names("kubernetes:core/v1:Service")).to.deep.equal(["api", "broker", "broker-public", "redis", "redis-headless", "web"]);
        expect(names("kubernetes:networking.k8s.io/v1:Ingress")).to.deep.equal(["api", "web"]);
        expect(names("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).to.deep.equal(["api"]);
        expect(names("kubernetes:policy/v1:PodDisruptionBudget")).to.deep.equal(["api", "web"]);
        expect(names("kubernetes:core/v1:ServiceAccount")).to.deep.equal(["api", "broker", "migrate", "redis", "seed", "web"]);
        expect(names("kubernetes:core/v1:PersistentVolumeClaim")).to.deep.equal(["api-uploads"]);
        for (const sa of ofType(run.resources, "kubernetes:core/v1:ServiceAccount")) expect(obj(sa).automountServiceAccountToken).to.equal(false);
    });

    it("runs the images it is given", () => {
        const image = (type: string, name: string) => obj(only(run.resources, type, name)).spec.template.spec.containers[0].image;
        expect(image("kubernetes:apps/v1:Deployment", "api-deployment")).to.equal(IMAGES.api);
        expect(image("kubernetes:apps/v1:StatefulSet", "redis-statefulset")).to.equal("redis:7.4-alpine");
        expect(image("kubernetes:batch/v1:Job", "migrate-job")).to.equal(IMAGES.migrate);
    });

    it("keeps secret values Pulumi secrets and mounts them read-only at /run/secrets", async () => {
        const secret = only(run.resources, "kubernetes:core/v1:Secret", "api-secret");
        expect(JSON.stringify(ofType(run.resources, "kubernetes:core/v1:Secret").map((r) => r.inputs))).not.to.match(/hunter2|tok-123/);
        const workload = run.value.workloads.api;
        expect(await isSecret(workload.secret!.stringData as pulumi.Output<unknown>)).to.equal(true);
        expect(Object.keys(await resolve(workload.secret!.stringData))).to.deep.equal(["api-token", "redis-password"]);
        expect(obj(secret).metadata).not.to.have.property("name");
        const pod = obj(only(run.resources, "kubernetes:apps/v1:Deployment", "api-deployment")).spec.template.spec;
        const secretName = await resolve(workload.secret!.metadata.name);
        expect(pod.volumes).to.deep.include({ name: "dockyard-secrets", secret: { secretName, defaultMode: 0o440 } });
        expect(pod.containers[0].volumeMounts).to.deep.include({ name: "dockyard-secrets", mountPath: "/run/secrets", readOnly: true });
        expect(JSON.stringify(pod.containers[0].env)).not.to.include("hunter2");
        expect(ofType(run.resources, "kubernetes:core/v1:Secret").map((r) => r.name).sort()).to.deep.equal(["api-secret", "migrate-secret", "redis-secret"]);
    });

    it("replaces a job when it changes and makes its dependents wait for it", () => {
        const job = run.registrations.get("migrate-job")!;
        expect(job.replaceOnChanges).to.deep.equal(["spec"]);
        expect(job.deleteBeforeReplace).to.equal(true);
        const waitsFor = (name: string, job: string) => run.registrations.get(name)!.dependencies.some((u) => u.endsWith(`::${job}`));
        expect(waitsFor("api-deployment", "migrate-job")).to.equal(true);
        expect(waitsFor("seed-job", "migrate-job")).to.equal(true);
        expect(waitsFor("web-deployment", "seed-job")).to.equal(true);
        expect(waitsFor("redis-statefulset", "migrate-job")).to.equal(false);
        expect(waitsFor("api-deployment", "api-serviceaccount")).to.equal(true);
        expect(waitsFor("api-deployment", "api-uploads-claim")).to.equal(true);
    });

    it("leaves the replica count of an autoscaled workload to its autoscaler", () => {
        expect(run.registrations.get("api-deployment")!.ignoreChanges).to.deep.equal(["spec.replicas"]);
        expect(run.registrations.get("web-deployment")!.ignoreChanges).to.deep.equal([]);
        expect(obj(only(run.resources, "kubernetes:apps/v1:Deployment", "api-deployment")).spec.replicas).to.equal(2);
    });

    it("gives the stateful workload a claim per replica on the persistent storage class, as its user", () => {
        const set = obj(only(run.resources, "kubernetes:apps/v1:StatefulSet", "redis-statefulset"));
        expect(set.spec.volumeClaimTemplates[0].spec).to.deep.equal({ accessModes: ["ReadWriteOnce"], storageClassName: "gp3", resources: { requests: { storage: "10Gi" } } });
        expect(set.spec.template.spec.securityContext).to.deep.include({ runAsUser: 999, runAsGroup: 999, fsGroup: 999 });
        expect(set.spec.template.spec.containers[0].livenessProbe.exec.command).to.deep.equal(["redis-cli", "ping"]);
        const claim = obj(only(run.resources, "kubernetes:core/v1:PersistentVolumeClaim"));
        expect(claim.spec.storageClassName).to.equal("efs");
        expect(claim.spec.accessModes).to.deep.equal(["ReadWriteMany"]);
    });

    it("serves public http from one ALB group over HTTP without a certificate, and reports its host name", async () => {
        for (const ing of ofType(run.resources, "kubernetes:networking.k8s.io/v1:Ingress")) {
            expect(obj(ing).spec.ingressClassName).to.equal("alb");
            expect(obj(ing).metadata.annotations).to.include({ "alb.ingress.kubernetes.io/group.name": "dockyard-prod", "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80}]' });
            expect(obj(ing).metadata.annotations).not.to.have.property("alb.ingress.kubernetes.io/certificate-arn");
        }
        expect(await resolve(run.value.ingressHostname)).to.match(/^k8s-dockyard-prod-[0-9a-f]+-[0-9a-f]+\.us-east-1\.elb\.amazonaws\.com$/);
    });

    it("adds HTTPS with the platform's certificate, a redirect and the TLS 1.3 policy", async () => {
        const tls = await deployRich({ certificateArn: pulumi.output(CERTIFICATE) });
        for (const ing of ofType(tls.resources, "kubernetes:networking.k8s.io/v1:Ingress")) {
            expect(obj(ing).metadata.annotations).to.include({
                "alb.ingress.kubernetes.io/certificate-arn": CERTIFICATE,
                "alb.ingress.kubernetes.io/ssl-redirect": "443",
                "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]',
            });
        }
        expect(kubernetesProblems(tls.resources)).to.deep.equal([]);
    });

    it("has no ingress host name when nothing is public over http", async () => {
        const quiet = await deployRich({}, RICH.filter((s) => ["redis", "migrate"].includes(s.name)));
        expect(ofType(quiet.resources, "kubernetes:networking.k8s.io/v1:Ingress")).to.deep.equal([]);
        expect(await resolve(quiet.value.ingressHostname)).to.equal(undefined);
    });

    it("refuses invalid specs and workloads without an image before creating anything", async () => {
        let error: unknown;
        try {
            await runDeclaration(() => deployKubernetesWorkloads("prod", [...RICH, { name: "extra", image: { ref: "x" }, resources, replicas: -2 }], IMAGES, testPlatform()), "prod");
        } catch (err) {
            error = err;
        }
        expect(String(error)).to.include('workload "extra": replicas is -2; allowed: a whole number from 0 to 1000');
        expect(String(error)).to.include('workload "extra": no image was built or resolved for it');
    });

    it("fails the deployment on a Pulumi secret over the limit once it resolves, naming key and size, never the value", async () => {
        const big = { name: "big", image: { ref: "x" }, resources, secrets: { "api-token": pulumi.secret("T".repeat(KUBERNETES_MAX_SECRET_BYTES)) } };
        let error: unknown;
        try {
            await runDeclaration(() => deployKubernetesWorkloads("prod", [big], { big: "x" }, testPlatform()), "prod");
        } catch (err) {
            error = err;
        }
        expect(String(error)).to.include(`workload "big": secrets.api-token holds ${KUBERNETES_MAX_SECRET_BYTES} bytes; allowed: fewer than 512000`);
        expect(String(error)).not.to.include("TTTT");
    });

    it("names its volume children as validateWorkloads derives them, so the collision check sees what Pulumi sees", async () => {
        const db: WorkloadSpec = { name: "db", image: { ref: "x" }, resources, replicas: 2, volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }, { name: "files", kind: "shared", mountPath: "/files" }] };
        const { resources: made } = await runDeclaration(() => deployKubernetesWorkloads("prod", [db], { db: "x" }, testPlatform()), "prod");
        const names = made.map((r) => r.name);
        expect(names).to.include.members([
            `${volumeResourceName("db", "files")}-claim`,
            `${volumeResourceName("db", "data")}-size-guard`,
            claimSizeResourceName("db", statefulClaimName("data", "db", 0)),
            claimSizeResourceName("db", statefulClaimName("data", "db", 1)),
        ]);
    });

    it("enforces baseline on the namespace when a workload asks for root, declaring why, and declares each privileged controller", async () => {
        const warnings: string[] = [];
        const original = pulumi.log.warn;
        (pulumi.log as any).warn = (message: string) => {
            warnings.push(message);
            return Promise.resolve();
        };
        const db: WorkloadSpec = { name: "db", image: { ref: "postgres:16" }, resources, privileges: { root: true, capabilities: ["CHOWN", "SETUID", "SETGID"] } };
        const web: WorkloadSpec = { name: "web", image: { ref: "nginx:1.27" }, resources, user: "101:101", privileges: { capabilities: ["NET_BIND_SERVICE"] } };
        try {
            const { resources: made } = await runDeclaration(() => deployKubernetesWorkloads("prod", [db, web], { db: "x", web: "y" }, testPlatform()), "prod");
            const ns = obj(only(made, "kubernetes:core/v1:Namespace")).metadata;
            expect(ns.labels).to.include({ "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" });
            expect(ns.annotations).to.deep.equal({ "dockyard.io/privileges": 'workload "db" runs as uid 0 and adds CHOWN, SETUID, SETGID' });
            const deployments = ofType(made, "kubernetes:apps/v1:Deployment").map(obj).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
            expect(deployments.map((d) => d.metadata.annotations)).to.deep.equal([{ "dockyard.io/privileges": "root,CHOWN,SETUID,SETGID" }, { "dockyard.io/privileges": "NET_BIND_SERVICE" }]);
            expect(deployments[0].spec.template.spec.securityContext).to.deep.include({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 });
            expect(deployments[0].spec.template.spec.containers[0].securityContext.capabilities).to.deep.equal({ drop: ["ALL"], add: ["CHOWN", "SETUID", "SETGID"] });
            expect(kubernetesProblems(made)).to.deep.equal([]);
        } finally {
            (pulumi.log as any).warn = original;
        }
        expect(warnings).to.deep.equal(['namespace prod enforces the baseline Pod Security Standard, not restricted: workload "db" runs as uid 0 and adds CHOWN, SETUID, SETGID (privileges in the spec)']);
    });

    it("can be constructed alone with a custom group and explicit dependencies", async () => {
        const alone = await runDeclaration(() => {
            const platform = testPlatform();
            const gate = new k8s.core.v1.ConfigMap("gate", {}, { provider: platform.provider });
            return new KubernetesWorkload("solo", { spec: RICH[1], image: "nginx", namespace: "team", platform, ingressGroup: "shared", waitFor: [gate], stackSpecs: RICH });
        });
        const ing = obj(only(alone.resources, "kubernetes:networking.k8s.io/v1:Ingress"));
        expect(ing.metadata.annotations["alb.ingress.kubernetes.io/group.name"]).to.equal("shared");
        expect(ing.metadata.namespace).to.equal("team");
        expect(only(alone.resources, "kubernetes:apps/v1:Deployment").name).to.equal("solo-deployment");
        expect(only(alone.resources, "dockyard:kubernetes:Workload").name).to.equal("solo");
    });
});

describe("kubernetes adapter with the sample system", () => {
    it("validates, deploys and passes the schema and wiring checks", async () => {
        const specs = sampleWorkloads({ redisPassword: pulumi.secret("sample-password") });
        expect(validateWorkloads(specs)).to.deep.equal([]);
        const images = Object.fromEntries(specs.map((s) => [s.name, "registry.example/image@sha256:" + "c".repeat(64)]));
        const run = await runDeclaration(() => deployKubernetesWorkloads("prod", specs, images, testPlatform()), "prod");
        expect(ofType(run.resources, "dockyard:kubernetes:Workload").length).to.equal(specs.length);
        expect(kubernetesProblems(run.resources)).to.deep.equal([]);
        expect(JSON.stringify(run.resources.map((r) => r.inputs))).not.to.include("sample-password");
    });
});

describe("kubernetes schema helper", () => {
    const record = (type: string, name: string, inputs: Record<string, unknown>): RecordedResource => ({ type, name, parent: null, provider: null, inputs, rawInputs: inputs, custom: true, dependencies: [], options: { ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false, protect: false } });
    const deployment = (extra: Record<string, unknown> = {}) =>
        record("kubernetes:apps/v1:Deployment", "d", {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "d", namespace: "n" },
            spec: { selector: { matchLabels: { app: "d" } }, template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", ports: [{ name: "http", containerPort: 80 }] }] } }, ...extra },
        });

    it("reports schema violations with the object and the path", () => {
        expect(schemaProblems([deployment({ replicas: "two" })])).to.deep.equal(["kubernetes:apps/v1:Deployment d: data/spec/replicas must be integer"]);
        expect(schemaProblems([record("kubernetes:example.com/v1:Widget", "w", { apiVersion: "example.com/v1", kind: "Widget" })])).to.deep.equal(["kubernetes:example.com/v1:Widget w: no schema for example.com/v1 Widget"]);
        expect(schemaProblems([record("kubernetes:helm.sh/v3:Release", "r", { chart: "x" })])).to.deep.equal([]);
    });

    it("reports selectors that miss their pods and Services or Ingresses that target missing ports", () => {
        const service = (targetPort: unknown, selector = { app: "d" }) =>
            record("kubernetes:core/v1:Service", "s", { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "n" }, spec: { selector, ports: [{ name: "http", port: 80, targetPort }] } });
        const ingress = (port: Record<string, unknown>) =>
            record("kubernetes:networking.k8s.io/v1:Ingress", "i", {
                apiVersion: "networking.k8s.io/v1",
                kind: "Ingress",
                metadata: { name: "i", namespace: "n" },
                spec: { rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "s", port } } }] } }] },
            });
        expect(wiringProblems([deployment(), service("http"), ingress({ name: "http" })])).to.deep.equal([]);
        expect(wiringProblems([deployment(), service(80), ingress({ number: 80 })])).to.deep.equal([]);
        expect(wiringProblems([deployment({ selector: { matchLabels: { app: "other" } } })])).to.deep.equal([
            'kubernetes:apps/v1:Deployment d: selector {"app":"other"} does not match its pod labels {"app":"d"}',
        ]);
        expect(wiringProblems([deployment(), service("grpc"), ingress({ name: "admin" })])).to.deep.equal([
            "kubernetes:core/v1:Service s: port http targets grpc, which no selected container declares",
            "kubernetes:networking.k8s.io/v1:Ingress i: backend s has no port admin",
        ]);
        expect(wiringProblems([deployment(), service("http", { app: "x" })])).to.deep.equal(['kubernetes:core/v1:Service s: selector {"app":"x"} matches no pods']);
    });
});
