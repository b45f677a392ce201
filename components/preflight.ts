/**
 * The one validation pass that runs before any resource: the config's own rules have run by then
 * (`parseStackConfig`), so this adds what needs the config and the workloads together, and the
 * checks each component makes of its own inputs (architectures, add-on versions, build contexts,
 * Swarm's replica rules). Every problem is collected, so one `pulumi up` lists them all, instead of
 * the first one failing later, alone, in the middle of the resource graph.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "./config";
import { addonPlan } from "./eks/addons";
import { autoscalerImageTag } from "./eks/versions";
import { amiTypeFor } from "./eks/nodeGroup";
import { swarmConfigProblems } from "./swarm/cluster";
import { swarmNameProblems, swarmReplicas } from "./swarm/service";
import { isNamed, WorkloadSpec } from "./workload";

/** The message of a check that throws on bad input, or undefined when it holds. */
function problemOf(check: () => unknown): string | undefined {
    try {
        check();
        return undefined;
    } catch (err) {
        return err instanceof Error ? err.message : String(err);
    }
}

/** Problems of the stack's config that its components would otherwise find one at a time, mid-deploy. */
export function deploymentConfigProblems(config: StackConfig): string[] {
    const checks: (() => unknown)[] = [];
    if (config.target === "eks") {
        checks.push(() => amiTypeFor(config.eks.instanceTypes), () => addonPlan(config), () => autoscalerImageTag(config.eks.version));
    } else if (config.swarm.engine === "ec2") {
        // Managers and workers of different architectures are fine: each gets its architecture's AMI,
        // and the images are built for every node platform (components/images/plan.ts nodePlatforms).
        checks.push(() => {
            const problems = swarmConfigProblems(config);
            if (problems.length > 0) throw new Error(problems.join("\n"));
        });
    }
    return checks.flatMap((check) => problemOf(check) ?? []).flatMap((message) => message.split("\n"));
}

/**
 * Whether `file` (which exists) is outside `root` once symbolic links are followed: validateWorkloads
 * refuses paths that climb out as written, this catches a link inside the project that points out.
 */
function outside(root: string, file: string): boolean {
    return climbsOut(fs.realpathSync(root), fs.realpathSync(file));
}

function climbsOut(root: string, file: string): boolean {
    const relative = path.relative(root, file);
    return relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
}

/**
 * Problems of the workloads on this stack: what its target cannot run, and build contexts that
 * are missing, lack their Dockerfile or their `.dockerignore`. `specs` have the stack's overrides
 * applied (`applyOverrides`).
 */
export function deploymentProblems(config: StackConfig, specs: readonly WorkloadSpec[], root: string): string[] {
    const problems: string[] = config.target === "swarm" ? swarmNameProblems(config.stack, specs) : [];
    for (const spec of specs.filter(isNamed)) {
        const label = `workload ${JSON.stringify(spec.name)}`;
        if (config.target === "swarm") {
            const problem = problemOf(() => swarmReplicas(spec, config.swarm.engine));
            if (problem) problems.push(problem.startsWith("workload ") ? problem.replace(/^workload [^:]+:/, `${label}:`) : `${label}: ${problem}`);
        }
        const build = (spec.image as { build?: { context?: unknown; dockerfile?: unknown } } | undefined)?.build;
        // Promoted or pinned images are not built on this stack, so their context need not exist here.
        if (!build || typeof build.context !== "string" || config.images.from !== "" || config.images.digests[spec.name] !== undefined) continue;
        if (build.dockerfile !== undefined && typeof build.dockerfile !== "string") continue; // validateWorkloads refuses it
        const context = path.resolve(root, build.context);
        const dockerfile = build.dockerfile ?? "Dockerfile";
        // validateWorkloads refuses these as written; their files are not looked at.
        if (climbsOut(root, context) || climbsOut(root, path.resolve(context, dockerfile))) continue;
        const at = `${label}: image.build.context is ${JSON.stringify(build.context)}`;
        if (!fs.existsSync(context) || !fs.statSync(context).isDirectory()) {
            problems.push(`${at}, which is not a folder; allowed: a folder of this repository, relative to its root, with a Dockerfile (or an existing image as image: { ref: "..." })`);
        } else if (!fs.existsSync(path.resolve(context, dockerfile))) {
            problems.push(`${at}, which has no ${dockerfile}; allowed: a build context with its Dockerfile (image.build.dockerfile names another, relative to the context)`);
        } else if (outside(root, context)) {
            problems.push(`${at}, which is a symbolic link to ${fs.realpathSync(context)}, outside the project; allowed: a folder inside the project (the build would send that folder's files)`);
        } else if (outside(root, path.resolve(context, dockerfile))) {
            problems.push(`${label}: image.build.dockerfile is ${JSON.stringify(dockerfile)}, which is a symbolic link to ${fs.realpathSync(path.resolve(context, dockerfile))}, outside the project; allowed: a Dockerfile inside the project`);
        } else if (!fs.existsSync(path.join(context, ".dockerignore"))) {
            problems.push(
                `${at}, which has no .dockerignore; allowed: a build context with one ` +
                    "(it keeps node_modules, .git, local .env files and build output out of the image and out of the content hash, so an unrelated edit does not rebuild and roll the service)",
            );
        }
    }
    return problems;
}
