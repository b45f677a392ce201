/**
 * Promotion against real registries (issue 15, item 5): the exact copy script the program runs
 * (`COPY_SCRIPT`) copies a two-platform image from a "dev" registry to a "prod" registry, and the
 * prod copy has the same digest, keeps both platforms, survives the deletion of dev's image, and is
 * not copied twice. Both registries are Debian's docker-registry on loopback with password
 * authentication; the only double is `aws`, which prints the password as `aws ecr
 * get-login-password` would, so the login path is the real one (a wrong password is refused).
 */
import { expect } from "chai";
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { COPY_SCRIPT } from "../../components/images/copy";

const PASSWORD = "registry-test-password";
const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

interface Registry {
    readonly host: string;
    readonly process: ChildProcess;
}

async function startRegistry(root: string, name: string, htpasswd: string): Promise<Registry> {
    const port = await freePort();
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(
        config,
        [
            "version: 0.1",
            "log: { level: warn }",
            `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
            `http: { addr: "127.0.0.1:${port}", secret: ${sha256(name)} }`,
            `auth: { htpasswd: { realm: dockyard-test, path: ${htpasswd} } }`,
            "",
        ].join("\n"),
    );
    const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "log"), "w")] });
    const host = `127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
        const status = await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0);
        if (status === 401) return { host, process: child };
        await new Promise((r) => setTimeout(r, 100));
    }
    child.kill();
    throw new Error(`docker-registry on ${host} did not answer; see ${dir}/log`);
}

const basic = `Basic ${Buffer.from(`AWS:${PASSWORD}`).toString("base64")}`;
const MANIFEST_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"].join(", ");

async function manifest(host: string, repository: string, reference: string): Promise<{ status: number; body: Buffer }> {
    const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, { headers: { Authorization: basic, Accept: MANIFEST_TYPES } });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

/** Writes an OCI layout holding a two-platform image (linux/amd64 and linux/arm64); returns the index digest. */
function writeTwoPlatformImage(dir: string): string {
    const blobs = path.join(dir, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer | string) => {
        const hex = sha256(data);
        fs.writeFileSync(path.join(blobs, hex), data);
        return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
    };
    const files = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-layer-"));
    fs.writeFileSync(path.join(files, "hello.txt"), "promoted, never rebuilt\n");
    const tar = execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", files, "-cf", "-", "hello.txt"]);
    const layer = blob(execFileSync("gzip", ["-n", "-9"], { input: tar }));
    const manifests = ["amd64", "arm64"].map((architecture) => {
        const config = blob(JSON.stringify({ architecture, os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar)}`] } }));
        const body = JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        });
        return { mediaType: "application/vnd.oci.image.manifest.v1+json", ...blob(body), platform: { architecture, os: "linux" } };
    });
    const index = blob(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }));
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
        path.join(dir, "index.json"),
        JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", ...index, annotations: { "org.opencontainers.image.ref.name": "v1" } }] }),
    );
    return index.digest;
}

describe("promotion between two real registries (skopeo copy --all --preserve-digests)", function () {
    this.timeout(120_000);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-registry-"));
    const bin = path.join(root, "bin");
    let dev: Registry;
    let prod: Registry;
    let digest: string;
    let source: string;

    /** A stand-in for the AWS CLI that answers `aws ecr get-login-password --region <r>` only. */
    const fakeAws = (password: string) => {
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(
            path.join(bin, "aws"),
            `#!/bin/sh\n[ "$1 $2 $3" = "ecr get-login-password --region" ] && [ -n "$4" ] || { echo "aws: unexpected arguments: $*" >&2; exit 252; }\nprintf '%s\\n' '${password}'\n`,
            { mode: 0o755 },
        );
    };

    const promote = (env: Record<string, string>) =>
        spawnSync("bash", ["-c", COPY_SCRIPT], {
            encoding: "utf8",
            // HOME elsewhere: no ambient credentials from ~/.docker or ~/.config can help the script.
            env: { PATH: `${bin}:${process.env.PATH}`, HOME: root, XDG_RUNTIME_DIR: root, DOCKYARD_TLS_VERIFY: "false", ...env },
        });
    const promoteToProd = (extra: Record<string, string> = {}) =>
        promote({ SOURCE_REF: source, TARGET_REPOSITORY: `${prod.host}/dockyard/prod/api`, LOGIN_REGISTRIES: `us-east-1/${dev.host} us-east-1/${prod.host}`, ...extra });

    before(async () => {
        const htpasswd = path.join(root, "htpasswd");
        fs.writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", "AWS", PASSWORD]));
        dev = await startRegistry(root, "dev", htpasswd);
        prod = await startRegistry(root, "prod", htpasswd);
        const layout = path.join(root, "layout");
        digest = writeTwoPlatformImage(layout);
        execFileSync("skopeo", ["--insecure-policy", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", `AWS:${PASSWORD}`, `oci:${layout}:v1`, `docker://${dev.host}/dockyard/dev/api:abc123`], {
            stdio: "pipe",
        });
        source = `${dev.host}/dockyard/dev/api@${digest}`;
        expect(sha256((await manifest(dev.host, "dockyard/dev/api", digest)).body)).to.equal(digest.slice(7));
    });

    after(() => {
        dev?.process.kill();
        prod?.process.kill();
    });

    it("copies the image into prod's repository with the same digest and both platforms, and prints the prod reference", async () => {
        fakeAws(PASSWORD);
        const result = promoteToProd();
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout.trim().split("\n").pop()).to.equal(`${prod.host}/dockyard/prod/api@${digest}`);
        const copied = await manifest(prod.host, "dockyard/prod/api", `sha256-${digest.slice(7)}`);
        expect(copied.status).to.equal(200);
        expect(`sha256:${sha256(copied.body)}`).to.equal(digest);
        const index = JSON.parse(copied.body.toString("utf8"));
        expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).to.deep.equal(["amd64", "arm64"]);
        for (const m of index.manifests) expect((await manifest(prod.host, "dockyard/prod/api", m.digest)).status, m.digest).to.equal(200);
    });

    it("copies nothing the second time (the image is already there with that digest)", () => {
        fakeAws(PASSWORD);
        const result = promoteToProd();
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stderr).not.to.match(/Copying|Writing manifest/);
        expect(result.stdout.trim()).to.equal(`${prod.host}/dockyard/prod/api@${digest}`);
    });

    it("fails when the registry refuses the login, and refuses a source not pinned by digest", () => {
        fakeAws("wrong-password");
        const refused = promote({ SOURCE_REF: source, TARGET_REPOSITORY: `${prod.host}/dockyard/prod/other`, LOGIN_REGISTRIES: `us-east-1/${dev.host} us-east-1/${prod.host}` });
        expect(refused.status).not.to.equal(0);
        expect(refused.stderr).to.match(/401|unauthorized|invalid username\/password/i);
        fakeAws(PASSWORD);
        const tag = promote({ SOURCE_REF: `${dev.host}/dockyard/dev/api:abc123`, TARGET_REPOSITORY: `${prod.host}/dockyard/prod/api` });
        expect(tag.status).to.equal(2);
        expect(tag.stderr).to.include("is not pinned by a sha256 digest");
    });

    it("prod keeps running its copy when dev's lifecycle deletes dev's image", async () => {
        const deleted = await fetch(`http://${dev.host}/v2/dockyard/dev/api/manifests/${digest}`, { method: "DELETE", headers: { Authorization: basic } });
        expect(deleted.status).to.equal(202);
        expect((await manifest(dev.host, "dockyard/dev/api", digest)).status).to.equal(404);
        const copy = await manifest(prod.host, "dockyard/prod/api", digest);
        expect(copy.status).to.equal(200);
        expect(`sha256:${sha256(copy.body)}`).to.equal(digest);
    });
});

/**
 * ECR's refusal to write a tag twice, in front of a real registry (Debian's docker-registry has no
 * immutable tags): a manifest PUT to a tag that already exists is refused with ECR's error, even
 * for the same digest (aws/containers-roadmap#2179; the message as buildkit reports it,
 * moby/buildkit#3776). Everything else, pushes by digest included, passes through.
 */
async function startImmutableProxy(upstream: string): Promise<{ host: string; close: () => void; tagWrites: string[] }> {
    const tagWrites: string[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => void relay(Buffer.concat(chunks)).catch((err: Error) => {
            process.stderr.write(`immutable proxy: ${req.method} ${req.url}: ${err.stack ?? err}\n`);
            res.writeHead(502);
            res.end(String(err));
        }));
        const relay = async (body: Buffer) => {
            // Hop-by-hop headers are the proxy's own (RFC 9110 7.6.1); fetch refuses some of them.
            const hopByHop = ["host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "expect", "te", "trailer", "proxy-connection"];
            const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => !hopByHop.includes(k) && typeof v === "string") as [string, string][]);
            const forward = (method = req.method!) =>
                fetch(`http://${upstream}${req.url}`, {
                    method,
                    headers: method === req.method ? headers : { ...headers, accept: MANIFEST_TYPES },
                    body: ["GET", "HEAD"].includes(method) ? undefined : body,
                    redirect: "manual",
                });
            const tagPut = req.method === "PUT" ? /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? "") : null;
            if (tagPut && !tagPut[2].startsWith("sha256:")) {
                tagWrites.push(tagPut[2]);
                if ((await forward("HEAD")).status === 200) {
                    res.writeHead(400, { "content-type": "application/json" });
                    res.end(JSON.stringify({ errors: [{ code: "TAG_INVALID", message: `The image tag '${tagPut[2]}' already exists in the '${tagPut[1]}' repository and cannot be overwritten because the repository is immutable.` }] }));
                    return;
                }
            }
            const answer = await forward();
            const answerHeaders: Record<string, string> = {};
            answer.headers.forEach((v, k) => {
                if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection") answerHeaders[k] = k === "location" ? v.replace(upstream, `127.0.0.1:${(server.address() as net.AddressInfo).port}`) : v;
            });
            res.writeHead(answer.status, answerHeaders);
            res.end(Buffer.from(await answer.arrayBuffer()));
        };
    });
    // skopeo with --tls-verify=false tries HTTPS first and falls back to HTTP when the handshake fails:
    // end a connection that does not speak HTTP at once, as a plain-HTTP registry does.
    server.on("clientError", (_err, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close(), tagWrites };
}

/** Pushes a one-layer image the way BuildKit's push-by-digest does: blobs, then the manifest by its digest, no tag. */
async function pushByDigest(host: string, repository: string, content: string): Promise<string> {
    const upload = async (data: Buffer) => {
        const digest = `sha256:${sha256(data)}`;
        const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: { Authorization: basic } });
        const location = new URL(start.headers.get("location")!, `http://${host}`);
        location.searchParams.set("digest", digest);
        const put = await fetch(location, { method: "PUT", headers: { Authorization: basic, "content-type": "application/octet-stream" }, body: data });
        expect(put.status, `blob upload to ${host}`).to.equal(201);
        return { digest, size: data.length };
    };
    const layer = await upload(execFileSync("gzip", ["-n"], { input: Buffer.from(content) }));
    const config = await upload(Buffer.from(JSON.stringify({ architecture: "arm64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${sha256(content)}`] } })));
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        }),
    );
    const digest = `sha256:${sha256(manifest)}`;
    const put = await fetch(`http://${host}/v2/${repository}/manifests/${digest}`, {
        method: "PUT",
        headers: { Authorization: basic, "content-type": "application/vnd.oci.image.manifest.v1+json" },
        body: manifest,
    });
    expect(put.status, `manifest push by digest to ${host}`).to.equal(201);
    return digest;
}

describe("tagging builds in an immutable repository (push by digest, then the copy script; issue 15 follow-up 2)", function () {
    this.timeout(120_000);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-immutable-"));
    const bin = path.join(root, "bin");
    const REPO = "dockyard/dev/api";
    let registry: Registry;
    let proxy: Awaited<ReturnType<typeof startImmutableProxy>>;

    // Asynchronous: the proxy answers from this process, which spawnSync would block.
    const tag = (source: string) =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn("bash", ["-c", COPY_SCRIPT], {
                env: { PATH: `${bin}:${process.env.PATH}`, HOME: root, XDG_RUNTIME_DIR: root, DOCKYARD_TLS_VERIFY: "false", SOURCE_REF: source, TARGET_REPOSITORY: `${proxy.host}/${REPO}`, LOGIN_REGISTRIES: `us-east-1/${proxy.host}` },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d));
            child.stderr.on("data", (d: Buffer) => (stderr += d));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });

    before(async () => {
        const htpasswd = path.join(root, "htpasswd");
        fs.writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", "AWS", PASSWORD]));
        registry = await startRegistry(root, "immutable", htpasswd);
        proxy = await startImmutableProxy(registry.host);
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(path.join(bin, "aws"), `#!/bin/sh\nprintf '%s\\n' '${PASSWORD}'\n`, { mode: 0o755 });
    });

    after(() => {
        proxy?.close();
        registry?.process.kill();
    });

    it("the double refuses a second write of a tag, as ECR does: the old content-hash tag fails on a rebuild with another digest", async () => {
        const first = await pushByDigest(proxy.host, REPO, "build one\n");
        const rebuilt = await pushByDigest(proxy.host, REPO, "build one, rebuilt after a cache miss\n");
        const put = (digest: string) =>
            manifest(registry.host, REPO, digest).then(({ body }) =>
                fetch(`http://${proxy.host}/v2/${REPO}/manifests/3f9a1c0e2b7d4a65`, { method: "PUT", headers: { Authorization: basic, "content-type": "application/vnd.oci.image.manifest.v1+json" }, body }),
            );
        expect((await put(first)).status).to.equal(201);
        const refused = await put(rebuilt);
        expect(refused.status).to.equal(400);
        expect(await refused.text()).to.include("cannot be overwritten because the repository is immutable");
        expect((await put(first)).status, "even the same digest").to.equal(400);
    });

    it("tags each build with its own digest, never writes an existing tag again, and leaves earlier builds tagged", async () => {
        const first = await pushByDigest(proxy.host, REPO, "release 1\n");
        const once = await tag(`${proxy.host}/${REPO}@${first}`);
        expect(once.status, once.stderr).to.equal(0);
        expect(once.stdout.trim().split("\n").pop()).to.equal(`${proxy.host}/${REPO}@${first}`);
        expect(sha256((await manifest(registry.host, REPO, `sha256-${first.slice(7)}`)).body)).to.equal(first.slice(7));

        // A re-run of the unchanged image (same digest): no tag write at all, so nothing to refuse.
        const writes = proxy.tagWrites.length;
        const again = await tag(`${proxy.host}/${REPO}@${first}`);
        expect(again.status, again.stderr).to.equal(0);
        expect(proxy.tagWrites.length).to.equal(writes);

        // A rebuild that yields another digest gets another tag; the first one still names its digest.
        const rebuilt = await pushByDigest(proxy.host, REPO, "release 1, rebuilt\n");
        const second = await tag(`${proxy.host}/${REPO}@${rebuilt}`);
        expect(second.status, second.stderr).to.equal(0);
        expect(sha256((await manifest(registry.host, REPO, `sha256-${rebuilt.slice(7)}`)).body)).to.equal(rebuilt.slice(7));
        expect(sha256((await manifest(registry.host, REPO, `sha256-${first.slice(7)}`)).body)).to.equal(first.slice(7));
    });
});
