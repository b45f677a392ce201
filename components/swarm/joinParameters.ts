/**
 * The swarm's join parameters (`manager-token`, `worker-token`, `manager-addresses` under the
 * stack's parameter path) are Pulumi resources whose value the nodes own (issue 14 item 4). The
 * nodes used to create them at boot, so nothing deleted them: after `pulumi destroy` and a new
 * `up`, the first manager found the old swarm's addresses, could not decrypt its tokens (the old
 * key is pending deletion) and refused to start a second swarm.
 *
 * Now the stack creates each one holding `JOIN_PARAMETER_UNSET`, which the nodes read as absent
 * (cloudInit.ts `get_param`), and `destroy` deletes them after the instances (the nodes depend on
 * them). The value is the nodes': `ignoreChanges` keeps Pulumi from writing it back on `up`.
 *
 * Relied on (hashicorp/terraform-provider-aws internal/service/ssm/parameter.go, the engine behind
 * `aws.ssm.Parameter`):
 * - create is `PutParameter` with `Overwrite` taken from `overwrite` (shouldUpdateParameter), so
 *   `overwrite: true` replaces what a node of an earlier deployment left at the path, or what a
 *   stack older than these resources wrote, instead of failing with ParameterAlreadyExists;
 * - an update of any argument but `overwrite` and tags is a `PutParameter` of the value in state,
 *   the placeholder: the managers' reaper writes the tokens and addresses again within a minute
 *   (cloudInit.ts reaperScript), so such an update, or this resource's first `up` on an older
 *   stack, costs new nodes at most that minute of waiting;
 * - delete is `DeleteParameter`, a parameter already gone is not an error;
 * - read (only on `pulumi refresh`) stores the decrypted value; `value` is a sensitive attribute,
 *   which the Pulumi bridge returns as a secret (pulumi/pulumi-terraform-bridge#10), and it is
 *   named in `additionalSecretOutputs` besides, so a token read back is encrypted in state.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** What a join parameter holds until a node writes it. */
export const JOIN_PARAMETER_UNSET = "dockyard-unset";

export interface JoinParameter {
    /** Under the stack's parameter path. */
    readonly name: "manager-token" | "worker-token" | "manager-addresses";
    readonly type: "SecureString" | "String";
}

/** What the nodes publish (cloudInit.ts publish_swarm) and read. */
export const JOIN_PARAMETERS: readonly JoinParameter[] = [
    { name: "manager-token", type: "SecureString" },
    { name: "worker-token", type: "SecureString" },
    { name: "manager-addresses", type: "String" },
];

/** The arguments of one join parameter; SecureStrings use the stack's key by its alias, as the nodes do. */
export function joinParameterArgs(parameterPath: string, kmsKeyAlias: string, parameter: JoinParameter): aws.ssm.ParameterArgs {
    return {
        name: `${parameterPath}/${parameter.name}`,
        type: parameter.type,
        value: pulumi.secret(JOIN_PARAMETER_UNSET),
        ...(parameter.type === "SecureString" ? { keyId: kmsKeyAlias } : {}),
        overwrite: true,
        description: "dockyard: written by the swarm's nodes; created and deleted with the stack",
    };
}

export interface SwarmJoinParametersArgs {
    /** `swarmNames(config).parameterPath`. */
    readonly parameterPath: string;
    readonly kmsKeyAlias: string;
    /** The alias resource: a SecureString is created only once its key alias exists. */
    readonly keyAlias: pulumi.Resource;
}

export class SwarmJoinParameters extends pulumi.ComponentResource {
    public readonly parameters: aws.ssm.Parameter[];

    constructor(name: string, args: SwarmJoinParametersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:swarm:JoinParameters", name, {}, opts);
        this.parameters = JOIN_PARAMETERS.map(
            (parameter) =>
                new aws.ssm.Parameter(`${name}-${parameter.name}`, joinParameterArgs(args.parameterPath, args.kmsKeyAlias, parameter), {
                    parent: this,
                    dependsOn: [args.keyAlias],
                    ignoreChanges: ["value"],
                    additionalSecretOutputs: ["value"],
                    // A replacement under the same name must not create (overwriting) and then delete the old one: the parameter would be gone.
                    deleteBeforeReplace: true,
                }),
        );
        this.registerOutputs({});
    }
}
