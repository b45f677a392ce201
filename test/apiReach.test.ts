/** scripts/ci/apiReach.ts: the prod job's check that its runner may reach the EKS endpoint, before `pulumi up`. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { apiReachProblem } from "../scripts/ci/apiReach";
import { PROJECT_ROOT } from "./harness";

/** A copy of Pulumi.prod.yaml with other publicAccessCidrs, beside the project's Pulumi.yaml. */
function prodWith(cidrs: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-reach-"));
    const stack = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8"));
    stack.config["dockyard:eks.publicAccessCidrs"] = cidrs;
    const file = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(file, YAML.stringify(stack));
    return file;
}

describe("scripts/ci/apiReach.ts (may this runner reach the EKS API?)", function () {
    this.timeout(60_000);

    it("accepts an egress address inside eks.publicAccessCidrs, at either end of a block", () => {
        const file = prodWith(["198.51.100.0/24", "203.0.113.9/32"]);
        for (const address of ["198.51.100.0", "198.51.100.255", "203.0.113.9"]) expect(apiReachProblem(file, address), address).to.equal(undefined);
    });

    it("refuses an address outside them, naming the key, the file, the address and the way out", () => {
        const file = prodWith(["198.51.100.0/24", "203.0.113.9/32"]);
        expect(apiReachProblem(file, "203.0.113.10")).to.equal(
            `this runner's egress address 203.0.113.10 is not in dockyard:eks.publicAccessCidrs of ${file} (["198.51.100.0/24","203.0.113.9/32"]), ` +
                "so it cannot reach the cluster's API; run the job on a runner with a static egress listed there " +
                '(the runner group the PROD_RUNNER_GROUP repository variable names, docs/ci.md "EKS: reaching the API and access entries")',
        );
        expect(apiReachProblem(file, "199.51.100.1")).to.match(/^this runner's egress address 199\.51\.100\.1 is not in/);
    });

    it("says nothing for a Swarm stack, and cannot tell for what is not an IPv4 address", () => {
        expect(apiReachProblem(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "192.0.2.1")).to.equal(undefined);
        expect(() => apiReachProblem(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "<html>error</html>")).to.throw('egress address "<html>error</html>" is not an IPv4 address');
    });

    it("runs as the workflow runs it: exit 3 with the message on stderr, 0 when covered (3, not Node's 1 for an exception at load; fails on 7f9e429)", () => {
        const file = prodWith(["198.51.100.0/24"]);
        const run = (address: string) => spawnSync("npx", ["ts-node", "--transpile-only", "scripts/ci/apiReach.ts", file, address], { cwd: PROJECT_ROOT, encoding: "utf8" });
        const refused = run("192.0.2.1");
        expect(refused.status).to.equal(3);
        expect(refused.stderr).to.match(/^dockyard: this runner's egress address 192\.0\.2\.1 is not in dockyard:eks\.publicAccessCidrs/);
        const allowed = run("198.51.100.7");
        expect(allowed.status, allowed.stderr).to.equal(0);
        expect(allowed.stdout).to.equal(`dockyard: 198.51.100.7 may reach the API of the stack in ${file}\n`);
    });

    it("exits 2, not 3, when it cannot check: so the PR preview fails instead of skipping (fails on 6b7fcda, which exited 1)", () => {
        const run = (...args: string[]) => spawnSync("npx", ["ts-node", "--transpile-only", "scripts/ci/apiReach.ts", ...args], { cwd: PROJECT_ROOT, encoding: "utf8" });
        const garbage = run("Pulumi.prod.yaml", "<html>error</html>");
        expect(garbage.status).to.equal(2);
        expect(garbage.stderr).to.equal('dockyard: cannot check whether this runner may reach the API: egress address "<html>error</html>" is not an IPv4 address\n');
        expect(run("Pulumi.missing.yaml", "192.0.2.1").status).to.equal(2);
        expect(run("Pulumi.prod.yaml").status).to.equal(2);
    });
});
