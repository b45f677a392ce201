/**
 * How Pulumi and operators reach the first manager's Docker API: SSH, either tunnelled through
 * AWS Systems Manager (`swarm.access: ssm`, no open port; the instance id is the SSH host) or
 * straight to the manager's public address from `swarm.sshCidrs` (`ssh`).
 *
 * The Docker provider runs the local `ssh` binary, which reads a key only from a file or an agent.
 * When the stack has `swarm.sshPrivateKey`, the program writes it to a 0600 file under
 * `~/.ssh/dockyard/` on the machine running Pulumi; the provider's options name the file with a
 * literal `~`, so they are the same on every machine and never change the provider.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SwarmAccess } from "../config";

export interface AccessSettings {
    readonly access: SwarmAccess;
    readonly region: string;
    readonly sshUser: string;
    /** `~/…` path of the identity file, or undefined to use the operator's ssh-agent and defaults. */
    readonly identityFile?: string;
}

/** Where the stack's SSH key lives on the machine running Pulumi. */
export function identityFilePath(project: string, stack: string): string {
    return `~/.ssh/dockyard/${project}-${stack}`;
}

/** The ProxyCommand that carries SSH over a Session Manager session (needs the session-manager-plugin). */
export function ssmProxyCommand(region: string): string {
    return `aws ssm start-session --region ${region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p`;
}

/**
 * SSH options of the Docker provider and the readiness gate. Host keys are not pinned: a replaced
 * manager has a new one, and through Session Manager the peer is already the instance IAM names.
 */
export function sshOptions(s: AccessSettings): string[] {
    return [
        ...(s.access === "ssm" ? ["-o", `ProxyCommand=${ssmProxyCommand(s.region)}`] : []),
        ...(s.identityFile ? ["-o", `IdentityFile=${s.identityFile}`, "-o", "IdentitiesOnly=yes"] : []),
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "ConnectTimeout=30",
        "-o", "ServerAliveInterval=30",
        "-o", "LogLevel=ERROR",
    ];
}

/** The Docker provider's host: the manager's instance id through SSM, or its public address. */
export function dockerHost(sshUser: string, target: string): string {
    return `ssh://${sshUser}@${target}`;
}

/** A command an operator can paste to get a shell on the manager. */
export function connectHint(s: AccessSettings, target: string): string {
    if (s.access === "ssm") return `aws ssm start-session --region ${s.region} --target ${target}`;
    return `ssh ${s.identityFile ? `-i ${s.identityFile} ` : ""}${s.sshUser}@${target}`;
}

/** Writes the private key where `identityFile` points (`~` is this user's home), readable by this user only. */
export function writeIdentityFile(identityFile: string, privateKey: string): void {
    const file = identityFile.startsWith("~/") ? path.join(os.homedir(), identityFile.slice(2)) : identityFile;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const content = privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`;
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) return;
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
}
