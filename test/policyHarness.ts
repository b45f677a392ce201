/**
 * Runs CrossGuard rules the way the policy server would, without the server: builds the arguments
 * the engine passes (props behind the same unknown-checking proxy), collects violations, and turns
 * an offline render's recorded resources into the `PolicyResource`s of a stack validation.
 */
import {
    EnforcementLevel,
    Policies,
    PolicyResource,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
} from "@pulumi/policy";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { mockOutputs } from "../scripts/offline/mocks";
import type { ProgramRun, RecordedResource } from "./harness";

class NotApplicable extends Error {}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

/** What a test says about a resource; everything else gets an engine-like default. */
export interface FakeResource {
    readonly type: string;
    readonly props: Record<string, any>;
    readonly name?: string;
    readonly provider?: { readonly type: string; readonly name: string; readonly props: Record<string, any> };
    /** Property name to the resources (by name) that property refers to, as the engine records it. */
    readonly propertyDependencies?: Record<string, string[]>;
}

const urnOf = (type: string, name: string, stack = "test") => `urn:pulumi:${stack}::dockyard::${type}::${name}`;

const isTypeFn = (type: string) => (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === type;

export function resourceArgs(resource: FakeResource, config: Record<string, unknown> = {}): ResourceValidationArgs {
    const name = resource.name ?? "subject";
    const props = unknownCheckingProxy(resource.props);
    const isType = isTypeFn(resource.type);
    return {
        type: resource.type,
        props,
        urn: urnOf(resource.type, name),
        name,
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        provider: resource.provider ? { ...resource.provider, urn: urnOf(resource.provider.type, resource.provider.name) } : undefined,
        stackTags: new Map(),
        isType,
        asType: ((cls: unknown) => (isType(cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config as T,
        notApplicable,
    };
}

export interface RuleResult {
    /** False when every validation of the policy said "not applicable" to this resource. */
    readonly applicable: boolean;
    readonly violations: string[];
}

/** Calls a resource policy's validations on one resource, as the policy server does. */
export async function runResourcePolicy(policy: ResourceValidationPolicy, resource: FakeResource, config: Record<string, unknown> = {}): Promise<RuleResult> {
    const validations: ResourceValidation[] = ([] as ResourceValidation[]).concat(policy.validateResource ?? []);
    const violations: string[] = [];
    let applicable = false;
    for (const validate of validations) {
        try {
            await validate(resourceArgs(resource, config), (message) => violations.push(message));
            applicable = true;
        } catch (err) {
            if (!(err instanceof NotApplicable)) throw err;
        }
    }
    return { applicable, violations };
}

/** Builds the stack's `PolicyResource`s, resolving `propertyDependencies` by resource name. */
export function policyResources(resources: readonly FakeResource[], stack = "test"): PolicyResource[] {
    const built = resources.map((r, i): PolicyResource => {
        const name = r.name ?? `resource-${i}`;
        return {
            type: r.type,
            props: unknownCheckingProxy(r.props),
            urn: urnOf(r.type, name, stack),
            name,
            opts: resourceArgs(r).opts,
            provider: r.provider ? { ...r.provider, urn: urnOf(r.provider.type, r.provider.name, stack) } : undefined,
            dependencies: [],
            propertyDependencies: {},
            isType: isTypeFn(r.type),
            asType: (() => undefined) as PolicyResource["asType"],
        };
    });
    const byName = new Map(built.map((r) => [r.name, r]));
    resources.forEach((r, i) => {
        for (const [property, names] of Object.entries(r.propertyDependencies ?? {})) {
            const deps = names.map((n) => byName.get(n)).filter((d): d is PolicyResource => d !== undefined);
            built[i].propertyDependencies[property] = deps;
            built[i].dependencies.push(...deps);
        }
    });
    return built;
}

/** Calls a stack policy over the given resources. */
export async function runStackPolicy(policy: StackValidationPolicy, resources: readonly FakeResource[], config: Record<string, unknown> = {}): Promise<RuleResult> {
    const violations: string[] = [];
    try {
        await policy.validateStack(
            { resources: policyResources(resources), stackTags: new Map(), getConfig: <T extends object>() => config as T, notApplicable },
            (message) => violations.push(message),
        );
        return { applicable: true, violations };
    } catch (err) {
        if (err instanceof NotApplicable) return { applicable: false, violations };
        throw err;
    }
}

/** Every string anywhere inside a value. */
function stringsIn(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(stringsIn);
    if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
    return [];
}

/**
 * The recorded resources of an offline render as the policy engine would see them: each with its
 * provider's props, and with property dependencies recovered from the ids the mocks handed out
 * (a load balancer's `securityGroups` holds the mocked ids of the groups it uses).
 */
export function fromRender(run: ProgramRun, region = "us-east-1"): FakeResource[] {
    const idOf = (r: RecordedResource) => mockOutputs({ type: r.type, name: r.name, inputs: r.inputs, custom: r.custom } as MockResourceArgs, region).id;
    const byId = new Map<string, string>();
    for (const r of run.resources) {
        const id = r.custom ? idOf(r) : undefined;
        if (id) byId.set(id, r.name);
    }
    const providers = new Map(run.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.name, r]));
    return run.resources.map((r) => {
        const provider = r.provider ? providers.get(r.provider) : undefined;
        const propertyDependencies: Record<string, string[]> = {};
        for (const [property, value] of Object.entries(r.inputs)) {
            const names = stringsIn(value).flatMap((s) => (byId.has(s) ? [byId.get(s)!] : []));
            if (names.length > 0) propertyDependencies[property] = names;
        }
        return {
            type: r.type,
            name: r.name,
            props: r.inputs,
            provider: provider ? { type: provider.type, name: provider.name, props: provider.inputs } : undefined,
            propertyDependencies,
        };
    });
}

export interface Finding {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
}

/** Runs every policy over every resource (and each stack policy once) and lists what they report. */
export async function runPack(policies: Policies, resources: readonly FakeResource[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const policy of policies) {
        const enforcementLevel = policy.enforcementLevel ?? "advisory";
        const messages: string[] = [];
        if ("validateStack" in policy) {
            messages.push(...(await runStackPolicy(policy, resources)).violations);
        } else {
            for (const resource of resources) messages.push(...(await runResourcePolicy(policy, resource)).violations);
        }
        findings.push(...messages.map((message) => ({ policy: policy.name, enforcementLevel, message })));
    }
    return findings;
}
