/**
 * The readiness gate's script run for real, against a stand-in `ssh` that answers with a given
 * `docker node ls` listing (or refuses), and where the workloads of a stack may run.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AZ_NODE_LABEL, workloadNodes } from "../components/swarm/cluster";
import { NODE_LISTING_COMMAND, readinessScript } from "../components/swarm/readiness";
import { ANY_NODE, swarmPlacement } from "../components/swarm/service";

const M = ["i-0aaa", "i-0bbb", "i-0ccc"];

/** Runs the gate with an `ssh` on PATH that prints `listing` (exit 0) or `error` (exit 255). */
function runGate(answer: { listing?: string; error?: string }, check: { managerIds?: string[]; whole?: boolean; workersNeeded?: number } = {}) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-gate-"));
    try {
        fs.writeFileSync(path.join(bin, "answer"), answer.listing ?? answer.error ?? "");
        fs.writeFileSync(path.join(bin, "expected"), NODE_LISTING_COMMAND);
        const reply = answer.listing !== undefined ? `cat ${bin}/answer` : `cat ${bin}/answer >&2; exit 255`;
        // The stand-in insists on the command the gate must send, as the manager's shell would run it.
        fs.writeFileSync(
            path.join(bin, "ssh"),
            `#!/bin/bash\n[ "\${*: -1}" = "$(cat ${bin}/expected)" ] || { echo "unexpected command: \${*: -1}" >&2; exit 2; }\n${reply}\n`,
            { mode: 0o755 },
        );
        const script = readinessScript({
            sshTarget: "ec2-user@i-0aaa",
            sshOptions: ["-o", "BatchMode=yes"],
            managerIds: check.managerIds ?? M,
            whole: check.whole ?? false,
            workersNeeded: check.workersNeeded ?? 0,
            timeoutSeconds: 2,
            pollSeconds: 1,
        });
        return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 20_000 });
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

/** Lines as NODE_LISTING_COMMAND prints them: role state availability reachability instance-id. */
const manager = (id: string, state = "ready", reachability = "reachable") => `manager ${state} active ${reachability} ${id}`;
const worker = (id: string, state = "ready", availability = "active") => `worker ${state} ${availability} none ${id}`;
const listing = (...lines: string[]) => lines.join("\n") + "\n";

describe("swarm readiness gate", () => {
    it("passes once every manager of the stack is a Ready, Reachable manager and enough workers are Ready", () => {
        const result = runGate({ listing: listing(...M.map((id) => manager(id)), worker("i-0w1")) }, { workersNeeded: 1 });
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout).to.equal("swarm ready on ec2-user@i-0aaa: 3 managers Ready and Reachable, 1 workers Ready\n");
    });

    it("waits for the manager an up has just created, even when the old one it replaces still answers (cold review of b62a90a, H1)", () => {
        // Pulumi deletes the replaced i-0old only after the up's creates and updates: three Ready managers are listed, but not i-0ccc.
        const result = runGate({ listing: listing(manager("i-0aaa"), manager("i-0bbb"), manager("i-0old")) });
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include("(last: 2 of 3 managers Ready and Reachable (not yet: i-0ccc), 3 managers listed, 0 of 0 workers Ready)");
        const joined = runGate({ listing: listing(manager("i-0aaa"), manager("i-0bbb"), manager("i-0old"), manager("i-0ccc")) });
        expect(joined.status, joined.stderr).to.equal(0);
    });

    it("before a manager moves, wants the swarm whole: no Down manager, none left over, exactly the managers EC2 runs (cold review of b62a90a, H1)", () => {
        const whole = { whole: true };
        expect(runGate({ listing: listing(...M.map((id) => manager(id)), worker("i-0w1", "down")) }, whole).status).to.equal(0);
        // The previous up's replaced manager, Down and not yet removed by the reaper: moving another now would leave 2 of 4.
        const leftover = runGate({ listing: listing(...M.map((id) => manager(id)), manager("i-0old", "down", "unreachable")) }, whole);
        expect(leftover.status).to.equal(1);
        expect(leftover.stderr).to.include("(last: 3 of 3 managers Ready and Reachable, 4 managers listed, 0 of 0 workers Ready)");
        // The same listing is enough after the roll, when the old manager is known to linger until Pulumi deletes it.
        expect(runGate({ listing: listing(...M.map((id) => manager(id)), manager("i-0old", "down", "unreachable")) }).status).to.equal(0);
        const unreachable = runGate({ listing: listing(manager("i-0aaa"), manager("i-0bbb"), manager("i-0ccc", "ready", "unreachable")) }, whole);
        expect(unreachable.stderr).to.include("2 of 3 managers Ready and Reachable (not yet: i-0ccc)");
    });

    it("does not count Down nodes, unreachable managers, drained workers or a node as a manager of another instance", () => {
        const result = runGate(
            { listing: listing(manager("i-0aaa"), manager("i-0bbb", "down", "unreachable"), manager("i-0ccc", "ready", "unreachable"), worker("i-0w1", "down"), worker("i-0w2", "ready", "drain"), worker("i-0bbb")) },
            { workersNeeded: 1 },
        );
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include("waiting for the swarm on ec2-user@i-0aaa: 1 of 3 managers Ready and Reachable (not yet: i-0bbb i-0ccc), 3 managers listed, 1 of 1 workers Ready");
        expect(result.stderr).to.include("dockyard: the swarm on ec2-user@i-0aaa was not ready within 2 s (last: 1 of 3 managers");
    });

    it("expects no worker when the workloads may run on managers, whatever the group's desired size", () => {
        const result = runGate({ listing: listing(manager("i-0aaa")) }, { managerIds: ["i-0aaa"] });
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout).to.equal("swarm ready on ec2-user@i-0aaa: 1 managers Ready and Reachable, 0 workers Ready\n");
    });

    it("reports what ssh or docker said when the manager does not answer", () => {
        const result = runGate({ error: "Permission denied (publickey)." });
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include("(last: Permission denied (publickey).)");
    });

    it("refuses to render a gate with no manager to wait for", () => {
        expect(() => readinessScript({ sshTarget: "u@h", sshOptions: [], managerIds: [], whole: false, workersNeeded: 0, timeoutSeconds: 1, pollSeconds: 1 })).to.throw("needs at least one manager instance id");
    });
});

describe("swarm workload placement", () => {
    const config = (workersMin: number, workerSchedule: string[] = []) => ({ workersMin, workerSchedule });

    it("keeps workloads on workers only when the group never goes below one worker", () => {
        expect(workloadNodes(config(1))).to.deep.equal({ workersOnly: true, spreadLabel: AZ_NODE_LABEL });
        expect(workloadNodes(config(2, ["0 7 * * 1-5 2/2/4", "0 20 * * 1-5 1/1/2"]))).to.deep.equal({ workersOnly: true, spreadLabel: "dockyard.az" });
        expect(workloadNodes(config(0)).workersOnly).to.equal(false);
        expect(workloadNodes(config(2, ["0 20 * * 1-5 0/0/1"])).workersOnly).to.equal(false);
    });

    it("constrains to workers and spreads by the node label, in the form the provider passes to swarmkit as is", () => {
        expect(swarmPlacement({ workersOnly: true, spreadLabel: "dockyard.az" })).to.deep.equal({
            constraints: ["node.platform.os==linux", "node.role==worker"],
            prefs: ["node.labels.dockyard.az"],
        });
        expect(swarmPlacement({ workersOnly: false, spreadLabel: "dockyard.az" })).to.deep.equal({ constraints: ["node.platform.os==linux"], prefs: ["node.labels.dockyard.az"] });
        expect(swarmPlacement(ANY_NODE)).to.deep.equal({ constraints: ["node.platform.os==linux"] });
    });
});
