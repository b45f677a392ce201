/**
 * The lab's private registry: Debian's `docker-registry` (the CNCF distribution registry) with
 * htpasswd auth and TLS, at 10.0.0.5:443 in the lab's VPC, under the stack's own ECR host name
 * (`<account>.dkr.ecr.<region>.amazonaws.com`, which the lab's resolver answers), so image
 * references stay exactly as the program declares them. ECR's user name is `AWS` and its password
 * a 12-hour token (ECR GetAuthorizationToken); `rotate()` replaces the password in the htpasswd file,
 * which the registry re-reads when the file changes (distribution registry/auth/htpasswd/access.go),
 * standing in for the token's expiry.
 *
 * The nodes trust the lab's CA through /etc/docker/certs.d/<host>/ca.crt (Docker's per-registry
 * trust, docs.docker.com/engine/security/certificates/), in place of the public CA that signs ECR.
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type Docker from "dockerode";
import { buildTestImage } from "../contract/engine";
import { STATE, updateStore, vpcService, waitFor } from "./lab";

export const REGISTRY_IP = "10.0.0.5";
export const REGISTRY_USER = "AWS";
const DIR = path.join(STATE, "registry");

function run(command: string, args: string[]): string {
    const result = spawnSync(command, args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} ${args[0]} failed: ${result.stderr.trim()}`);
    return result.stdout;
}

export const caFile = () => path.join(DIR, "ca.crt");

function writeHtpasswd(password: string): void {
    // bcrypt: the only hash the distribution registry accepts.
    const line = spawnSync("htpasswd", ["-nbB", REGISTRY_USER, password], { encoding: "utf8" });
    if (line.status !== 0) throw new Error(`htpasswd failed: ${line.stderr.trim()}`);
    fs.writeFileSync(`${DIR}/htpasswd.tmp`, line.stdout.trim() + "\n", { mode: 0o600 });
    fs.renameSync(`${DIR}/htpasswd.tmp`, `${DIR}/htpasswd`);
}

const newPassword = () => crypto.randomBytes(24).toString("base64url");

/** Starts the registry for `host`; returns when it answers (401 without credentials). */
export async function startRegistry(host: string): Promise<void> {
    fs.mkdirSync(path.join(DIR, "data"), { recursive: true });
    run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dylab CA", "-keyout", `${DIR}/ca.key`, "-out", `${DIR}/ca.crt`]);
    run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${host}`, "-keyout", `${DIR}/tls.key`, "-out", `${DIR}/tls.csr`]);
    fs.writeFileSync(`${DIR}/san.ext`, `subjectAltName=DNS:${host},IP:${REGISTRY_IP}\n`);
    run("openssl", ["x509", "-req", "-in", `${DIR}/tls.csr`, "-CA", `${DIR}/ca.crt`, "-CAkey", `${DIR}/ca.key`, "-CAcreateserial", "-days", "1", "-extfile", `${DIR}/san.ext`, "-out", `${DIR}/tls.crt`]);
    const password = newPassword();
    writeHtpasswd(password);
    updateStore((store) => (store.registry.password = password));
    fs.writeFileSync(
        `${DIR}/config.yml`,
        [
            "version: 0.1",
            "log:",
            "  level: info",
            "storage:",
            "  filesystem:",
            `    rootdirectory: ${DIR}/data`,
            "http:",
            `  addr: ${REGISTRY_IP}:443`,
            "  tls:",
            `    certificate: ${DIR}/tls.crt`,
            `    key: ${DIR}/tls.key`,
            "auth:",
            "  htpasswd:",
            "    realm: dylab",
            `    path: ${DIR}/htpasswd`,
            "",
        ].join("\n"),
    );
    vpcService("registry", ["docker-registry", "serve", `${DIR}/config.yml`]);
    await waitFor("the lab registry to answer", async () => {
        const probe = spawnSync("nsenter", ["--net=/var/run/netns/dylab-vpc", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile(), "--resolve", `${host}:443:${REGISTRY_IP}`, `https://${host}/v2/`], { encoding: "utf8" });
        return probe.stdout === "401" ? true : undefined;
    }, 30_000, 500);
}

/** Rotates the registry password, as a 12-hour ECR token expires; the old one stops working. */
export function rotate(): void {
    const password = newPassword();
    writeHtpasswd(password);
    updateStore((store) => (store.registry.password = password));
}

export const currentPassword = (): string => JSON.parse(fs.readFileSync(path.join(STATE, "aws", "store.json"), "utf8")).registry.password;

/** The registry auth a client sends (X-Registry-Auth), with the current password. */
export const registryAuth = (host: string) => ({ username: REGISTRY_USER, password: currentPassword(), serveraddress: host });

/** Builds the lab's test image on `builder` and pushes it under each reference; returns reference → digest-pinned reference. */
export async function buildAndPush(builder: Docker, host: string, refs: readonly string[], webPaths: readonly string[]): Promise<Record<string, string>> {
    const local = "dylab-test-image:build";
    await buildTestImage(local, webPaths, builder);
    const pinned: Record<string, string> = {};
    for (const ref of refs) {
        const [repository, tag] = splitTag(ref);
        await builder.getImage(local).tag({ repo: repository, tag });
        const stream = await builder.getImage(`${repository}:${tag}`).push({ tag, authconfig: registryAuth(host) } as any);
        const output: any[] = await new Promise((done, fail) => builder.modem.followProgress(stream as any, (err, res) => (err ? fail(err) : done(res))));
        const failure = output.find((line) => line.error);
        if (failure) throw new Error(`pushing ${ref}: ${failure.error}`);
        const digest = output.find((line) => line.aux?.Digest)?.aux.Digest;
        if (!digest) throw new Error(`pushing ${ref}: the registry returned no digest`);
        pinned[ref] = `${repository}@${digest}`;
    }
    return pinned;
}

function splitTag(ref: string): [string, string] {
    const at = ref.lastIndexOf(":");
    if (at > ref.lastIndexOf("/")) return [ref.slice(0, at), ref.slice(at + 1)];
    return [ref, "latest"];
}
