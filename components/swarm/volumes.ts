/**
 * EFS-backed Swarm volumes need their directory to exist before a task mounts it. Docker's local
 * volume driver mounts NFS with the kernel's mount call, which cannot go through an EFS access
 * point (only amazon-efs-utils can), so the access point's `creationInfo` never runs. This command
 * creates the directory, owned by the workload's user, once on the first manager: it mounts the
 * file system's root over NFS, runs `install -d`, and unmounts.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmShell } from "../platform";
import { shellQuote as q } from "./readiness";
import { onSwarmFunction } from "./shell";

export interface VolumeDirectorySettings {
    readonly shell: SwarmShell;
    /** The EFS file system's DNS name. */
    readonly dnsName: string;
    /** The directory under the file system's root, e.g. `/dockyard/dev/redis/data`. */
    readonly path: string;
    readonly uid: number;
    readonly gid: number;
}

/** The bash script that creates (idempotently) a volume's directory on EFS. */
export function volumeDirectoryScript(s: VolumeDirectorySettings): string {
    const prepare = 'set -e; root=$(mktemp -d); mount -t nfs4 -o nfsvers=4.1 "$1:/" "$root"; install -d -o "$2" -g "$3" -m 0750 "$root$4"; umount "$root"; rmdir "$root"';
    return `#!/bin/bash
# dockyard: create an EFS volume's directory (rendered by components/swarm/volumes.ts)
set -euo pipefail
${onSwarmFunction(s.shell)}
# The script's $1…$4 are expanded by the manager's sh, not here.
# shellcheck disable=SC2016
on_swarm sudo sh -c ${q(prepare)} prepare ${q(s.dnsName)} ${s.uid} ${s.gid} ${q(s.path)}
echo ${q(`EFS directory ${s.path} ready for ${s.uid}:${s.gid}`)}
`;
}

export interface VolumeDirectoryArgs {
    readonly shell: pulumi.Input<SwarmShell>;
    readonly dnsName: pulumi.Input<string>;
    readonly path: pulumi.Input<string>;
    readonly uid: number;
    readonly gid: number;
}

export function volumeDirectory(name: string, args: VolumeDirectoryArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = pulumi
        .all([args.shell, args.dnsName, args.path])
        .apply(([shell, dnsName, path]) => volumeDirectoryScript({ shell, dnsName, path, uid: args.uid, gid: args.gid }));
    return new command.local.Command(name, { create: script, interpreter: ["/bin/bash", "-c"] }, opts);
}
