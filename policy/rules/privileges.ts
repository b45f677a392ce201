/**
 * Privileges a workload asked for in its spec (`privileges` in components/workload.ts): root, or
 * capabilities beyond NET_BIND_SERVICE. The adapters declare them on the objects they render (the
 * annotation `dockyard.io/privileges` on a Kubernetes controller and on the namespace that needs the
 * baseline Pod Security level, the label `dockyard.privileges` on a Swarm service). The mandatory
 * rules (k8s-run-as-non-root, k8s-capabilities, k8s-namespace-pod-security, swarm-non-root-user,
 * swarm-capabilities) accept exactly what is declared, never more and never a capability outside
 * ALLOWED_CAPABILITIES; this rule reports every declaration.
 *
 * Advisory, not mandatory: the spec's opt-in is the reviewed decision (an official nginx or postgres
 * image cannot start without it), so blocking it would make the field unusable; the report keeps it
 * visible in every preview and `pulumi up`. An organisation that allows no such workload raises this
 * rule to mandatory in its policy config (Pulumi policy packs take an `enforcementLevel` per policy).
 */
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { ALLOWED_CAPABILITIES, PRIVILEGES_MARK, RESTRICTED_CAPABILITIES } from "../../components/workload";
import { describe, POD_TEMPLATE_TYPES } from "./common";

export interface DeclaredPrivileges {
    readonly root: boolean;
    /** Declared capabilities within ALLOWED_CAPABILITIES; others are never accepted, declared or not. */
    readonly capabilities: readonly string[];
}

/** The privileges a declaration (`root,CHOWN,SETUID`) grants; nothing for a missing or malformed one. */
export function declaredPrivileges(value: unknown): DeclaredPrivileges {
    const parts = typeof value === "string" ? value.split(",").map((p) => p.trim()) : [];
    return { root: parts.includes("root"), capabilities: parts.filter((p) => (ALLOWED_CAPABILITIES as readonly string[]).includes(p)) };
}

/** Capabilities a container may add: NET_BIND_SERVICE always (the restricted profile's one), declared ones besides. */
export const addableCapabilities = (declared: DeclaredPrivileges): string[] => [...new Set([...RESTRICTED_CAPABILITIES, ...declared.capabilities])];

const CONTROLLERS = new Set([...POD_TEMPLATE_TYPES, "kubernetes:core/v1:Namespace"]);

const asText = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** A Swarm service's declaration: its label PRIVILEGES_MARK.swarm. */
export const swarmDeclaration = (service: Record<string, any>): string | undefined =>
    asText(((service.labels ?? []) as { label?: unknown; value?: unknown }[]).find((l) => l.label === PRIVILEGES_MARK.swarm)?.value);

/** A Kubernetes object's declaration: its annotation PRIVILEGES_MARK.kubernetes. */
export const kubernetesDeclaration = (metadata: { annotations?: Record<string, unknown> } | undefined): string | undefined => asText(metadata?.annotations?.[PRIVILEGES_MARK.kubernetes]);

function declarationOf(args: ResourceValidationArgs): string | undefined {
    const props = args.props as Record<string, any>;
    if (args.type === "docker:index/service:Service") return swarmDeclaration(props);
    if (CONTROLLERS.has(args.type)) return kubernetesDeclaration(props.metadata);
    return undefined;
}

export const workloadPrivileges: ResourceValidationPolicy = {
    name: "workload-privileges",
    description: `Reports each workload that asks for root or capabilities beyond ${RESTRICTED_CAPABILITIES.join(", ")} (spec field privileges; declared as ${PRIVILEGES_MARK.kubernetes} on Kubernetes, ${PRIVILEGES_MARK.swarm} on Swarm), and each namespace that enforces baseline for them.`,
    enforcementLevel: "advisory",
    severity: "medium",
    validateResource: (args, report) => {
        const declared = declarationOf(args);
        if (declared === undefined || declared === "") return;
        if (args.type === "kubernetes:core/v1:Namespace") report(`${describe(args)}: enforces the baseline Pod Security Standard, not restricted, because ${declared}`);
        else report(`${describe(args)}: runs with privileges ${JSON.stringify(declared)} (spec field privileges)`);
    },
};
