import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";

const API = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(API, file), "utf8");

interface Step {
    instruction: string;
    args: string;
}

/** A Dockerfile's stages, each a list of instructions; continuation lines joined, comments dropped. */
function stages(text: string): Step[][] {
    const result: Step[][] = [];
    for (const line of text.replace(/\\\n/g, " ").split("\n")) {
        const trimmed = line.trim();
        if (trimmed === "" || trimmed.startsWith("#")) continue;
        const [instruction, ...rest] = trimmed.split(/\s+/);
        const step = { instruction: instruction.toUpperCase(), args: rest.join(" ") };
        if (step.instruction === "FROM") result.push([]);
        result.at(-1)!.push(step);
    }
    return result;
}

const args = (steps: Step[], instruction: string) => steps.filter((s) => s.instruction === instruction).map((s) => s.args);

describe("api: image", () => {
    const [build, runtime, ...extra] = stages(read("Dockerfile"));
    const packageJson = JSON.parse(read("package.json"));

    it("builds in one node:22-alpine stage and runs in another", () => {
        expect(extra).to.deep.equal([]);
        expect(build[0].args).to.equal("node:22-alpine AS build");
        expect(runtime[0].args).to.equal("node:22-alpine");
        expect(args(build, "RUN")).to.include.members(["npm ci --no-audit --no-fund", "npm run build"]);
    });

    it("runs as a numeric non-root user", () => {
        const user = args(runtime, "USER").at(-1)!;
        expect(user).to.match(/^\d+:\d+$/);
        expect(Number(user.split(":")[0])).to.equal(10001);
    });

    it("ships the compiled code and the production dependencies installed from the lockfile, no sources, no package manager at runtime", () => {
        expect(args(runtime, "COPY")).to.deep.equal(["--from=build /app/package.json ./", "--from=build /app/node_modules ./node_modules", "--from=build /app/dist ./dist"]);
        expect(args(runtime, "RUN").join(" ")).not.to.match(/npm (ci|install)/);
        // The build stage installs from the lockfile, compiles, then drops the dev dependencies.
        expect(args(build, "RUN")).to.deep.equal(["npm ci --no-audit --no-fund", "npm run build", "npm prune --omit=dev --no-audit --no-fund"]);
        // The one runtime dependency: node-redis's core client (docs/dependencies.md).
        expect(Object.keys(packageJson.dependencies)).to.deep.equal(["@redis/client"]);
        const lock = JSON.parse(read("package-lock.json"));
        expect(lock.packages[""].dependencies).to.deep.equal(packageJson.dependencies);
        expect(lock.packages["node_modules/@redis/client"].dev ?? false).to.equal(false);
        // The root's copy (tests and the type check run from the root) is the same range.
        const root = JSON.parse(fs.readFileSync(path.join(API, "..", "..", "package.json"), "utf8"));
        expect(root.devDependencies["@redis/client"]).to.equal(packageJson.dependencies["@redis/client"]);
        expect(fs.existsSync(path.join(API, "src", "resp.ts"))).to.equal(false);
    });

    it("starts the server, and the migrate job's command names a compiled entry point that exists", () => {
        expect(args(runtime, "CMD")).to.deep.equal(['["node", "/app/dist/server.js"]']);
        const build = JSON.parse(read("tsconfig.build.json")).compilerOptions;
        expect([build.rootDir, build.outDir]).to.deep.equal(["src", "dist"]);
        for (const entry of ["server", "migrate"]) expect(fs.existsSync(path.join(API, "src", `${entry}.ts`)), entry).to.equal(true);
    });

    it("sends the build only what its COPY steps name", () => {
        const rules = read(".dockerignore").split("\n").filter((l) => l && !l.startsWith("#"));
        expect(rules[0]).to.equal("**");
        const allowed = rules.slice(1).map((r) => r.replace(/^!/, ""));
        const copied = args(build, "COPY").flatMap((a) => a.split(/\s+/).slice(0, -1));
        expect([...copied].sort()).to.deep.equal([...allowed].sort());
        expect(allowed).not.to.include.members(["test", "node_modules", "dist"]);
    });

    it("pins TypeScript to 5.x and keeps the lockfile in step with package.json", () => {
        expect(packageJson.devDependencies.typescript).to.match(/^[~^]?5\./);
        const lock = JSON.parse(read("package-lock.json"));
        expect(lock.lockfileVersion).to.equal(3);
        expect(lock.packages[""].devDependencies).to.deep.equal(packageJson.devDependencies);
        expect(lock.packages["node_modules/typescript"].version).to.match(/^5\./);
    });
});
