/**
 * Reads a `Pulumi.<stack>.yaml` and merges `Pulumi.yaml`'s defaults into it the way the Pulumi CLI
 * does, giving the raw config map the CLI would hand the program: full keys, string values (JSON for
 * lists and maps), secure values replaced by a placeholder that is marked secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { asNestedByTheCli } from "../../components/config";
import { PROJECT_ROOT, SECRET_PLACEHOLDER } from "./run";

export interface StackFileConfig {
    readonly project: string;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

const asRaw = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));

export function readProjectFile(root = PROJECT_ROOT): { name: string; config: Record<string, any> } {
    const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    return { name: project.name, config: project.config ?? {} };
}

/**
 * The CLI's merge of `Pulumi.yaml` into the stack's config (pulumi/pulumi sdk/go/common/workspace/config.go (v3.248.0; pkg/workspace/config.go on master)
 * `mergeConfig`): each project key is a property path — `network.cidr` is `cidr` inside the object
 * `dockyard:network` (`stackConfig.Get(key, true)` / `Set(key, value, true)`, which parse the key's
 * name with `ParsePropertyPathStrict`, sdk/go/common/resource/config/map.go). A default is set at
 * that path unless the stack already has a value *there*; a flat `dockyard:network.cidr` in the stack
 * file is a different key to that lookup, so the program receives both the flat value and the
 * default nested under `dockyard:network`, exactly as built here.
 */
export function loadStackFile(file: string, root = PROJECT_ROOT): StackFileConfig {
    const project = readProjectFile(root);
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const stack = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    for (const [key, value] of Object.entries<any>(stack.config ?? {})) {
        if (value && typeof value === "object" && "secure" in value) {
            config[key] = SECRET_PLACEHOLDER;
            secretKeys.push(key);
        } else {
            config[key] = asRaw(value);
        }
    }
    for (const key of Object.keys(project.config).sort()) {
        const declaration = project.config[key];
        const value = declaration && typeof declaration === "object" && !Array.isArray(declaration) ? declaration.default ?? declaration.value : declaration;
        if (value === undefined) continue;
        const [namespace, name] = key.includes(":") ? key.split(":", 2) : [project.name, key];
        setAtPath(config, namespace, name.split("."), value);
    }
    return { project: project.name, config, secretKeys };
}

/** `config.Map.Set(key, value, true)` where the path is still free: nested objects under the first segment. */
function setAtPath(config: Record<string, string>, namespace: string, path: string[], value: unknown): void {
    const rootKey = `${namespace}:${path[0]}`;
    if (path.length === 1) {
        if (config[rootKey] === undefined) config[rootKey] = asRaw(value);
        return;
    }
    let root: Record<string, any>;
    try {
        root = config[rootKey] === undefined ? {} : JSON.parse(config[rootKey]);
    } catch {
        return;
    }
    if (root === null || typeof root !== "object" || Array.isArray(root)) return;
    let node = root;
    for (const segment of path.slice(1, -1)) {
        if (node[segment] === undefined) node[segment] = {};
        if (node[segment] === null || typeof node[segment] !== "object") return;
        node = node[segment];
    }
    const last = path[path.length - 1];
    if (node[last] !== undefined) return;
    node[last] = asNestedByTheCli(value);
    config[rootKey] = JSON.stringify(root);
}
