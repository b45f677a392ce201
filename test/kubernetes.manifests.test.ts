import { expect } from "chai";
import {
    ALB_TLS_POLICY,
    JOB_BACKOFF_LIMIT,
    JOB_TTL_SECONDS,
    autoscalerSpec,
    container,
    containerSecurityContext,
    controllerKind,
    deploymentSpec,
    deploymentStrategy,
    disruptionBudgetSpec,
    ingress,
    ingressOrder,
    jobSpec,
    podSecurityContext,
    podStorage,
    podTemplate,
    privilegesAnnotations,
    probes,
    publicTcpService,
    selectorLabels,
    serviceSpec,
    sharedClaimSpec,
    statefulSetSpec,
    topologySpread,
    workloadLabels,
} from "../components/kubernetes/manifests";
import { deploymentOrder, ingressGroupName, namespaceName, namespacePodSecurity } from "../components/kubernetes/deploy";
import type { WorkloadSpec } from "../components/workload";

const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const spec = (extra: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ name: "api", image: { ref: "example/api:1" }, resources, ...extra });
const classes = { persistentStorageClass: "gp3", sharedStorageClass: "efs" };
const settings = { ingressClass: "alb", group: "dockyard-prod" };
const pod = (s: WorkloadSpec, secretName?: string) => podTemplate(s, "img", podStorage(s, classes, secretName)) as any;

describe("kubernetes manifests: spec to objects", () => {
    it("labels objects and selects pods by the workload name only", () => {
        expect(selectorLabels(spec())).to.deep.equal({ "app.kubernetes.io/name": "api" });
        expect(workloadLabels(spec({ kind: "job" }))).to.include({ "app.kubernetes.io/name": "api", "app.kubernetes.io/component": "job", "app.kubernetes.io/part-of": "dockyard" });
    });

    it("picks Deployment, StatefulSet for persistent volumes, and Job for kind job", () => {
        expect(controllerKind(spec())).to.equal("Deployment");
        expect(controllerKind(spec({ volumes: [{ name: "data", kind: "shared", mountPath: "/d" }] }))).to.equal("Deployment");
        expect(controllerKind(spec({ volumes: [{ name: "data", kind: "persistent", mountPath: "/d" }] }))).to.equal("StatefulSet");
        expect(controllerKind(spec({ kind: "job" }))).to.equal("Job");
    });

    it("maps image, command, args, env, ports and resources onto the container", () => {
        const c = container(spec({ command: ["node"], args: ["dist/main.js"], env: { A: "1", B: "two" }, ports: [{ name: "http", port: 8080 }, { name: "db", port: 5432, protocol: "tcp" }] }), "repo/api@sha256:abc", []) as any;
        expect(c.image).to.equal("repo/api@sha256:abc");
        expect(c.command).to.deep.equal(["node"]);
        expect(c.args).to.deep.equal(["dist/main.js"]);
        expect(c.env).to.deep.equal([{ name: "A", value: "1" }, { name: "B", value: "two" }]);
        expect(c.ports).to.deep.equal([{ name: "http", containerPort: 8080, protocol: "TCP" }, { name: "db", containerPort: 5432, protocol: "TCP" }]);
        expect(c.resources).to.deep.equal(resources);
        const bare = container(spec(), "img", []) as any;
        expect(bare).not.to.have.any.keys("command", "args", "env", "readinessProbe", "livenessProbe", "startupProbe");
    });

    it("turns each kind of health check into readiness, and a separate, weaker liveness that a failing dependency does not trip", () => {
        const http = probes(spec({ health: { http: { path: "/healthz", port: 8080 }, intervalSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 } }));
        expect(http).to.deep.equal({
            readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
            // The process is up and listening: a /healthz that checks Redis cannot restart the pod.
            livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 12 },
        });
        expect(http.livenessProbe).to.not.equal(http.readinessProbe);
        expect(probes(spec({ health: { tcp: { port: 6379 } } })).livenessProbe).to.deep.equal({ tcpSocket: { port: 6379 }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 9 });
        expect((probes(spec({ health: { command: ["redis-cli", "ping"] } })).readinessProbe as any).exec).to.deep.equal({ command: ["redis-cli", "ping"] });
        expect(probes(spec())).to.deep.equal({});
    });

    it("gives the start period to a startup probe, and a job liveness only", () => {
        const withStart = probes(spec({ health: { tcp: { port: 80 }, intervalSeconds: 10, startPeriodSeconds: 25 } }));
        expect(withStart.startupProbe).to.deep.equal({ tcpSocket: { port: 80 }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 + 3 });
        const jobProbes = probes(spec({ kind: "job", health: { command: ["true"] } }));
        expect(jobProbes).to.have.keys("livenessProbe");
    });

    it("hardens the pod and container: non-root user from spec.user, no privileges, RuntimeDefault seccomp", () => {
        expect(podSecurityContext(spec())).to.deep.include({
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
            sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "1024" }],
        });
        expect(podSecurityContext(spec({ user: "999:1000" }))).to.deep.include({ runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 });
        expect(containerSecurityContext(spec())).to.deep.equal({
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        expect(containerSecurityContext(spec({ readOnlyRootFilesystem: false })).readOnlyRootFilesystem).to.equal(false);
        expect(privilegesAnnotations(spec())).to.deep.equal({});
    });

    it("runs as root only with privileges.root, and adds exactly privileges.capabilities to an empty set", () => {
        const db = spec({ privileges: { root: true, capabilities: ["CHOWN", "SETUID", "SETGID"] } });
        expect(podSecurityContext(db)).to.deep.include({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, fsGroup: 0 });
        expect(containerSecurityContext(db)).to.deep.equal({
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"], add: ["CHOWN", "SETUID", "SETGID"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        expect(privilegesAnnotations(db)).to.deep.equal({ "dockyard.io/privileges": "root,CHOWN,SETUID,SETGID" });
        // gid 0 with another uid: non-root to Kubernetes, declared all the same.
        const group = spec({ user: "1000:0", privileges: { root: true } });
        expect(podSecurityContext(group)).to.deep.include({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 0, fsGroup: 0 });
        expect(privilegesAnnotations(group)).to.deep.equal({ "dockyard.io/privileges": "root" });
        const web = spec({ user: "101:101", privileges: { capabilities: ["NET_BIND_SERVICE"] } });
        expect(containerSecurityContext(web)).to.deep.include({ runAsNonRoot: true, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } });
        // The capability reaches no non-root process (no ambient capabilities): the pod's sysctl opens the low ports, as on Swarm.
        expect(podSecurityContext(web).sysctls).to.deep.equal([{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }]);
        expect(podSecurityContext(db).sysctls).to.deep.equal([{ name: "net.ipv4.ip_unprivileged_port_start", value: "1024" }]);
    });

    it("keeps the namespace restricted unless a workload needs root or a capability beyond NET_BIND_SERVICE, then enforces baseline and still warns and audits restricted", () => {
        const restricted = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" };
        expect(namespacePodSecurity([spec(), spec({ name: "web", privileges: { capabilities: ["NET_BIND_SERVICE"] } })])).to.deep.equal({ labels: restricted, annotations: {}, reasons: [] });
        const db = spec({ name: "db", privileges: { root: true, capabilities: ["CHOWN"] } });
        expect(namespacePodSecurity([spec(), db])).to.deep.equal({
            labels: { ...restricted, "pod-security.kubernetes.io/enforce": "baseline" },
            annotations: { "dockyard.io/privileges": 'workload "db" runs as uid 0 and adds CHOWN' },
            reasons: ['workload "db" runs as uid 0 and adds CHOWN'],
        });
    });

    it("mounts /tmp scratch always and the secrets read-only at /run/secrets when there are any", () => {
        const none = podStorage(spec(), classes);
        expect(none.volumes).to.deep.equal([{ name: "dockyard-tmp", emptyDir: {} }]);
        expect(none.volumeMounts).to.deep.equal([{ name: "dockyard-tmp", mountPath: "/tmp" }]);
        const withSecret = podStorage(spec(), classes, "api-secret-1234");
        expect(withSecret.volumes[1]).to.deep.equal({ name: "dockyard-secrets", secret: { secretName: "api-secret-1234", defaultMode: 0o440 } });
        expect(withSecret.volumeMounts[1]).to.deep.equal({ name: "dockyard-secrets", mountPath: "/run/secrets", readOnly: true });
    });

    it("maps persistent to a claim template, shared to a ReadWriteMany claim and ephemeral to emptyDir", () => {
        const s = spec({
            volumes: [
                { name: "data", kind: "persistent", mountPath: "/data", size: "5Gi" },
                { name: "uploads", kind: "shared", mountPath: "/uploads" },
                { name: "cache", kind: "ephemeral", mountPath: "/cache", size: "512Mi" },
                { name: "scratch", kind: "ephemeral", mountPath: "/scratch" },
            ],
        });
        const storage = podStorage(s, classes);
        expect(storage.claimTemplates).to.deep.equal([
            { metadata: { name: "data", labels: { "app.kubernetes.io/name": "api" } }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "gp3", resources: { requests: { storage: "5Gi" } } } },
        ]);
        expect(storage.volumes.slice(1)).to.deep.equal([
            { name: "uploads", persistentVolumeClaim: { claimName: "api-uploads" } },
            { name: "cache", emptyDir: { sizeLimit: "512Mi" } },
            { name: "scratch", emptyDir: {} },
        ]);
        expect(storage.volumeMounts.map((m) => [m.name, m.mountPath])).to.deep.equal([
            ["dockyard-tmp", "/tmp"],
            ["data", "/data"],
            ["uploads", "/uploads"],
            ["cache", "/cache"],
            ["scratch", "/scratch"],
        ]);
        expect(sharedClaimSpec({ name: "uploads", kind: "shared", mountPath: "/u" }, classes)).to.deep.equal({ accessModes: ["ReadWriteMany"], storageClassName: "efs", resources: { requests: { storage: "1Gi" } } });
    });

    it("builds a pod template with its own service account, no token, no service links, spread over zones", () => {
        const t = pod(spec());
        expect(t.metadata.labels).to.deep.equal(workloadLabels(spec()));
        expect(t.spec).to.deep.include({ serviceAccountName: "api", automountServiceAccountToken: false, enableServiceLinks: false });
        expect(t.spec.topologySpreadConstraints).to.deep.equal(topologySpread(spec()));
        expect(topologySpread(spec()).map((c: any) => [c.topologyKey, c.whenUnsatisfiable, c.labelSelector.matchLabels])).to.deep.equal([
            ["topology.kubernetes.io/zone", "ScheduleAnyway", { "app.kubernetes.io/name": "api" }],
            ["kubernetes.io/hostname", "ScheduleAnyway", { "app.kubernetes.io/name": "api" }],
        ]);
        const jobPod = pod(spec({ kind: "job" }));
        expect(jobPod.spec.restartPolicy).to.equal("Never");
        expect(jobPod.spec).not.to.have.property("topologySpreadConstraints");
    });

    it("maps replicas, rolling-update policy and delay onto the Deployment", () => {
        const d = deploymentSpec(spec({ replicas: 3, update: { parallelism: 2, delaySeconds: 7 } }), pod(spec())) as any;
        expect(d.replicas).to.equal(3);
        expect(d.selector).to.deep.equal({ matchLabels: { "app.kubernetes.io/name": "api" } });
        expect(d.strategy).to.deep.equal({ type: "RollingUpdate", rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } });
        expect(d.minReadySeconds).to.equal(7);
        expect(deploymentStrategy(spec({ update: { order: "stop-first", parallelism: 3 } }))).to.deep.equal({ type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 3 } });
        expect(deploymentStrategy(spec())).to.deep.equal({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
        expect((deploymentSpec(spec({ replicas: 0 }), pod(spec())) as any).replicas).to.equal(0);
        expect((deploymentSpec(spec({ autoscaling: { min: 2, max: 4, cpuPercent: 60 } }), pod(spec())) as any).replicas).to.equal(2);
    });

    it("gives a StatefulSet its claim templates, service name and a retained volume per replica", () => {
        const s = spec({ replicas: 2, update: { delaySeconds: 3 }, volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }] });
        const storage = podStorage(s, classes);
        const set = statefulSetSpec(s, podTemplate(s, "img", storage), storage) as any;
        expect(set).to.deep.include({ replicas: 2, serviceName: "api-headless", minReadySeconds: 3, updateStrategy: { type: "RollingUpdate" } });
        expect(set.volumeClaimTemplates).to.deep.equal(storage.claimTemplates);
        expect(set.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: "Retain", whenScaled: "Retain" });
    });

    it("runs a job once with a backoff limit and a TTL", () => {
        const j = jobSpec(pod(spec({ kind: "job" }))) as any;
        expect(j).to.deep.include({ backoffLimit: JOB_BACKOFF_LIMIT, ttlSecondsAfterFinished: JOB_TTL_SECONDS, completions: 1, parallelism: 1 });
        expect(JOB_BACKOFF_LIMIT).to.be.greaterThan(0);
    });

    it("exposes every port on a ClusterIP Service by name, and none for jobs or portless workloads", () => {
        const s = serviceSpec(spec({ ports: [{ name: "http", port: 8080, public: {} }, { name: "redis", port: 6379, protocol: "tcp" }] })) as any;
        expect(s.type).to.equal("ClusterIP");
        expect(s.selector).to.deep.equal({ "app.kubernetes.io/name": "api" });
        expect(s.ports).to.deep.equal([
            { name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "http" },
            { name: "redis", port: 6379, targetPort: "redis", protocol: "TCP", appProtocol: "tcp" },
        ]);
        expect(serviceSpec(spec())).to.equal(undefined);
        expect(serviceSpec(spec({ kind: "job", ports: [{ name: "http", port: 80 }] }))).to.equal(undefined);
    });

    it("publishes public tcp ports through an NLB Service and nothing else", () => {
        const pub = publicTcpService(spec({ ports: [{ name: "http", port: 80, public: {} }, { name: "mqtt", port: 1883, protocol: "tcp", public: { sourceRanges: ["203.0.113.0/24"] } }, { name: "db", port: 5432, protocol: "tcp" }] }))!;
        expect(pub.spec).to.deep.equal({
            type: "LoadBalancer",
            selector: { "app.kubernetes.io/name": "api" },
            ports: [{ name: "mqtt", port: 1883, targetPort: "mqtt", protocol: "TCP" }],
            loadBalancerSourceRanges: ["203.0.113.0/24"],
        });
        expect(pub.annotations).to.deep.equal({
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        });
        expect(publicTcpService(spec({ ports: [{ name: "http", port: 80, public: {} }] }))).to.equal(undefined);
    });

    it("routes public http ports through an Ingress in the stack's ALB group over HTTP without a certificate", () => {
        const s = spec({ ports: [{ name: "http", port: 8080, public: { path: "/api" } }, { name: "admin", port: 9000, public: { host: "admin.example.com" } }, { name: "internal", port: 7000 }], health: { http: { path: "/healthz", port: 8080 } } });
        const ing = ingress(s, settings)!;
        expect(ing.spec).to.deep.equal({
            ingressClassName: "alb",
            rules: [
                { http: { paths: [{ path: "/api", pathType: "Prefix", backend: { service: { name: "api", port: { name: "http" } } } }] } },
                { host: "admin.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "api", port: { name: "admin" } } } }] } },
            ],
        });
        expect(ing.annotations).to.deep.equal({
            "alb.ingress.kubernetes.io/group.name": "dockyard-prod",
            "alb.ingress.kubernetes.io/group.order": String(ingressOrder(s)),
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80}]',
            "alb.ingress.kubernetes.io/target-group-attributes": "deregistration_delay.timeout_seconds=25",
            "alb.ingress.kubernetes.io/healthcheck-path": "/healthz",
        });
        expect(ingress(spec({ ports: [{ name: "http", port: 80 }] }), settings)).to.equal(undefined);
        expect(ingress(spec({ kind: "job", ports: [{ name: "http", port: 80, public: {} }] }), settings)).to.equal(undefined);
    });

    it("adds HTTPS with the certificate, a redirect and the modern TLS policy when there is a certificate", () => {
        const arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        const ing = ingress(spec({ ports: [{ name: "http", port: 80, public: {} }] }), { ...settings, certificateArn: arn })!;
        expect(ing.annotations).to.deep.include({
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]',
            "alb.ingress.kubernetes.io/certificate-arn": arn,
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
            "alb.ingress.kubernetes.io/ssl-policy": ALB_TLS_POLICY,
        });
        expect(ALB_TLS_POLICY).to.equal("ELBSecurityPolicy-TLS13-1-2-2021-06");
    });

    it("health-checks the ALB target on the health port when it is not the routed one", () => {
        const ing = ingress(spec({ ports: [{ name: "http", port: 80, public: {} }], health: { http: { path: "/ready", port: 9090 } } }), settings)!;
        expect(ing.annotations).to.deep.include({ "alb.ingress.kubernetes.io/healthcheck-path": "/ready", "alb.ingress.kubernetes.io/healthcheck-port": "9090" });
        const tcpHealth = ingress(spec({ ports: [{ name: "http", port: 80, public: {} }], health: { tcp: { port: 80 } } }), settings)!;
        expect(tcpHealth.annotations["alb.ingress.kubernetes.io/healthcheck-path"]).to.equal("/");
    });

    it("orders ALB rules: host rules first, then longer paths before the catch-all", () => {
        const at = (pub: { path?: string; host?: string }) => ingressOrder(spec({ ports: [{ name: "http", port: 80, public: pub }] }));
        expect(at({ host: "a.example.com" })).to.be.lessThan(at({ path: "/api/v1" }));
        expect(at({ path: "/api/v1" })).to.be.lessThan(at({ path: "/api" }));
        expect(at({ path: "/api" })).to.be.lessThan(at({}));
        for (const order of [at({ host: "a.example.com" }), at({}), at({ path: `/${"x".repeat(800)}` })]) expect(order).to.be.within(-1000, 1000);
    });

    it("autoscales on CPU with autoscaling/v2 targeting the right controller", () => {
        const hpa = autoscalerSpec(spec({ autoscaling: { min: 2, max: 8, cpuPercent: 65 } }));
        expect(hpa).to.deep.equal({
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
            minReplicas: 2,
            maxReplicas: 8,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 65 } } }],
        });
        const stateful = spec({ autoscaling: { min: 1, max: 3, cpuPercent: 50 }, volumes: [{ name: "d", kind: "persistent", mountPath: "/d" }] });
        expect((autoscalerSpec(stateful) as any).scaleTargetRef.kind).to.equal("StatefulSet");
        expect(autoscalerSpec(spec())).to.equal(undefined);
    });

    it("adds a disruption budget only when more than one replica runs", () => {
        expect(disruptionBudgetSpec(spec({ replicas: 2 }))).to.deep.equal({ maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "api" } } });
        expect(disruptionBudgetSpec(spec({ autoscaling: { min: 2, max: 3, cpuPercent: 50 } }))).not.to.equal(undefined);
        expect(disruptionBudgetSpec(spec())).to.equal(undefined);
        expect(disruptionBudgetSpec(spec({ autoscaling: { min: 1, max: 3, cpuPercent: 50 } }))).to.equal(undefined);
    });
});

describe("kubernetes deployment plan", () => {
    it("names the namespace and ALB group after the stack", () => {
        expect(namespaceName("prod")).to.equal("prod");
        expect(namespaceName("Team_EU.prod")).to.equal("team-eu-prod");
        expect(ingressGroupName("prod")).to.equal("dockyard-prod");
        expect(() => namespaceName("__")).to.throw('stack name "__" gives no Kubernetes namespace name');
    });

    it("orders jobs first and every workload after the jobs it names", () => {
        const w = (name: string, extra: Partial<WorkloadSpec> = {}) => spec({ name, ...extra });
        const order = deploymentOrder([w("web", { after: ["seed"] }), w("api", { after: ["migrate"] }), w("seed", { kind: "job", after: ["migrate"] }), w("migrate", { kind: "job" })]);
        expect(order.map((s) => s.name)).to.deep.equal(["migrate", "seed", "web", "api"]);
    });
});
