/**
 * Promotion: the exact image another stack built (same digest, no rebuild) copied into this stack's
 * own immutable repository before this stack deploys it, so the source stack's lifecycle policy or
 * destroy can never delete what this stack runs.
 *
 * The copy is `skopeo copy --all --preserve-digests` (containers/skopeo docs/skopeo-copy.1.md): a
 * registry-to-registry copy that keeps a multi-platform manifest list and every image in it, and
 * fails rather than change a digest. ECR's own features do not fit: replication copies every push of
 * whole repository prefixes, not the one release that was checked, and only to other regions or
 * accounts; pull-through cache rules serve what a node asks for and expire it on their own terms.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../config";
import { deployRepository, DeployRepositoryArgs } from "./build";

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
 * digest is not copied again. Registry credentials live in a temporary auth file removed on exit;
 * `$LOGIN_REGISTRIES` lists `<region>/<host>` pairs to log in to with the AWS CLI.
 * `$DOCKYARD_TLS_VERIFY=false` is for the registry tests' plain-HTTP registries only.
 */
export const PROMOTE_SCRIPT = `set -euo pipefail
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

export interface PromotedImageArgs extends DeployRepositoryArgs {
    /** The image to promote, pinned by digest (validated by `parseDigestRef` first). */
    readonly source: pulumi.Input<string>;
}

/** This stack's own repository holding a digest-exact copy of an image another stack built. */
export class PromotedImage extends pulumi.ComponentResource {
    public readonly repositoryUrl: pulumi.Output<string>;
    /** `<this stack's repository>@<the source's digest>`, once the copy is verified. */
    public readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: PromotedImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:images:PromotedImage", name, {}, opts);
        const repo = deployRepository(`${name}-repo`, args, this);
        const source = pulumi.output(args.source).apply((ref) => parseDigestRef(ref, `${NAMESPACE}:images promotion source`));
        // Runs again when the source or the target changes (an update re-runs `create`).
        const copy = new command.local.Command(
            `${name}-copy`,
            {
                create: PROMOTE_SCRIPT,
                interpreter: ["/bin/bash", "-c"],
                environment: {
                    SOURCE_REF: pulumi.output(args.source),
                    TARGET_REPOSITORY: repo.repositoryUrl,
                    LOGIN_REGISTRIES: pulumi.all([source, repo.repositoryUrl]).apply(([src, url]) => ecrLogins([src.host, url.split("/")[0]])),
                },
            },
            { parent: this },
        );
        this.repositoryUrl = repo.repositoryUrl;
        this.imageRef = pulumi.all([copy.stdout, repo.repositoryUrl, source]).apply(([, url, src]) => `${url}@${src.digest}`);
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageRef: this.imageRef });
    }
}
