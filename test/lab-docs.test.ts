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
    const table = read("docs/lab.md")
        .split("\n")
        .filter((line) => line.startsWith("| "))
        .map((line) => {
            const [scenario, failsOn = ""] = line.slice(2, -2).split(" | ");
            return { scenario, failsOn: failsOn.trim() };
        });

    it("runs the cold start first and the re-created stack last", () => {
        expect(spec[0]).to.equal("test/lab/swarm.lab.ts");
        expect(spec[spec.length - 1]).to.equal("test/lab/recreate.lab.ts");
        expect(fs.readdirSync(path.join(PROJECT_ROOT, "test", "lab")).filter((f) => f.endsWith(".lab.ts")).map((f) => `test/lab/${f}`).sort(), "every scenario file is run").to.deep.equal([...spec].sort());
    });

    for (const file of spec) {
        it(`has a row, with what it fails on, for every scenario of ${file}`, () => {
            const titles = scenarioTitles(read(file));
            expect(titles.length, file).to.be.greaterThan(0);
            for (const title of titles) {
                const row = table.find((r) => r.scenario.startsWith(title));
                expect(row, `docs/lab.md has no row for: ${title}`).not.to.equal(undefined);
                expect(row!.failsOn.length, `docs/lab.md's row for "${title}" says what it fails on`).to.be.greaterThan(10);
            }
        });
    }
});
