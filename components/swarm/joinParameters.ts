/**
 * The swarm's join parameters (`manager-token`, `worker-token`, `manager-addresses` under
 * `<parameter path>/join`) are Pulumi resources whose value the nodes own (issue 14 item 4). The
 * nodes used to create their parameters at boot, under the parameter path itself, and nothing
 * deleted them: after `pulumi destroy` and a new `up`, the first manager found the old swarm's
 * addresses, could not decrypt its tokens (the old key is pending deletion) and refused to start a
 * second swarm.
 *
 * Now the stack creates each one holding `JOIN_PARAMETER_UNSET`, which the nodes read as absent
 * (cloudInit.ts `get_param`), and `destroy` deletes them after the instances (the nodes depend on
 * them). They live under a path of their own so that creating them never overwrites what a running
 * swarm of an older stack published: its nodes keep reading that (cloudInit.ts `find_param`) until
 * the managers' reaper, which the node-file sync brings them, has filled these.
 *
 * Relied on (hashicorp/terraform-provider-aws internal/service/ssm/parameter.go, the engine behind
 * `aws.ssm.Parameter`):
 * - create is `PutParameter` with `Overwrite` taken from `overwrite` (shouldUpdateParameter), so
 *   `overwrite: true` replaces what a destroy cut short left at the path instead of failing with
 *   ParameterAlreadyExists;
 * - an update of any argument but `overwrite` and tags would `PutParameter` the value in state, the
 *   placeholder, over the tokens: every argument it would send is in `ignoreChanges`, so a change of
 *   the program never updates them (the reaper would write the tokens again within a minute, but a
 *   first manager booting in that minute would start a second swarm). After a `pulumi refresh` the
 *   provider may still update one and PUT back the token it read; the reaper replaces any published
 *   token that is not the swarm's (cloudInit.ts publish_tokens);
 * - delete is `DeleteParameter`, a parameter already gone is not an error;
 * - read (only on `pulumi refresh`) stores the decrypted value; `value` is a sensitive attribute,
 *   which the Pulumi bridge returns as a secret (pulumi/pulumi-terraform-bridge#10), and it is
 *   named in `additionalSecretOutputs` besides, so a token read back is encrypted in state.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** What a join parameter holds until a node writes it. */
export const JOIN_PARAMETER_UNSET = "dockyard-unset";

/** Where the join parameters live: below the stack's parameter path, apart from what older nodes published there. */
export const joinParameterPath = (parameterPath: string) => `${parameterPath}/join`;

export interface JoinParameter {
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
        name: `${joinParameterPath(parameterPath)}/${parameter.name}`,
        type: parameter.type,
        value: pulumi.secret(JOIN_PARAMETER_UNSET),
        ...(parameter.type === "SecureString" ? { keyId: kmsKeyAlias } : {}),
        overwrite: true,
        description: "dockyard: written by the swarm's nodes; created and deleted with the stack",
    };
}

/**
 * Every argument of `joinParameterArgs` that an update would send with the value (all but `name`,
 * which replaces, and `overwrite`, which the provider leaves out of the update): Pulumi never updates
 * a join parameter. The engine resets each to its old input, or leaves it out (pulumi/pulumi
 * sdk/go/common/resource/properties_path.go PropertyPath.Reset).
 */
export const JOIN_PARAMETER_IGNORE_CHANGES = ["value", "type", "keyId", "description"];

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
                    ignoreChanges: JOIN_PARAMETER_IGNORE_CHANGES,
                    additionalSecretOutputs: ["value"],
                    // A replacement under the same name must not create (overwriting) and then delete the old one: the parameter would be gone.
                    deleteBeforeReplace: true,
                }),
        );
        this.registerOutputs({});
    }
}
