import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { policies } from "../policy/rules";
import { BEGIN, END, README, readmeWithRules, rulesTable } from "./policyReference";

const readme = () => fs.readFileSync(README, "utf8");

describe("the README's table of what the policy pack enforces", () => {
    it("is the table generated from policy/rules (npm run policy-reference)", () => {
        expect(readmeWithRules(readme()), "README.md drifted from policy/rules: run npm run policy-reference").to.equal(readme());
    });

    it("names every rule once, with its level and description, and would change with the pack", () => {
        const table = readme().slice(readme().indexOf(BEGIN), readme().indexOf(END));
        for (const p of policies) {
            expect(table.split(`| \`${p.name}\` |`).length - 1, p.name).to.equal(1);
            expect(table).to.include(`| \`${p.name}\` | ${p.enforcementLevel} |`);
        }
        expect(rulesTable(policies.slice(1))).to.not.equal(rulesTable(policies));
    });

    it("is where docs/ci.md sends readers (the anchor resolves to a README heading)", () => {
        const ci = fs.readFileSync(path.join(__dirname, "..", "docs", "ci.md"), "utf8");
        const anchors = [...ci.matchAll(/\(\.\.\/README\.md#([a-z0-9-]+)\)/g)].map((m) => m[1]);
        expect(anchors).to.include("what-the-policy-pack-enforces");
        // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
        const headings = readme()
            .split("\n")
            .filter((l) => l.startsWith("#"))
            .map((l) => l.replace(/^#+\s*/, "").toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-"));
        for (const anchor of anchors) expect(headings, anchor).to.include(anchor);
    });
});
