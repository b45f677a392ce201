/**
 * `npm run bench:images [-- <base ref>]`: what an `up` of the dev stack builds and how long the
 * builds and pushes take, for this checkout and for a base commit (default fcdc18c, the main before
 * issue 15) in the same run, for the sample system in three steps as CI runs them (`images.tag` set
 * to the commit):
 *   cold      first deploy: empty registry, empty engine
 *   docs      a commit that changes only docs (README.md)
 *   one-line  a commit that changes one line of services/api/src
 *
 * Which builds an `up` runs is decided by the real program of each commit: each one is rendered
 * offline (`scripts/render.ts`, under mocks) and a build runs when its resource's inputs or the
 * files its build reads changed since the previous step, as the providers decide. Those builds are
 * then run for real on a private Docker engine (its own socket and data root, stopped at the end)
 * and pushed to a private registry (Debian's docker-registry on loopback). The sample's Dockerfiles
 * need base images from Docker Hub, which this machine cannot reach, so every build is a stand-in
 * with the same context: `FROM scratch` + `COPY` of the files the build reads; that measures engine
 * and registry work per build, not compile time. Both commits use the same stand-in and engine.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import Docker from "dockerode";
import { contextFiles, contextHash } from "../components/images/context";

const ROOT = path.resolve(__dirname, "..");
const BASE = process.argv[2] ?? "fcdc18c";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-bench-images-"));
const children: ChildProcess[] = [];

interface Build {
    /** Resource name, stable across commits. */
    readonly name: string;
    /** What the provider compares: the resource's inputs and the files its build reads. */
    readonly fingerprint: string;
    readonly context: string;
    readonly tag: string;
}

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

/** Renders dev at `tree` with `images.tag` = `commit`, and lists its image builds. */
function builds(tree: string, commit: string): Build[] {
    const stackFile = path.join(work, `Pulumi.bench-${path.basename(tree)}.yaml`);
    fs.writeFileSync(stackFile, fs.readFileSync(path.join(tree, "Pulumi.dev.yaml"), "utf8") + `  dockyard:images.tag: "${commit}"\n`);
    execFileSync(path.join(ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/render.ts", "dev", "--config-file", stackFile], { cwd: tree, stdio: "ignore" });
    const rendered = JSON.parse(fs.readFileSync(path.join(tree, "out", "dev", "resources.json"), "utf8"));
    const resources: { type: string; name: string; inputs: Record<string, any> }[] = Array.isArray(rendered) ? rendered : rendered.resources;
    return resources
        .filter((r) => r.type === "docker-build:index:Image" || r.type === "docker:index/image:Image")
        .map((r) => {
            const context = r.type === "docker-build:index:Image" ? r.inputs.context.location : r.inputs.build.context;
            // Pushed by digest since a2f6c95's successor (no tags): the export's name, tagged here with the context-hash label.
            const tag =
                r.type === "docker:index/image:Image"
                    ? r.inputs.imageName
                    : (r.inputs.tags?.[0] ?? `${r.inputs.exports[0].registry.names[0]}:${Object.values(r.inputs.labels as Record<string, string>)[0]}`);
            const fingerprint = JSON.stringify(r.inputs) + contextHash(path.join(tree, context));
            return { name: r.name, fingerprint, context: path.join(tree, context), tag };
        });
}

/** A worktree of `ref` with the project's node_modules, for rendering that commit. */
function tree(ref: string, name: string): string {
    const dir = path.join(work, name);
    git(ROOT, "worktree", "add", "--detach", dir, ref);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

async function startEngine(): Promise<Docker> {
    const socket = path.join(work, "docker.sock");
    const log = fs.openSync(path.join(work, "dockerd.log"), "w");
    const args = ["--data-root", path.join(work, "docker"), "--exec-root", path.join(work, "exec"), "--pidfile", path.join(work, "docker.pid"), "--host", `unix://${socket}`];
    children.push(spawn("dockerd", [...args, "--bridge=none", "--iptables=false", "--ip6tables=false", "--storage-driver=vfs"], { stdio: ["ignore", log, log] }));
    const docker = new Docker({ socketPath: socket });
    for (let i = 0; i < 120; i++) {
        if (await docker.ping().then(() => true, () => false)) return docker;
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`private dockerd did not start; see ${work}/dockerd.log`);
}

async function startRegistry(): Promise<string> {
    const port = await freePort();
    const config = path.join(work, "registry.yml");
    fs.writeFileSync(config, `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${work}/registry } }\nhttp: { addr: "127.0.0.1:${port}" }\n`);
    children.push(spawn("docker-registry", ["serve", config], { stdio: "ignore" }));
    for (let i = 0; i < 100; i++) {
        if ((await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status, () => 0)) === 200) return `127.0.0.1:${port}`;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("docker-registry did not start");
}

/** Builds the stand-in of one build (the files it reads, FROM scratch) and pushes it. */
async function buildAndPush(docker: Docker, registry: string, build: Build): Promise<void> {
    const staging = fs.mkdtempSync(path.join(work, "context-"));
    for (const rel of contextFiles(build.context)) {
        fs.mkdirSync(path.dirname(path.join(staging, "app", rel)), { recursive: true });
        fs.copyFileSync(path.join(build.context, rel), path.join(staging, "app", rel));
    }
    fs.writeFileSync(path.join(staging, "Dockerfile"), "FROM scratch\nCOPY app/ /app/\n");
    const repoTag = `${registry}/${build.tag.split("/").slice(1).join("/")}`;
    const tar = execFileSync("tar", ["-C", staging, "-cf", "-", "."], { maxBuffer: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
        docker.buildImage(Buffer.from(tar) as unknown as NodeJS.ReadableStream, { t: repoTag }, (err, stream) => {
            if (err || !stream) return reject(err);
            docker.modem.followProgress(stream, (e: Error | null, out: { error?: string }[]) => (e || out.some((o) => o.error) ? reject(e ?? new Error(JSON.stringify(out))) : resolve()));
        });
    });
    const [name, tag] = [repoTag.slice(0, repoTag.lastIndexOf(":")), repoTag.slice(repoTag.lastIndexOf(":") + 1)];
    const stream = await docker.getImage(repoTag).push({ tag });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null, out: { error?: string }[]) => (e || out.some((o) => o.error) ? reject(e ?? new Error(`push ${name}: ${JSON.stringify(out)}`)) : resolve())));
}

async function main() {
    const [docker, registry] = await Promise.all([startEngine(), startRegistry()]);
    const base = git(ROOT, "rev-parse", "--short", BASE);
    const head = git(ROOT, "rev-parse", "--short", "HEAD");
    const rows: string[][] = [];
    for (const [label, ref] of [
        [`base ${base}`, base],
        [`this ${head}`, head],
    ]) {
        const dir = tree(ref, label.split(" ")[0]);
        let previous = new Map<string, string>();
        const steps: [string, () => void][] = [
            ["cold", () => undefined],
            ["docs", () => fs.appendFileSync(path.join(dir, "README.md"), "\nA docs-only change.\n")],
            [
                "one-line",
                () => {
                    const src = path.join(dir, "services", "api", "src");
                    const file = fs.readdirSync(src).filter((f) => f.endsWith(".ts")).sort()[0];
                    fs.appendFileSync(path.join(src, file), "\n// a one-line change\n");
                },
            ],
        ];
        for (const [i, [step, change]] of steps.entries()) {
            change();
            const current = builds(dir, `commit${i + 1}`);
            const run = current.filter((b) => previous.get(b.name) !== b.fingerprint);
            const started = process.hrtime.bigint();
            for (const build of run) await buildAndPush(docker, registry, build);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            rows.push([label, step, String(current.length), String(run.length), seconds.toFixed(1)]);
            console.log(`${label} ${step}: ${run.length} of ${current.length} builds ran (${run.map((b) => b.name).join(", ") || "none"}), ${seconds.toFixed(1)} s`);
            previous = new Map(current.map((b) => [b.name, b.fingerprint]));
        }
    }
    console.log("\n| commit | step | builds declared | builds run | build + push |\n|---|---|---:|---:|---:|");
    for (const row of rows) console.log(`| ${row[0]} | ${row[1]} | ${row[2]} | ${row[3]} | ${row[4]} s |`);
}

/** Stops the engine and registry this run started (and only those), then removes their files and worktrees. */
async function cleanup() {
    await Promise.all(
        children.map(
            (child) =>
                new Promise<void>((resolve) => {
                    if (child.exitCode !== null) return resolve();
                    const timer = setTimeout(() => {
                        child.kill("SIGKILL");
                        resolve();
                    }, 30_000);
                    child.once("exit", () => {
                        clearTimeout(timer);
                        resolve();
                    });
                    child.kill("SIGTERM");
                }),
        ),
    );
    for (const name of ["base", "this"]) {
        if (fs.existsSync(path.join(work, name))) execFileSync("git", ["worktree", "remove", "--force", path.join(work, name)], { cwd: ROOT, stdio: "ignore" });
    }
    fs.rmSync(work, { recursive: true, force: true });
}

main().then(cleanup, async (err) => {
    await cleanup();
    console.error(err);
    process.exitCode = 1;
});
