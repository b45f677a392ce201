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

/**
 * The context-relative paths (forward slashes, sorted) of the files and symbolic links a build can
 * read. Matching is Docker's own, through @balena/dockerignore, a port of moby's
 * `builder/dockerignore` and `pkg/fileutils` matching: `**`, a leading `/` (anchored to the
 * context), `!` re-including files below an excluded folder, and a folder pattern excluding all
 * below it.
 */
export function contextFiles(context: string, dockerfile = "Dockerfile"): string[] {
    const root = path.resolve(context);
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`build context ${JSON.stringify(context)} is not a folder (resolved to ${root})`);
    const ignoreFile = ignoreFileOf(root, dockerfile);
    const patterns = ignoreFile ? fs.readFileSync(ignoreFile, "utf8").split(/\r?\n/) : [];
    const matcher = ignore().add(patterns);
    // Like moby's walker, skip an excluded folder only when no `!` rule could re-include something below it.
    const hasExceptions = patterns.some((p) => p.trim().startsWith("!"));
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
            if (entry.isDirectory()) {
                if (!matcher.ignores(rel) || hasExceptions) walk(rel);
            } else if ((entry.isFile() || entry.isSymbolicLink()) && !matcher.ignores(rel)) {
                files.push(rel);
            }
        }
    };
    walk("");
    return files.sort();
}

/**
 * A hash of everything a build reads: the files `contextFiles` lists (names, modes, contents or
 * link targets), the Dockerfile (always read, even when the ignore file excludes it), the ignore
 * file, build args, target and platforms. 16 hex characters, used as the image tag.
 */
export function contextHash(context: string, build: Omit<BuildSpec, "context"> = {}, platforms: readonly string[] = []): string {
    const root = path.resolve(context);
    const files = contextFiles(root, build.dockerfile);
    const hash = crypto.createHash("sha256");
    for (const rel of files) {
        const full = path.join(root, rel);
        const stat = fs.lstatSync(full);
        if (stat.isSymbolicLink()) {
            hash.update(`link\0${rel}\0${fs.readlinkSync(full)}\0`);
        } else {
            hash.update(`file\0${rel}\0${stat.mode & 0o777}\0`);
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
