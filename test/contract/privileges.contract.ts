/**
 * `privileges` on a real engine in swarm mode (run by `scripts/contract.sh`): the Swarm adapter's
 * services drop ALL capabilities and add only `privileges.capabilities`, and set the lowest port a
 * process without NET_BIND_SERVICE may bind (`unprivilegedPortStart`), so a container binds port 80
 * exactly when its spec asks for NET_BIND_SERVICE, root or not.
 *
 * Both halves are needed, and the first run of this suite showed why: left alone, Docker lets every
 * process of a container bind ports below 1024, root without capabilities and non-root users alike
 * (it sets net.ipv4.ip_unprivileged_port_start=0 in each container's network namespace: moby/moby
 * daemon/oci_linux.go), and the capability alone reaches only root, since the engine sets no ambient
 * capabilities (daemon/oci_linux.go WithCapabilities) and the kernel clears a non-root process's
 * effective set at execve (capabilities(7)). With ALL dropped, root has no capability of its own
 * (daemon/pkg/oci/caps/utils.go TweakCapabilities gives exactly the added ones).
 */
import { expect } from "chai";
import { localSwarmPlatform } from "../../components/swarm/local";
import { deploySwarmWorkloads } from "../../components/swarm/workload";
import type { WorkloadSpec } from "../../components/workload";
import { runDeclaration } from "../harness";
import { buildTestImage, docker, exec, removeEverything, runningTasks, waitFor, WEB_ROOT } from "./engine";
import { networkCreateOptions, serviceSpec } from "./engineSpec";

/** Prefix of this suite's Docker objects, apart from swarm.contract.ts's. */
const STACK = "dypv";
const IMAGE = "dockyard-contract/busybox-privileges:1";
/** NET_BIND_SERVICE is capability 10 (linux/capability.h), so its bit in /proc/<pid>/status is 0x400. */
const NET_BIND_SERVICE_BIT = 0x400n;

/** Tries to bind port 80 with busybox httpd (which binds before it daemonizes, and exits 1 if it cannot), writes the outcome to /tmp/bind, then idles. */
const BIND_80 = ["sh", "-c", `if httpd -p 80 -h ${WEB_ROOT}; then echo bound; else echo refused; fi > /tmp/bind; exec sleep 2147483647`];

const resources = { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } };
const probe = (name: string, extra: Partial<WorkloadSpec>): WorkloadSpec => ({ name, image: { ref: IMAGE }, command: BIND_80, resources, ...extra });

const SPECS: WorkloadSpec[] = [
    probe("root-bind", { privileges: { root: true, capabilities: ["NET_BIND_SERVICE"] } }),
    probe("root-nocap", { privileges: { root: true } }),
    probe("user-bind", { user: "10001:10001", privileges: { capabilities: ["NET_BIND_SERVICE"] } }),
    probe("user-nocap", { user: "10001:10001" }),
];

describe("privileges on a real engine: drop ALL, add what the spec asks", function () {
    this.timeout(600_000);
    const containers: Record<string, string> = {};

    before(async () => {
        const info = await docker.info();
        expect(info.Swarm?.LocalNodeState, "the engine must be in swarm mode (scripts/contract.sh initialises it)").to.equal("active");
        await removeEverything(STACK, IMAGE);
        await buildTestImage(IMAGE, ["/index.html"]);
        const images = Object.fromEntries(SPECS.map((s) => [s.name, IMAGE]));
        const { resources: declared } = await runDeclaration(() => deploySwarmWorkloads(STACK, SPECS, images, localSwarmPlatform(STACK)), "local");
        const idMap: Record<string, string> = {};
        for (const network of declared.filter((r) => r.type === "docker:index/network:Network")) {
            idMap[`${network.name}-id`] = (await docker.createNetwork(networkCreateOptions(network.rawInputs) as any)).id;
        }
        for (const service of declared.filter((r) => r.type === "docker:index/service:Service")) {
            await docker.createService(serviceSpec(service.rawInputs, idMap));
        }
        for (const spec of SPECS) {
            const name = `${STACK}-${spec.name}`;
            const [task] = await waitFor(`a running task of ${name}`, async () => {
                const tasks = await runningTasks(name);
                return tasks.length > 0 ? tasks : undefined;
            });
            containers[spec.name] = task.Status.ContainerStatus.ContainerID;
        }
    });

    after(async () => {
        await removeEverything(STACK, IMAGE);
    });

    const outcome = (workload: string) =>
        waitFor(`${workload}'s bind attempt`, async () => {
            const result = await exec(containers[workload], ["cat", "/tmp/bind"]);
            return result.exitCode === 0 ? result.stdout.trim() : undefined;
        }, 60_000);
    const effective = async (workload: string) => {
        const status = await exec(containers[workload], ["cat", "/proc/1/status"]);
        return BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status.stdout)![1]}`);
    };

    it("runs every container with ALL dropped, only the asked-for capabilities added, and ports below 1024 closed unless asked", async () => {
        const seen: Record<string, unknown> = {};
        for (const spec of SPECS) {
            const container = await docker.getContainer(containers[spec.name]).inspect();
            expect(container.HostConfig.CapDrop, spec.name).to.deep.equal(["ALL"]);
            const start = await exec(containers[spec.name], ["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]);
            seen[spec.name] = { add: container.HostConfig.CapAdd, portStart: start.stdout.trim() };
        }
        expect(seen).to.deep.equal({
            "root-bind": { add: ["NET_BIND_SERVICE"], portStart: "0" },
            "root-nocap": { add: null, portStart: "1024" },
            "user-bind": { add: ["NET_BIND_SERVICE"], portStart: "0" },
            "user-nocap": { add: null, portStart: "1024" },
        });
        expect((await exec(containers["root-bind"], ["id", "-u"])).stdout.trim()).to.equal("0");
        expect((await exec(containers["user-bind"], ["id", "-u"])).stdout.trim()).to.equal("10001");
    });

    it("binds port 80 as root with NET_BIND_SERVICE, the one capability it has, and serves on it", async () => {
        expect(await outcome("root-bind")).to.equal("bound");
        expect(await effective("root-bind")).to.equal(NET_BIND_SERVICE_BIT);
        const page = await exec(containers["root-bind"], ["wget", "-q", "-O", "-", "http://127.0.0.1:80/index.html"]);
        expect(page.stdout).to.equal("ok /index.html\n");
    });

    it("binds port 80 as a non-root user with NET_BIND_SERVICE, though the capability does not reach its process", async () => {
        expect(await outcome("user-bind")).to.equal("bound");
        expect(await effective("user-bind")).to.equal(0n);
    });

    it("refuses port 80 without NET_BIND_SERVICE, to root (no capability once ALL is dropped) as to a non-root user", async () => {
        expect(await outcome("root-nocap")).to.equal("refused");
        expect(await effective("root-nocap")).to.equal(0n);
        expect(await outcome("user-nocap")).to.equal("refused");
    });
});
