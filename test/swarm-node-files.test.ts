/**
 * The managers' node-file sync (components/swarm/nodeFileSync.ts): the script run for real in a
 * scratch root with a recording systemctl, the ssh side with a recording ssh, and what the stack
 * declares. The lab runs it against a real manager (test/lab/swarm.lab.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { bootstrapSettings } from "../components/swarm/cluster";
import { NodeFile, nodeFiles, NodeRole, nodeTimers } from "../components/swarm/cloudInit";
import { FILE_END, nodeFileSyncCommand, nodeFileSyncScript, SYNC_SSH_ATTEMPTS } from "../components/swarm/nodeFileSync";
import { PROJECT_ROOT, renderStack, stackConfig } from "./harness";

/** systemctl as far as the sync uses it: records each call. */
const RECORDING = `#!/bin/bash\necho "$*" >>"$CALLS"\n`;

describe("swarm managers' node-file sync", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-node-files-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "systemctl"), RECORDING, { mode: 0o755 });
        fs.mkdirSync(path.join(dir, "root", "sbin"), { recursive: true });
        fs.mkdirSync(path.join(dir, "root", "units"), { recursive: true });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const at = (name: string) => path.join(dir, "root", name);
    const files = (script = "#!/bin/bash\necho reaper v2\n"): NodeFile[] => [
        { path: at("sbin/dockyard-reaper"), permissions: "0750", owner: "root:root", content: script },
        { path: at("units/dockyard-reaper.timer"), content: "[Timer]\nOnUnitInactiveSec=60\n" },
    ];
    const sync = (list: NodeFile[]) => {
        fs.writeFileSync(path.join(dir, "calls"), "");
        const result = spawnSync("bash", ["-s"], {
            input: nodeFileSyncScript(list, ["dockyard-reaper.timer", "dockyard-prune.timer"]),
            encoding: "utf8",
            env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, CALLS: path.join(dir, "calls") },
        });
        return { ...result, systemctl: fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean) };
    };
    const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

    it("writes every file with its mode, reloads systemd and enables the role's timers", () => {
        const out = sync(files());
        expect(out.status, out.stderr).to.equal(0);
        expect(fs.readFileSync(at("sbin/dockyard-reaper"), "utf8")).to.equal("#!/bin/bash\necho reaper v2\n");
        expect(mode(at("sbin/dockyard-reaper"))).to.equal("750");
        expect(fs.readFileSync(at("units/dockyard-reaper.timer"), "utf8")).to.equal("[Timer]\nOnUnitInactiveSec=60\n");
        expect(mode(at("units/dockyard-reaper.timer"))).to.equal("644");
        expect(out.systemctl).to.deep.equal(["daemon-reload", "enable --now dockyard-reaper.timer", "enable --now dockyard-prune.timer"]);
        expect(out.stdout).to.match(/^dockyard: updated on \S+: .*sbin\/dockyard-reaper .*units\/dockyard-reaper\.timer\n$/);
        expect(fs.readdirSync(at("sbin"))).to.deep.equal(["dockyard-reaper"]);
    });

    it("changes nothing when the files are current, and still reloads systemd and enables the timers", () => {
        sync(files());
        const inode = fs.statSync(at("sbin/dockyard-reaper")).ino;
        const again = sync(files());
        expect(again.status, again.stderr).to.equal(0);
        expect(again.stdout).to.match(/^dockyard: current on \S+\n$/);
        // The reload is not skipped: a run that renamed its files and then failed leaves them current (cold review of 26906d5, F2).
        expect(again.systemctl).to.deep.equal(["daemon-reload", "enable --now dockyard-reaper.timer", "enable --now dockyard-prune.timer"]);
        expect(fs.statSync(at("sbin/dockyard-reaper")).ino).to.equal(inode);
    });

    it("replaces a changed script by a new file, so a run still reading the old one is undisturbed, and restores a changed mode", () => {
        sync(files("#!/bin/bash\necho reaper v1\n"));
        const before = fs.statSync(at("sbin/dockyard-reaper")).ino;
        fs.chmodSync(at("units/dockyard-reaper.timer"), 0o600);
        const out = sync(files());
        expect(out.status, out.stderr).to.equal(0);
        expect(fs.readFileSync(at("sbin/dockyard-reaper"), "utf8")).to.equal("#!/bin/bash\necho reaper v2\n");
        expect(fs.statSync(at("sbin/dockyard-reaper")).ino).not.to.equal(before);
        expect(mode(at("units/dockyard-reaper.timer"))).to.equal("644");
        expect(out.systemctl[0]).to.equal("daemon-reload");
    });

    it("carries every node file of a manager unchanged, comments, quotes, dollars and backslashes included", () => {
        const settings = bootstrapSettings(stackConfig("dev", { "swarm.managers": 3 }));
        for (const role of ["first-manager", "manager"] as NodeRole[]) {
            const real = nodeFiles({ ...settings, role });
            const moved = real.map((f) => ({ ...f, path: at(`${role}-${path.basename(f.path)}`) }));
            const out = sync(moved);
            expect(out.status, out.stderr).to.equal(0);
            for (const [i, f] of moved.entries()) expect(fs.readFileSync(f.path, "utf8"), real[i].path).to.equal(real[i].content);
        }
    });

    it("writes nothing from a stream cut short, and fails (cold review of 26906d5, F1)", () => {
        const settings = bootstrapSettings(stackConfig("dev", { "swarm.managers": 3 }));
        const real = nodeFiles({ ...settings, role: "manager" }).map((f) => ({ ...f, path: at(`sbin/${path.basename(f.path)}`) }));
        const script = nodeFileSyncScript(real, nodeTimers("manager"));
        // Cut inside the second file, as a dropped session would: bash alone would have run the first put and renamed half the second.
        const cut = script.slice(0, script.indexOf(FILE_END, script.indexOf(FILE_END) + FILE_END.length) - 200);
        fs.writeFileSync(path.join(dir, "calls"), "");
        const result = spawnSync("bash", ["-s"], { input: cut, encoding: "utf8", env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, CALLS: path.join(dir, "calls") } });
        expect(result.status).not.to.equal(0);
        expect(fs.readdirSync(at("sbin"))).to.deep.equal([]);
        expect(fs.readFileSync(path.join(dir, "calls"), "utf8")).to.equal("");
    });

    it("leaves no temporary file behind when a run fails midway", () => {
        const out = sync([{ path: at("sbin/dockyard-reaper"), permissions: "0999", content: "#!/bin/bash\n" }]);
        expect(out.status).not.to.equal(0);
        expect(out.stderr).to.include("chmod");
        expect(fs.readdirSync(at("sbin"))).to.deep.equal([]);
    });

    it("tries ssh again when the connection fails, with the whole script each time, and not when the remote side fails", () => {
        // ssh fails to connect (255) until its third call; a stand-in sleep keeps the test quick.
        fs.writeFileSync(path.join(dir, "bin", "ssh"), `#!/bin/bash\nn=$(($(cat "$COUNT" 2>/dev/null || echo 0) + 1))\necho "$n" >"$COUNT"\n[ "$n" -ge "$SUCCEED_AT" ] || exit "$FAIL_WITH"\ncat >"$STDIN"\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "sleep"), `#!/bin/bash\necho "sleep $*" >>"$CALLS"\n`, { mode: 0o755 });
        const attempt = (succeedAt: number, failWith: number) => {
            fs.rmSync(path.join(dir, "count"), { force: true });
            fs.writeFileSync(path.join(dir, "calls"), "");
            const result = spawnSync("bash", ["-c", nodeFileSyncCommand("ec2-user@i-0abc", [])], {
                input: "the script\n",
                encoding: "utf8",
                env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, COUNT: path.join(dir, "count"), STDIN: path.join(dir, "stdin"), CALLS: path.join(dir, "calls"), SUCCEED_AT: String(succeedAt), FAIL_WITH: String(failWith) },
            });
            return { ...result, tries: Number(fs.readFileSync(path.join(dir, "count"), "utf8")), sleeps: fs.readFileSync(path.join(dir, "calls"), "utf8") };
        };
        const third = attempt(3, 255);
        expect(third.status, third.stderr).to.equal(0);
        expect(third.tries).to.equal(3);
        expect(fs.readFileSync(path.join(dir, "stdin"), "utf8")).to.equal("the script\n");
        expect(third.stderr).to.equal(`dockyard: ssh to ec2-user@i-0abc failed (attempt 1 of ${SYNC_SSH_ATTEMPTS})\ndockyard: ssh to ec2-user@i-0abc failed (attempt 2 of ${SYNC_SSH_ATTEMPTS})\n`);
        expect(third.sleeps).to.equal("sleep 10\nsleep 10\n");
        const never = attempt(99, 255);
        expect([never.status, never.tries]).to.deep.equal([255, SYNC_SSH_ATTEMPTS]);
        // The remote side ran and failed: its status, once.
        const remote = attempt(99, 1);
        expect([remote.status, remote.tries]).to.deep.equal([1, 1]);
    });

    it("refuses a file it could not carry unchanged", () => {
        expect(() => nodeFileSyncScript([{ path: "/x", content: "no final newline" }], [])).to.throw("node file /x: its content must end with a newline");
        expect(() => nodeFileSyncScript([{ path: "/x", content: `a\n${FILE_END}\nb\n` }], [])).to.throw(`hold no line ${FILE_END}`);
        expect(() => nodeFileSyncScript([{ path: "/x", content: "a\n", owner: "ec2-user:ec2-user" }], [])).to.throw("the sync writes root's files only");
    });

    it("sends the script on ssh's standard input to a root shell that never asks for a password, with the gate's options", () => {
        fs.writeFileSync(path.join(dir, "bin", "ssh"), `#!/bin/bash\nprintf '%s\\n' "$@" >"$ARGS"\ncat >"$STDIN"\n`, { mode: 0o755 });
        const result = spawnSync("bash", ["-c", nodeFileSyncCommand("ec2-user@i-0abc", ["-o", "ProxyCommand=aws ssm start-session --target %h", "-o", "LogLevel=ERROR"])], {
            input: "the script\n",
            encoding: "utf8",
            env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, ARGS: path.join(dir, "args"), STDIN: path.join(dir, "stdin") },
        });
        expect(result.status, result.stderr).to.equal(0);
        expect(fs.readFileSync(path.join(dir, "args"), "utf8").split("\n").filter(Boolean)).to.deep.equal(["-o", "ProxyCommand=aws ssm start-session --target %h", "-o", "LogLevel=ERROR", "ec2-user@i-0abc", "sudo -n bash -s"]);
        expect(fs.readFileSync(path.join(dir, "stdin"), "utf8")).to.equal("the script\n");
    });

    it("passes shellcheck, both sides", () => {
        const settings = bootstrapSettings(stackConfig("dev", { "swarm.managers": 3 }));
        for (const script of [nodeFileSyncScript(nodeFiles({ ...settings, role: "manager" }), nodeTimers("manager")), nodeFileSyncCommand("ec2-user@i-0abc", ["-o", "LogLevel=ERROR"])]) {
            // The node files themselves are checked where they are rendered (swarm-cluster.cloudinit.test.ts); here, the sync around them.
            const result = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { encoding: "utf8", input: script });
            if (result.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${result.error.message}`);
            expect(result.status, result.stdout).to.equal(0);
        }
    });

    it("docs/swarm.md names the sync's resources and messages as the program spells them", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "swarm.md"), "utf8").replace(/\s+/g, " ");
        const script = nodeFileSyncScript([], []);
        expect(doc).to.include("`<stack>-swarm-node-files-manager-<i>`").and.include("`sudo -n bash -s`");
        expect(nodeFileSyncCommand("t", [])).to.include("'sudo -n bash -s'");
        expect(doc).to.include("`dockyard: current on <host>`").and.include("`dockyard: updated on <host>: <files>`");
        expect(script).to.include('echo "dockyard: current on $HOSTNAME"').and.include('echo "dockyard: updated on $HOSTNAME: ${changed[*]}"');
    });

    it("the stack syncs each manager last, after the readiness gate and the workloads, with its role's files, re-run for a new instance; with ssh access, at its public address", async () => {
        const overrides = { "swarm.managers": 3, "network.azs": 3 };
        const { resources } = await renderStack("dev", overrides);
        const settings = bootstrapSettings(stackConfig("dev", overrides));
        const managers = resources.filter((r) => r.type === "aws:ec2/instance:Instance");
        const syncs = resources.filter((r) => r.type === "command:local:Command" && r.parent === "dev-swarm-node-files");
        expect(syncs.map((r) => r.name)).to.deep.equal(["dev-swarm-node-files-manager-0", "dev-swarm-node-files-manager-1", "dev-swarm-node-files-manager-2"]);
        const services = resources.filter((r) => r.type === "docker:index/service:Service").map((r) => r.name);
        expect(services).to.have.length.greaterThan(0);
        const gate = resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-ready"))!;
        // The managers' instance ids, in order, as the gate names them.
        const ids = [...(/\nmanager_ids=\(([^)]*)\)/.exec(String(gate.inputs.create))?.[1] ?? "").matchAll(/'(i-[0-9a-f]+)'/g)].map((m) => m[1]);
        expect(ids).to.have.length(managers.length);
        expect(new Set(ids).size).to.equal(ids.length);
        for (const [i, sync] of syncs.entries()) {
            const role: NodeRole = i === 0 ? "first-manager" : "manager";
            expect(sync.inputs.stdin).to.equal(nodeFileSyncScript(nodeFiles({ ...settings, role }), nodeTimers(role)));
            expect(sync.inputs.triggers).to.deep.equal([ids[i]]);
            // Through Session Manager, each to its own instance.
            expect(String(sync.inputs.create)).to.include(`'ec2-user@${ids[i]}' 'sudo -n bash -s'`);
            expect(sync.dependencies).to.include(gate.name).and.include.members(services);
            expect(sync.inputs.update).to.equal(sync.inputs.create);
        }
        const ssh = await renderStack("dev", { ...overrides, "swarm.access": "ssh", "swarm.sshCidrs": ["198.51.100.0/24"], "network.natGateways": "none" });
        const creates = ssh.resources.filter((r) => r.type === "command:local:Command" && r.parent === "dev-swarm-node-files").map((r) => String(r.inputs.create));
        // dev's ingress is direct: the first manager answers at its Elastic IP, the others at their own
        // addresses (the offline mocks give an Eip 198.51.100.20, every instance 198.51.100.10: scripts/offline/mocks.ts).
        expect(creates.map((c) => /'ec2-user@([^']+)' 'sudo -n bash -s'/.exec(c)?.[1])).to.deep.equal(["198.51.100.20", "198.51.100.10", "198.51.100.10"]);
    });
});
