/**
 * Runs a node's `#cloud-config` user data the way cloud-init does on first boot, for the modules
 * dockyard's user data uses, and refuses any other key (so user data cannot grow a module the lab
 * silently ignores):
 * - the bytes EC2 serves are uncompressed first when they are gzip, and read as they are when not
 *   (canonical/cloud-init cloudinit/util.py `decomp_gzip`, quiet: a failed gunzip keeps the data);
 * - `package_update`, `packages`: the OS boundary. Each package must be one the lab provides (the
 *   binaries are the host's Debian packages; the ECR credential helper is a lab fake); the install
 *   itself is recorded, not performed.
 * - `ssh_authorized_keys`, `users`: recorded; the lab runs no sshd (the provider reaches the
 *   managers' sockets directly), so SSH access is not proven here.
 * - `write_files`: path, content, permissions (octal), owner; only into the paths that belong to
 *   the node (its private mounts, scripts/lab/node-init), never the host's.
 * - `runcmd`: rendered into one shell script exactly as cloud-init's `shellify` does (a list item
 *   becomes single-quoted words, a string stays as written; canonical/cloud-init
 *   cloudinit/util.py `shellify`, run by cc_scripts_user), run with /bin/sh inside the node; its
 *   output goes to /var/log/cloud-init-output.log like cloud-init's. As on EC2, a failing command
 *   does not stop the next ones; the script's status is the last command's.
 */
import { spawn } from "node:child_process";
import { gunzipSync } from "node:zlib";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

/** Paths a node owns (bound over the host's by scripts/lab/node-init), by their directory in the node's state. */
export const NODE_PATHS: Record<string, string> = {
    "/etc/docker": "etc-docker",
    "/var/lib/docker": "var-lib-docker",
    "/run": "run",
    "/root": "root",
    "/home": "home",
    "/var/log": "var-log",
    "/usr/local/sbin": "usr-local-sbin",
    "/etc/systemd/system": "etc-systemd-system",
};

/** What the lab's nodes provide for each package dockyard's user data installs. */
export const PROVIDED_PACKAGES: Record<string, string> = {
    docker: "Debian's docker.io (dockerd 20.10), started by the lab's systemctl",
    "amazon-ecr-credential-helper": "scripts/lab/fakes/docker-credential-ecr-login",
    jq: "Debian's jq",
    "nfs-utils": "Debian's mount (no EFS in the lab: EFS volumes become local volumes)",
};

const KNOWN_KEYS = ["package_update", "packages", "ssh_authorized_keys", "users", "write_files", "runcmd"];
const FILE_KEYS = ["path", "content", "permissions", "owner"];

/** The node-state path a node path maps to; refuses a path outside the node's own. */
export function hostPath(nodeDir: string, nodePath: string): string {
    const normal = path.posix.normalize(nodePath);
    for (const [mount, dir] of Object.entries(NODE_PATHS)) {
        if (normal === mount || normal.startsWith(`${mount}/`)) return path.join(nodeDir, dir, normal.slice(mount.length));
    }
    throw new Error(`cloud-init write_files: ${nodePath} is outside the paths a lab node owns (${Object.keys(NODE_PATHS).join(", ")}); the lab never writes to the host's`);
}

/** cloud-init's `shellify`: the runcmd list as one /bin/sh script. */
export function shellify(commands: readonly (string | readonly string[])[]): string {
    const lines = commands.map((command) => (typeof command === "string" ? command : command.map((word) => `'${String(word).replace(/'/g, `'\\''`)}'`).join(" ")));
    return `#!/bin/sh\n${lines.join("\n")}\n`;
}

export interface CloudConfig {
    readonly packages: string[];
    readonly files: { path: string; content: string; permissions: number; owner: string }[];
    readonly runcmd: string;
}

/** The user data text cloud-init reads from the bytes EC2 serves (see the file comment). */
export function userDataText(bytes: Buffer): string {
    try {
        return gunzipSync(bytes).toString("utf8");
    } catch {
        return bytes.toString("utf8");
    }
}

/** Parses and checks user data; throws naming the first key or value the lab cannot run. */
export function parseCloudConfig(userData: string): CloudConfig {
    if (!userData.startsWith("#cloud-config\n")) throw new Error(`user data does not start with "#cloud-config": ${JSON.stringify(userData.slice(0, 40))}`);
    const doc = YAML.parse(userData) as Record<string, any>;
    const unknown = Object.keys(doc).filter((k) => !KNOWN_KEYS.includes(k));
    if (unknown.length > 0) throw new Error(`cloud-init key(s) ${unknown.join(", ")} are not run by the lab's cloud-init runner (known: ${KNOWN_KEYS.join(", ")}); add them to test/lab/cloudInitRunner.ts`);
    const packages: string[] = doc.packages ?? [];
    const missing = packages.filter((p) => !(p in PROVIDED_PACKAGES));
    if (missing.length > 0) throw new Error(`packages ${missing.join(", ")}: not provided by the lab's nodes (provided: ${Object.keys(PROVIDED_PACKAGES).join(", ")})`);
    const files = (doc.write_files ?? []).map((f: Record<string, unknown>) => {
        const extra = Object.keys(f).filter((k) => !FILE_KEYS.includes(k));
        if (extra.length > 0) throw new Error(`write_files ${String(f.path)}: key(s) ${extra.join(", ")} are not supported by the lab's runner`);
        if (typeof f.path !== "string" || typeof f.content !== "string") throw new Error(`write_files entry without a path or content: ${JSON.stringify(f).slice(0, 80)}`);
        const permissions = f.permissions === undefined ? 0o644 : parseInt(String(f.permissions), 8);
        return { path: f.path, content: f.content, permissions, owner: String(f.owner ?? "root:root") };
    });
    return { packages, files, runcmd: shellify(doc.runcmd ?? []) };
}

export interface BootResult {
    readonly status: number;
    readonly output: string;
}

/**
 * Boots a node: writes its files, records the package installs, runs runcmd inside it through
 * `scripts/lab/node exec`. Resolves with the script's status and output (also in the node's
 * /var/log/cloud-init-output.log).
 */
export async function runCloudInit(nodeScript: string, node: string, nodeDir: string, userData: Buffer, record: (entry: object) => void): Promise<BootResult> {
    const config = parseCloudConfig(userDataText(userData));
    record({ node, tool: "dnf", args: ["install", "-y", ...config.packages] });
    for (const file of config.files) {
        const target = hostPath(nodeDir, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, file.content, { mode: file.permissions });
        fs.chmodSync(target, file.permissions);
        if (file.owner !== "root:root") throw new Error(`write_files ${file.path}: owner ${file.owner}: the lab's nodes have only root`);
    }
    const log = path.join(nodeDir, "var-log", "cloud-init-output.log");
    const child = spawn(nodeScript, ["exec", node, "/bin/sh", "-c", config.runcmd], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let output = "";
    const collect = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        fs.appendFileSync(log, chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const status = await new Promise<number>((done) => child.on("close", (code, signal) => done(code ?? (signal ? 128 : 1))));
    return { status, output };
}
