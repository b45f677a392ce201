/**
 * Reaching the EKS API on first contact (issue 16 items 1, 2, 5, 6, 8, 13): the config refuses a
 * stack its deployer cannot reach, access entries never collide with the creator's bootstrap entry,
 * node groups per AZ scale against the live size, and versions follow EKS's calendar.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { ConfigError, parseStackConfig } from "../components/config";
import { accessEntryPlan, callerMatches, deployerNotice, principalKey, revokeCreatorScript } from "../components/eks/access";
import { EksCluster } from "../components/eks/cluster";
import { NODE_GROUP_TIMEOUTS, scalingScript, zonalScaling } from "../components/eks/nodeGroup";
import { supportNotice, supportedVersions, versionProblem } from "../components/eks/versions";
import { stackAwsProvider } from "../components/tags";
import { fakeHex } from "../scripts/offline/mocks";
import { ofType, only, runDeclaration, stackConfig, stackConfigMap, THREE_AZ_NETWORK } from "./harness";

const problemsOf = (overrides: Record<string, unknown>, stack = "prod") => {
    try {
        parseStackConfig(stackConfigMap(stack, overrides).config, "dockyard", stack);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return [...err.problems];
        throw err;
    }
};

function shellcheck(script: string): string {
    const result = spawnSync("shellcheck", ["-s", "sh", "-f", "gcc", "-"], { encoding: "utf8", input: script });
    if (result.error) throw new Error(`shellcheck is not installed: ${result.error.message}`);
    return result.stdout + result.stderr;
}

/** Runs a script with a fake `aws` on PATH that answers describe-nodegroup with `live` and records every call. */
function runWithFakeAws(script: string, live: string, failDelete?: string): { status: number | null; calls: string[]; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-aws-"));
    const log = path.join(dir, "calls");
    fs.writeFileSync(
        path.join(dir, "aws"),
        [
            "#!/bin/sh",
            `printf '%s\\n' "$*" >> ${JSON.stringify(log)}`,
            `case "$2" in describe-nodegroup) printf '%s\\n' '${live}' ;; delete-access-entry) ${failDelete ? `echo ${JSON.stringify(failDelete)} >&2; exit 254` : "true"} ;; esac`,
        ].join("\n"),
        { mode: 0o755 },
    );
    const result = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: result.status, calls, stderr: result.stderr };
}

describe("eks: reaching the API and access entries", function () {
    describe("config", function () {
        it("refuses an eks stack with no public endpoint CIDRs, naming the keys, before any resource", function () {
            expect(problemsOf({ "eks.publicAccessCidrs": [] })).to.deep.equal([
                'dockyard:eks.publicAccessCidrs is [] with dockyard:target "eks"; the deployer (CI or a laptop) must reach the API in the same `pulumi up` that creates the VPC: ' +
                    "allowed: the deployer's egress CIDRs (a runner with static egress, your office); dockyard:eks.privateAccessCidrs only helps networks connected to the VPC after it exists (docs/eks.md)",
            ]);
            // A swarm stack is not asked.
            expect(problemsOf({}, "dev")).to.deep.equal([]);
        });

        it("refuses a principal that is both admin and viewer, and revoking the creator without naming it", function () {
            expect(problemsOf({ "eks.viewerPrincipals": ["arn:aws:iam::123456789012:role/platform-admin"] })).to.deep.equal([
                "dockyard:eks.viewerPrincipals and dockyard:eks.adminPrincipals both list arn:aws:iam::123456789012:role/platform-admin; allowed: each principal in one of them",
            ]);
            expect(problemsOf({ "eks.creatorAdmin": false, "eks.creatorPrincipal": "" })).to.deep.equal([
                "dockyard:eks.creatorAdmin is false but dockyard:eks.creatorPrincipal is empty; allowed: the ARN of the identity that created the cluster, whose bootstrap access entry is then deleted",
            ]);
        });
    });

    describe("Kubernetes versions", function () {
        const today = new Date("2026-12-02T08:00:00Z");

        it("allows only versions still in standard support today, and says why 1.34 is gone", function () {
            expect(supportedVersions(today)).to.deep.equal(["1.35"]);
            expect(supportedVersions(new Date("2026-12-01T23:59:59Z"))).to.deep.equal(["1.34", "1.35"]);
            expect(versionProblem("1.35", today)).to.equal(undefined);
            expect(versionProblem("1.34", today)).to.equal(
                'EKS standard support for 1.34 ended on 2026-12-02 and AWS upgrades STANDARD clusters by itself after that; upgrade one minor at a time (docs/eks.md, "Upgrading"); allowed: 1.35',
            );
        });

        it("warns within 90 days of the end of standard support, naming the next minor", function () {
            expect(supportNotice("1.35", today)).to.equal(undefined);
            expect(supportNotice("1.34", new Date("2026-11-02T00:00:00Z"))).to.equal(
                "dockyard:eks.version 1.34 leaves EKS standard support on 2026-12-02 (in 30 days); AWS then upgrades the control plane by itself. Set dockyard:eks.version 1.35 and run pulumi up before then.",
            );
            expect(supportNotice("1.35", new Date("2027-03-01T00:00:00Z"))).to.match(/in 26 days.*Add the next minor to components\/eks\/versions\.ts/);
        });
    });

    describe("access entries", function () {
        const eks = { adminPrincipals: ["arn:aws:iam::123456789012:role/ci/deploy", "arn:aws:iam::123456789012:role/platform-admin"], viewerPrincipals: ["arn:aws:iam::123456789012:role/preview"], creatorPrincipal: "", creatorAdmin: true };

        it("skips the creator among the admins while it keeps its bootstrap entry (no 409)", function () {
            const plan = accessEntryPlan({ ...eks, creatorPrincipal: "arn:aws:iam::123456789012:role/ci/deploy" });
            expect(plan).to.deep.equal([
                { key: "admin-123456789012-role-platform-admin", principalArn: "arn:aws:iam::123456789012:role/platform-admin", policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" },
                { key: "viewer-123456789012-role-preview", principalArn: "arn:aws:iam::123456789012:role/preview", policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy" },
            ]);
        });

        it("grants the creator explicitly once its bootstrap entry is revoked", function () {
            const plan = accessEntryPlan({ ...eks, creatorPrincipal: "arn:aws:iam::123456789012:role/ci/deploy", creatorAdmin: false });
            expect(plan.map((p) => p.principalArn)).to.deep.equal([...eks.adminPrincipals, ...eks.viewerPrincipals]);
            expect(principalKey("arn:aws:iam::123456789012:role/ci/deploy")).to.equal("123456789012-role-ci-deploy");
        });

        it("recognises the deploying identity behind an assumed-role session, path or not", function () {
            const session = "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions";
            expect(callerMatches(session, "arn:aws:iam::123456789012:role/ci/deploy")).to.equal(true);
            expect(callerMatches(session, "arn:aws:iam::123456789012:role/deploy")).to.equal(true);
            expect(callerMatches(session, "arn:aws:iam::999999999999:role/deploy")).to.equal(false);
            expect(callerMatches(session, "arn:aws:iam::123456789012:role/deployer")).to.equal(false);
            expect(callerMatches("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice")).to.equal(true);
            expect(deployerNotice(eks, session)).to.match(/^dockyard:eks\.adminPrincipals lists arn:aws:iam::123456789012:role\/ci\/deploy, the identity running this update .*set dockyard:eks\.creatorPrincipal to arn:aws:iam::123456789012:role\/ci\/deploy\.$/);
            expect(deployerNotice({ ...eks, creatorPrincipal: "arn:aws:iam::123456789012:role/ci/deploy" }, session)).to.equal(undefined);
        });

        it("revokes the creator's entry with a shellchecked script that treats 'already gone' as done and fails otherwise", function () {
            const script = revokeCreatorScript("dockyard-prod", "arn:aws:iam::123456789012:role/ci/deploy", "us-east-1");
            expect(shellcheck(script)).to.equal("");
            const ok = runWithFakeAws(script, "");
            expect(ok.status).to.equal(0);
            expect(ok.calls).to.deep.equal(["eks delete-access-entry --cluster-name dockyard-prod --principal-arn arn:aws:iam::123456789012:role/ci/deploy --region us-east-1"]);
            expect(runWithFakeAws(script, "", "An error occurred (ResourceNotFoundException) when calling the DeleteAccessEntry operation").status).to.equal(0);
            const denied = runWithFakeAws(script, "", "An error occurred (AccessDeniedException)");
            expect(denied.status).to.equal(1);
            expect(denied.stderr).to.contain("AccessDeniedException");
        });
    });

    describe("node groups per AZ", function () {
        it("splits the config's totals over the AZs so they add up", function () {
            expect(zonalScaling({ minSize: 3, desiredSize: 3, maxSize: 9 }, 3)).to.deep.equal([1, 1, 1].map(() => ({ minSize: 1, desiredSize: 1, maxSize: 3 })));
            expect(zonalScaling({ minSize: 1, desiredSize: 2, maxSize: 5 }, 2)).to.deep.equal([
                { minSize: 1, desiredSize: 1, maxSize: 3 },
                { minSize: 0, desiredSize: 1, maxSize: 2 },
            ]);
        });

        const script = scalingScript("dockyard-prod", "dockyard-prod-az1", "us-east-1", { minSize: 2, desiredSize: 2, maxSize: 4 });
        const update = (desired: number) =>
            `eks update-nodegroup-config --cluster-name dockyard-prod --nodegroup-name dockyard-prod-az1 --region us-east-1 --scaling-config minSize=2,maxSize=4,desiredSize=${desired}`;

        it("passes shellcheck", function () {
            expect(shellcheck(script)).to.equal("");
        });

        it("raises the live desired size to a new minimum instead of failing (min above desired)", function () {
            const run = runWithFakeAws(script, "1\t3\t1");
            expect(run.status).to.equal(0);
            expect(run.calls.slice(1)).to.deep.equal([update(2), "eks wait nodegroup-active --cluster-name dockyard-prod --nodegroup-name dockyard-prod-az1 --region us-east-1"]);
        });

        it("keeps what the autoscaler chose when it is inside the new range, and lowers it to a new maximum", function () {
            expect(runWithFakeAws(script, "1\t9\t3").calls[1]).to.equal(update(3));
            expect(runWithFakeAws(script, "1\t9\t7").calls[1]).to.equal(update(4));
        });

        it("does nothing when the live group already has these bounds", function () {
            const run = runWithFakeAws(script, "2\t4\t3");
            expect(run.status).to.equal(0);
            expect(run.calls).to.have.length(1);
        });
    });

    describe("under mocks (prod)", function () {
        let run: Awaited<ReturnType<typeof render>>;
        const render = (overrides: Record<string, unknown> = {}) => {
            const config = stackConfig("prod", overrides);
            return runDeclaration(() => new EksCluster("eks", { config, network: THREE_AZ_NETWORK }, { providers: [stackAwsProvider(config)] }), "prod", overrides);
        };
        before(async function () {
            run = await render({ "eks.privateAccessCidrs": ["10.99.0.0/16"] });
        });

        it("admits each listed connected network on 443 to the control plane's security group", function () {
            const rule = only(run.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs;
            expect(rule).to.deep.include({ ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "10.99.0.0/16" });
            expect(rule.securityGroupId).to.match(/^sg-/);
        });

        it("creates no access entry for the creator while it keeps its bootstrap entry, and no revoke command", function () {
            const principals = ofType(run.resources, "aws:eks/accessEntry:AccessEntry").map((r) => r.inputs.principalArn);
            expect(principals).to.not.include(stackConfig("prod").eks.creatorPrincipal);
            expect(ofType(run.resources, "command:local:Command").filter((c) => c.name.includes("revoke"))).to.deep.equal([]);
        });

        it("with eks.creatorAdmin false, deletes the bootstrap entry before granting the creator explicitly", async function () {
            const creator = stackConfig("prod").eks.creatorPrincipal;
            const revoked = await render({ "eks.creatorAdmin": false, "eks.adminPrincipals": [creator] });
            const command = only(revoked.resources, "command:local:Command", "eks-access-revoke-creator");
            expect(command.inputs.create).to.equal(revokeCreatorScript("dockyard-prod", creator, "us-east-1"));
            const entry = ofType(revoked.resources, "aws:eks/accessEntry:AccessEntry").find((r) => r.inputs.principalArn === creator)!;
            expect(entry.dependencies).to.include(command.name);
        });

        it("makes the Kubernetes provider wait for the access entries, and keep prod objects when the API is unreachable", async function () {
            const provider = only(run.resources, "pulumi:providers:kubernetes");
            expect(provider.inputs.deleteUnreachable).to.equal("false");
            const entries = ofType(run.resources, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").map((r) => r.name);
            expect(provider.dependencies).to.include.members(entries);
        });

        it("gives node groups timeouts for drains and a scaling command per group", function () {
            for (const ng of ofType(run.resources, "aws:eks/nodeGroup:NodeGroup")) expect(ng.options.customTimeouts).to.deep.equal(NODE_GROUP_TIMEOUTS);
            const scaling = ofType(run.resources, "command:local:Command").filter((c) => c.name.endsWith("-scaling"));
            expect(scaling.map((c) => c.name)).to.deep.equal(["eks-nodes-ng-0-scaling", "eks-nodes-ng-1-scaling", "eks-nodes-ng-2-scaling"]);
            const group = ofType(run.resources, "aws:eks/nodeGroup:NodeGroup")[0];
            expect(scaling[0].inputs.create).to.equal(scalingScript("dockyard-prod", `dockyard-prod-az1-${fakeHex(group.name, 26)}`, "us-east-1", { minSize: 1, desiredSize: 1, maxSize: 3 }));
            expect(scaling[0].dependencies).to.include(group.name);
        });
    });
});
