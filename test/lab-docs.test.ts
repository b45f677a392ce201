/**
 * docs/lab.md's scenario table names every scenario the lab runs (issue 13: "each scenario is shown
 * to fail …; the closing note says which"): the files in test/lab/.mocharc.json's `spec`, each `it`
 * title without its trailing parentheses (issue references), as the first column of a row.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { JOB_MAX_RUNS } from "../components/swarm/service";
import { PROJECT_ROOT } from "./harness";

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");

/** The scenarios' titles, `${JOB_MAX_RUNS}` filled in, without trailing parenthesised references. */
function scenarioTitles(source: string): string[] {
    const titles: string[] = [];
    for (const m of source.matchAll(/\bit\(\s*(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)/g)) {
        const title = (m[1] ?? m[2]).replace(/\$\{JOB_MAX_RUNS\}/g, String(JOB_MAX_RUNS));
        expect(title, "a title the check can read").not.to.include("${");
        titles.push(title.replace(/(\s\([^()]*(\([^()]*\)[^()]*)*\))+$/, ""));
    }
    return titles;
}

describe("docs/lab.md", () => {
    const spec: string[] = JSON.parse(read("test/lab/.mocharc.json")).spec;
    const rows = read("docs/lab.md")
        .split("\n")
        .filter((line) => line.startsWith("| "))
        .map((line) => line.slice(2, line.indexOf(" | ")));

    it("runs the cold start first and the re-created stack last", () => {
        expect(spec[0]).to.equal("test/lab/swarm.lab.ts");
        expect(spec[spec.length - 1]).to.equal("test/lab/recreate.lab.ts");
        expect(fs.readdirSync(path.join(PROJECT_ROOT, "test", "lab")).filter((f) => f.endsWith(".lab.ts")).map((f) => `test/lab/${f}`).sort(), "every scenario file is run").to.deep.equal([...spec].sort());
    });

    for (const file of ["test/lab/swarm.lab.ts", "test/lab/converge.lab.ts", "test/lab/jobs.lab.ts", "test/lab/drain.lab.ts", "test/lab/replace.lab.ts", "test/lab/recreate.lab.ts"]) {
        it(`has a row, with what it fails on, for every scenario of ${file}`, () => {
            const titles = scenarioTitles(read(file));
            expect(titles.length, file).to.be.greaterThan(0);
            for (const title of titles) expect(rows.some((row) => row.startsWith(title)), `docs/lab.md has no row for: ${title}`).to.equal(true);
        });
    }
});
