import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import * as YAML from "yaml";
import { bootstrapSettings, EC2_USER_DATA_LIMIT_BYTES, swarmConfigProblems, userDataProblems } from "../components/swarm/cluster";
import { CUSTOM_USER_SUDO, NodeRole, nodeScripts, nodeTimers, PRUNE_EVERY_SECONDS, renderCloudInit, userDataBytes } from "../components/swarm/cloudInit";
import { JOIN_PARAMETER_UNSET } from "../components/swarm/joinParameters";
import { NOTHING_TO_CHECK, readinessScript } from "../components/swarm/readiness";
import { sshOptions } from "../components/swarm/access";
import { parseStackConfig } from "../components/config";
import { PROJECT_ROOT, stackConfig, stackConfigMap } from "./harness";

// Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
const GOLDEN_DIR = path.join(PROJECT_ROOT, "test", "golden");
const ROLES: NodeRole[] = ["first-manager", "manager", "worker"];
const settings = (role: NodeRole) => ({
    ...bootstrapSettings(stackConfig("dev", { "swarm.managers": 3, "swarm.sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDockyardGoldenTestKey0000000000000000000000 golden@dockyard" })),
    role,
});

/** The length of an OpenSSH RSA-4096 public key (716 base64 characters), the longest key a user is likely to give. */
const RSA_4096_KEY = `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQ${"D".repeat(716 - 34)} operator@laptop`;

/** An RSA public key of `chars` base64 characters that gzip cannot shrink much, as a real key's bits are random. */
function randomLookingKey(chars: number): string {
    let body = "";
    for (let i = 0; body.length < chars; i++) body += createHash("sha256").update(String(i)).digest("base64").replace(/=+$/, "");
    return `ssh-rsa ${body.slice(0, chars)} operator@laptop`;
}

/**
 * The content types and payloads cloud-init's own user-data processor reads from `bytes`
 * (cloudinit/user_data.py): Debian's cloud-init here (22.4), AL2023's is 22.2; both uncompress
 * with the same decomp_gzip.
 */
function cloudInitParts(bytes: Buffer): { type: string; payload: string }[] {
    // cloud-init's modules belong to the Python its entry point names, which need not be the first python3 on PATH.
    const entry = tool("sh", ["-c", "command -v cloud-init"]).stdout.trim();
    const python = fs.readFileSync(entry, "utf8").split("\n")[0].replace(/^#!/, "").trim();
    const program = [
        "import base64, json, sys",
        "from cloudinit import user_data",
        "message = user_data.UserDataProcessor({}).process(sys.stdin.buffer.read())",
        "print(json.dumps([{'type': p.get_content_type(), 'payload': p.get_payload(decode=True).decode()} for p in message.walk() if not p.is_multipart()]))",
    ].join("\n");
    const result = spawnSync(python, ["-c", program], { input: bytes, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`cloud-init's user-data processor failed: ${result.stderr}`);
    return JSON.parse(result.stdout);
}

/** The text of the shell function `name` of a rendered script (from `name() {` to the `}` closing it at the line's start). */
function shellFunction(script: string, name: string): string {
    const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`, "m").exec(script);
    if (!match) throw new Error(`the script has no function ${name}`);
    return match[0];
}

/**
 * Runs `call` in bash after the given functions of `script` (and its settings), with `bin`'s
 * stand-ins first on PATH; the lab's aws fake (scripts/lab/fakes/aws) serves SSM from `state`.
 */
function runFunctions(script: string, names: string[], call: string, bin: string, state: string) {
    const settings = script.split("\n").filter((line) => /^(REGION|PARAMETER_PATH|JOIN_PATH|RETRY_SECONDS)=/.test(line));
    const program = ["set -euo pipefail", ...settings, 'log() { echo "test: $*"; }', ...names.map((n) => shellFunction(script, n)), call].join("\n");
    return spawnSync("bash", ["-c", program], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DYLAB_STATE: state, DYLAB_NODE: "unit" } });
}

/** A stored parameter whose value only a key decrypts, and that key's state. */
interface Encrypted {
    readonly value: string;
    readonly keyState: "Enabled" | "PendingDeletion";
}

/**
 * A DYLAB_STATE whose aws store holds `parameters` (name under /dockyard/dev/swarm → value: a String,
 * or a SecureString under a key of the given state), with the aws fake on a PATH dir.
 */
function fakeAws(dir: string, parameters: Record<string, string | Encrypted>): { bin: string; state: string } {
    const state = fs.mkdtempSync(path.join(dir, "state-"));
    const bin = path.join(state, "bin");
    fs.mkdirSync(path.join(state, "aws"), { recursive: true });
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(PROJECT_ROOT, "scripts", "lab", "fakes", "aws"), path.join(bin, "aws"));
    const kms: Record<string, { KeyId: string; KeyState: string }> = {};
    const stored = Object.fromEntries(
        Object.entries(parameters).map(([name, value]) => {
            const base = { Name: `/dockyard/dev/swarm/${name}`, Version: 1 };
            if (typeof value === "string") return [base.Name, { ...base, Type: "String", Value: value }];
            kms[`key-${value.keyState}`] = { KeyId: `key-${value.keyState}`, KeyState: value.keyState };
            return [base.Name, { ...base, Type: "SecureString", Value: value.value, KeyId: `key-${value.keyState}` }];
        }),
    );
    fs.writeFileSync(path.join(state, "aws", "store.json"), JSON.stringify({ accountId: "123456789012", region: "us-east-1", parameters: stored, kms, instances: {}, lifecycleHooks: {}, groups: {}, registry: { password: "" } }));
    return { bin, state };
}

function tool(command: string, args: string[], input?: string) {
    const result = spawnSync(command, args, { encoding: "utf8", input });
    if (result.error) throw new Error(`${command} is not installed (apt-get install shellcheck cloud-init): ${result.error.message}`);
    return result;
}

describe("swarm cloud-init", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-cloudinit-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const role of ROLES) {
        describe(role, () => {
            const rendered = renderCloudInit(settings(role));

            it("matches its golden file", () => {
                const golden = path.join(GOLDEN_DIR, `cloud-init-${role}.yaml`);
                if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, rendered);
                expect(rendered).to.equal(fs.readFileSync(golden, "utf8"));
            });

            it("fits EC2's 16 KB user-data limit, counted on the bytes EC2 is given", () => {
                expect(userDataBytes(settings(role)).length).to.be.lessThan(EC2_USER_DATA_LIMIT_BYTES);
            });

            it(`reaches cloud-init ${role === "worker" ? "as plain text" : "gzip-compressed"}, and cloud-init reads back exactly this cloud-config`, () => {
                const bytes = userDataBytes(settings(role));
                expect(bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])), "gzip magic").to.equal(role !== "worker");
                expect(cloudInitParts(bytes)).to.deep.equal([{ type: "text/cloud-config", payload: rendered }]);
            });

            it("fits it with an RSA-4096 key, a long stack name and a custom user too", () => {
                const config = stackConfigMap("dev", { "swarm.managers": 3, "swarm.sshPublicKey": RSA_4096_KEY, "swarm.sshUser": "deploy-operator" }).config;
                const long = bootstrapSettings(parseStackConfig(config, "dockyard-platform", "production-eu-west-1-blue"));
                expect(userDataProblems(long)).to.deep.equal([]);
                expect(Buffer.byteLength(renderCloudInit({ ...long, role }))).to.be.greaterThan(Buffer.byteLength(rendered));
            });

            it("passes cloud-init schema", () => {
                const file = path.join(dir, `${role}.yaml`);
                fs.writeFileSync(file, rendered);
                const result = tool("cloud-init", ["schema", "--config-file", file]);
                expect(result.status, result.stdout + result.stderr).to.equal(0);
                expect(result.stdout).to.include("Valid cloud-config");
            });

            it("ships its scripts without comments, and bash parses them exactly as their commented source", () => {
                const files = YAML.parse(rendered).write_files as { path: string; content: string }[];
                for (const [file, source] of Object.entries(nodeScripts(settings(role)))) {
                    const shipped = files.find((f) => f.path === file)?.content ?? "";
                    const comments = shipped.split("\n").filter((line, i) => i > 0 && /^\s*#/.test(line));
                    expect(comments.every((line) => /# shellcheck |\(rendered by /.test(line)), `${file}: ${comments.join("\n")}`).to.equal(true);
                    // declare -f prints a function as bash parsed it, comments gone: equal output means equal code.
                    const parsed = (script: string) =>
                        spawnSync("bash", ["-c", 'eval "dockyard_script() {\n$SCRIPT\n}" && declare -f dockyard_script'], { encoding: "utf8", env: { ...process.env, SCRIPT: script } });
                    const [ofSource, ofShipped] = [parsed(source), parsed(shipped)];
                    expect(ofSource.status, ofSource.stderr).to.equal(0);
                    expect(ofShipped.stdout, file).to.equal(ofSource.stdout);
                }
            });

            it("installs scripts that pass shellcheck", () => {
                const files = YAML.parse(rendered).write_files as { path: string; content: string; permissions: string }[];
                const scripts = files.filter((f) => f.content.startsWith("#!/bin/bash"));
                expect(scripts.map((f) => f.path)).to.deep.equal(Object.keys(nodeScripts(settings(role))));
                for (const script of scripts) {
                    expect(script.permissions).to.equal("0750");
                    const result = tool("shellcheck", ["-s", "bash", "-f", "gcc", "-"], script.content);
                    expect(result.status, `${script.path}:\n${result.stdout}${result.stderr}`).to.equal(0);
                }
            });
        });
    }

    it("the program refuses, before anything exists, a stack whose user data EC2 would refuse at launch", () => {
        const config = stackConfig("dev", { "swarm.managers": 3, "swarm.sshPublicKey": randomLookingKey(17_000) });
        const sizes = ROLES.map((role) => ({ role, bytes: userDataBytes({ ...bootstrapSettings(config), role }).length }));
        const over = sizes.filter((s) => s.bytes > EC2_USER_DATA_LIMIT_BYTES);
        expect(over.map((s) => s.role)).to.deep.equal(ROLES);
        expect(swarmConfigProblems(config)).to.deep.equal(
            over.map((s) => `the ${s.role} user data rendered from this stack is ${s.bytes} bytes${s.role === "worker" ? "" : " compressed"}; allowed: at most ${EC2_USER_DATA_LIMIT_BYTES} (EC2's limit): shorten the project or stack name, or use an ed25519 dockyard:swarm.sshPublicKey`),
        );
    });

    it("accepts a first manager whose bootstrap is over 16 KB as text: EC2 counts the compressed bytes (refused before compression)", () => {
        const config = stackConfig("dev", { "swarm.managers": 3, "swarm.sshPublicKey": randomLookingKey(2_000), "swarm.sshUser": "deploy-operator" });
        const first = { ...bootstrapSettings(config), role: "first-manager" as NodeRole };
        expect(Buffer.byteLength(renderCloudInit(first))).to.be.greaterThan(EC2_USER_DATA_LIMIT_BYTES);
        expect(userDataBytes(first).length).to.be.lessThan(EC2_USER_DATA_LIMIT_BYTES / 2);
        expect(swarmConfigProblems(config)).to.deep.equal([]);
    });

    it("docs/swarm.md's command for reading a manager's user data decodes what EC2 is given", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "swarm.md"), "utf8");
        const command = /`(aws ec2 describe-instance-attribute [^`]*)`/.exec(doc)?.[1] ?? "";
        expect(command).to.include("--attribute userData --query UserData.Value --output text |");
        // The AWS CLI prints UserData.Value as EC2 returns it: the base64 of the bytes it was given.
        const decode = command.slice(command.indexOf("|") + 1);
        // What EC2 holds for a manager launched now (gzip), and for one launched before (text).
        for (const given of [userDataBytes(settings("first-manager")), Buffer.from(renderCloudInit(settings("first-manager")))]) {
            const result = spawnSync("bash", ["-c", decode], { input: given.toString("base64"), encoding: "utf8" });
            expect(result.status, result.stderr).to.equal(0);
            expect(result.stdout).to.equal(renderCloudInit(settings("first-manager")));
        }
    });

    it("first manager rejoins an existing swarm before it would init, and publishes tokens as SecureStrings", () => {
        const script = nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"];
        const rejoin = script.indexOf("joining it instead of starting a second one");
        const init = script.indexOf("docker swarm init --advertise-addr");
        expect(rejoin).to.be.greaterThan(0);
        expect(init).to.be.greaterThan(rejoin);
        expect(script).to.include("publish manager-token SecureString docker swarm join-token -q manager\n");
        expect(script).to.include("publish worker-token SecureString docker swarm join-token -q worker\n");
        expect(script).to.include("--key-id \"$KMS_KEY\"");
        expect(script).to.include("PARAMETER_PATH='/dockyard/dev/swarm'");
        expect(script).to.include("refusing to start a second swarm");
        // A lone manager's replacement demotes the old manager right after joining, while 2 of 2 still form a quorum.
        expect(script).to.match(/if join_swarm manager "\$attempts"; then\n\s+if \[ "\$EXPECTED_MANAGERS" -eq 1 \]; then take_over_as_single_manager; fi/);
        expect(script).to.include("docker node demote \"$node\"");
    });

    it("starts the swarm with overlay subnets from swarm.overlayAddressPool, not Docker's 10.0.0.0/8 (issue 14 item 6; fails on a2f6c95)", () => {
        const script = nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"];
        expect(script).to.include("OVERLAY_POOL='10.200.0.0/16'\n");
        expect(script).to.include('docker swarm init --advertise-addr "$PRIVATE_IP" --listen-addr "$PRIVATE_IP:2377" \\\n    --default-addr-pool "$OVERLAY_POOL" --default-addr-pool-mask-length 24 >/dev/null\n');
        const custom = nodeScripts({ ...settings("first-manager"), overlayAddressPool: "172.16.0.0/16" })["/usr/local/sbin/dockyard-bootstrap"];
        expect(custom).to.include("OVERLAY_POOL='172.16.0.0/16'\n");
    });

    it("prints no join token: swarm init's join command goes nowhere, tokens reach SSM on stdin (issue 14 item 13; fails on a2f6c95)", () => {
        const script = nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"];
        const init = script.split("\n").filter((line) => line.includes("docker swarm init") || line.includes("--default-addr-pool "));
        expect(init[init.length - 1].trimEnd().endsWith(">/dev/null"), init.join("\n")).to.equal(true);
        // Every join-token call is piped into put_param, never echoed or logged.
        const joinTokenLines = script.split("\n").filter((line) => line.includes("join-token"));
        expect(joinTokenLines.map((l) => l.trim())).to.deep.equal([
            "publish manager-token SecureString docker swarm join-token -q manager",
            "publish worker-token SecureString docker swarm join-token -q worker",
        ]);
        expect(script).to.include('if "$@" | put_param "$name" "$type"; then return 0; fi');
    });

    it("retries publishing the join parameters while the role's policy propagates (issue 14 item 16; fails on a2f6c95)", () => {
        const script = nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"];
        expect(script).to.include("PUBLISH_ATTEMPTS=12\n");
        expect(script).to.match(/for attempt in \$\(seq 1 "\$PUBLISH_ATTEMPTS"\); do\n {4}if "\$@" \| put_param "\$name" "\$type"; then return 0; fi\n {4}log "could not publish \$JOIN_PATH\/\$name \(attempt \$attempt of \$PUBLISH_ATTEMPTS\)"\n {4}sleep "\$RETRY_SECONDS"/);
        expect(script).to.include('publish manager-addresses String echo "$PRIVATE_IP"\n');
    });

    it("a worker whose bootstrap fails marks itself unhealthy, ignoring the grace period, and starts no timers (issue 14 item 15; fails on a2f6c95)", () => {
        const worker = nodeScripts(settings("worker"))["/usr/local/sbin/dockyard-bootstrap"];
        expect(worker).to.include("trap report_failed_bootstrap EXIT\n");
        expect(worker).to.include('aws autoscaling set-instance-health --region "$REGION" --instance-id "$INSTANCE_ID" \\\n    --health-status Unhealthy --no-should-respect-grace-period');
        expect(worker.indexOf("trap report_failed_bootstrap EXIT")).to.be.greaterThan(worker.indexOf("INSTANCE_ID=$(imds meta-data/instance-id)"));
        // Timers start as the bootstrap's last step, so a failed bootstrap leaves them off.
        expect(worker.trimEnd().endsWith("start_timers")).to.equal(true);
        expect(YAML.parse(renderCloudInit(settings("worker"))).runcmd).to.deep.equal([["/usr/local/sbin/dockyard-bootstrap"]]);
        expect(nodeTimers("worker")).to.deep.equal(["dockyard-lifecycle.timer", "dockyard-prune.timer"]);
        expect(nodeTimers("manager")).to.deep.equal(["dockyard-reaper.timer", "dockyard-registry-refresh.timer", "dockyard-prune.timer"]);
        for (const role of ["first-manager", "manager"] as const) {
            const script = nodeScripts(settings(role))["/usr/local/sbin/dockyard-bootstrap"];
            expect(script, role).not.to.include("set-instance-health");
            expect(script.trimEnd().endsWith("start_timers"), role).to.equal(true);
        }
    });

    it("joins through every published manager in turn and undoes a failed attempt before the next (issue 14 item 3; fails on a2f6c95)", () => {
        for (const role of ROLES) {
            const script = nodeScripts(settings(role))["/usr/local/sbin/dockyard-bootstrap"];
            expect(script, role).to.include('addresses=$(manager_addresses)');
            expect(script, role).to.match(/for address in \$addresses; do\n {8}if docker swarm join --token "\$token" [^\n]* "\$address:2377"; then\n[\s\S]*?log "could not join through \$address as a \$kind"\n {8}undo_failed_join\n {6}done/);
            expect(script, role).to.include('if [ "$(swarm_state)" != inactive ]; then\n    docker swarm leave --force >/dev/null 2>&1 || true');
        }
        const reaper = nodeScripts(settings("manager"))["/usr/local/sbin/dockyard-reaper"];
        expect(reaper).to.include(`--format '{{if eq .ManagerStatus.Reachability "reachable"}}{{.ManagerStatus.Addr}}{{end}}'`);
        expect(reaper).to.include('--name "$JOIN_PATH/manager-addresses" --type String --overwrite --value "$addresses"');
    });

    it("nodes take the managers' addresses and tokens from the stack's join parameters, else from what an older stack's nodes published, while this deployment's key decrypts it (issue 14 item 4)", () => {
        const live = (value: string): Encrypted => ({ value, keyState: "Enabled" });
        const stale = (value: string): Encrypted => ({ value, keyState: "PendingDeletion" });
        for (const role of ROLES) {
            const script = nodeScripts(settings(role))["/usr/local/sbin/dockyard-bootstrap"];
            const run = (parameters: Record<string, string | Encrypted>, call: string) => {
                const { bin, state } = fakeAws(dir, parameters);
                const result = runFunctions(script, ["read_param", "get_param", "find_param", "manager_addresses"], call, bin, state);
                expect(result.stderr, role).to.equal("");
                return result.stdout;
            };
            const addresses = (parameters: Record<string, string | Encrypted>) => run(parameters, "manager_addresses");
            const unset = { "join/manager-addresses": JOIN_PARAMETER_UNSET, "join/worker-token": JOIN_PARAMETER_UNSET };
            expect(addresses({ ...unset, "join/manager-addresses": "10.0.1.10 10.0.2.11 10.0.3.12" }), role).to.equal("10.0.1.10 10.0.2.11 10.0.3.12\n");
            // The join parameters win over what older nodes published.
            expect(addresses({ "join/manager-addresses": "10.0.2.11", "worker-token": live("SWMTKN-1-old"), "manager-addresses": "10.0.9.9" }), role).to.equal("10.0.2.11\n");
            // A running swarm of an older stack, before its managers have this reaper: their path, this key.
            expect(addresses({ ...unset, "worker-token": live("SWMTKN-1-old"), "manager-addresses": "10.0.2.11 10.0.3.12" }), role).to.equal("10.0.2.11 10.0.3.12\n");
            expect(run({ ...unset, "worker-token": live("SWMTKN-1-old") }, "find_param worker-token"), role).to.equal("SWMTKN-1-old\n");
            // Managers bootstrapped before manager-addresses existed publish join-address alone; both: every address once, manager-addresses first.
            expect(addresses({ ...unset, "worker-token": live("SWMTKN-1-old"), "join-address": "10.0.1.10" }), role).to.equal("10.0.1.10\n");
            expect(addresses({ ...unset, "worker-token": live("SWMTKN-1-old"), "manager-addresses": "10.0.2.11 10.0.1.10", "join-address": "10.0.1.10" }), role).to.equal("10.0.2.11 10.0.1.10\n");
            // After a destroy: an earlier swarm's leftovers, under a key pending deletion, are nobody's.
            expect(addresses({ ...unset, "worker-token": stale("SWMTKN-1-old"), "manager-addresses": "10.0.2.11", "join-address": "10.0.1.10" }).trim(), role).to.equal("");
            expect(addresses({ ...unset, "manager-addresses": "10.0.2.11" }).trim(), role).to.equal("");
            expect(addresses({}).trim(), role).to.equal("");
            // Only manager_addresses reads them, and joins read tokens through find_param: every other place that looks for managers goes through them.
            expect(script.split("find_param manager-addresses").length - 1, role).to.equal(1);
            expect(script.split("find_param join-address").length - 1, role).to.equal(1);
            expect(script, role).to.include('token=$(find_param "$kind-token" || true)');
        }
        expect(nodeScripts(settings("worker"))["/usr/local/sbin/dockyard-bootstrap"]).to.include('if [ -n "$(manager_addresses)" ]; then return 0; fi');
        expect(nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"]).to.include('start_or_rejoin() {\n  wait_for_published_state\n  if [ -n "$(manager_addresses)" ]; then');
    });

    it("the first manager starts a swarm only when the stack's manager-addresses says none was, never on a read that failed (cold review of 70c7b30, M-C)", () => {
        const script = nodeScripts(settings("first-manager"))["/usr/local/sbin/dockyard-bootstrap"];
        const functions = ["read_param", "get_param", "find_param", "manager_addresses", "wait_for_published_state"];
        const decide = (parameters: Record<string, string | Encrypted>) => {
            const { bin, state } = fakeAws(dir, parameters);
            return runFunctions(script, functions, "WAIT_ATTEMPTS=2; RETRY_SECONDS=0; wait_for_published_state", bin, state);
        };
        expect(decide({ "join/manager-addresses": JOIN_PARAMETER_UNSET }).status, "the stack's placeholder: start").to.equal(0);
        expect(decide({ "join/manager-addresses": "10.0.1.10" }).status, "published: join").to.equal(0);
        // No parameter to read (the role's policy not yet visible reads the same way): asked again, then refused.
        const unreadable = decide({});
        expect(unreadable.status).to.equal(1);
        expect(unreadable.stdout).to.include("could not read /dockyard/dev/swarm/join/manager-addresses (attempt 2 of 2)");
        expect(unreadable.stdout).to.include("refusing to start a swarm without it");
        expect(script).to.include("start_or_rejoin() {\n  wait_for_published_state\n");
    });

    it("every node reads a join parameter the stack created but no node wrote yet as absent (issue 14 item 4; fails on c2b5733)", () => {
        for (const role of ROLES) {
            const script = nodeScripts(settings(role))["/usr/local/sbin/dockyard-bootstrap"];
            const read = (parameters: Record<string, string>, call: string) => {
                const { bin, state } = fakeAws(dir, parameters);
                return runFunctions(script, ["read_param", "get_param", "find_param", "manager_addresses"], call, bin, state);
            };
            // As the stack creates them (joinParameters.ts): the first manager then starts a swarm, the others wait.
            const created = { "join/manager-addresses": JOIN_PARAMETER_UNSET, "join/worker-token": JOIN_PARAMETER_UNSET };
            expect(read(created, "manager_addresses").stdout.trim(), role).to.equal("");
            const token = read(created, "get_param worker-token");
            expect([token.status, token.stdout], role).to.deep.equal([1, ""]);
            expect(read({ "join/worker-token": "SWMTKN-1-abc-def" }, "get_param worker-token").stdout, role).to.equal("SWMTKN-1-abc-def\n");
            expect(read({}, "get_param worker-token").status, role).to.equal(1);
        }
    });

    it("the leader's reaper publishes the join tokens whenever the published ones are not the swarm's: unset, written back, rotated, deleted (issue 14 item 4; cold review of 70c7b30, M-B)", () => {
        const reaper = nodeScripts(settings("manager"))["/usr/local/sbin/dockyard-reaper"];
        expect(reaper).to.match(/\npublish_tokens\n/);
        const run = (parameters: Record<string, string | Encrypted>) => {
            const { bin, state } = fakeAws(dir, parameters);
            const store = path.join(state, "aws", "store.json");
            const initial = JSON.parse(fs.readFileSync(store, "utf8"));
            initial.kms = { ...initial.kms, "alias/dockyard-dev-swarm": { KeyId: "unit-stack-key", KeyState: "Enabled" } };
            fs.writeFileSync(store, JSON.stringify(initial));
            // The manager's CLI: `docker swarm join-token -q <kind>` prints that kind's token.
            fs.writeFileSync(path.join(bin, "docker"), '#!/bin/bash\n[ "$1 $2 $3" = "swarm join-token -q" ] && echo "SWMTKN-1-unit-$4" || exit 9\n', { mode: 0o755 });
            const result = runFunctions(reaper, ["read_param", "get_param", "put_param", "publish_tokens"], "KMS_KEY='alias/dockyard-dev-swarm'; publish_tokens", bin, state);
            expect(result.status, result.stderr).to.equal(0);
            const stored = JSON.parse(fs.readFileSync(store, "utf8")).parameters as Record<string, { Type: string; Value: string; KeyId?: string; Version: number }>;
            return { output: result.stdout, stored };
        };
        // SecureStrings, as the stack creates them: PutParameter cannot change a parameter's type.
        const secure = (value: string): Encrypted => ({ value, keyState: "Enabled" });
        const unset = run({ "join/manager-token": secure(JOIN_PARAMETER_UNSET), "join/worker-token": secure(JOIN_PARAMETER_UNSET) });
        for (const kind of ["manager", "worker"]) {
            const stored = unset.stored[`/dockyard/dev/swarm/join/${kind}-token`];
            expect([stored.Type, stored.Value, stored.KeyId, stored.Version], kind).to.deep.equal(["SecureString", `SWMTKN-1-unit-${kind}`, "unit-stack-key", 2]);
            expect(unset.output).to.include(`published /dockyard/dev/swarm/join/${kind}-token`);
        }
        expect(unset.output, "no token in the reaper's output").not.to.include("SWMTKN-1-unit");
        const current = run({ "join/manager-token": secure("SWMTKN-1-unit-manager"), "join/worker-token": secure("SWMTKN-1-unit-worker") });
        expect(current.output).to.equal("");
        expect(current.stored["/dockyard/dev/swarm/join/worker-token"].Version, "left alone").to.equal(1);
        // Another swarm's token, or one the swarm rotated away: replaced by the swarm's own.
        const stale = run({ "join/manager-token": secure("SWMTKN-1-unit-manager"), "join/worker-token": secure("SWMTKN-1-before-rotation") });
        expect(stale.output).to.equal("test: published /dockyard/dev/swarm/join/worker-token\n");
        expect(stale.stored["/dockyard/dev/swarm/join/worker-token"].Value).to.equal("SWMTKN-1-unit-worker");
        // A parameter deleted outside the stack is written again too.
        expect(run({ "join/worker-token": secure("SWMTKN-1-unit-worker") }).stored["/dockyard/dev/swarm/join/manager-token"].Value).to.equal("SWMTKN-1-unit-manager");
        // What older managers published at the stack's path itself is not this reaper's: it fills the join parameters regardless.
        expect(run({ "join/manager-token": secure(JOIN_PARAMETER_UNSET), "join/worker-token": secure(JOIN_PARAMETER_UNSET), "worker-token": secure("SWMTKN-1-old") }).stored["/dockyard/dev/swarm/join/worker-token"].Value).to.equal("SWMTKN-1-unit-worker");
    });

    it("other nodes wait with bounded, logged retries and never init a swarm", () => {
        for (const role of ["manager", "worker"] as const) {
            const script = nodeScripts(settings(role))["/usr/local/sbin/dockyard-bootstrap"];
            expect(script).not.to.include("swarm init");
            expect(script).to.match(/for attempt in \$\(seq 1 "\$WAIT_ATTEMPTS"\)/);
            expect(script).to.include('log "waiting for $JOIN_PATH/manager-addresses');
            expect(script).to.include(`join_swarm ${role} "$JOIN_ATTEMPTS"`);
        }
    });

    it("configures Docker: awslogs to the stack's log group, ECR credential helper, AZ labels, live-restore off for swarm mode", () => {
        const script = nodeScripts(settings("worker"))["/usr/local/sbin/dockyard-bootstrap"];
        expect(script).to.include("LOG_GROUP='/dockyard/dev/swarm'");
        expect(script).to.include('"log-driver": "awslogs"');
        expect(script).to.include('{credHelpers: {($registry): "ecr-login"}}');
        expect(script).to.include("dockyard.az=\\($az)");
        expect(script).to.include('"live-restore": false');
        expect(YAML.parse(renderCloudInit(settings("worker"))).packages).to.include.members(["docker", "amazon-ecr-credential-helper"]);
    });

    it("workers leave through the lifecycle hook; managers drain terminating workers and remove dead nodes", () => {
        const lifecycle = nodeScripts(settings("worker"))["/usr/local/sbin/dockyard-lifecycle"];
        expect(lifecycle).to.include("autoscaling/target-lifecycle-state");
        expect(lifecycle.indexOf("docker swarm leave")).to.be.lessThan(lifecycle.indexOf("complete-lifecycle-action"));
        expect(lifecycle).to.include("WORKER_GROUP='dockyard-dev-swarm-workers'");
        const reaper = nodeScripts(settings("manager"))["/usr/local/sbin/dockyard-reaper"];
        expect(reaper).to.include("docker node update --availability drain");
        expect(reaper).to.include("docker node demote");
        expect(reaper).to.include("docker node rm --force");
        expect(reaper).to.include("Terminating:Wait");
    });

    it("the leader's reaper drains every worker the group terminates when the account's Auto Scaling instances take more than one page (fails before the reaper read page breaks as spaces)", () => {
        const manager = settings("manager");
        const reaper = nodeScripts(manager)["/usr/local/sbin/dockyard-reaper"];
        const state = fs.mkdtempSync(path.join(dir, "reaper-"));
        const bin = path.join(state, "bin");
        fs.mkdirSync(path.join(state, "aws"), { recursive: true });
        fs.mkdirSync(bin);
        fs.symlinkSync(path.join(PROJECT_ROOT, "scripts", "lab", "fakes", "aws"), path.join(bin, "aws"));
        // Two workers scaled in at once, with another group's 49 instances between them: the CLI gets
        // 50 instances a call, so each terminating worker comes on a page of its own.
        const instance = (instanceId: string, group: string, lifecycleState: string) => ({ node: instanceId, instanceId, ip: "10.0.0.99", az: "us-east-1a", group, lifecycleState, state: "running", launchTime: new Date().toISOString() });
        const instances = [
            instance("i-0worker0a", manager.workerGroupName, "Terminating:Wait"),
            ...Array.from({ length: 49 }, (_, i) => instance(`i-0other${i}`, "another-teams-group", "InService")),
            instance("i-0worker0b", manager.workerGroupName, "Terminating:Wait"),
        ];
        fs.writeFileSync(
            path.join(state, "aws", "store.json"),
            JSON.stringify({ accountId: "123456789012", region: manager.region, parameters: {}, kms: {}, instances: Object.fromEntries(instances.map((i) => [i.instanceId, i])), lifecycleHooks: {}, groups: {}, registry: { password: "" } }),
        );
        // The leader's docker: one ready worker node per terminating instance; a drain is recorded.
        const drained = path.join(state, "drained");
        const docker = [
            "#!/bin/bash",
            'case "$*" in',
            '  "node inspect self "*) echo true ;;',
            '  "node ls --filter role=manager -q" | "node inspect --format "*) ;;',
            "  \"node ls --format {{.ID}}\") printf 'node-a\\nnode-b\\n' ;;",
            "  \"node inspect node-a \"*) echo 'ready|worker|active|i-0worker0a|us-east-1a|us-east-1a' ;;",
            "  \"node inspect node-b \"*) echo 'ready|worker|active|i-0worker0b|us-east-1a|us-east-1a' ;;",
            '  "node update --availability drain "*) echo "${*: -1}" >>"$DRAINED" ;;',
            '  *) echo "unexpected: docker $*" >&2; exit 1 ;;',
            "esac",
        ];
        fs.writeFileSync(path.join(bin, "docker"), `${docker.join("\n")}\n`, { mode: 0o755 });
        const run = spawnSync("bash", ["-c", reaper], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DYLAB_STATE: state, DYLAB_NODE: "m1", DRAINED: drained } });
        expect(run.status, run.stdout + run.stderr).to.equal(0);
        expect(fs.existsSync(drained) ? fs.readFileSync(drained, "utf8").split("\n").filter(Boolean) : [], run.stdout + run.stderr).to.deep.equal(["node-a", "node-b"]);
    });

    it("puts the SSH public key on the node only when one is configured", () => {
        expect(YAML.parse(renderCloudInit(settings("first-manager"))).ssh_authorized_keys).to.have.length(1);
        const withoutKey = { ...settings("first-manager"), sshPublicKey: "" };
        expect(YAML.parse(renderCloudInit(withoutKey))).not.to.have.property("ssh_authorized_keys");
    });

    it("gives a custom swarm.sshUser passwordless sudo, with or without a key, as volumes.ts runs sudo (issue 14 item 19; fails on a2f6c95)", () => {
        for (const sshPublicKey of ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDockyardGoldenTestKey0000000000000000000000 golden@dockyard", ""]) {
            const doc = YAML.parse(renderCloudInit({ ...settings("first-manager"), sshUser: "deploy", sshPublicKey }));
            expect(doc.users, sshPublicKey ? "with a key" : "without a key").to.deep.equal([
                "default",
                { name: "deploy", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ...(sshPublicKey ? { ssh_authorized_keys: [sshPublicKey] } : {}) },
            ]);
            expect(doc).not.to.have.property("ssh_authorized_keys");
        }
        expect(CUSTOM_USER_SUDO).to.equal("ALL=(ALL) NOPASSWD:ALL");
        // ec2-user keeps AL2023's own sudo rule and is not redefined.
        expect(YAML.parse(renderCloudInit(settings("worker")))).not.to.have.property("users");
    });

    it("prunes unused images on every node once a day through a timer it enables (issue 14 item 20; fails on a2f6c95)", () => {
        for (const role of ROLES) {
            const doc = YAML.parse(renderCloudInit(settings(role)));
            const file = (p: string) => (doc.write_files as { path: string; content: string }[]).find((f) => f.path === p)?.content;
            expect(nodeScripts(settings(role))["/usr/local/sbin/dockyard-prune"], role).to.include("docker image prune --all --force");
            expect(file("/etc/systemd/system/dockyard-prune.service"), role).to.include("ExecStart=/usr/local/sbin/dockyard-prune\n");
            expect(file("/etc/systemd/system/dockyard-prune.timer"), role).to.include(`OnUnitInactiveSec=${PRUNE_EVERY_SECONDS}\n`);
            expect(nodeTimers(role), role).to.include("dockyard-prune.timer");
        }
        expect(PRUNE_EVERY_SECONDS).to.equal(86_400);
    });

    it("the readiness gate's script passes shellcheck and is bounded", () => {
        for (const whole of [false, true]) {
            const result = tool("shellcheck", ["-s", "bash", "-f", "gcc", "-"], readinessScript({
                sshTarget: "ec2-user@i-0123456789abcdef0",
                sshOptions: sshOptions({ access: "ssm", region: "us-east-1", sshUser: "ec2-user", identityFile: "~/.ssh/dockyard/dockyard-dev" }),
                managerIds: ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"],
                whole,
                workersNeeded: 1,
                timeoutSeconds: 900,
                pollSeconds: 15,
            }));
            expect(result.status, result.stdout + result.stderr).to.equal(0);
        }
        expect(tool("shellcheck", ["-s", "bash", "-f", "gcc", "-"], NOTHING_TO_CHECK).status).to.equal(0);
        const script = readinessScript({
            sshTarget: "ec2-user@i-0123456789abcdef0",
            sshOptions: sshOptions({ access: "ssm", region: "us-east-1", sshUser: "ec2-user", identityFile: "~/.ssh/dockyard/dockyard-dev" }),
            managerIds: ["i-0123456789abcdef0"],
            whole: false,
            workersNeeded: 1,
            timeoutSeconds: 900,
            pollSeconds: 15,
        });
        expect(script).to.include("deadline=$((SECONDS + 900))");
        expect(script).to.include("was not ready within 900 s");
        expect(script).to.include("'ProxyCommand=aws ssm start-session --region us-east-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p'");
    });
});
