/**
 * Small helpers over dockerode for the contract suite: build the busybox test image, wait for
 * tasks, run a command in a task's container, and remove what the suite created.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import Docker from "dockerode";

export const docker = new Docker();

/** Debian's busybox-static: one static binary, so the image needs nothing from a registry. */
export const BUSYBOX = "/bin/busybox";
/** Where the test image's `httpd` serves from. */
export const WEB_ROOT = "/www";

const DOCKERFILE = [
    "FROM scratch",
    "COPY busybox /bin/busybox",
    `RUN ["/bin/busybox", "--install", "-s", "/bin"]`,
    `COPY www ${WEB_ROOT}`,
    "",
].join("\n");

/** Builds `tag` FROM scratch with busybox and a web root answering each of `webPaths` (on `engine`: the lab builds on its own). */
export async function buildTestImage(tag: string, webPaths: readonly string[], engine: Docker = docker): Promise<void> {
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-contract-"));
    try {
        fs.writeFileSync(path.join(context, "Dockerfile"), DOCKERFILE);
        fs.copyFileSync(BUSYBOX, path.join(context, "busybox"));
        fs.chmodSync(path.join(context, "busybox"), 0o755);
        for (const webPath of webPaths) {
            const file = path.join(context, "www", webPath);
            fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
            fs.writeFileSync(file, `ok ${webPath}\n`, { mode: 0o644 });
        }
        const stream = await engine.buildImage({ context, src: ["Dockerfile", "busybox", "www"] }, { t: tag, rm: true, forcerm: true, labels: { "dockyard.contract": "true" } });
        const output: any[] = await new Promise((done, fail) => engine.modem.followProgress(stream, (err, res) => (err ? fail(err) : done(res))));
        const failure = output.find((line) => line.error);
        if (failure) throw new Error(`building ${tag}: ${failure.error}`);
    } finally {
        fs.rmSync(context, { recursive: true, force: true });
    }
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        await sleep(everyMs);
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export async function tasksOf(serviceName: string): Promise<any[]> {
    return docker.listTasks({ filters: JSON.stringify({ service: [serviceName] }) });
}

export async function runningTasks(serviceName: string): Promise<any[]> {
    return (await tasksOf(serviceName)).filter((t) => t.DesiredState === "running" && t.Status?.State === "running");
}

/** Runs `cmd` in a container as its own user and returns exit code and output. */
export async function exec(containerId: string, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const container = docker.getContainer(containerId);
    const run = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await run.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (chunks: Buffer[]) =>
        new Writable({
            write(chunk: Buffer, _encoding, next) {
                chunks.push(chunk);
                next();
            },
        });
    docker.modem.demuxStream(stream, sink(out), sink(err));
    await new Promise((done) => stream.on("end", done));
    const { ExitCode } = await run.inspect();
    return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

export function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    return new Promise((done, fail) => {
        const request = http.get(url, { timeout: timeoutMs }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => done({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error(`GET ${url} timed out`)));
        request.on("error", fail);
    });
}

/** Removes every service, secret, network and volume whose name starts with `prefix`, and the image. */
export async function removeEverything(prefix: string, image: string): Promise<void> {
    const mine = (name: string | undefined) => (name ?? "").startsWith(`${prefix}-`);
    for (const service of await docker.listServices()) {
        if (mine(service.Spec?.Name)) await docker.getService(service.ID).remove();
    }
    await waitFor("the suite's containers to go", async () => {
        const ours = (await docker.listContainers({ all: true })).filter((c) => c.Names.some((n) => n.startsWith(`/${prefix}-`)));
        return ours.length === 0 ? true : undefined;
    }, 120_000);
    for (const secret of await docker.listSecrets()) {
        if (mine(secret.Spec?.Name)) await docker.getSecret(secret.ID).remove();
    }
    for (const network of await docker.listNetworks()) {
        if (mine(network.Name)) await waitFor(`network ${network.Name} to be removed`, async () => (await docker.getNetwork(network.Id).remove(), true), 60_000);
    }
    for (const volume of (await docker.listVolumes()).Volumes ?? []) {
        if (mine(volume.Name)) await docker.getVolume(volume.Name).remove();
    }
    await docker.getImage(image).remove({ force: true }).catch(() => undefined);
}
