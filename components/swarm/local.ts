/**
 * The `local` platform (`dockyard:swarm.engine: local`): the Docker engine of the machine that runs
 * `pulumi up`, in swarm mode, with no AWS at all.
 *
 * Swarm mode is initialised by a `command:local:Command` that runs before any Swarm resource: it
 * does nothing when the engine is already in a swarm, and otherwise runs a single-node
 * `docker swarm init` advertising 127.0.0.1 (a laptop with several interfaces otherwise makes
 * `swarm init` ask which address to advertise). Destroying the stack leaves the swarm as it is,
 * since other things on the machine may use it; `docker swarm leave --force` undoes it by hand.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { SwarmPlatform } from "../platform";
import { FIRST_PUBLISHED_PORT } from "../workload";

/** The shell the init command runs: idempotent, so every `pulumi up` may run it. */
export const SWARM_INIT_SCRIPT = [
    `state="$(docker info --format '{{.Swarm.LocalNodeState}}')"`,
    `if [ "$state" != "active" ]; then docker swarm init --advertise-addr 127.0.0.1; fi`,
].join("\n");

export interface LocalSwarmPlatformOptions extends pulumi.ComponentResourceOptions {
    /** Docker host to deploy to; default the engine the `docker` CLI uses here (`DOCKER_HOST` or the local socket). */
    readonly host?: string;
}

export class LocalSwarm extends pulumi.ComponentResource {
    public readonly provider: docker.Provider;
    public readonly swarmInit: command.local.Command;

    constructor(name: string, args: { readonly host?: string }, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:LocalSwarm", name, {}, opts);
        this.swarmInit = new command.local.Command(
            `${name}-swarm-init`,
            {
                create: SWARM_INIT_SCRIPT,
                environment: args.host ? { DOCKER_HOST: args.host } : undefined,
            },
            { parent: this },
        );
        this.provider = new docker.Provider(`${name}-docker`, { host: args.host }, { parent: this });
        this.registerOutputs({ provider: this.provider, swarmInit: this.swarmInit });
    }
}

/** The local engine as a Swarm platform: its provider, local volumes, host-published ports. */
export function localSwarmPlatform(stack: string, opts: LocalSwarmPlatformOptions = {}): SwarmPlatform {
    const { host, ...resourceOpts } = opts;
    const local = new LocalSwarm(`${stack}-local`, { host }, resourceOpts);
    return {
        kind: "swarm",
        engine: "local",
        portPublishing: FIRST_PUBLISHED_PORT,
        provider: local.provider,
        shell: host ? { dockerHost: host } : {},
        dependsOn: [local.swarmInit],
    };
}
