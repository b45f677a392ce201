/**
 * The managers' registry-auth refresh (issue 14 item 1, the nodes' half; components/swarm/registryRefresh.ts):
 * the rendered script runs against a fake `docker` that knows only the calls the real CLI takes in
 * the forms the script uses, over a fixture of services, and records them.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import * as YAML from "yaml";
import { bootstrapSettings } from "../components/swarm/cluster";
import { nodeScripts, nodeTimers, renderCloudInit } from "../components/swarm/cloudInit";
import {
    REGISTRY_REFRESH_EVERY_SECONDS,
    REGISTRY_REFRESH_PATH,
    REGISTRY_REFRESH_TIMEOUT_SECONDS,
    REGISTRY_REFRESH_TIMER,
    registryRefreshScript,
    registryRefreshUnits,
} from "../components/swarm/registryRefresh";
import { stackConfig } from "./harness";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/** A second registry the CLI config names, as one a user adds by hand would be. */
const OTHER_REGISTRY = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

interface FakeService {
    id: string;
    name: string;
    image: string;
    labels: Record<string, string>;
    updateState?: string;
    /** When the update started (seconds since the epoch), as UpdateStatus.StartedAt. */
    updateStarted?: number;
    /** The daemon refuses its update (e.g. "update out of sequence"). */
    refuses?: boolean;
    /** Removed after `service ls` listed it: its inspect finds no such service. */
    removedAfterListing?: boolean;
    /** The daemon fails its inspect (e.g. a manager that lost quorum). */
    inspectFails?: boolean;
}

/**
 * The fake CLI. `service ls --filter label=K=V` matches like dockerd (the label K with the value V);
 * `service inspect` answers only the script's format; `service update` takes only
 * `--with-registry-auth --detach ID` and, as the real CLI does, prints the service id on success.
 */
const FAKE_DOCKER = String.raw`#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const world = JSON.parse(fs.readFileSync(process.env.FAKE_WORLD, "utf8"));
// Which token the CLI would send (its config's auths for the image's registry), recorded as whether it is the helper's, never the token.
const configured = (() => {
  try { return JSON.parse(fs.readFileSync(process.env.DOCKER_CONFIG + "/config.json", "utf8")).auths || {}; } catch { return {}; }
})();
const sends = Object.fromEntries(Object.entries(configured).map(([host, a]) => [host, a.auth === Buffer.from("AWS:T0KEN-never-printed").toString("base64")]));
fs.appendFileSync(process.env.FAKE_CALLS, JSON.stringify({ args, env: { DOCKER_CONFIG: process.env.DOCKER_CONFIG, AWS_ECR_DISABLE_CACHE: process.env.AWS_ECR_DISABLE_CACHE }, sendsHelperToken: sends }) + "\n");
const refuse = (why) => { process.stderr.write("fake docker: " + why + ": " + args.join(" ") + "\n"); process.exit(1); };
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const byId = (id) => world.services.find((s) => s.id === id) || refuse("Error: no such service: " + id);
if (same(args, ["node", "inspect", "self", "--format", "{{.ManagerStatus.Leader}}"])) {
  if (!world.inSwarm) refuse("Error response from daemon: This node is not a swarm manager.");
  process.stdout.write(String(world.leader) + "\n");
} else if (args[0] === "service" && args[1] === "ls" && args.length === 5 && args[2] === "-q" && args[3] === "--filter" && args[4].startsWith("label=")) {
  const [key, value] = args[4].slice(6).split(/=(.*)/s);
  for (const s of world.services) if (value === undefined ? key in s.labels : s.labels[key] === value) process.stdout.write(s.id + "\n");
} else if (args[0] === "service" && args[1] === "inspect" && args.length === 5 && args[3] === "--format") {
  if (args[4] !== "{{.Spec.Name}}|{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{with .UpdateStatus}}{{.State}}|{{with .StartedAt}}{{.Unix}}{{end}}{{end}}") refuse("unexpected format");
  const s = byId(args[2]);
  // The 20.10 CLI's words (docker/cli cli/command/service/inspect.go); newer ones drop "Error: ".
  if (s.removedAfterListing) refuse("Error: no such service: " + s.id);
  if (s.inspectFails) refuse("Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader.");
  // As the template renders: nothing at all without an update status.
  process.stdout.write(s.name + "|" + s.image + "|" + (s.updateState ? s.updateState + "|" + (s.updateStarted ?? "") : "") + "\n");
} else if (args[0] === "service" && args[1] === "update") {
  if (!same(args.slice(2, -1), ["--with-registry-auth", "--detach"])) refuse("only --with-registry-auth --detach");
  const s = byId(args[args.length - 1]);
  if (s.refuses) refuse("Error response from daemon: rpc error: code = Unknown desc = update out of sequence");
  process.stdout.write(s.id + "\n");
} else refuse("not a call the refresh makes");
`;

/**
 * The fake amazon-ecr-credential-helper: the server on stdin; a token for a host the world says it
 * has one for, else what the real helper answers to any failed AWS call (ecr-login/ecr.go Get:
 * credentials not found, exit 1). Records the host only.
 */
const FAKE_HELPER = String.raw`#!/usr/bin/env node
const fs = require("fs");
const world = JSON.parse(fs.readFileSync(process.env.FAKE_WORLD, "utf8"));
const server = fs.readFileSync(0, "utf8").trim();
fs.appendFileSync(process.env.FAKE_CALLS, JSON.stringify({ args: ["helper", process.argv[2], server], env: { AWS_ECR_DISABLE_CACHE: process.env.AWS_ECR_DISABLE_CACHE } }) + "\n");
if (process.argv[2] !== "get") process.exit(1);
if ((world.tokenless || []).includes(server)) { process.stdout.write("credentials not found in native keychain\n"); process.exit(1); }
process.stdout.write(JSON.stringify({ ServerURL: server, Username: "AWS", Secret: TOKEN }) + "\n");
`.replace("TOKEN", JSON.stringify("T0KEN-never-printed"));

function run(world: { inSwarm: boolean; leader: boolean; services: FakeService[]; tokenless?: string[] }, withRuntimeDirectory = true) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-refresh-"));
    // What systemd makes for the unit's RuntimeDirectory= (systemd.exec(5)).
    const runtimeDirectory = path.join(dir, "run");
    fs.mkdirSync(runtimeDirectory, { mode: 0o700 });
    try {
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "docker"), FAKE_DOCKER, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "docker-credential-ecr-login"), FAKE_HELPER, { mode: 0o755 });
        fs.mkdirSync(path.join(dir, "docker-config"));
        // What the bootstrap writes (cloudInit.ts configure_docker).
        fs.writeFileSync(path.join(dir, "docker-config", "config.json"), JSON.stringify({ credHelpers: { [REGISTRY]: "ecr-login", [OTHER_REGISTRY]: "ecr-login" } }));
        fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(world));
        fs.writeFileSync(path.join(dir, "calls.jsonl"), "");
        const result = spawnSync("bash", ["-c", registryRefreshScript()], {
            encoding: "utf8",
            env: {
                PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                DOCKER_CONFIG: path.join(dir, "docker-config"),
                FAKE_WORLD: path.join(dir, "world.json"),
                FAKE_CALLS: path.join(dir, "calls.jsonl"),
                // What systemd sets for the unit's RuntimeDirectory= (systemd.exec(5)).
                ...(withRuntimeDirectory ? { RUNTIME_DIRECTORY: runtimeDirectory } : {}),
            },
        });
        const calls = fs
            .readFileSync(path.join(dir, "calls.jsonl"), "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line) as { args: string[]; env: Record<string, string | undefined>; sendsHelperToken?: Record<string, boolean> })
            .map((call) => ({ ...call, env: { ...call.env, DOCKER_CONFIG: call.env.DOCKER_CONFIG?.replace(runtimeDirectory, "$RUNTIME_DIRECTORY") } as Record<string, string | undefined> }));
        expect(result.stdout + result.stderr).not.to.include("T0KEN");
        return {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            calls,
            updates: calls.filter((c) => c.args[1] === "update").map((c) => c.args),
            tokenRequests: calls.filter((c) => c.args[0] === "helper").map((c) => c.args.slice(1)),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const service = (id: string, over: Partial<FakeService> = {}): FakeService => ({
    id,
    name: `dev-${id}`,
    image: `${REGISTRY}/dockyard/dev/${id}@sha256:${"a".repeat(64)}`,
    labels: { "dockyard.stack": "dev", "dockyard.workload": id, "dockyard.kind": "service" },
    ...over,
});

describe("swarm registry-auth refresh", () => {
    it("on the leader, stores a fresh auth in every long-running service of the stack's registry with nothing else changed, through the uncached ECR helper", () => {
        const out = run({
            inSwarm: true,
            leader: true,
            services: [
                service("api"),
                service("web"),
                service("migrate", { labels: { "dockyard.stack": "dev", "dockyard.workload": "migrate", "dockyard.kind": "job" } }),
                service("redis", { image: "redis:7.4-alpine@sha256:" + "b".repeat(64) }),
                service("other", { image: "ghcr.io/acme/other:1" }),
                service("manual", { labels: {} }),
            ],
        });
        expect(out.status, out.stderr).to.equal(0);
        expect(out.updates).to.deep.equal([
            ["service", "update", "--with-registry-auth", "--detach", "api"],
            ["service", "update", "--with-registry-auth", "--detach", "web"],
        ]);
        // A job is never even inspected: a registry-auth update re-runs a finished job (registryRefresh.ts).
        expect(out.calls.some((c) => c.args.includes("migrate"))).to.equal(false);
        // The check fetches afresh; every update reads the token it checked from the run's config, so the CLI runs no helper.
        for (const call of out.calls.filter((c) => c.args[0] === "helper")) expect(call.env.AWS_ECR_DISABLE_CACHE).to.equal("1");
        for (const call of out.calls.filter((c) => c.args[1] === "update")) {
            expect(call.env.DOCKER_CONFIG).to.equal(`$RUNTIME_DIRECTORY/${REGISTRY}`);
            expect(call.sendsHelperToken).to.deep.equal({ [REGISTRY]: true });
        }
        expect(out.stdout).to.equal("refreshed dev-api\nrefreshed dev-web\n");
        // Asked once for the registry before its first update; never for images of other registries.
        expect(out.tokenRequests).to.deep.equal([["get", REGISTRY]]);
        expect(out.calls.findIndex((c) => c.args[0] === "helper")).to.be.below(out.calls.findIndex((c) => c.args[1] === "update"));
    });

    it("touches no service of a registry the helper has no token for, which the CLI would store as an empty auth, and fails", () => {
        const other = OTHER_REGISTRY;
        const world = { inSwarm: true, leader: true, tokenless: [REGISTRY], services: [service("api"), service("web"), service("eu", { image: `${other}/eu:1` })] };
        const out = run(world);
        expect(out.status).to.equal(1);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["eu"]);
        expect(out.tokenRequests).to.deep.equal([["get", REGISTRY], ["get", other]]);
        expect(out.stderr).to.include(`not refreshed dev-api: docker-credential-ecr-login has no token for ${REGISTRY}\n`);
        expect(out.stderr).to.include(`not refreshed dev-web: docker-credential-ecr-login has no token for ${REGISTRY}\n`);
        expect(out.stdout).to.equal("refreshed dev-eu\n");
    });

    it("leaves a service whose update is in flight or halted alone, since a spec update would restart or resume it; a halted one fails the run", () => {
        const states = ["updating", "paused", "rollback_started", "rollback_paused"];
        const world = {
            inSwarm: true,
            leader: true,
            services: [...states.map((state) => service(state.replace("_", "-"), { updateState: state })), service("done", { updateState: "completed" }), service("back", { updateState: "rollback_completed" })],
        };
        const out = run(world);
        expect(out.status, out.stderr).to.equal(1);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["done", "back"]);
        for (const state of ["updating", "rollback_started"]) expect(out.stdout).to.include(`skipped dev-${state.replace("_", "-")}: its update is ${state}\n`);
        for (const state of ["paused", "rollback_paused"]) expect(out.stderr).to.include(`not refreshed dev-${state.replace("_", "-")}: its update is ${state}\n`);
        const inFlightOnly = run({ ...world, services: world.services.filter((s) => !["paused", "rollback_paused"].includes(s.updateState ?? "")) });
        expect(inFlightOnly.status, inFlightOnly.stderr).to.equal(0);
    });

    it("fails on an update under way for over an hour, which is stuck (a task that cannot be scheduled), instead of skipping it on every run", () => {
        const now = Math.floor(Date.now() / 1000);
        const out = run({
            inSwarm: true,
            leader: true,
            services: [
                service("fresh", { updateState: "updating", updateStarted: now - 600 }),
                service("stuck", { updateState: "updating", updateStarted: now - 7200 }),
                // Rolled back by swarmkit itself: StartedAt stays the update's start (review-refresh4 F2).
                service("rolling-back", { updateState: "rollback_started", updateStarted: now - 7200 }),
                service("api"),
            ],
        });
        expect(out.status).to.equal(1);
        expect(out.stdout).to.include("skipped dev-fresh: its update is updating\n");
        expect(out.stderr).to.include(`not refreshed dev-stuck: its update, started ${new Date((now - 7200) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")}, is still updating after more than 1 h\n`);
        expect(out.stderr).to.include(`not refreshed dev-rolling-back: its update, started ${new Date((now - 7200) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")}, is still rollback_started after more than 1 h\n`);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["api"]);
    });

    it("does nothing on a manager that is not the leader, and says so; fails on one that cannot ask dockerd", () => {
        const follower = run({ inSwarm: true, leader: false, services: [service("api")] });
        expect(follower.status, follower.stderr).to.equal(0);
        expect(follower.stdout).to.equal("not the leader: nothing to refresh\n");
        const off = run({ inSwarm: false, leader: false, services: [service("api")] });
        expect(off.status).to.equal(1);
        expect(off.stderr).to.include("This node is not a swarm manager.");
        for (const out of [follower, off]) expect(out.calls.map((c) => c.args.slice(0, 2))).to.deep.equal([["node", "inspect"]]);
    });

    it("refreshes the rest when one update is refused, and then fails so systemd shows it", () => {
        const out = run({ inSwarm: true, leader: true, services: [service("api", { refuses: true }), service("web")] });
        expect(out.status).to.equal(1);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["api", "web"]);
        expect(out.stderr).to.include("update out of sequence");
        expect(out.stderr).to.include("could not refresh dev-api\n");
        expect(out.stdout).to.equal("refreshed dev-web\n");
    });

    it("skips a service removed since the listing, and refreshes the rest", () => {
        const out = run({ inSwarm: true, leader: true, services: [service("api", { removedAfterListing: true }), service("web")] });
        expect(out.status, out.stderr).to.equal(0);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["web"]);
        expect(out.stdout).to.equal("skipped api: removed since it was listed\nrefreshed dev-web\n");
    });

    it("fails, naming the service and the daemon's words, when it cannot inspect one, and refreshes the rest (the old script passed over it and succeeded)", () => {
        const out = run({ inSwarm: true, leader: true, services: [service("api", { inspectFails: true }), service("web")] });
        expect(out.status).to.equal(1);
        expect(out.updates.map((u) => u[u.length - 1])).to.deep.equal(["web"]);
        expect(out.stderr).to.include("could not inspect service api: fake docker: Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader.");
        expect(out.stdout).to.equal("refreshed dev-web\n");
    });

    it("refuses to run outside its unit, which gives it the cache directory", () => {
        const out = run({ inSwarm: true, leader: true, services: [service("api")] }, false);
        expect(out.status).to.equal(1);
        expect(out.stderr).to.include("RUNTIME_DIRECTORY: run it with systemctl start dockyard-registry-refresh");
        expect(out.calls).to.deep.equal([]);
    });

    it("passes shellcheck", () => {
        const result = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { encoding: "utf8", input: registryRefreshScript() });
        if (result.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${result.error.message}`);
        expect(result.status, result.stdout).to.equal(0);
    });

    it("runs every 3 hours, so a 12-hour ECR token outlives two missed runs, each as long as its timeout", () => {
        expect(REGISTRY_REFRESH_EVERY_SECONDS).to.equal(10_800);
        // OnUnitInactiveSec counts from the end of a run: the third start after a good one is three intervals and three runs later.
        expect(3 * (REGISTRY_REFRESH_EVERY_SECONDS + REGISTRY_REFRESH_TIMEOUT_SECONDS)).to.be.lessThan(12 * 3600);
        const [unit, timer] = registryRefreshUnits();
        expect(unit).to.deep.include({ path: "/etc/systemd/system/dockyard-registry-refresh.service" });
        expect(unit.content).to.include(`[Service]\nType=oneshot\nTimeoutStartSec=900\nRuntimeDirectory=dockyard-registry-refresh\nRuntimeDirectoryMode=0700\nExecStart=${REGISTRY_REFRESH_PATH}\n`);
        expect(timer).to.deep.include({ path: "/etc/systemd/system/dockyard-registry-refresh.timer" });
        expect(timer.content).to.include(`OnUnitInactiveSec=${REGISTRY_REFRESH_EVERY_SECONDS}\n`);
        expect(timer.content).to.include("WantedBy=timers.target\n");
    });

    it("is installed and started on every manager, after the join, and on no worker", () => {
        const settings = bootstrapSettings(stackConfig("dev", { "swarm.managers": 3 }));
        for (const role of ["first-manager", "manager"] as const) {
            const files = YAML.parse(renderCloudInit({ ...settings, role })).write_files as { path: string; content: string }[];
            expect(files.find((f) => f.path === REGISTRY_REFRESH_PATH)?.content, role).to.equal(registryRefreshScript());
            for (const entry of registryRefreshUnits()) expect(files.find((f) => f.path === entry.path)?.content, role).to.equal(entry.content);
            expect(nodeTimers(role), role).to.include(REGISTRY_REFRESH_TIMER);
            expect(nodeScripts({ ...settings, role })[REGISTRY_REFRESH_PATH], role).to.equal(registryRefreshScript());
        }
        expect(nodeTimers("worker")).not.to.include(REGISTRY_REFRESH_TIMER);
        expect(renderCloudInit({ ...settings, role: "worker" })).not.to.include("registry-refresh");
    });
});
