/**
 * The cost estimate as a terminal table (and as Markdown for the README): one row per line, the
 * fixed monthly total, then the usage-based charges and the assumptions behind the figures.
 */
import type { CostEstimate, CostLine } from "./model";

export const money = (n: number): string => `$${n.toFixed(2)}`;

/** "$0.0168/h" or "$0.08/GB-month"; an estimated regional price is marked with "~". */
export function unitPrice(line: CostLine): string {
    if (line.unpriced) return "unpriced";
    const per = line.per === "hour" ? "h" : line.unit === "GB" ? "GB-month" : "month";
    return `${line.estimatedPrice ? "~" : ""}$${line.unitPrice}/${per}`;
}

const plural = (unit: string) => (unit === "GB" ? unit : unit.endsWith("s") ? `${unit}es` : `${unit}s`);
const quantity = (line: CostLine): string => `${line.quantity} ${line.quantity === 1 ? line.unit : plural(line.unit)}`;

/** The fixed total, or how many lines it lacks when some are unpriced. */
const total = (estimate: CostEstimate): string => {
    const unpriced = estimate.lines.filter((l) => l.unpriced).length;
    return unpriced === 0 ? money(estimate.total) : `${money(estimate.total)} + ${unpriced} unpriced line${unpriced === 1 ? "" : "s"}`;
};

const MAX_RESOURCES_SHOWN = 3;
const resourceList = (names: readonly string[]): string =>
    names.length <= MAX_RESOURCES_SHOWN ? names.join(", ") : `${names.slice(0, MAX_RESOURCES_SHOWN).join(", ")} +${names.length - MAX_RESOURCES_SHOWN} more`;

function rows(estimate: CostEstimate): string[][] {
    return estimate.lines.map((l) => [l.item, quantity(l), unitPrice(l), l.unpriced ? "unknown" : money(l.monthly), `${resourceList(l.resources)}${l.note ? ` (${l.note})` : ""}`]);
}

/** A plain-text table for the terminal. */
export function formatCostTable(estimate: CostEstimate, title = "Estimated monthly cost"): string {
    const header = ["Item", "Quantity", "Unit price", "Monthly", "Resources"];
    const body = rows(estimate);
    const footer = ["Total (fixed)", "", "", total(estimate), ""];
    const all = [header, ...body, footer];
    const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
    const format = (row: string[]) =>
        row
            .map((cell, i) => (i === 3 ? cell.padStart(widths[i]) : i === row.length - 1 ? cell : cell.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    const rule = widths.map((w, i) => "-".repeat(i === widths.length - 1 ? Math.min(w, 40) : w)).join("  ");
    const out = [
        `${title} (${estimate.region}, ${estimate.currency}, on-demand, ${estimate.hoursPerMonth} h/month; prices retrieved ${estimate.priceTable.retrieved})`,
        format(header),
        rule,
        ...body.map(format),
        rule,
        format(footer),
    ];
    if (estimate.usage.length > 0) {
        out.push("", "Plus usage (not in the total):");
        for (const u of estimate.usage) out.push(`  ${u.item}: ${u.rate} (${resourceList(u.resources)})`);
    }
    out.push("", "Assumptions:", ...estimate.assumptions.map((a) => `  - ${a}`));
    return out.join("\n");
}

/** The same estimate as a Markdown table, for the README and the docs. */
export function formatCostMarkdown(estimate: CostEstimate): string {
    const escape = (cell: string) => cell.replace(/\|/g, "\\|");
    const out = ["| Item | Quantity | Unit price | Monthly |", "|---|---:|---:|---:|"];
    for (const [item, qty, price, monthly] of rows(estimate)) out.push(`| ${escape(item)} | ${qty} | ${price} | ${monthly} |`);
    out.push(`| **Total (fixed)** | | | **${total(estimate)}** |`);
    if (estimate.usage.length > 0) out.push("", `Plus usage: ${estimate.usage.map((u) => `${u.item} (${u.rate})`).join("; ")}.`);
    return out.join("\n");
}
