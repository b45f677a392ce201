/**
 * Specs that cannot hurt the stack (issue 18 item 4): what a spec may not say, refused before any
 * resource with the workload, the field, the value and what is allowed.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deploymentProblems } from "../components/preflight";
import { WorkloadSpec, validateWorkloads } from "../components/workload";
import { PROJECT_ROOT, stackConfig } from "./harness";
import { SWARM_SECRET_NAME_MAX, SWARM_SERVICE_NAME_MAX, swarmNameProblems } from "../components/swarm/service";

const resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const service = (name: string, extra: Record<string, unknown> = {}): WorkloadSpec => ({ name, image: { ref: "nginx:1.27" }, resources, ...extra }) as WorkloadSpec;
const problemsOf = (extra: Record<string, unknown>) => validateWorkloads([service("w", extra)]);
const mountedAt = (...paths: string[]) => problemsOf({ volumes: paths.map((mountPath, i) => ({ name: `v${i}`, kind: "ephemeral", mountPath })) });

describe("workload safety: mount paths", () => {
    it("refuses paths that are not normalized: .., . and empty segments", () => {
        expect(mountedAt("/data/../etc", "/data/./x", "//data", "/a//b")).to.deep.equal([
            'workload "w": volumes[0].mountPath is "/data/../etc"; allowed: a normalized path, without ".", ".." or empty segments (this one resolves to /etc)',
            'workload "w": volumes[1].mountPath is "/data/./x"; allowed: a normalized path, without ".", ".." or empty segments (this one resolves to /data/x)',
            'workload "w": volumes[2].mountPath is "//data"; allowed: a normalized path, without ".", ".." or empty segments (this one resolves to /data)',
            'workload "w": volumes[3].mountPath is "/a//b"; allowed: a normalized path, without ".", ".." or empty segments (this one resolves to /a/b)',
        ]);
        expect(mountedAt("/..")).to.deep.equal(['workload "w": volumes[0].mountPath is "/.."; allowed: a normalized path, without ".", ".." or empty segments (this one resolves to /)']);
    });

    it("refuses what the container runtime mounts: /proc, /sys, /dev and below, and the files Docker writes", () => {
        const runtime = "a path outside /proc, /sys, /dev (the container runtime mounts those)";
        const files = "a path other than /etc/hosts, /etc/hostname, /etc/resolv.conf (the container runtime writes those files)";
        expect(mountedAt("/proc", "/proc/self", "/sys/fs/cgroup", "/dev", "/dev/shm", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf")).to.deep.equal([
            `workload "w": volumes[0].mountPath is "/proc"; allowed: ${runtime}`,
            `workload "w": volumes[1].mountPath is "/proc/self"; allowed: ${runtime}`,
            `workload "w": volumes[2].mountPath is "/sys/fs/cgroup"; allowed: ${runtime}`,
            `workload "w": volumes[3].mountPath is "/dev"; allowed: ${runtime}`,
            `workload "w": volumes[4].mountPath is "/dev/shm"; allowed: ${runtime}`,
            `workload "w": volumes[5].mountPath is "/etc/hosts"; allowed: ${files}`,
            `workload "w": volumes[6].mountPath is "/etc/hostname"; allowed: ${files}`,
            `workload "w": volumes[7].mountPath is "/etc/resolv.conf"; allowed: ${files}`,
        ]);
    });

    it("accepts look-alikes and parents of reserved paths: the runtime mounts the deeper path over them", () => {
        expect(mountedAt("/procfs", "/devices", "/system", "/run", "/etc/hosts.d", "/tmpdata", "/var/lib/app.d")).to.deep.equal([]);
    });
});

describe("workload safety: build contexts and Dockerfiles stay in the project", () => {
    const built = (build: Record<string, unknown>) => problemsOf({ image: { build } });

    it("refuses contexts that are absolute or climb out of the project as written", () => {
        const allowed = "a folder inside the project, relative to its root (the build would send files from outside it)";
        for (const context of ["..", "../other", "/etc", "services/../../x", "C:\\Users\\me", "\\\\server\\share", "services\\..\\.."]) {
            expect(built({ context }), context).to.deep.equal([`workload "w": image.build.context is ${JSON.stringify(context)}; allowed: ${allowed}`]);
        }
        expect(built({ context: "services/../services/api" })).to.deep.equal([]);
        expect(built({ context: "." })).to.deep.equal([]);
    });

    it("refuses Dockerfiles that are absolute or outside the project, and accepts one in a sibling folder", () => {
        const allowed = "a file inside the project, relative to the build context (default Dockerfile)";
        for (const dockerfile of ["../../../Dockerfile", "/etc/Dockerfile", "", "../../../x/Dockerfile"]) {
            expect(built({ context: "services/api", dockerfile }), dockerfile).to.deep.equal([`workload "w": image.build.dockerfile is ${JSON.stringify(dockerfile)}; allowed: ${allowed}`]);
        }
        expect(built({ context: "services/api", dockerfile: "../web/Dockerfile" })).to.deep.equal([]);
        expect(built({ context: "services/api", dockerfile: "../../Dockerfile" }), "the project root").to.deep.equal([]);
    });

    describe("through symbolic links (preflight, on the files)", () => {
        let base: string;
        let root: string;
        const write = (file: string, text: string) => {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, text);
        };
        beforeEach(() => {
            base = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-safety-"));
            root = path.join(base, "project");
            const away = path.join(base, "elsewhere");
            write(path.join(away, "Dockerfile"), "FROM scratch\n");
            write(path.join(away, ".dockerignore"), "*\n");
            write(path.join(root, "svc", "Dockerfile"), "FROM scratch\n");
            write(path.join(root, "svc", ".dockerignore"), "*\n");
            fs.symlinkSync(away, path.join(root, "linked"));
            fs.symlinkSync(path.join(away, "Dockerfile"), path.join(root, "svc", "Dockerfile.away"));
            fs.symlinkSync("Dockerfile", path.join(root, "svc", "Dockerfile.alias"));
        });
        afterEach(() => fs.rmSync(base, { recursive: true, force: true }));
        const preflight = (build: Record<string, unknown>) => deploymentProblems(stackConfig("dev"), [service("w", { image: { build } })], root);

        it("refuses a context that is a link to a folder outside the project", () => {
            expect(preflight({ context: "linked" })).to.deep.equal([
                `workload "w": image.build.context is "linked", which is a symbolic link to ${fs.realpathSync(path.join(base, "elsewhere"))}, outside the project; allowed: a folder inside the project (the build would send that folder's files)`,
            ]);
        });

        it("refuses a Dockerfile that is a link to a file outside the project, and accepts a link inside it", () => {
            expect(preflight({ context: "svc", dockerfile: "Dockerfile.away" })).to.deep.equal([
                `workload "w": image.build.dockerfile is "Dockerfile.away", which is a symbolic link to ${fs.realpathSync(path.join(base, "elsewhere", "Dockerfile"))}, outside the project; allowed: a Dockerfile inside the project`,
            ]);
            expect(preflight({ context: "svc", dockerfile: "Dockerfile.alias" })).to.deep.equal([]);
            expect(preflight({ context: "svc" })).to.deep.equal([]);
        });

        it("leaves paths that climb out as written to validateWorkloads, without reading them", () => {
            expect(preflight({ context: "../elsewhere" })).to.deep.equal([]);
            expect(validateWorkloads([service("w", { image: { build: { context: "../elsewhere" } } })])).to.have.length(1);
        });
    });
});

describe("workload safety: image references (distribution/reference grammar)", () => {
    const refProblems = (ref: unknown) => problemsOf({ image: { ref } });
    const grammar = "an image reference [registry[:port]/]path[:tag][@digest] (distribution/reference grammar), such as redis:7.4-alpine or ghcr.io/acme/api:1.2@sha256:<64 hex>";

    it("accepts what distribution/reference parses: registries with ports, IPv6, separators, digests", () => {
        for (const ref of ["nginx", "redis:7.4-alpine", "localhost:5000/a/b:1", "[::1]:5000/x", "Example.com/team/app:v1", "a__b/c--d.e:1_x", `ghcr.io/acme/api:1.2@sha256:${"a".repeat(64)}`, `r.example.com:443/app@sha512:${"0".repeat(128)}`]) {
            expect(refProblems(ref), ref).to.deep.equal([]);
        }
    });

    it("refuses what it does not, naming the value and the rule", () => {
        const cases: [string, string][] = [
            ["a//b", grammar],
            ["a:b:c", grammar],
            ["a___b", grammar],
            ["nginx:", grammar],
            [`a:${"t".repeat(129)}`, grammar],
            ["Redis", `${grammar}; the repository path must be lowercase`],
            ["ghcr.io/Acme/api", `${grammar}; the repository path must be lowercase`],
            ["a".repeat(64), "a repository name, not a 64-hex image id"],
            [`x@sha256:${"A".repeat(64)}`, "a sha256 digest of 64 lowercase hex digits"],
            [`x@sha256:${"a".repeat(40)}`, "a sha256 digest of 64 lowercase hex digits"],
            [`x@md5:${"a".repeat(32)}`, "a digest of sha256, sha384 or sha512 (not md5)"],
            [`x/${"a".repeat(254)}`, "a repository path of at most 255 characters (this one has 256)"],
        ];
        for (const [ref, allowed] of cases) expect(refProblems(ref), ref).to.deep.equal([`workload "w": image.ref is ${JSON.stringify(ref)}; allowed: ${allowed}`]);
        expect(refProblems(42)).to.deep.equal([`workload "w": image.ref is 42; allowed: ${grammar}`]);
    });

    it("checks a tag from dockyard:workloads.imageTags in the reference it makes", async () => {
        const { applyOverrides } = await import("../components/workload");
        const { problems } = applyOverrides([service("w")], { replicas: {}, imageTags: { w: "bad tag" }, hosts: {} });
        expect(problems).to.deep.equal([`workload "w": image.ref is "nginx:bad tag"; allowed: ${grammar}`]);
    });
});

describe("workload safety: quantities (apimachinery resource.Quantity, int64 on both targets)", () => {
    const withResources = (cpu: string, memory: string) => problemsOf({ resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu, memory } } });
    const bytesMax = "at most 9223372036854775807 bytes (2^63-1, just under 8Ei: both targets count bytes in int64)";

    it("refuses cpu and memory that overflow int64, with exponents and E/Ei suffixes", () => {
        expect(withResources("1e400", "99999999Ei")).to.deep.equal([
            'workload "w": resources.limits.cpu is "1e400"; allowed: at most 9223372036.854775807 CPUs (Swarm counts them in int64 nanocores)',
            `workload "w": resources.limits.memory is "99999999Ei"; allowed: ${bytesMax}`,
        ]);
        expect(withResources("10E", "8Ei")).to.have.length(2);
        expect(withResources("9223372037", "9223372036854775808")).to.have.length(2);
        expect(withResources("1e99999999", "1E99999999")).to.have.length(2);
    });

    it("accepts the largest values, exponents and E as exa, exactly (no float rounding)", () => {
        expect(withResources("9223372036.854775807", "9223372036854775807")).to.deep.equal([]);
        expect(withResources("9223372036.854775808", "7Ei")).to.deep.equal(['workload "w": resources.limits.cpu is "9223372036.854775808"; allowed: at most 9223372036.854775807 CPUs (Swarm counts them in int64 nanocores)']);
        expect(withResources("2e0", "1E")).to.deep.equal([]);
        expect(withResources("5e-1", "1e9")).to.deep.equal([]);
    });

    it("compares request and limit exactly, and refuses a volume size that overflows", () => {
        expect(problemsOf({ resources: { requests: { cpu: "100m", memory: "9223372036854775807" }, limits: { cpu: "500m", memory: "9223372036854775806" } } })).to.deep.equal([
            'workload "w": resources.requests.memory is "9223372036854775807"; allowed: at most resources.limits.memory (9223372036854775806)',
        ]);
        expect(problemsOf({ volumes: [{ name: "d", kind: "ephemeral", mountPath: "/d", size: "9Ei" }] })).to.deep.equal([`workload "w": volumes[0].size is "9Ei"; allowed: ${bytesMax}`]);
    });

    it("rounds up to whole units as apimachinery does, and the Swarm adapter converts every accepted form", async () => {
        const { quantityUnits } = await import("../components/workload");
        const { cpuToNanoCpus, memoryToBytes } = await import("../components/swarm/service");
        expect(quantityUnits("0.1n", 9)).to.equal(1n);
        expect(quantityUnits("1e-99999999", 9)).to.equal(1n);
        expect(quantityUnits("1.5Gi", 0)).to.equal(1610612736n);
        expect(quantityUnits("0", 9)).to.equal(0n);
        expect(cpuToNanoCpus("2e0")).to.equal(2e9);
        expect(cpuToNanoCpus("1500000u")).to.equal(1.5e9);
        expect(memoryToBytes("1e9")).to.equal(1e9);
        expect(memoryToBytes("1E")).to.equal(1e18);
        expect(() => memoryToBytes("99999999Ei")).to.throw("more bytes than an int64 holds");
    });
});

describe("Swarm names of a stack (preflight: the stack's name is known there)", () => {
    const swarmStack = (overrides: Record<string, string> = {}) => ({ ...stackConfig("dev", overrides), target: "swarm" as const });

    it("refuses a workload named <stack>-<another workload>, whose alias would be the other's service name", () => {
        const config = swarmStack();
        const problems = deploymentProblems(config, [service("frontend"), service(`${config.stack}-frontend`)], PROJECT_ROOT);
        expect(problems).to.deep.equal([
            `workload "${config.stack}-frontend": its name is the Swarm service name of workload "frontend" in stack "${config.stack}", so one name on the overlay network would answer for both; allowed: a name other than ${config.stack}-<another workload>`,
        ]);
    });

    it("refuses service and secret names longer than swarmkit takes, naming the length", () => {
        const stack = "staging-eu-central-1-blue";
        const worker = "payments-reconciliation-worker-eu-north";
        expect(swarmNameProblems(stack, [service(worker, { secrets: { "database-password": "x" } })])).to.deep.equal([
            `workload "${worker}": its Swarm service name "${stack}-${worker}" (<stack>-<workload>) has ${stack.length + 1 + worker.length} characters; allowed: at most ${SWARM_SERVICE_NAME_MAX} letters, digits, - and _, starting and ending with a letter or digit (a shorter workload or stack name)`,
            `workload "${worker}": secrets.database-password would be the Swarm secret "${stack}-${worker}-database-password-<12 hex digits>", ${stack.length + worker.length + "database-password".length + 15} characters; allowed: at most ${SWARM_SECRET_NAME_MAX} (a shorter secret, workload or stack name)`,
        ]);
        expect(swarmNameProblems("prod.eu", [service("api")])[0]).to.match(/^workload "api": its Swarm service name "prod.eu-api"/);
        // The longest names that fit, exactly at the limits.
        const fits = "w".repeat(SWARM_SERVICE_NAME_MAX - "dev-".length);
        expect(swarmNameProblems("dev", [service(fits), service("api", { secrets: { ["s".repeat(SWARM_SECRET_NAME_MAX - "dev-api--".length - 12)]: "x" } })])).to.deep.equal([]);
    });

    it("checks Swarm names only on Swarm stacks", () => {
        expect(deploymentProblems({ ...stackConfig("prod"), target: "eks" }, [service("x".repeat(40))], PROJECT_ROOT).filter((p) => p.includes("Swarm service name"))).to.deep.equal([]);
    });
});
