/**
 * Runs the nodes' rendered scripts for real (bash, jq, coreutils) against stand-ins for aws,
 * docker, systemctl, curl (IMDS) and sleep that record every call and refuse what the real tools
 * refuse (test/fixtures/node-standins/standin.js). Each run is in its own mount namespace with
 * /etc/docker, /root/.docker and /home on tmpfs, so the scripts' writes never touch this machine.
 * The Swarm lab (scripts/lab) runs the same scripts against real engines.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { bootstrapSettings } from "../components/swarm/cluster";
import { NodeRole, nodeScripts, timersOf, UNSET } from "../components/swarm/cloudInit";
import { PROJECT_ROOT, stackConfig } from "./harness";

const STANDIN = path.join(PROJECT_ROOT, "test", "fixtures", "node-standins", "standin.js");
const TOOLS = ["aws", "docker", "systemctl", "curl", "sleep", "dnf", "usermod", "chown"];
const P = "/dockyard/dev/swarm";
const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

interface Setup {
    readonly managers?: number;
    /** SSM parameters by name under the stack path; the stack creates all three as `unset`. */
    readonly ssm?: Partial<Record<"manager-addresses" | "manager-token" | "worker-token", string>>;
    readonly deadManagers?: string[];
    readonly validTokens?: string[];
    readonly swarmState?: string;
    readonly leader?: boolean;
    readonly otherManagers?: string[];
    readonly services?: Record<string, { kind: string; mode: string; image: string }>;
    /** How many times an aws command (`"ssm put-parameter"`) fails before it works. */
    readonly awsFailures?: Record<string, number>;
}

interface Run {
    readonly status: number | null;
    readonly output: string;
    readonly calls: string[][];
    readonly published: { Name: string; Type: string; Value: string; Overwrite: boolean; KeyId?: string }[];
    readonly ssm: Record<string, { type: string; value: string }>;
}

function runScript(role: NodeRole, script: string, setup: Setup = {}): Run {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-bootstrap-"));
    try {
        const bin = path.join(dir, "bin");
        const state = path.join(dir, "state");
        fs.mkdirSync(bin);
        fs.mkdirSync(state);
        for (const tool of TOOLS) fs.symlinkSync(STANDIN, path.join(bin, tool));
        const types = { "manager-addresses": "String", "manager-token": "SecureString", "worker-token": "SecureString" } as const;
        const ssm = Object.fromEntries(Object.entries(types).map(([name, type]) => [`${P}/${name}`, { type, value: setup.ssm?.[name as keyof typeof types] ?? UNSET }]));
        const write = (name: string, value: string) => fs.writeFileSync(path.join(state, name), value);
        write("ssm", JSON.stringify(ssm));
        write("calls", "");
        write("dead-managers", (setup.deadManagers ?? []).join(" "));
        write("valid-tokens", (setup.validTokens ?? []).join(" "));
        write("swarm-state", setup.swarmState ?? "inactive");
        write("leader", String(setup.leader ?? false));
        write("other-managers", (setup.otherManagers ?? []).map((id) => `${id}\n`).join(""));
        write("services", JSON.stringify(setup.services ?? {}));
        write("aws-failures", JSON.stringify(setup.awsFailures ?? {}));
        write(
            "imds",
            JSON.stringify({
                "meta-data/instance-id": "i-0new",
                "meta-data/placement/availability-zone": "us-east-1b",
                "meta-data/local-ipv4": "10.0.1.10",
                "dynamic/instance-identity/document": JSON.stringify({ accountId: "123456789012" }),
            }),
        );
        const settings = { ...bootstrapSettings(stackConfig("dev", { "swarm.managers": setup.managers ?? 3 })), role };
        const file = path.join(dir, "script");
        fs.writeFileSync(file, nodeScripts(settings)[`/usr/local/sbin/${script}`]);
        const isolate = 'mount -t tmpfs tmpfs /etc/docker && mount -t tmpfs tmpfs /home && mkdir -p /root/.docker && mount -t tmpfs tmpfs /root/.docker && exec bash "$0"';
        const result = spawnSync("unshare", ["--mount", "bash", "-c", isolate, file], {
            encoding: "utf8",
            // stdin from /dev/null: on a socket (node's default pipe) bash thinks it runs under rshd and reads ~/.bashrc.
            stdio: ["ignore", "pipe", "pipe"],
            env: { PATH: `${bin}:/usr/bin:/bin`, STANDIN_STATE: state, HOME: "/root" },
            timeout: 60_000,
        });
        if (result.error) throw result.error;
        const lines = (name: string) =>
            fs.existsSync(path.join(state, name))
                ? fs.readFileSync(path.join(state, name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
                : [];
        return {
            status: result.status,
            output: result.stdout + result.stderr,
            calls: lines("calls"),
            published: lines("published"),
            ssm: JSON.parse(fs.readFileSync(path.join(state, "ssm"), "utf8")),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const swarmCalls = (run: Run) => run.calls.filter((c) => c[0] === "docker" && c[1] === "swarm").map((c) => c.join(" "));
const calls = (run: Run, tool: string, ...prefix: string[]) => run.calls.filter((c) => c[0] === tool && prefix.every((p, i) => c[i + 1] === p)).map((c) => c.slice(1).join(" "));
const joinCall = (kind: string, address: string) =>
    `docker swarm join --token SWMTKN-1-old-${kind} --advertise-addr 10.0.1.10 --listen-addr 10.0.1.10:2377 ${address}:2377`;

describe("swarm node scripts, run", function () {
    this.timeout(120_000);

    it("first manager of a new stack: inits with the overlay pool, publishes every parameter through stdin, and never prints a token", () => {
        const run = runScript("first-manager", "dockyard-bootstrap");
        expect(run.status, run.output).to.equal(0);
        expect(swarmCalls(run)).to.deep.equal([
            "docker swarm leave --force",
            "docker swarm init --advertise-addr 10.0.1.10 --listen-addr 10.0.1.10:2377 --default-addr-pool 10.200.0.0/16",
            "docker swarm join-token -q manager",
            "docker swarm join-token -q worker",
        ]);
        expect(run.published).to.deep.equal([
            { Name: `${P}/manager-token`, Type: "SecureString", Value: "SWMTKN-1-new-manager", Overwrite: true, KeyId: "alias/dockyard-dev-swarm" },
            { Name: `${P}/worker-token`, Type: "SecureString", Value: "SWMTKN-1-new-worker", Overwrite: true, KeyId: "alias/dockyard-dev-swarm" },
            { Name: `${P}/manager-addresses`, Type: "String", Value: "10.0.1.10", Overwrite: true },
        ]);
        // No token on any command line of aws, and none in the output cloud-init logs to the console.
        expect(calls(run, "aws", "ssm", "put-parameter").join("\n")).not.to.include("SWMTKN");
        expect(run.output).not.to.include("SWMTKN");
        expect(run.output).to.include("started a new swarm at 10.0.1.10 with overlay pool 10.200.0.0/16");
        expect(calls(run, "systemctl")).to.deep.equal([
            "enable --now docker",
            "daemon-reload",
            ...timersOf("first-manager").map((t) => `enable --now ${t}.timer`),
        ]);
        expect(timersOf("first-manager")).to.deep.equal(["dockyard-reaper", "dockyard-registry-auth", "dockyard-image-prune", "dockyard-security-updates"]);
    });

    it("publishing retries with backoff while the instance profile's permissions propagate", () => {
        const run = runScript("first-manager", "dockyard-bootstrap", { awsFailures: { "ssm put-parameter": 2 } });
        expect(run.status, run.output).to.equal(0);
        expect(calls(run, "sleep")).to.deep.equal(["2", "4"]);
        expect(run.output).to.include(`could not publish ${P}/manager-token (attempt 2 of 8); retrying in 4 s`);
        expect(run.ssm[`${P}/manager-token`]).to.deep.equal({ type: "SecureString", value: "SWMTKN-1-new-manager" });
    });

    it("a worker tries every published manager, undoing the timed-out join before the next", () => {
        const run = runScript("worker", "dockyard-bootstrap", {
            ssm: { "manager-addresses": "10.0.1.9 10.0.2.9", "worker-token": "SWMTKN-1-old-worker" },
            deadManagers: ["10.0.1.9"],
            validTokens: ["SWMTKN-1-old-worker"],
        });
        expect(run.status, run.output).to.equal(0);
        expect(swarmCalls(run)).to.deep.equal([
            "docker swarm leave --force",
            joinCall("worker", "10.0.1.9"),
            "docker swarm leave --force",
            joinCall("worker", "10.0.2.9"),
        ]);
        expect(run.output).to.include("could not join through 10.0.1.9 as a worker: Error response from daemon: Timeout was reached before node joined.");
        expect(run.output).to.include("joined the swarm through 10.0.2.9 as a worker");
        expect(calls(run, "aws", "autoscaling")).to.deep.equal([]);
        expect(calls(run, "systemctl")).to.deep.equal([
            "enable --now docker",
            "daemon-reload",
            "enable --now dockyard-lifecycle.timer",
            "enable --now dockyard-image-prune.timer",
            "enable --now dockyard-security-updates.timer",
        ]);
    });

    it("a worker waits while the parameters are still the stack's placeholder, then marks itself unhealthy and enables no timer", () => {
        const run = runScript("worker", "dockyard-bootstrap");
        expect(run.status).to.not.equal(0);
        expect(calls(run, "aws", "ssm", "get-parameter")).to.have.length(60);
        expect(swarmCalls(run)).to.deep.equal(["docker swarm leave --force"]);
        expect(calls(run, "aws", "autoscaling")).to.deep.equal([
            "autoscaling set-instance-health --region us-east-1 --instance-id i-0new --health-status Unhealthy --no-should-respect-grace-period",
        ]);
        expect(calls(run, "systemctl")).to.deep.equal(["enable --now docker"]);
        expect(run.output).to.include(`gave up: no swarm published its join parameters under ${P}`);
    });

    it("a lone manager's replacement whose old swarm died: three rounds of undone joins, then a new swarm", () => {
        const run = runScript("first-manager", "dockyard-bootstrap", {
            managers: 1,
            ssm: { "manager-addresses": "10.0.1.5", "manager-token": "SWMTKN-1-old-manager", "worker-token": "SWMTKN-1-old-worker" },
            deadManagers: ["10.0.1.5"],
            validTokens: ["SWMTKN-1-old-manager"],
        });
        expect(run.status, run.output).to.equal(0);
        const undoneJoin = [joinCall("manager", "10.0.1.5"), "docker swarm leave --force"];
        expect(swarmCalls(run)).to.deep.equal([
            "docker swarm leave --force",
            ...undoneJoin,
            ...undoneJoin,
            ...undoneJoin,
            "docker swarm init --advertise-addr 10.0.1.10 --listen-addr 10.0.1.10:2377 --default-addr-pool 10.200.0.0/16",
            "docker swarm join-token -q manager",
            "docker swarm join-token -q worker",
        ]);
        expect(run.ssm[`${P}/manager-addresses`].value).to.equal("10.0.1.10");
        expect(run.output).to.include("the single manager of the old swarm is gone; starting a new swarm");
    });

    it("a replaced first manager of three joins the live swarm and never starts a second one", () => {
        const joined = runScript("first-manager", "dockyard-bootstrap", {
            ssm: { "manager-addresses": "10.0.2.7 10.0.3.7", "manager-token": "SWMTKN-1-old-manager" },
            deadManagers: ["10.0.2.7"],
            validTokens: ["SWMTKN-1-old-manager"],
        });
        expect(joined.status, joined.output).to.equal(0);
        expect(swarmCalls(joined)).to.deep.equal(["docker swarm leave --force", joinCall("manager", "10.0.2.7"), "docker swarm leave --force", joinCall("manager", "10.0.3.7")]);
        expect(joined.published).to.deep.equal([]);
        const refused = runScript("first-manager", "dockyard-bootstrap", {
            ssm: { "manager-addresses": "10.0.2.7", "manager-token": "SWMTKN-1-old-manager" },
            deadManagers: ["10.0.2.7"],
            validTokens: ["SWMTKN-1-old-manager"],
        });
        expect(refused.status).to.not.equal(0);
        expect(swarmCalls(refused).filter((c) => c.startsWith("docker swarm init"))).to.deep.equal([]);
        expect(refused.output).to.include("refusing to start a second swarm");
        expect(calls(refused, "systemctl")).to.deep.equal(["enable --now docker"]);
    });

    it("the registry-auth timer refreshes services from the stack's registry on the leader only, never a job", () => {
        const services = {
            api: { kind: "service", mode: "", image: `${REGISTRY}/dockyard-dev-api:v1@sha256:aa` },
            migrate: { kind: "job", mode: "", image: `${REGISTRY}/dockyard-dev-api:v1@sha256:aa` },
            cron: { kind: "", mode: "job", image: `${REGISTRY}/dockyard-dev-cron:v1` },
            redis: { kind: "service", mode: "", image: "redis:7.4-alpine" },
        };
        const leader = runScript("manager", "dockyard-registry-auth", { leader: true, services });
        expect(leader.status, leader.output).to.equal(0);
        expect(calls(leader, "docker", "service", "update")).to.deep.equal(["service update --with-registry-auth --detach --quiet api"]);
        expect(leader.output).to.include("refreshed the registry auth of service api");
        const follower = runScript("manager", "dockyard-registry-auth", { leader: false, services });
        expect(follower.status, follower.output).to.equal(0);
        expect(calls(follower, "docker", "service")).to.deep.equal([]);
    });
});
