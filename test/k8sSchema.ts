/**
 * Independent checks of the Kubernetes objects a run records: each against the Kubernetes OpenAPI
 * schema (kubernetes-models 4.5, about Kubernetes 1.33), and the wiring the schema cannot see —
 * selectors that match pod labels, Services and Ingresses that target real ports. Works on any
 * recorded resources, so it can run over a whole `npm run render -- <stack>`.
 */
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import type { RecordedResource } from "../scripts/offline/run";

type KubernetesObject = Record<string, any>;
type Model = new (data: KubernetesObject) => { validate(): void };

/** Types that are not Kubernetes objects (Helm releases, YAML bundles) and have no schema of their own. */
const NOT_OBJECTS = /^kubernetes:(helm\.sh|yaml|kustomize)\//;

/** The kubernetes-models class of an apiVersion and kind, or undefined when it ships none. */
export function kubernetesModel(apiVersion: string, kind: string): Model | undefined {
    try {
        // The module path depends on the object's apiVersion and kind, so it cannot be a static import.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(`kubernetes-models/${apiVersion}/${kind}`)[kind] as Model;
    } catch {
        return undefined;
    }
}

export const kubernetesObjects = (resources: readonly RecordedResource[]) => resources.filter((r) => r.type.startsWith("kubernetes:") && !NOT_OBJECTS.test(r.type));

const label = (r: RecordedResource) => `${r.type} ${r.name}`;

/** The inputs with secrets unwrapped: a secret `stringData` is still an object to the schema. */
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[rpc.specialSigKey] === rpc.specialSecretSig) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** A recorded object as the API server would receive it (secret values included, never printed). */
const objectOf = (r: RecordedResource) => unwrapSecrets(r.rawInputs ?? r.inputs) as KubernetesObject;

/** Every schema violation of the recorded Kubernetes objects, one line per object. */
export function schemaProblems(resources: readonly RecordedResource[]): string[] {
    const problems: string[] = [];
    for (const resource of kubernetesObjects(resources)) {
        const object = objectOf(resource);
        const { apiVersion, kind } = object;
        const Model = kubernetesModel(String(apiVersion), String(kind));
        if (!Model) {
            problems.push(`${label(resource)}: no schema for ${apiVersion} ${kind}`);
            continue;
        }
        try {
            new Model(object).validate();
        } catch (err) {
            problems.push(`${label(resource)}: ${(err as Error).message}`);
        }
    }
    return problems;
}

const POD_CONTROLLERS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];

interface Pods {
    readonly resource: RecordedResource;
    readonly namespace: string | undefined;
    readonly labels: Record<string, string>;
    readonly ports: { name?: string; containerPort: number }[];
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
    selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Problems the schema cannot see: selectors, Service target ports, Ingress backends, autoscaler targets. */
export function wiringProblems(resources: readonly RecordedResource[]): string[] {
    const problems: string[] = [];
    const objects = kubernetesObjects(resources);
    const pods: Pods[] = [];
    for (const resource of objects) {
        const obj = objectOf(resource);
        if (!POD_CONTROLLERS.includes(obj.kind)) continue;
        const labels = obj.spec?.template?.metadata?.labels ?? {};
        const selector = obj.spec?.selector?.matchLabels;
        if (obj.kind !== "Job" && !matches(selector, labels)) problems.push(`${label(resource)}: selector ${JSON.stringify(selector)} does not match its pod labels ${JSON.stringify(labels)}`);
        const ports = (obj.spec?.template?.spec?.containers ?? []).flatMap((c: KubernetesObject) => c.ports ?? []);
        pods.push({ resource, namespace: obj.metadata?.namespace, labels, ports });
    }
    const podsFor = (obj: KubernetesObject, selector: Record<string, string> | undefined) =>
        pods.filter((p) => p.namespace === obj.metadata?.namespace && matches(selector, p.labels));

    const services = new Map<string, KubernetesObject>();
    for (const resource of objects) {
        const obj = objectOf(resource);
        if (obj.kind === "Service") {
            services.set(`${obj.metadata?.namespace}/${obj.metadata?.name}`, obj);
            const selected = podsFor(obj, obj.spec?.selector);
            if (selected.length === 0) {
                problems.push(`${label(resource)}: selector ${JSON.stringify(obj.spec?.selector)} matches no pods`);
                continue;
            }
            for (const port of obj.spec?.ports ?? []) {
                const target = port.targetPort ?? port.port;
                const found = selected.some((p) => p.ports.some((c) => (typeof target === "string" ? c.name === target : c.containerPort === target)));
                if (!found) problems.push(`${label(resource)}: port ${port.name ?? port.port} targets ${target}, which no selected container declares`);
            }
        } else if (obj.kind === "PodDisruptionBudget" && podsFor(obj, obj.spec?.selector?.matchLabels).length === 0) {
            problems.push(`${label(resource)}: selector ${JSON.stringify(obj.spec?.selector?.matchLabels)} matches no pods`);
        } else if (obj.kind === "HorizontalPodAutoscaler") {
            const ref = obj.spec?.scaleTargetRef ?? {};
            const target = pods.find((p) => p.namespace === obj.metadata?.namespace && objectOf(p.resource).kind === ref.kind && objectOf(p.resource).metadata?.name === ref.name);
            if (!target) problems.push(`${label(resource)}: scaleTargetRef ${ref.kind}/${ref.name} does not exist`);
        }
    }
    for (const resource of objects) {
        const obj = objectOf(resource);
        if (obj.kind !== "Ingress") continue;
        for (const rule of obj.spec?.rules ?? []) {
            for (const path of rule.http?.paths ?? []) {
                const backend = path.backend?.service ?? {};
                const service = services.get(`${obj.metadata?.namespace}/${backend.name}`);
                const port = backend.port ?? {};
                if (!service) problems.push(`${label(resource)}: backend Service ${backend.name} does not exist`);
                else if (!(service.spec?.ports ?? []).some((p: KubernetesObject) => (port.name !== undefined ? p.name === port.name : p.port === port.number))) {
                    problems.push(`${label(resource)}: backend ${backend.name} has no port ${port.name ?? port.number}`);
                }
            }
        }
    }
    return problems;
}

/** Every problem of the recorded Kubernetes objects: schema first, then wiring. */
export function kubernetesProblems(resources: readonly RecordedResource[]): string[] {
    return [...schemaProblems(resources), ...wiringProblems(resources)];
}
