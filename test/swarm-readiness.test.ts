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
import { readinessScript, readyManagersNeeded } from "../components/swarm/readiness";
import { ANY_NODE, swarmPlacement } from "../components/swarm/service";

/** Runs the gate with an `ssh` on PATH that prints `listing` (exit 0) or `error` (exit 255). */
function runGate(answer: { listing?: string; error?: string }, managersNeeded: number, workersNeeded: number) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-gate-"));
    try {
        fs.writeFileSync(path.join(bin, "answer"), answer.listing ?? answer.error ?? "");
        const reply = answer.listing !== undefined ? `cat ${bin}/answer` : `cat ${bin}/answer >&2; exit 255`;
        // The stand-in insists on the command the gate must send, as the manager's shell would run it.
        fs.writeFileSync(
            path.join(bin, "ssh"),
            `#!/bin/bash\n[ "\${*: -1}" = "docker node ls --format '{{.Status}} {{.Availability}} {{.ManagerStatus}}'" ] || { echo "unexpected command: \${*: -1}" >&2; exit 2; }\n${reply}\n`,
            { mode: 0o755 },
        );
        const script = readinessScript({ sshTarget: "ec2-user@i-0123", sshOptions: ["-o", "BatchMode=yes"], managersNeeded, workersNeeded, timeoutSeconds: 2, pollSeconds: 1 });
        return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 20_000 });
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("swarm readiness gate", () => {
    it("needs a majority of the managers", () => {
        expect([1, 3, 5].map(readyManagersNeeded)).to.deep.equal([1, 2, 3]);
    });

    it("passes once enough managers and workers are Ready", () => {
        const listing = "Ready Active Leader\nReady Active Reachable\nDown Active Unreachable\nReady Active \n";
        const result = runGate({ listing }, 2, 1);
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout).to.equal("swarm ready on ec2-user@i-0123: 2 managers and 1 workers Ready\n");
    });

    it("does not count Down nodes, unreachable managers or drained workers", () => {
        // Five nodes are listed, as the old gate counted them; only one manager and no worker is Ready and active.
        const listing = "Ready Active Leader\nDown Active Unreachable\nReady Active Unreachable\nDown Active \nReady Drain \n";
        const result = runGate({ listing }, 2, 1);
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include("waiting for the swarm on ec2-user@i-0123: 1 of 2 managers and 0 of 1 workers Ready");
        expect(result.stderr).to.include("dockyard: the swarm on ec2-user@i-0123 was not ready within 2 s (last: 1 of 2 managers and 0 of 1 workers Ready)");
    });

    it("expects no worker when the workloads may run on managers, whatever the group's desired size", () => {
        const result = runGate({ listing: "Ready Active Leader\n" }, 1, 0);
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout).to.equal("swarm ready on ec2-user@i-0123: 1 managers and 0 workers Ready\n");
    });

    it("reports what ssh or docker said when the manager does not answer", () => {
        const result = runGate({ error: "Permission denied (publickey)." }, 1, 0);
        expect(result.status).to.equal(1);
        expect(result.stderr).to.include("(last: Permission denied (publickey).)");
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
