/**
 * Reads `Pulumi.yaml` defaults and a `Pulumi.<stack>.yaml` into the raw config map the Pulumi CLI
 * would hand the program: full keys, string values (JSON for lists and maps), secure values replaced
 * by a placeholder that is marked secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
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

export function loadStackFile(file: string, root = PROJECT_ROOT): StackFileConfig {
    const project = readProjectFile(root);
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, declaration] of Object.entries(project.config)) {
        const fullKey = key.includes(":") ? key : `${project.name}:${key}`;
        const value = declaration && typeof declaration === "object" && !Array.isArray(declaration) ? declaration.default ?? declaration.value : declaration;
        if (value !== undefined) config[fullKey] = asRaw(value);
    }
    const stack = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    for (const [key, value] of Object.entries<any>(stack.config ?? {})) {
        if (value && typeof value === "object" && "secure" in value) {
            config[key] = SECRET_PLACEHOLDER;
            secretKeys.push(key);
        } else {
            config[key] = asRaw(value);
        }
    }
    return { project: project.name, config, secretKeys };
}
