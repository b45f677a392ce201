/**
 * The Swarm lab's scenarios that pass on main (issue 13; docs/lab.md says how to run one alone and
 * how to add one). Run as root through `npm run test:lab` (scripts/lab/run cleans up on exit and
 * interrupt). The other scenario files are listed, in the order they run, in test/lab/.mocharc.json.
 */
import { expect } from "chai";
import { cidrsOverlap } from "../../components/config";
import { PROJECT_ROOT, stackConfig } from "../harness";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { nodeFileSyncCommand } from "../../components/swarm/nodeFileSync";
import { JOIN_PARAMETER_UNSET } from "../../components/swarm/joinParameters";
import { readinessScript } from "../../components/swarm/readiness";
import { boot, calls, collectedLogs, createNode, destroyNode, engine, execIn, readStore, STATE, updateStore, waitFor } from "./lab";
import { currentPassword, registryAuth, rotate } from "./registry";
import { extraNode, LAB_OVERRIDES, LAB_STACK, labNetwork } from "./stack";
import { ensureSwarm, figures, formSwarm, images, nodes, removeExtraNode, seconds, setUp, stack, swarmView, tally, trustRegistry } from "./world";

describe("Swarm lab", function () {
    this.timeout(900_000);

    before(setUp);
    afterEach(function () {
        tally(this.currentTest);
    });

    it("three managers and a worker form one swarm from a cold start, booting in reverse order", async () => {
        // Worker first, the first manager last: every other node must wait for it, not fail.
        await formSwarm([...nodes].reverse());
        const view = await swarmView("m1");
        expect(view.clusterIds, "cluster ids the nodes report").to.have.length(1);
        expect(view.ready.sort()).to.deep.equal(nodes.map((n) => n.name).sort());
        expect(view.managers.filter((m) => m.leader), "leaders").to.have.length(1);
    });

    it("overlays take their subnets from swarm.overlayAddressPool, apart from the VPC, and a task on one resolves a VPC name (issue 14 item 6)", async () => {
        await ensureSwarm();
        const config = stackConfig(LAB_STACK, LAB_OVERRIDES);
        const pool = config.swarm.overlayAddressPool;
        const m1 = engine("m1");
        const subnetOf = async (id: string) => ((await m1.getNetwork(id).inspect()).IPAM?.Config ?? []).map((c: any) => c.Subnet as string);
        const declared = labNetwork(stack.networks[0].rawInputs as Record<string, unknown>);
        const network = await m1.createNetwork({ ...declared, Name: "dylab-pool-check" } as any);
        const service = "dylab-resolve";
        try {
            // Created by `swarm init` from the pool; a published port attaches a task to it. The create
            // call returns once the network is stored; the allocator gives it a subnet afterwards, from
            // its event loop (moby/swarmkit manager/controlapi/network.go CreateNetwork,
            // manager/allocator/network.go doNetworkAlloc on EventCreateNetwork), so wait for that.
            const allocated = (id: string) => waitFor(`a subnet for ${id}`, async () => {
                const list = await subnetOf(id);
                return list.length > 0 ? list : undefined;
            }, 30_000);
            const subnets = { ingress: await allocated("ingress"), [declared.Name]: await allocated(network.id) };
            figures["overlay subnets"] = Object.entries(subnets).map(([name, s]) => `${name} ${s.join(",")}`).join("; ");
            for (const [name, list] of Object.entries(subnets)) {
                expect(list, name).to.have.length(1);
                expect(cidrsOverlap(list[0], pool) && Number(list[0].split("/")[1]) === 24, `${name} ${list[0]} is a /24 of ${pool}`).to.equal(true);
                expect(cidrsOverlap(list[0], config.network.cidr), `${name} ${list[0]} overlaps the VPC ${config.network.cidr}`).to.equal(false);
            }
            const image = Object.values(images)[0];
            await m1.createService(registryAuth(stack.registryHost), {
                Name: service,
                TaskTemplate: { ContainerSpec: { Image: image, Command: ["/bin/sleep", "3600"] }, Networks: [{ Target: network.id }], Placement: { Constraints: ["node.hostname==m1"] } },
                EndpointSpec: { Ports: [{ Protocol: "tcp", TargetPort: 8080, PublishedPort: 30080, PublishMode: "ingress" }] },
            } as any);
            const container = await waitFor(`a running task of ${service} on m1`, async () => {
                const list = await m1.listContainers({ filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`], status: ["running"] }) });
                return list[0]?.Id;
            });
            // Through the embedded DNS, which forwards to the node's resolver (the VPC's, at 10.0.0.2) from the task's own namespace.
            const lookup = await execIn("m1", ["docker", "exec", container, "nslookup", "vpc-resolver.dylab.internal"], 60_000);
            expect(lookup.stdout, lookup.stdout + lookup.stderr).to.match(/Address(?: \d+)?:\s*10\.0\.0\.77\b/);
        } finally {
            await m1.getService(service).remove().catch(() => undefined);
            await waitFor(`${service}'s containers to go`, async () => ((await m1.listContainers({ all: true, filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`] }) })).length === 0 ? true : undefined), 60_000);
            await network.remove().catch(() => undefined);
        }
    });

    it("a task rescheduled after the registry token expired pulls once dockyard-registry-refresh has run on the leader, and is rejected until then (issue 14 item 1)", async () => {
        await ensureSwarm();
        const m1 = engine("m1");
        const leader = (await swarmView("m1")).managers.find((m) => m.leader)?.host;
        expect(leader, "the swarm's leader").to.be.a("string");
        const [from, to] = ["m2", "w1"];
        const service = "dylab-refresh";
        const image = Object.values(images)[0];
        const nodeId = async (host: string) => (await m1.listNodes()).find((n: any) => n.Description?.Hostname === host)!.ID as string;
        const label = async (host: string, value: string | undefined) => {
            const node = m1.getNode(await nodeId(host));
            const { Version, Spec } = (await node.inspect()) as any;
            const labels = { ...Spec.Labels };
            if (value === undefined) delete labels["dylab.refresh"];
            else labels["dylab.refresh"] = value;
            await node.update({ version: Version.Index, ...Spec, Labels: labels });
        };
        // A node that must pull again: the service's stopped containers go first, or the image stays behind them.
        const forgetImage = async (host: string) => {
            await execIn(host, ["docker", "container", "prune", "--force"]);
            await execIn(host, ["docker", "image", "rm", "--force", image]);
            expect((await execIn(host, ["docker", "image", "inspect", image])).status, `${image} is gone from ${host}`).not.to.equal(0);
        };
        const tasksOn = async (host: string) => (await m1.listTasks({ filters: JSON.stringify({ service: [service], node: [await nodeId(host)] }) })) as any[];
        try {
            await label(from, "here");
            // As the Docker provider creates a service: the registry auth of this moment in its spec.
            await m1.createService(registryAuth(stack.registryHost), {
                Name: service,
                Labels: { "dockyard.kind": "service" },
                TaskTemplate: { ContainerSpec: { Image: image, Command: ["/bin/sleep", "3600"] }, Placement: { Constraints: ["node.labels.dylab.refresh==here"] } },
            } as any);
            await waitFor(`${service} running on ${from}`, async () => ((await tasksOn(from)).some((t) => t.Status?.State === "running") ? true : undefined));
            // The stored token expires; the task then moves to a node that has never pulled the image.
            rotate();
            await forgetImage(to);
            await label(from, undefined);
            await label(to, "here");
            // swarmkit's constraint enforcer shuts the task down on `from` (constraint_enforcer.go
            // rejectNoncompliantTasks), and its replacement on `to` pulls with the expired auth.
            const rejected = await waitFor(`a task of ${service} on ${to} rejected for its image`, async () => (await tasksOn(to)).find((t) => t.Status?.State === "rejected")?.Status?.Err as string | undefined);
            expect(rejected).to.match(/No such image|no basic auth credentials|unauthorized/);
            expect((await m1.getService(service).inspect()).UpdateStatus, "an update the refresh would skip").to.equal(undefined);

            const callsBefore = calls().length;
            const refresh = await execIn(leader!, ["systemctl", "start", "dockyard-registry-refresh.service"]);
            expect(refresh.status, refresh.stdout + refresh.stderr).to.equal(0);
            expect(refresh.stdout).to.include(`refreshed ${service}`);
            const started = Date.now();
            await waitFor(`${service} running on ${to} after the refresh`, async () => ((await tasksOn(to)).some((t) => t.Status?.State === "running") ? true : undefined));
            figures["task running again after the registry refresh"] = seconds(started);
            // One fresh fetch, for the script's own check; the update sends that token from the run's config and runs no helper.
            const helperCalls = calls().slice(callsBefore).filter((c) => c.tool === "docker-credential-ecr-login" && c.node === leader);
            expect(helperCalls.map((c: any) => [c.exit, c.source, c.cacheDir]), JSON.stringify(helperCalls)).to.deep.equal([[0, "fetch", ""]]);
            expect((await execIn(leader!, ["test", "-e", "/run/dockyard-registry-refresh"])).status, "the run's token is gone with the run").not.to.equal(0);
            expect(collectedLogs().filter((l) => l.text.includes(currentPassword())).map((l) => path.relative(STATE, l.file)), "logs holding the registry token").to.deep.equal([]);

            // The helper now gets no token (what it answers to any failed AWS call): the run touches
            // nothing and fails, and the token stored by the last refresh still pulls on a fresh node.
            // The first refresh replaced the rejected task, a real update: let it end, or the run skips the service.
            await waitFor(`${service}'s refresh update to end`, async () => ((await m1.getService(service).inspect()).UpdateStatus?.State === "updating" ? undefined : true), 120_000);
            updateStore((s) => (s.registry.tokenless = true));
            const tokenless = await execIn(leader!, ["systemctl", "start", "dockyard-registry-refresh.service"]);
            expect(tokenless.status, `a run without a token fails so systemd shows it: ${tokenless.stdout}${tokenless.stderr}`).not.to.equal(0);
            // The lab's systemctl runs ExecStart= in the foreground, so the unit's output is the call's (systemd would journal it).
            expect(tokenless.stderr).to.include(`not refreshed ${service}: docker-credential-ecr-login has no token for ${stack.registryHost}`);
            expect(tokenless.stdout).not.to.include(`refreshed ${service}`);
            await forgetImage(from);
            await label(to, undefined);
            await label(from, "here");
            await waitFor(`${service} running on ${from}, pulled with the token the failed run left alone`, async () => ((await tasksOn(from)).some((t) => t.Status?.State === "running") ? true : undefined));
        } finally {
            updateStore((s) => delete s.registry.tokenless);
            await m1.getService(service).remove().catch(() => undefined);
            await label(to, undefined).catch(() => undefined);
            await label(from, undefined).catch(() => undefined);
        }
    });

    it("a worker whose bootstrap fails is marked unhealthy in its group at once and starts no timers (issue 14 item 15)", async () => {
        const node = extraNode("w9", 9, 1, stack.workerGroup);
        createNode(node);
        fs.mkdirSync(path.join(STATE, "faults"), { recursive: true });
        fs.writeFileSync(path.join(STATE, "faults", "w9-dockerd"), "");
        try {
            const result = await boot("w9", stack.workerUserData);
            expect(result.status, result.output).to.not.equal(0);
            // Launched seconds ago, well inside the group's grace period: only a call that ignores it counts.
            expect(stack.workerGracePeriod).to.be.greaterThan(60);
            expect(readStore().instances.w9.health, result.output).to.equal("UNHEALTHY");
            const own = calls().filter((c) => c.node === "w9");
            expect(own.filter((c) => c.tool === "aws" && c.operation === "set-instance-health").map((c) => c.exit)).to.deep.equal([0]);
            expect(own.filter((c) => c.tool === "systemctl" && c.args.some((a) => a.endsWith(".timer")))).to.deep.equal([]);
        } finally {
            fs.rmSync(path.join(STATE, "faults", "w9-dockerd"), { force: true });
            destroyNode("w9");
            updateStore((store) => {
                delete store.instances.w9;
            });
        }
    });

    it("a worker that boots while the published managers name a dead one first still joins (issue 14 item 3)", async () => {
        await ensureSwarm();
        // An address in the first AZ's subnet where no host answers: a manager whose instance died.
        const dead = extraNode("dead", 210, 0).ip;
        const live = nodes.filter((n) => !n.group).map((n) => n.ip);
        const published = [`${stack.joinPath}/manager-addresses`, `${stack.parameterPath}/manager-addresses`, `${stack.parameterPath}/join-address`];
        const before = updateStore((store) => {
            const saved: Record<string, string> = {};
            for (const name of published.filter((n) => store.parameters[n])) {
                saved[name] = store.parameters[name].Value;
                store.parameters[name].Value = [dead, ...live].join(" ");
            }
            return saved;
        });
        expect(Object.keys(before), "the address parameter the nodes published").to.have.length(1);
        const node = extraNode("w8", 8, 2, stack.workerGroup);
        createNode(node, trustRegistry);
        const started = Date.now();
        try {
            const result = await boot("w8", stack.workerUserData);
            expect(result.status, result.output.split("\n").slice(-20).join("\n")).to.equal(0);
            expect(result.output).to.include(`could not join through ${dead} as a worker`);
            await waitFor("w8 ready in the swarm", async () => ((await swarmView("m1")).ready.includes("w8") ? true : undefined), 60_000, 2000);
            figures["join past a dead manager address"] = seconds(started);
        } finally {
            updateStore((store) => {
                for (const [name, value] of Object.entries(before)) store.parameters[name].Value = value;
            });
            await removeExtraNode("w8");
        }
    });

    it("a worker that boots while the stack's join parameters are still unset, and managers bootstrapped by an older dockyard publish only join-address at the stack's path, still joins (issue 14 item 4, cold review of 874944f H1)", async () => {
        await ensureSwarm();
        // A stack older than its join parameters, in the up that creates them: they hold the
        // placeholder, and the managers, whose user data is ignoreChanges, run their old reaper until
        // the node-file sync at the end of that up. Before e8fed8c that reaper published one
        // join-address, the leader's Status.Addr, beside the tokens, at the stack's path itself.
        const leader = (await engine("m1").listNodes()).find((n: any) => n.ManagerStatus?.Leader);
        const address = leader.Status.Addr as string;
        const joinNames = ["manager-token", "worker-token", "manager-addresses"].map((n) => `${stack.joinPath}/${n}`);
        const legacy = { token: `${stack.parameterPath}/worker-token`, address: `${stack.parameterPath}/join-address` };
        const saved = updateStore((store) => {
            const kept = Object.fromEntries(joinNames.map((name) => [name, { ...store.parameters[name] }]));
            for (const name of joinNames) expect(kept[name].Value, name).to.not.equal(JOIN_PARAMETER_UNSET);
            for (const name of Object.values(legacy)) expect(store.parameters[name], name).to.equal(undefined);
            const token = kept[`${stack.joinPath}/worker-token`];
            store.parameters[legacy.token] = { ...token, Name: legacy.token, Version: 1 };
            store.parameters[legacy.address] = { Name: legacy.address, Type: "String", Value: address, Version: 1 };
            for (const name of joinNames) store.parameters[name] = { ...store.parameters[name], Value: JOIN_PARAMETER_UNSET };
            return kept;
        });
        createNode(extraNode("w7", 7, 1, stack.workerGroup), trustRegistry);
        const booted = boot("w7", stack.workerUserData);
        const started = Date.now();
        try {
            // Well inside the worker's wait for the parameters (60 tries, 10 s apart), which a worker reading only the join parameters spends in full and then fails.
            await waitFor("w7 ready in the swarm", async () => ((await swarmView("m1")).ready.includes("w7") ? true : undefined), 120_000, 2000);
            figures["join through an older stack's join-address"] = seconds(started);
            const result = await booted;
            expect(result.status, result.output.split("\n").slice(-20).join("\n")).to.equal(0);
            expect(result.output).to.include(`joined the swarm through ${address} as a worker`);
        } finally {
            updateStore((store) => {
                for (const name of Object.values(legacy)) delete store.parameters[name];
                Object.assign(store.parameters, saved);
            });
            await removeExtraNode("w7");
        }
    });

    it("the readiness gate, run against a real manager, knows each manager by its instance id and wants the swarm whole before a manager moves (cold review of b62a90a, H1)", async () => {
        await ensureSwarm();
        // The gate's ssh, replaced by a way into m1 that runs the remote command as its shell would.
        const bin = fs.mkdtempSync(path.join(STATE, "gate-"));
        fs.writeFileSync(path.join(bin, "ssh"), `#!/bin/bash\nexec ${path.join(PROJECT_ROOT, "scripts", "lab", "node")} exec m1 bash -c "\${*: -1}"\n`, { mode: 0o755 });
        const managers = nodes.filter((n) => !n.group).map((n) => n.instanceId);
        const gate = (managerIds: string[], whole: boolean) =>
            spawnSync("bash", ["-c", readinessScript({ sshTarget: "ec2-user@m1", sshOptions: [], managerIds, whole, workersNeeded: 1, timeoutSeconds: 3, pollSeconds: 1 })], {
                encoding: "utf8",
                env: { ...process.env, DYLAB_STATE: STATE, PATH: `${bin}:${process.env.PATH}` },
                timeout: 60_000,
            });
        try {
            const ok = gate(managers, true);
            expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
            expect(ok.stdout).to.equal(`swarm ready on ec2-user@m1: ${managers.length} managers Ready and Reachable, 1 workers Ready\n`);
            // A manager EC2 does not run (as after a replacement, before the reaper removed it) makes the swarm not whole...
            const extra = gate(managers.slice(1), true);
            expect(extra.status).to.equal(1);
            expect(extra.stderr).to.include(`(last: ${managers.length - 1} of ${managers.length - 1} managers Ready and Reachable, ${managers.length} managers listed, 1 of 1 workers Ready)`);
            // ...but does not hold up the gate after the roll, which waits for the new manager by its id.
            expect(gate(managers.slice(1), false).status).to.equal(0);
            const missing = gate([...managers, "i-0dylab0new"], false);
            expect(missing.stderr).to.include(`(not yet: i-0dylab0new)`);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("a manager bootstrapped by an older dockyard gets this program's node files from up: the sync restores a changed script, missing units and timer, and then changes nothing (cold review of the registry refresh, F2)", async () => {
        await ensureSwarm();
        // What the program declares for m2 (manager index 1): its sync's local script and its standard input.
        const declared = stack.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-node-files-manager-1"));
        expect(declared, "the stack's sync of manager 1").not.to.equal(undefined);
        const script = String(declared!.rawInputs.stdin);
        // The sync's ssh, replaced by a way into the node that runs the remote command as its shell
        // would; lab nodes have only root and no sudo, so `sudo -n` runs its command as it is.
        const bin = fs.mkdtempSync(path.join(STATE, "sync-"));
        const fakeSsh = [
            "#!/bin/bash",
            'target=${*: -2:1}',
            `exec ${path.join(PROJECT_ROOT, "scripts", "lab", "node")} exec "\${target#*@}" bash -c 'sudo() { [ "$1" = -n ] && shift; "$@"; }; eval "$1"' dylab-ssh "\${*: -1}"`,
        ];
        fs.writeFileSync(path.join(bin, "ssh"), `${fakeSsh.join("\n")}\n`, { mode: 0o755 });
        const sync = () =>
            spawnSync("bash", ["-c", nodeFileSyncCommand("ec2-user@m2", [])], { input: script, encoding: "utf8", env: { ...process.env, DYLAB_STATE: STATE, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
        const refresh = "/usr/local/sbin/dockyard-registry-refresh";
        const units = ["/etc/systemd/system/dockyard-registry-refresh.service", "/etc/systemd/system/dockyard-registry-refresh.timer"];
        try {
            // Booted by this program: cloud-init wrote exactly what the sync would.
            const fresh = sync();
            expect(fresh.status, fresh.stdout + fresh.stderr).to.equal(0);
            expect(fresh.stdout).to.equal("dockyard: current on m2\n");
            // As a manager from before the registry refresh, with an older reaper.
            const aged = await execIn("m2", ["sh", "-c", `echo '# older reaper' >>/usr/local/sbin/dockyard-reaper && rm -f ${refresh} ${units.join(" ")} /run/dylab-enabled/dockyard-registry-refresh.timer`]);
            expect(aged.status, aged.stderr).to.equal(0);
            const updated = sync();
            expect(updated.status, updated.stdout + updated.stderr).to.equal(0);
            expect(updated.stdout).to.equal(`dockyard: updated on m2: /usr/local/sbin/dockyard-reaper ${refresh} ${units.join(" ")}\n`);
            expect((await execIn("m2", ["test", "-e", "/run/dylab-enabled/dockyard-registry-refresh.timer"])).status, "the refresh timer is enabled").to.equal(0);
            const run = await execIn("m2", ["systemctl", "start", "dockyard-registry-refresh.service"]);
            expect(run.status, run.stdout + run.stderr).to.equal(0);
            expect(sync().stdout).to.equal("dockyard: current on m2\n");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
