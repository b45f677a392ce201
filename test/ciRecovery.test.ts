/**
 * docs/ci.md's recovery of a cancelled or timed-out `pulumi up` names commands, flags and messages
 * of the Pulumi CLI. They are checked against what the section cites: the flag registrations and
 * messages of pulumi/pulumi at v3.248.0 (the CLI the workflows pin), copied into
 * test/fixtures/pulumi-cli-v3.248.0-flags.txt. The links to the section resolve.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const HEADING = "## Recovering a cancelled or timed-out update";
const ANCHOR = "recovering-a-cancelled-or-timed-out-update";

function section(): string {
    const ci = read("docs/ci.md");
    const start = ci.indexOf(HEADING);
    expect(start, `docs/ci.md has "${HEADING}"`).to.be.greaterThan(-1);
    const end = ci.indexOf("\n## ", start + HEADING.length);
    return ci.slice(start, end < 0 ? undefined : end);
}

/** Blocks of the fixture by their `## ` title: the flags (long and short) each command registers, and raw text. */
function fixture(): Map<string, string> {
    const blocks = new Map<string, string>();
    let title = "";
    for (const line of read("test/fixtures/pulumi-cli-v3.248.0-flags.txt").split("\n")) {
        if (line.startsWith("## ")) title = line.slice(3).trim();
        else if (title) blocks.set(title, `${blocks.get(title) ?? ""}${line}\n`);
    }
    return blocks;
}

function flagsOf(block: string): string[] {
    const flags: string[] = [];
    for (const m of block.matchAll(/"([a-z][a-z-]*)"(?:, "([a-z]?)")?/g)) {
        flags.push(`--${m[1]}`);
        if (m[2]) flags.push(`-${m[2]}`);
    }
    return flags;
}

/** Every `pulumi ...` command of the section: fenced lines and inline code. */
function pulumiCommands(text: string): string[] {
    const fenced = [...text.matchAll(/```\n([\s\S]*?)```/g)].flatMap((m) => m[1].split("\n"));
    const inline = [...text.matchAll(/`(pulumi [^`]+)`/g)].map((m) => m[1]);
    return [...fenced, ...inline].map((l) => l.trim()).filter((l) => l.startsWith("pulumi "));
}

describe("docs/ci.md: recovering a cancelled or timed-out update", () => {
    it("names only commands and flags the cited Pulumi CLI (v3.248.0) registers", () => {
        const blocks = fixture();
        const commands = pulumiCommands(section());
        expect(commands.map((c) => c.split(/\s+/)[1])).to.include.members(["cancel", "stack", "refresh", "preview"]);
        const problems: string[] = [];
        for (const command of commands) {
            const words = command.split(/\s+/);
            const name = words[1] === "stack" && words[2] && !words[2].startsWith("-") ? `stack ${words[2]}` : words[1];
            if (name === "login") continue;
            const block = blocks.get(name);
            if (block === undefined) {
                problems.push(`${command}: the fixture has no "${name}" (cite and copy its flags first)`);
                continue;
            }
            const known = [...flagsOf(block), ...flagsOf(blocks.get("root") ?? ""), ...(name.startsWith("stack ") ? flagsOf(blocks.get("stack") ?? "") : [])];
            for (const flag of words.filter((w) => w.startsWith("-")).map((w) => w.split("=")[0])) {
                if (!known.includes(flag)) problems.push(`${command}: pulumi ${name} registers no ${flag}`);
            }
        }
        expect(problems).to.deep.equal([]);
    });

    it("gives the clear and the import of pending creates, the lock release and the state backup", () => {
        const commands = pulumiCommands(section()).join("\n");
        expect(commands).to.match(/pulumi cancel --stack \S+ --yes/);
        expect(commands).to.match(/pulumi refresh .*--clear-pending-creates/);
        // The CLI pairs consecutive values: URN, then ID (refresh.go pendingCreatesToImports).
        expect(commands).to.match(/--import-pending-creates '<urn>' --import-pending-creates '<id>'/);
        expect(commands).to.match(/pulumi stack export --stack \S+ --file \S+/);
        expect(commands).to.match(/pulumi stack import --stack \S+ --file \S+/);
    });

    it("never leaves a refresh to ask: every one is --non-interactive, since a terminal prompts for pending creates before --clear-pending-creates applies (fails on 6b7fcda)", () => {
        const refreshes = pulumiCommands(section()).filter((c) => c.startsWith("pulumi refresh "));
        expect(refreshes).to.have.length(3);
        for (const command of refreshes) expect(command.split(/\s+/), command).to.include("--non-interactive");
        const source = fixture().get("source pkg/cmd/pulumi/operations/refresh.go") ?? "";
        expect(source.indexOf("if interactive && hasPendingCreates")).to.be.within(0, source.indexOf("if clearPendingCreates && hasPendingCreates"));
        expect(fixture().get("source sdk/go/common/util/cmdutil/console.go")).to.include("!DisableInteractive");
    });

    it("previews with the images the cancelled run passed as config, which no committed file holds (fails on 6b7fcda)", () => {
        const preview = pulumiCommands(section()).filter((c) => c.startsWith("pulumi preview "));
        expect(preview).to.have.length(1);
        expect(preview[0]).to.match(/--config "dockyard:images\.digests=/);
        const deploy = read(".github/workflows/deploy.yml");
        const step = /Check that dev runs this commit's images and capture their digests/;
        expect(deploy).to.match(step);
        expect(section().replace(/\s+/g, " ")).to.match(step);
        expect(deploy).to.include(`'{"dockyard:images.digests": {value: $digests, secret: false}}'`);
    });

    it("quotes the lock error and cites the source files as the fixture copied them from v3.248.0", () => {
        const text = section();
        const blocks = fixture();
        const lockSource = (blocks.get("source pkg/backend/diy/lock.go") ?? "").replace(/"\+\n"/g, "");
        const flat = (t: string) => t.replace(/\s+/g, " ");
        expect(flat(text)).to.include("the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`");
        expect(flat(lockSource)).to.include("the stack is currently locked by %v lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.");
        expect(blocks.get("source pkg/backend/diy/backend.go")).to.include("Try to delete ALL the lock files");
        for (const cited of [...text.matchAll(/`(pkg\/[a-z/]+\.go)`/g)].map((m) => m[1])) {
            expect([...blocks.keys()].some((k) => k.endsWith(cited)) || [...blocks.values()].some((b) => b.includes(`# ${cited}`)), cited).to.equal(true);
        }
    });

    it("is reachable: the links to it from docs/ci.md and docs/operations.md resolve to its heading", () => {
        const slug = HEADING.replace(/^#+\s*/, "").toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-");
        expect(slug).to.equal(ANCHOR);
        expect(read("docs/ci.md")).to.include(`(#${ANCHOR})`);
        expect(read("docs/operations.md")).to.include(`(ci.md#${ANCHOR})`);
    });
});
