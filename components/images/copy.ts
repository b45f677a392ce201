/**
 * The digest-exact copy both promotion and builds end with: an image pinned by digest, copied (or,
 * within one repository, only tagged) as `<repository>:sha256-<hex>`, a tag that names one digest
 * and so can never need to move.
 *
 * The copy is `skopeo copy --all --preserve-digests` (containers/skopeo docs/skopeo-copy.1.md): a
 * registry-to-registry copy that keeps a multi-platform manifest list and every image in it, and
 * fails rather than change a digest.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

const DIGEST_REF = /^([a-z0-9.-]+(?::\d+)?)\/([a-z0-9._/-]+)@(sha256:[a-f0-9]{64})$/;
const ECR_HOST = /^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/;

export interface DigestRef {
    /** `123456789012.dkr.ecr.us-east-1.amazonaws.com` */
    readonly host: string;
    /** `123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/dev/api` */
    readonly repository: string;
    /** `sha256:<64 hex>` */
    readonly digest: string;
}

/** Splits `<registry>/<repository>@sha256:<hex>`, or says what is wrong, naming `what` (a key and workload). */
export function parseDigestRef(ref: unknown, what: string): DigestRef {
    const match = typeof ref === "string" ? DIGEST_REF.exec(ref) : null;
    if (!match) {
        throw new Error(`${what} is ${JSON.stringify(ref)}; allowed: an image in a registry pinned by digest, <registry host>/<repository>@sha256:<64 hex>`);
    }
    return { host: match[1], repository: `${match[1]}/${match[2]}`, digest: match[3] };
}

/** `<region>/<host>` of every ECR registry among `hosts`: the script logs in to each with `aws ecr get-login-password`. */
export function ecrLogins(hosts: readonly string[]): string {
    const logins = new Set<string>();
    for (const host of hosts) {
        const match = ECR_HOST.exec(host);
        if (match) logins.add(`${match[1]}/${host}`);
    }
    return [...logins].sort().join(" ");
}

/**
 * Copies `$SOURCE_REF` (pinned by digest) to `$TARGET_REPOSITORY`, tagged `sha256-<hex>` so this
 * stack's lifecycle rule for untagged images never expires it, then proves the copy has the source's
 * digest and prints `<target repository>@<digest>`. Idempotent: an image already there with that
 * digest is not copied again, so the tag is written once and only ever names that digest (an
 * IMMUTABLE repository refuses a second write of a tag, even of the same digest:
 * aws/containers-roadmap#2179). With `$SOURCE_REF` in `$TARGET_REPOSITORY` itself it only tags
 * the image (the blobs are there). Registry credentials live in a temporary auth file removed on exit;
 * `$LOGIN_REGISTRIES` lists `<region>/<host>` pairs to log in to with the AWS CLI.
 * `$DOCKYARD_TLS_VERIFY=false` is for the registry tests' plain-HTTP registries only.
 */
export const COPY_SCRIPT = `set -euo pipefail
: "\${SOURCE_REF:?}" "\${TARGET_REPOSITORY:?}"
digest="\${SOURCE_REF##*@}"
if ! [[ "$digest" =~ ^sha256:[a-f0-9]{64}$ ]]; then
  echo "SOURCE_REF $SOURCE_REF is not pinned by a sha256 digest" >&2
  exit 2
fi
target="$TARGET_REPOSITORY:sha256-\${digest#sha256:}"
tls="\${DOCKYARD_TLS_VERIFY:-true}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REGISTRY_AUTH_FILE="$work/auth.json"
printf '{}' > "$REGISTRY_AUTH_FILE"
# Digest pinning is the integrity check; no signature policy applies to these copies.
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$work/policy.json"
for login in \${LOGIN_REGISTRIES:-}; do
  aws ecr get-login-password --region "\${login%%/*}" | skopeo login --tls-verify="$tls" --username AWS --password-stdin "\${login#*/}" >&2
done
manifest_digest() {
  skopeo --policy "$work/policy.json" inspect --raw --tls-verify="$tls" "docker://$1" | sha256sum | cut -d' ' -f1
}
if [ "$(manifest_digest "$target" 2>/dev/null || true)" != "\${digest#sha256:}" ]; then
  skopeo --policy "$work/policy.json" copy --all --preserve-digests --src-tls-verify="$tls" --dest-tls-verify="$tls" "docker://$SOURCE_REF" "docker://$target" >&2
  copied=$(manifest_digest "$target")
  if [ "$copied" != "\${digest#sha256:}" ]; then
    echo "copy of $SOURCE_REF to $target has digest sha256:$copied, not $digest" >&2
    exit 1
  fi
fi
printf '%s@%s\\n' "$TARGET_REPOSITORY" "$digest"
`;

export interface CopyByDigestArgs {
    /** `<registry>/<repository>@sha256:<hex>` (validated by `parseDigestRef` first). */
    readonly source: pulumi.Input<string>;
    /** The repository the copy lands in, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/dockyard/prod/api`. */
    readonly targetRepository: pulumi.Input<string>;
}

/**
 * Runs `COPY_SCRIPT` on the machine running Pulumi. A changed source or target is an update of the
 * command, and an update without its own `update` command runs `create` again
 * (pulumi/pulumi-command v1.2.1 provider/pkg/provider/local/commandController.go, Update: "Use
 * Create command if Update is unspecified"), so a new digest is always copied.
 */
export function copyByDigest(name: string, args: CopyByDigestArgs, parent: pulumi.Resource): command.local.Command {
    const hosts = pulumi.all([args.source, args.targetRepository]).apply(([source, target]) => [source.split("/")[0], target.split("/")[0]]);
    return new command.local.Command(
        name,
        {
            create: COPY_SCRIPT,
            interpreter: ["/bin/bash", "-c"],
            environment: {
                SOURCE_REF: args.source,
                TARGET_REPOSITORY: args.targetRepository,
                LOGIN_REGISTRIES: hosts.apply(ecrLogins),
            },
        },
        { parent },
    );
}
