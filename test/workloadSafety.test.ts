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
import { stackConfig } from "./harness";

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
