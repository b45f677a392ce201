import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    WorkloadSpec,
    afterSecretTotal,
    applyOverrides,
    checkedSecrets,
    KUBERNETES_MAX_SECRET_BYTES,
    secretSizeProblems,
    SWARM_MAX_SECRET_BYTES,
    initialReplicas,
    parseQuantity,
    prepareWorkloads,
    publicEndpoints,
    podSecurityLevel,
    privilegesDeclaration,
    userOf,
    validateWorkloads,
    withTag,
    headlessServiceName,
    NAMESPACE_POLICY_NAMES,
    statefulClaimName,
    volumeResourceName,
} from "../components/workload";
import * as manifests from "../components/kubernetes/manifests";
import { volumeName } from "../components/swarm/service";
import { isSecret, resolve } from "./harness";

const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const service = (name: string, extra: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ name, image: { ref: "nginx:1.27" }, resources, ...extra });
const job = (name: string, extra: Partial<WorkloadSpec> = {}): WorkloadSpec => service(name, { kind: "job", ...extra });
/** The problems of one workload `w` with the given fields. */
const problemsOf = (extra: Record<string, unknown>) => validateWorkloads([service("w", extra as Partial<WorkloadSpec>)]);

describe("workload validation", () => {
    it("accepts a rich, valid stack", () => {
        const specs = [
            job("migrate", { args: ["migrate"], volumes: [{ name: "scratch", kind: "ephemeral", mountPath: "/work", size: "1Gi" }] }),
            service("api", {
                image: { build: { context: "services/api" } },
                ports: [{ name: "http", port: 8080, public: { path: "/api", host: "api.example.com" } }, { name: "metrics", port: 9090 }],
                env: { LOG_LEVEL: "info" },
                secrets: { "api-token": "x" },
                health: { http: { path: "/healthz", port: 8080 }, intervalSeconds: 5, startPeriodSeconds: 20 },
                volumes: [{ name: "uploads", kind: "shared", mountPath: "/data/uploads" }],
                update: { parallelism: 2, delaySeconds: 5, onFailure: "rollback", order: "start-first" },
                autoscaling: { min: 2, max: 6, cpuPercent: 70 },
                after: ["migrate"],
                user: "1000:1000",
            }),
            service("redis", { user: "999", ports: [{ name: "redis", port: 6379, protocol: "tcp" }], volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }], update: { order: "stop-first" } }),
        ];
        expect(validateWorkloads(specs)).to.deep.equal([]);
    });

    it("names the workload, the field, the value and what is allowed", () => {
        expect(problemsOf({ ports: [{ name: "http", port: 70000 }] })).to.deep.equal(['workload "w": ports[0].port is 70000; allowed: 1 to 65535']);
    });

    it("rejects names that are not DNS-1123 labels, and duplicates", () => {
        expect(validateWorkloads([service("Api_1"), service("ok"), service("ok")])).to.deep.equal([
            'workload "Api_1": name is "Api_1"; allowed: a DNS-1123 label (lowercase letters, digits, -) of at most 40 characters',
            'workload "ok": name is declared more than once; allowed: names unique in the stack',
        ]);
        expect(validateWorkloads([service("a".repeat(41))])).to.have.length(1);
    });

    it("checks ports: names, range, protocol, uniqueness and public routes", () => {
        expect(
            problemsOf({
                ports: [
                    { name: "HTTP", port: 0 },
                    { name: "a", port: 80, protocol: "udp" },
                    { name: "a", port: 80 },
                    { name: "db", port: 5432, protocol: "tcp", public: { path: "/db", host: "db.example.com" } },
                    { name: "web", port: 81, public: { path: "api", host: "Bad Host" } },
                ],
            }),
        ).to.deep.equal([
            'workload "w": ports[0].name is "HTTP"; allowed: lowercase letters, digits and single hyphens, at most 15 characters, at least one letter',
            'workload "w": ports[0].port is 0; allowed: 1 to 65535',
            'workload "w": ports[1].protocol is "udp"; allowed: http or tcp',
            'workload "w": ports[3].public.path is "/db"; allowed: nothing on a tcp port (only http ports are routed by path)',
            'workload "w": ports[3].public.host is "db.example.com"; allowed: nothing on a tcp port (only http ports are routed by host)',
            'workload "w": ports[3].public.sourceRanges is undefined; allowed: the CIDR blocks that may reach this tcp port, such as ["203.0.113.0/24"]: a public tcp port is open only to the ranges listed here',
            'workload "w": ports[4].public.path is "api"; allowed: a path starting with / and without spaces',
            'workload "w": ports[4].public.host is "Bad Host"; allowed: a lowercase DNS name such as api.example.com',
            'workload "w": ports[].name is "a"; allowed: names unique within the workload',
            'workload "w": ports[].port is 80; allowed: port numbers unique within the workload',
        ]);
        expect(problemsOf({ ports: [{ name: "12", port: 1.5 }] })).to.deep.equal([
            'workload "w": ports[0].name is "12"; allowed: lowercase letters, digits and single hyphens, at most 15 characters, at least one letter',
            'workload "w": ports[0].port is 1.5; allowed: 1 to 65535',
        ]);
    });

    it("rejects two public ports on the same host and path across workloads", () => {
        const a = service("a", { ports: [{ name: "http", port: 80, public: {} }] });
        const b = service("b", { ports: [{ name: "http", port: 80, public: { path: "/" } }] });
        expect(validateWorkloads([a, b])).to.deep.equal(['workload "b": ports[0].public routes */, which workload "a" already routes; allowed: a host and path no other public port uses']);
    });

    it("checks cpu and memory quantities, minimums and request <= limit", () => {
        expect(problemsOf({ resources: { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "half", memory: "512Mi" } } })).to.deep.equal([
            'workload "w": resources.limits.cpu is "half"; allowed: a Kubernetes quantity such as 250m or 1.5',
            'workload "w": resources.requests.memory is "1Gi"; allowed: at most resources.limits.memory (512Mi)',
        ]);
        expect(problemsOf({ resources: { requests: { cpu: "5m", memory: "1M" }, limits: { cpu: "1", memory: "256 Mi" } } })).to.deep.equal([
            'workload "w": resources.requests.cpu is "5m"; allowed: at least 10m (Docker runs nothing smaller)',
            'workload "w": resources.requests.memory is "1M"; allowed: at least 6Mi',
            'workload "w": resources.limits.memory is "256 Mi"; allowed: a Kubernetes quantity such as 256Mi or 1Gi',
        ]);
        expect(problemsOf({ resources: { requests: { cpu: "1" } } })).to.deep.equal(['workload "w": resources is {"requests":{"cpu":"1"}}; allowed: { requests: { cpu, memory }, limits: { cpu, memory } }']);
    });

    it("checks the image, command, env, secrets, replicas and kind", () => {
        expect(problemsOf({ image: { ref: "a", build: { context: "x" } }, command: [], env: { "1BAD": "x" }, secrets: { "a/b": "x" }, replicas: -1, kind: "cron" })).to.deep.equal([
            'workload "w": kind is "cron"; allowed: service or job',
            'workload "w": image is {"ref":"a","build":{"context":"x"}}; allowed: either { build: { context } } or { ref } (exactly one)',
            'workload "w": command is []; allowed: at least one element, or leave it out to keep the image\'s entrypoint',
            'workload "w": replicas is -1; allowed: a whole number from 0 to 1000',
            'workload "w": env.1BAD is "1BAD"; allowed: a name of letters, digits and _ that does not start with a digit',
            'workload "w": secrets.a/b is "a/b"; allowed: a file name of letters, digits, -, _ and . (it becomes /run/secrets/<name>)',
        ]);
        expect(problemsOf({ image: { ref: "has space" } })).to.deep.equal(['workload "w": image.ref is "has space"; allowed: an image reference [registry[:port]/]path[:tag][@digest] (distribution/reference grammar), such as redis:7.4-alpine or ghcr.io/acme/api:1.2@sha256:<64 hex>']);
        expect(problemsOf({ image: { build: { context: "" } } })).to.deep.equal(['workload "w": image.build.context is ""; allowed: a folder relative to the project root']);
    });

    it("checks the health check: exactly one probe, paths, ports and positive timings", () => {
        expect(problemsOf({ health: { http: { path: "healthz", port: 0 }, tcp: { port: 80 }, intervalSeconds: 0, timeoutSeconds: 2.5, failureThreshold: -1, startPeriodSeconds: -5 } })).to.deep.equal([
            'workload "w": health is ["http","tcp"]; allowed: exactly one of health.http, health.tcp or health.command',
            'workload "w": health.http.path is "healthz"; allowed: a path starting with / and without spaces',
            'workload "w": health.http.port is 0; allowed: 1 to 65535',
            'workload "w": health.intervalSeconds is 0; allowed: a whole number from 1 to 3600',
            'workload "w": health.timeoutSeconds is 2.5; allowed: a whole number from 1 to 3600',
            'workload "w": health.failureThreshold is -1; allowed: a whole number from 1 to 3600',
            'workload "w": health.startPeriodSeconds is -5; allowed: a whole number of seconds from 0 to 3600',
        ]);
        expect(problemsOf({ health: {} })).to.deep.equal(['workload "w": health is []; allowed: exactly one of health.http, health.tcp or health.command']);
        expect(problemsOf({ health: { command: [] } })).to.deep.equal(['workload "w": health.command is []; allowed: a non-empty list of non-empty strings, such as ["redis-cli", "ping"]']);
        expect(problemsOf({ health: { tcp: { port: 65536 } } })).to.deep.equal(['workload "w": health.tcp.port is 65536; allowed: 1 to 65535']);
    });

    it("checks volumes: names, kinds, mount paths, sizes and uniqueness", () => {
        expect(
            problemsOf({
                volumes: [
                    { name: "Data", kind: "disk", mountPath: "data" },
                    { name: "dockyard-tmp", kind: "ephemeral", mountPath: "/tmp/x" },
                    { name: "a", kind: "shared", mountPath: "/run/secrets" },
                    { name: "a", kind: "persistent", mountPath: "/srv", size: "lots" },
                    { name: "b", kind: "ephemeral", mountPath: "/srv" },
                ],
            }),
        ).to.deep.equal([
            'workload "w": volumes[0].name is "Data"; allowed: a DNS-1123 label (lowercase letters, digits, -) of at most 40 characters, not starting with dockyard-',
            'workload "w": volumes[0].kind is "disk"; allowed: persistent, shared or ephemeral',
            'workload "w": volumes[0].mountPath is "data"; allowed: an absolute path other than / without spaces, colons or a trailing /',
            'workload "w": volumes[1].name is "dockyard-tmp"; allowed: a DNS-1123 label (lowercase letters, digits, -) of at most 40 characters, not starting with dockyard-',
            'workload "w": volumes[1].mountPath is "/tmp/x"; allowed: a path outside /tmp and /run/secrets (dockyard mounts those)',
            'workload "w": volumes[2].mountPath is "/run/secrets"; allowed: a path outside /tmp and /run/secrets (dockyard mounts those)',
            'workload "w": volumes[3].size is "lots"; allowed: a Kubernetes quantity of at least 6Mi, such as 10Gi',
            'workload "w": volumes[].name is "a"; allowed: names unique within the workload',
            'workload "w": volumes[].mountPath is "/srv"; allowed: mount paths unique within the workload',
        ]);
        expect(problemsOf({ volumes: [{ name: "root", kind: "ephemeral", mountPath: "/" }] })).to.have.length(1);
    });

    it("checks the update policy, and forbids start-first with a persistent volume", () => {
        expect(
            problemsOf({ update: { parallelism: 0, delaySeconds: -1, onFailure: "continue", order: "start-first" }, volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }] }),
        ).to.deep.equal([
            'workload "w": update.parallelism is 0; allowed: a whole number from 1 to 1000',
            'workload "w": update.delaySeconds is -1; allowed: a whole number of seconds from 0 to 3600',
            'workload "w": update.onFailure is "continue"; allowed: rollback or pause',
            'workload "w": update.order is "start-first"; allowed: stop-first on a workload with a persistent volume (two replicas must not write the same data)',
        ]);
        expect(problemsOf({ update: { order: "random" } })).to.deep.equal(['workload "w": update.order is "random"; allowed: start-first or stop-first']);
    });

    it("checks autoscaling: min <= max, cpuPercent 1 to 100, replicas within the range", () => {
        expect(problemsOf({ autoscaling: { min: 3, max: 2, cpuPercent: 0 } })).to.deep.equal([
            'workload "w": autoscaling.max is 2; allowed: at least autoscaling.min (3)',
            'workload "w": autoscaling.cpuPercent is 0; allowed: a whole percentage from 1 to 100',
        ]);
        expect(problemsOf({ autoscaling: { min: 0, max: 2, cpuPercent: 101 } })).to.deep.equal([
            'workload "w": autoscaling.min is 0; allowed: a whole number from 1 to 1000',
            'workload "w": autoscaling.cpuPercent is 101; allowed: a whole percentage from 1 to 100',
        ]);
        expect(problemsOf({ replicas: 9, autoscaling: { min: 2, max: 4, cpuPercent: 50 } })).to.deep.equal([
            'workload "w": replicas is 9; allowed: a count within autoscaling.min and autoscaling.max (2 to 4), or leave it out',
        ]);
    });

    it("checks the user: numeric uid[:gid], neither uid 0 nor gid 0 unless privileges.root asks for it", () => {
        for (const user of ["app", "1000:app", "1000:", "2147483648"]) {
            expect(problemsOf({ user })).to.deep.equal([`workload "w": user is ${JSON.stringify(user)}; allowed: a numeric uid[:gid] such as 10001:10001`]);
        }
        const root = (user: string, what: string) => `workload "w": user is ${JSON.stringify(user)}; allowed: a numeric uid[:gid] without uid 0 or gid 0 (root), such as 10001:10001; or set privileges.root: true to run as ${what}`;
        expect(problemsOf({ user: "0" })).to.deep.equal([root("0", "uid 0")]);
        expect(problemsOf({ user: "0:0" })).to.deep.equal([root("0:0", "uid 0")]);
        expect(problemsOf({ user: "0:1000" })).to.deep.equal([root("0:1000", "uid 0")]);
        // gid 0 was accepted before: a process of group root reads and writes the image's root-group files.
        expect(problemsOf({ user: "1000:0" })).to.deep.equal([root("1000:0", "gid 0")]);
        expect(problemsOf({ user: "1000:0", privileges: { root: false } })).to.deep.equal([root("1000:0", "gid 0")]);
        for (const user of ["0", "0:0", "1000:0", "0:1000"]) expect(problemsOf({ user, privileges: { root: true } }), user).to.deep.equal([]);
        expect(problemsOf({ privileges: { root: true } })).to.deep.equal([]);
        expect(problemsOf({ user: "1000:1000", privileges: { root: true } })).to.deep.equal([
            'workload "w": privileges.root is true; allowed: leave it out: user "1000:1000" runs with neither uid 0 nor gid 0 (or give a user with uid or gid 0)',
        ]);
        expect(problemsOf({ privileges: { root: "yes" } })).to.deep.equal(['workload "w": privileges.root is "yes"; allowed: true or false']);
        expect(problemsOf({ readOnlyRootFilesystem: "yes" })).to.deep.equal(['workload "w": readOnlyRootFilesystem is "yes"; allowed: true or false']);
    });

    it("checks privileges.capabilities against Docker's default set less NET_RAW, naming what is allowed", () => {
        const allowed = "capability names without CAP_ from Docker's default set less NET_RAW: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT";
        expect(problemsOf({ privileges: { capabilities: ["NET_BIND_SERVICE"] } })).to.deep.equal([]);
        expect(problemsOf({ privileges: { capabilities: ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"] } })).to.deep.equal([]);
        expect(problemsOf({ privileges: { capabilities: ["ALL", "SYS_ADMIN", "NET_RAW", "NET_ADMIN", "CAP_CHOWN", "chown", "SYS_PTRACE"] } })).to.deep.equal([
            `workload "w": privileges.capabilities[0] is "ALL"; allowed: one capability at a time (ALL would give every capability the kernel has): ${allowed}`,
            `workload "w": privileges.capabilities[1] is "SYS_ADMIN"; allowed: not SYS_ADMIN (it undoes the container's isolation: mounts, namespaces, devices): ${allowed}`,
            `workload "w": privileges.capabilities[2] is "NET_RAW"; allowed: not NET_RAW (raw sockets can spoof traffic on the stack's network; the baseline Pod Security Standard refuses it): ${allowed}`,
            `workload "w": privileges.capabilities[3] is "NET_ADMIN"; allowed: ${allowed}`,
            `workload "w": privileges.capabilities[4] is "CAP_CHOWN"; allowed: "CHOWN", written in capitals without CAP_; ${allowed}`,
            `workload "w": privileges.capabilities[5] is "chown"; allowed: "CHOWN", written in capitals without CAP_; ${allowed}`,
            `workload "w": privileges.capabilities[6] is "SYS_PTRACE"; allowed: ${allowed}`,
        ]);
        expect(problemsOf({ privileges: { capabilities: ["KILL", "KILL"] } })).to.deep.equal(['workload "w": privileges.capabilities is "KILL"; allowed: each capability once']);
        expect(problemsOf({ privileges: { capabilities: "CHOWN" } })).to.deep.equal([`workload "w": privileges.capabilities is "CHOWN"; allowed: a list of ${allowed}`]);
        expect(problemsOf({ privileges: { rot: true } })).to.deep.equal(['workload "w": privileges.rot is true; allowed: a field WorkloadSpec declares (did you mean root?): root, capabilities']);
        expect(problemsOf({ privileges: ["root"] })).to.deep.equal(['workload "w": privileges is ["root"]; allowed: an object such as { root: true } or { capabilities: ["NET_BIND_SERVICE"] }']);
    });

    it("declares the privileges a workload runs with, and the namespace's Pod Security level they need", () => {
        expect(privilegesDeclaration(service("w"))).to.equal(undefined);
        expect(privilegesDeclaration(service("w", { privileges: { root: true } }))).to.equal("root");
        expect(privilegesDeclaration(service("w", { user: "1000:0", privileges: { root: true, capabilities: ["NET_BIND_SERVICE"] } }))).to.equal("root,NET_BIND_SERVICE");
        expect(privilegesDeclaration(service("w", { privileges: { capabilities: ["CHOWN", "SETUID"] } }))).to.equal("CHOWN,SETUID");
        expect(podSecurityLevel([service("a"), service("b", { privileges: { capabilities: ["NET_BIND_SERVICE"] } })])).to.deep.equal({ level: "restricted", reasons: [] });
        // restricted does not look at the group: uid 1000 with gid 0 is non-root to Kubernetes.
        expect(podSecurityLevel([service("a", { user: "1000:0", privileges: { root: true } })])).to.deep.equal({ level: "restricted", reasons: [] });
        expect(podSecurityLevel([service("a"), service("db", { privileges: { root: true, capabilities: ["CHOWN", "NET_BIND_SERVICE", "SETGID"] } }), service("web", { privileges: { capabilities: ["SETUID"] } })])).to.deep.equal({
            level: "baseline",
            reasons: ['workload "db" runs as uid 0 and adds CHOWN, SETGID', 'workload "web" adds SETUID'],
        });
    });

    it("keeps jobs one-off: no public ports, rollout, autoscaling, persistent volumes or replicas above 1", () => {
        const bad = job("migrate", {
            replicas: 2,
            ports: [{ name: "http", port: 80, public: {} }],
            update: { parallelism: 1 },
            autoscaling: { min: 1, max: 2, cpuPercent: 50 },
            volumes: [{ name: "data", kind: "persistent", mountPath: "/data" }],
        });
        expect(validateWorkloads([bad])).to.deep.equal([
            'workload "migrate": replicas is 2; allowed: 1 for a job (it runs once), or leave it out',
            'workload "migrate": ports[0].public is {}; allowed: nothing on a job (jobs are not reachable from the internet)',
            'workload "migrate": volumes[0].kind is "persistent"; allowed: shared or ephemeral on a job (persistent data belongs to one service replica)',
            'workload "migrate": update is {"parallelism":1}; allowed: nothing on a job (a job is replaced, not rolled)',
            'workload "migrate": autoscaling is {"min":1,"max":2,"cpuPercent":50}; allowed: nothing on a job',
        ]);
    });

    it("checks ordering: after names existing jobs, not itself, not services, without cycles", () => {
        const specs = [
            job("a", { after: ["b"] }),
            job("b", { after: ["a"] }),
            service("web"),
            service("api", { after: ["api", "web", "ghost"] }),
        ];
        expect(validateWorkloads(specs)).to.deep.equal([
            'workload "api": after[0] is "api"; allowed: another workload (not itself)',
            'workload "api": after[1] is "web", a service; allowed: a job of this stack (a, b)',
            'workload "api": after[2] is "ghost", which does not exist; allowed: a job of this stack (a, b)',
            'workload "a": after forms a cycle (a -> b -> a); allowed: jobs ordered without cycles',
        ]);
    });

    describe("names the adapters derive", () => {
        const vol = (name: string, kind: "persistent" | "shared" | "ephemeral", mountPath = "/data") => ({ name, kind, mountPath });
        const tcp = { name: "db", port: 5432, protocol: "tcp" as const, public: { sourceRanges: ["10.1.0.0/16"] } };
        const serviceRule = "rename one: no workload may be named <name>-public next to a workload <name> with a public tcp port, nor <name>-headless next to one with a persistent volume";
        const claimRule = "names such that no shared volume's <workload>-<volume> and no persistent volume's <volume>-<workload>-<ordinal> meet";

        it("refuses two workloads whose <workload>-<volume> meet (one Swarm volume, one claim)", () => {
            const specs = [service("cache", { volumes: [vol("data-x", "shared")] }), service("cache-data", { volumes: [vol("x", "persistent")] })];
            expect(validateWorkloads(specs)).to.deep.equal([
                'workload "cache-data": volumes[0] (x) derives the volume name (the Swarm volume, a shared volume\'s Kubernetes claim and the Pulumi resources named after it) "cache-data-x", as workload "cache" volumes[0] (data-x) does; allowed: workload and volume names whose <workload>-<volume> is unique in the stack',
            ]);
        });

        it("lets ephemeral volumes, which derive no resource, share the shape", () => {
            expect(validateWorkloads([service("cache", { volumes: [vol("data-x", "ephemeral")] }), service("cache-data", { volumes: [vol("x", "ephemeral")] })])).to.deep.equal([]);
        });

        it("refuses two workloads whose <workload>-<secret> meet (one Pulumi docker:Secret)", () => {
            expect(validateWorkloads([service("cache", { secrets: { "data-x": "a" } }), service("cache-data", { secrets: { x: "b" } })])).to.deep.equal([
                'workload "cache-data": secrets.x derives the Pulumi name of its Swarm secret "cache-data-x", as workload "cache" secrets.data-x does; allowed: workload and secret names whose <workload>-<secret> is unique in the stack',
            ]);
        });

        it("refuses a workload named like another's public or headless Service, whichever comes first", () => {
            const specs = [
                service("api", { ports: [tcp] }),
                service("api-public", { ports: [{ name: "http", port: 80 }] }),
                service("db-headless", { ports: [{ name: "http", port: 80 }] }),
                service("db", { ports: [{ name: "pg", port: 5432, protocol: "tcp" }], volumes: [vol("data", "persistent")] }),
            ];
            expect(validateWorkloads(specs)).to.deep.equal([
                `workload "api-public": derives the Kubernetes Service "api-public", as workload "api" (its public tcp port) does; allowed: ${serviceRule}`,
                `workload "db": (its persistent volume) derives the Kubernetes Service "db-headless", as workload "db-headless" does; allowed: ${serviceRule}`,
            ]);
        });

        it("refuses a shared claim shaped like a replica's claim, and two persistent volumes with one claim prefix", () => {
            const specs = [
                service("data-db", { volumes: [vol("0", "shared")] }),
                service("db", { volumes: [vol("data", "persistent")] }),
                service("b-c", { volumes: [vol("a", "persistent")] }),
                service("c", { volumes: [vol("a-b", "persistent")] }),
            ];
            expect(validateWorkloads(specs)).to.deep.equal([
                `workload "c": volumes[0] (a-b) derives the Kubernetes claims "a-b-c-<ordinal>", as workload "b-c" volumes[0] (a) does; allowed: ${claimRule}`,
                `workload "data-db": volumes[0] (0) derives the Kubernetes claim "data-db-0", which workload "db" volumes[0] (data) makes for a replica; allowed: ${claimRule}`,
            ]);
        });

        it("refuses two claims' size patches with one Pulumi name (a workload name that starts and ends with another's)", () => {
            const specs = [service("pg", { volumes: [vol("pg-data-pg", "persistent")] }), service("pg-pg", { volumes: [vol("data", "persistent")] })];
            expect(validateWorkloads(specs)).to.deep.equal([
                'workload "pg-pg": volumes[0] (data) derives the Pulumi name of a claim\'s size patch "pg-pg-data-pg-pg-0-size", as workload "pg" volumes[0] (pg-data-pg) does; allowed: workload names of which none starts and ends with another\'s, or other volume names',
            ]);
        });

        it("refuses the names the stack's namespace already uses", () => {
            for (const name of ["default", "default-deny", "allow-dns"]) {
                expect(validateWorkloads([service(name)]), name).to.deep.equal([
                    `workload "${name}": name is "${name}", which the stack's Kubernetes namespace already uses (NetworkPolicies default-deny and allow-dns, ServiceAccount default); allowed: a name other than default-deny, allow-dns, default`,
                ]);
            }
            expect(manifests.namespaceNetworkPolicies().map((p) => p.name)).to.deep.equal([...NAMESPACE_POLICY_NAMES]);
        });

        it("leaves workloads whose own name is refused out, so one mistake is one message", () => {
            const problems = validateWorkloads([service(undefined as unknown as string, { volumes: [vol("x", "shared")] }), service("undefined", { volumes: [vol("x", "shared")] })]);
            expect(problems).to.have.length(1);
            expect(problems[0]).to.match(/^workload undefined: name is undefined; allowed: a DNS-1123 label/);
        });

        it("checks the names the adapters really make", () => {
            const db = service("db", { replicas: 2, ports: [tcp], volumes: [vol("data", "persistent"), vol("files", "shared", "/files")] });
            expect(manifests.claimResizes(db).map((c) => c.name)).to.deep.equal(["data-db-0", "data-db-1"]);
            expect(manifests.claimResizes(db).map((c) => c.name)).to.deep.equal([statefulClaimName("data", "db", 0), statefulClaimName("data", "db", 1)]);
            expect(manifests.sharedClaimName(db, db.volumes![1])).to.equal(volumeResourceName("db", "files"));
            expect(manifests.headlessServiceName(db)).to.equal(headlessServiceName("db"));
            expect(volumeName("dev", "db", "files")).to.equal(`dev-${volumeResourceName("db", "files")}`);
        });
    });

    it("refuses fields of the wrong JavaScript type by name, without throwing, and still reports the rest (the program runs transpile-only)", () => {
        const cases: [Record<string, unknown>, string][] = [
            [{ command: "sh -c x" }, 'command is "sh -c x"; allowed: a list of strings, such as ["sh", "-c", "exec app"]'],
            [{ args: [1] }, 'args is [1]; allowed: a list of strings, such as ["--port", "8080"]'],
            [{ after: "migrate" }, 'after is "migrate"; allowed: a list of strings, such as ["migrate"]'],
            [{ connectsTo: "api" }, 'connectsTo is "api"; allowed: a list of strings, such as ["api"]'],
            [{ ports: {} }, "ports is {}; allowed: a list of ports ({ name, port })"],
            [{ volumes: [null] }, "volumes[0] is null; allowed: an object with name, kind and mountPath"],
            [{ ports: [{ name: "http", port: 80, public: "yes" }] }, 'ports[0].public is "yes"; allowed: an object such as { path: "/" } (or leave it out to keep the port inside the stack)'],
            [{ env: "A=1" }, 'env is "A=1"; allowed: an object of variable name to string, such as { LOG_LEVEL: "info" }'],
            [{ secrets: "hunter2" }, "secrets is a string; allowed: an object of secret name to a string or a Pulumi secret"],
            [{ update: "x" }, 'update is "x"; allowed: an object'],
            [{ user: 1000 }, 'user is 1000; allowed: a string "uid[:gid]", such as "10001:10001"'],
            [{ image: { build: { context: "services/api", args: { A: 1 } } } }, 'image.build.args is {"A":1}; allowed: an object of build argument to string, such as { NODE_ENV: "production" }'],
        ];
        for (const [fields, problem] of cases) expect(problemsOf(fields), JSON.stringify(fields)).to.deep.equal([`workload "w": ${problem}`]);
        expect(problemsOf({ command: "x", replicas: -1 })).to.deep.equal(['workload "w": command is "x"; allowed: a list of strings, such as ["sh", "-c", "exec app"]', 'workload "w": replicas is -1; allowed: a whole number from 0 to 1000']);
        expect(() => prepareWorkloads([service("web", { ports: {} as never })], { replicas: {}, imageTags: {}, hosts: { web: "www.example.com" } })).to.throw("ports is {}");
        expect(problemsOf({ health: { command: "redis-cli ping" } })).to.deep.equal(['workload "w": health.command is "redis-cli ping"; allowed: a non-empty list of non-empty strings, such as ["redis-cli", "ping"]']);
        // Overrides meet the spec before validation: a wrong shape there is still one named problem, not a TypeError or a problem per letter.
        const overridden = (spec: WorkloadSpec, overrides: Partial<{ imageTags: Record<string, string>; hosts: Record<string, string> }>) =>
            applyOverrides([spec], { replicas: {}, imageTags: {}, hosts: {}, ...overrides }).problems;
        expect(overridden(service("w", { image: "nginx:1.27" as never }), { imageTags: { w: "1.28" } })).to.deep.equal(['workload "w": image is "nginx:1.27"; allowed: either { build: { context } } or { ref } (exactly one)']);
        expect(overridden(service("w", { ports: [{ name: "http", port: 80, public: "yes" as never }] }), { hosts: { w: "www.example.com" } })).to.deep.equal([
            'dockyard:workloads.hosts names workload "w", which has no public http port; allowed: none',
            'workload "w": ports[0].public is "yes"; allowed: an object such as { path: "/" } (or leave it out to keep the port inside the stack)',
        ]);
    });

    it("refuses a Pulumi Output or a Promise anywhere but a secret's value, by its path and readably, with no follow-on problem (batch 3 review, F6)", () => {
        const deferred = "a Pulumi Output or a Promise; allowed: a plain value: the workloads are checked before any resource exists, so only a secret's value may be an Output (secrets, from generatedSecret or configSecret)";
        const cases: [Record<string, unknown>, string][] = [
            [{ env: { DB_HOST: pulumi.output("db.internal") } }, `env.DB_HOST is ${deferred}`],
            [{ image: { ref: pulumi.output("nginx:1.27") } }, `image.ref is ${deferred}`],
            [{ command: ["sh", pulumi.output("-c")] }, `command[1] is ${deferred}`],
            [{ replicas: Promise.resolve(2) }, `replicas is ${deferred}`],
            [{ resources: { ...resources, limits: { cpu: "500m", memory: pulumi.output("256Mi") } } }, `resources.limits.memory is ${deferred}`],
        ];
        for (const [fields, problem] of cases) expect(problemsOf(fields), Object.keys(fields)[0]).to.deep.equal([`workload "w": ${problem}`]);
        // Without a known name the workload is named by its place in the list.
        expect(validateWorkloads([service("a"), service(pulumi.output("b") as unknown as string)])).to.deep.equal([`workload [1] (its name is not known yet): name is ${deferred}`]);
        // A secret's value may be one.
        expect(problemsOf({ secrets: { password: pulumi.secret("s3cret") } })).to.deep.equal([]);
    });

    it("reports every problem of every workload at once", () => {
        const problems = validateWorkloads([service("a", { replicas: -1 }), service("b", { ports: [{ name: "x", port: 0 }] }), service("B")]);
        expect(problems.map((p) => p.split(":")[0])).to.deep.equal(['workload "a"', 'workload "b"', 'workload "B"']);
    });
});

describe("secret sizes (both targets' limits, on every target)", () => {
    it("allows 1 to 511999 bytes a secret (Swarm) and 1 MiB a workload (Kubernetes)", () => {
        expect(secretSizeProblems({ a: 1, b: SWARM_MAX_SECRET_BYTES - 1, c: SWARM_MAX_SECRET_BYTES - 1, d: KUBERNETES_MAX_SECRET_BYTES - 1 - 2 * (SWARM_MAX_SECRET_BYTES - 1) })).to.deep.equal([]);
        expect(secretSizeProblems({ a: 0, b: SWARM_MAX_SECRET_BYTES })).to.deep.equal([
            "secrets.a is empty; allowed: at least 1 byte (Swarm refuses an empty secret)",
            "secrets.b holds 512000 bytes; allowed: fewer than 512000 (500 KiB, Swarm's limit for one secret)",
        ]);
        expect(secretSizeProblems({ a: 400_000, b: 400_000, c: 248_577 })).to.deep.equal([
            "secrets hold 1048577 bytes together; allowed: at most 1048576 (1 MiB, Kubernetes' limit for the workload's one Secret)",
        ]);
    });

    it("checks plain values by their UTF-8 bytes, never quoting them, and refuses values that are not strings", () => {
        const value = "é".repeat(256_000);
        const problems = problemsOf({ secrets: { big: value, none: "", count: 42 } });
        expect(problems).to.deep.equal([
            'workload "w": secrets.count is a number; allowed: a string or a Pulumi secret',
            'workload "w": secrets.big holds 512000 bytes; allowed: fewer than 512000 (500 KiB, Swarm\'s limit for one secret)',
            'workload "w": secrets.none is empty; allowed: at least 1 byte (Swarm refuses an empty secret)',
        ]);
        expect(problemsOf({ secrets: { token: pulumi.secret("") } })).to.deep.equal([]);
    });

    it("checks Pulumi secrets as they resolve: a RunError naming key and size, never the value", async () => {
        const ok = checkedSecrets(service("w", { secrets: { a: pulumi.secret("tok"), b: "pw" } }));
        expect(await resolve(ok.a)).to.equal("tok");
        expect(await isSecret(ok.b)).to.equal(true);
        const bad = checkedSecrets(service("w", { secrets: { big: pulumi.secret("S".repeat(600_000)), small: "pw", count: pulumi.secret(42 as unknown as string) } }));
        const failure = (output: pulumi.Output<unknown>) => (output as any).promise().then(() => undefined, (err: Error) => err);
        const error = await failure(bad.big);
        expect(error).to.be.instanceOf(pulumi.RunError);
        expect(error.message).to.equal('workload "w": secrets.big holds 600000 bytes; allowed: fewer than 512000 (500 KiB, Swarm\'s limit for one secret)');
        // Each secret is checked on its own: one that fails (or is unknown in a preview) leaves the others as they are.
        expect(await resolve(bad.small)).to.equal("pw");
        expect((await failure(bad.count)).message).to.equal('workload "w": secrets.count resolved to a number; allowed: a string');
        const three = checkedSecrets(service("w", { secrets: { a: "A".repeat(400_000), b: "B".repeat(400_000), c: pulumi.secret("C".repeat(248_577)) } }));
        expect((await failure(afterSecretTotal(service("w"), three, "deployed"))).message).to.equal(
            "workload \"w\": secrets hold 1048577 bytes together; allowed: at most 1048576 (1 MiB, Kubernetes' limit for the workload's one Secret)",
        );
        expect(await resolve(afterSecretTotal(service("w"), ok, "deployed"))).to.equal("deployed");
    });
});

describe("prepareWorkloads", () => {
    const specs = [service("api", { image: { build: { context: "services/api" } } }), service("redis", { image: { ref: "redis:7.2-alpine" } })];

    it("applies replica and image tag overrides without touching the input", () => {
        const prepared = prepareWorkloads(specs, { replicas: { api: 3 }, imageTags: { redis: "7.4-alpine" }, hosts: {} });
        expect(prepared.map((s) => [s.name, s.replicas, s.image])).to.deep.equal([
            ["api", 3, { build: { context: "services/api" } }],
            ["redis", undefined, { ref: "redis:7.4-alpine" }],
        ]);
        expect(specs[1].image).to.deep.equal({ ref: "redis:7.2-alpine" });
    });

    it("throws one error listing unknown workloads, bad overrides and spec problems together", () => {
        const broken = [...specs, service("bad", { ports: [{ name: "http", port: 70000 }] })];
        expect(() => prepareWorkloads(broken, { replicas: { ghost: 2, api: -1 }, imageTags: { api: "v2", nope: "1" }, hosts: {} })).to.throw(
            [
                "dockyard: the workloads are invalid (5 problems):",
                '  - dockyard:workloads.replicas names workload "ghost", which does not exist; allowed: api, redis, bad',
                '  - dockyard:workloads.imageTags names workload "nope", which does not exist; allowed: api, redis, bad',
                '  - dockyard:workloads.imageTags names workload "api", which builds its image; allowed: workloads with an image ref (redis, bad)',
                '  - workload "api": replicas is -1; allowed: a whole number from 0 to 1000',
                '  - workload "bad": ports[0].port is 70000; allowed: 1 to 65535',
            ].join("\n"),
        );
    });

    it("returns valid specs unchanged when there are no overrides", () => {
        expect(prepareWorkloads(specs, { replicas: {}, imageTags: {}, hosts: {} })).to.deep.equal(specs);
    });

    it("sets per-stack host names on public http ports, and refuses a workload without one", () => {
        const web = service("web", { ports: [{ name: "http", port: 8080, public: { path: "/" } }, { name: "admin", port: 9000 }] });
        const [prepared] = prepareWorkloads([web], { replicas: {}, imageTags: {}, hosts: { web: "www.example.com" } });
        expect(prepared.ports).to.deep.equal([{ name: "http", port: 8080, public: { path: "/", host: "www.example.com" } }, { name: "admin", port: 9000 }]);
        expect(() => prepareWorkloads([...specs, web], { replicas: {}, imageTags: {}, hosts: { api: "api.example.com" } })).to.throw(
            'dockyard:workloads.hosts names workload "api", which has no public http port; allowed: web',
        );
    });
});

describe("workload helpers", () => {
    it("parses Kubernetes quantities", () => {
        expect(parseQuantity("250m")).to.equal(0.25);
        expect(parseQuantity("1.5")).to.equal(1.5);
        expect(parseQuantity("256Mi")).to.equal(256 * 2 ** 20);
        expect(parseQuantity("1G")).to.equal(1e9);
        expect(parseQuantity("2e3")).to.equal(2000);
        expect(parseQuantity(".5")).to.equal(0.5);
        for (const bad of ["", "m", "1.", "-1", "1 Gi", "1GB", "1mi"]) expect(parseQuantity(bad), bad).to.equal(undefined);
    });

    it("replaces an image tag, keeping a registry port and dropping a digest", () => {
        expect(withTag("redis:7.2", "7.4")).to.equal("redis:7.4");
        expect(withTag("redis", "7.4")).to.equal("redis:7.4");
        expect(withTag("localhost:5000/team/redis", "7.4")).to.equal("localhost:5000/team/redis:7.4");
        expect(withTag("localhost:5000/redis:1@sha256:abc", "7.4")).to.equal("localhost:5000/redis:7.4");
    });

    it("derives the user and the initial replica count", () => {
        expect(userOf(service("w"))).to.deep.equal({ uid: 10001, gid: 10001 });
        expect(userOf(service("w", { user: "999" }))).to.deep.equal({ uid: 999, gid: 999 });
        expect(userOf(service("w", { user: "1000:2000" }))).to.deep.equal({ uid: 1000, gid: 2000 });
        // Root as asked for, written out rather than left to the image's USER.
        expect(userOf(service("w", { privileges: { root: true } }))).to.deep.equal({ uid: 0, gid: 0 });
        expect(userOf(service("w", { user: "1000:0", privileges: { root: true } }))).to.deep.equal({ uid: 1000, gid: 0 });
        expect(initialReplicas(service("w"))).to.equal(1);
        expect(initialReplicas(service("w", { replicas: 0 }))).to.equal(0);
        expect(initialReplicas(service("w", { autoscaling: { min: 2, max: 5, cpuPercent: 60 } }))).to.equal(2);
        expect(initialReplicas(service("w", { replicas: 4, autoscaling: { min: 2, max: 5, cpuPercent: 60 } }))).to.equal(4);
    });

    it("keeps numbering public endpoints of services only", () => {
        const endpoints = publicEndpoints([service("a", { ports: [{ name: "http", port: 80, public: {} }] }), job("j"), service("b", { ports: [{ name: "db", port: 5432, protocol: "tcp", public: { sourceRanges: ["203.0.113.0/24"] } }] })]);
        expect(endpoints.map((e) => [e.workload, e.publishedPort, e.protocol])).to.deep.equal([
            ["a", 8080, "http"],
            ["b", 8081, "tcp"],
        ]);
    });
});
