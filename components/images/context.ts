/**
 * What a build reads, and a hash of it. The hash names the image (its tag), so a commit that
 * changes nothing a build reads produces the same tag, the same image input and no build, push or
 * roll (issue 15).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import ignore from "@balena/dockerignore";
import type { ImageSource } from "../workload";

export type BuildSpec = Extract<ImageSource, { build: unknown }>["build"];

/**
 * The ignore file that applies to a build. BuildKit reads `<Dockerfile>.dockerignore` next to the
 * Dockerfile before the context's `.dockerignore` (docker/docs: build/concepts/context.md,
 * "Filename and location").
 */
export function ignoreFileOf(context: string, dockerfile = "Dockerfile"): string | undefined {
    const specific = path.resolve(context, `${dockerfile}.dockerignore`);
    if (fs.existsSync(specific)) return specific;
    const plain = path.resolve(context, ".dockerignore");
    return fs.existsSync(plain) ? plain : undefined;
}

/** What BuildKit sends of a context: files and symbolic links, and folders (context-relative, forward slashes, sorted). */
export interface ContextEntries {
    readonly files: string[];
    readonly directories: string[];
}

/**
 * What a build can read, matched by Docker's own rules through @balena/dockerignore, a port of
 * moby's `builder/dockerignore` and `pkg/fileutils` matching: `**`, a leading `/` (anchored to the
 * context), `!` re-including files below an excluded folder, and a folder pattern excluding all
 * below it. Folders count too, empty ones included (`COPY . .` creates them): as in BuildKit's
 * walker (tonistiigi/fsutil filter.go), a folder is sent when no rule excludes it, and an excluded
 * folder only as the parent of something re-included below it.
 */
export function contextEntries(context: string, dockerfile = "Dockerfile"): ContextEntries {
    const root = path.resolve(context);
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`build context ${JSON.stringify(context)} is not a folder (resolved to ${root})`);
    const ignoreFile = ignoreFileOf(root, dockerfile);
    const patterns = ignoreFile ? fs.readFileSync(ignoreFile, "utf8").split(/\r?\n/) : [];
    const matcher = ignore().add(patterns);
    // Like moby's walker, skip an excluded folder only when no `!` rule could re-include something below it.
    const hasExceptions = patterns.some((p) => p.trim().startsWith("!"));
    const files: string[] = [];
    const directories: string[] = [];
    /** Walks `dir`; whether anything below it is sent. */
    const walk = (dir: string): boolean => {
        let sent = false;
        for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
            if (entry.isDirectory()) {
                const excluded = matcher.ignores(rel);
                const below = !excluded || hasExceptions ? walk(rel) : false;
                if (!excluded || below) {
                    directories.push(rel);
                    sent = true;
                }
            } else if ((entry.isFile() || entry.isSymbolicLink()) && !matcher.ignores(rel)) {
                files.push(rel);
                sent = true;
            }
        }
        return sent;
    };
    walk("");
    return { files: files.sort(), directories: directories.sort() };
}

/** The files and symbolic links of `contextEntries`. */
export function contextFiles(context: string, dockerfile = "Dockerfile"): string[] {
    return contextEntries(context, dockerfile).files;
}

/**
 * A hash of everything a build reads: the folders and files `contextEntries` lists (names, modes,
 * contents or link targets), the Dockerfile (always read, even when the ignore file excludes it), the ignore
 * file, build args, target and platforms. 16 hex characters: the image's `dockyard.context-hash` label
 * (the local engine's tag).
 */
export function contextHash(context: string, build: Omit<BuildSpec, "context"> = {}, platforms: readonly string[] = []): string {
    const root = path.resolve(context);
    const { files, directories } = contextEntries(root, build.dockerfile);
    const hash = crypto.createHash("sha256");
    // Modes with their setuid, setgid and sticky bits: BuildKit sends them, and docker-build's own
    // context hash covers the whole mode (pulumi-docker-build provider/internal/context.go hashPath).
    for (const rel of directories) hash.update(`dir\0${rel}\0${fs.lstatSync(path.join(root, rel)).mode & 0o7777}\0`);
    for (const rel of files) {
        const full = path.join(root, rel);
        const stat = fs.lstatSync(full);
        if (stat.isSymbolicLink()) {
            hash.update(`link\0${rel}\0${fs.readlinkSync(full)}\0`);
        } else {
            hash.update(`file\0${rel}\0${stat.mode & 0o7777}\0`);
            hash.update(fs.readFileSync(full));
            hash.update("\0");
        }
    }
    const dockerfile = path.resolve(root, build.dockerfile ?? "Dockerfile");
    if (!fs.existsSync(dockerfile)) throw new Error(`Dockerfile ${JSON.stringify(build.dockerfile ?? "Dockerfile")} not found in build context ${JSON.stringify(context)}`);
    hash.update(`dockerfile\0${path.relative(root, dockerfile)}\0`);
    hash.update(fs.readFileSync(dockerfile));
    const ignoreFile = ignoreFileOf(root, build.dockerfile);
    hash.update(`\0ignore\0${ignoreFile ? fs.readFileSync(ignoreFile, "utf8") : ""}\0`);
    const args = Object.entries(build.args ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    hash.update(`args\0${JSON.stringify(args)}\0target\0${build.target ?? ""}\0platforms\0${[...platforms].sort().join(",")}`);
    return hash.digest("hex").slice(0, 16);
}
