/**
 * Evaluates a GitHub Actions expression with GitHub's own evaluator, @actions/expressions
 * (actions/languageservices, the parser behind the Actions VS Code extension), so a test of a
 * workflow checks what the expression yields, not only how it is spelled.
 */
import type * as Expressions from "@actions/expressions";

// The package is ES-module only (its "exports" has no "require" condition), and this project compiles
// tests to CommonJS, where TypeScript would turn import() into require(); a Function keeps it an import().
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<typeof Expressions>;

/** The value of `${{ expression }}` given contexts such as `{ vars: { NAME: "value" } }`, as plain JSON. */
export async function evaluateExpression(expression: string, contexts: Record<string, Record<string, string>>): Promise<unknown> {
    const { Lexer, Parser, Evaluator, data } = await importModule("@actions/expressions");
    const lexed = new Lexer(expression).lex();
    const tree = new Parser(lexed.tokens, Object.keys(contexts), []).parse();
    const context = JSON.parse(JSON.stringify(contexts), data.reviver) as Expressions.data.Dictionary;
    return JSON.parse(JSON.stringify(new Evaluator(tree, context).evaluate(), data.replacer));
}

/** The expression inside a value that is exactly one `${{ … }}`, as `runs-on` and `if` values are written. */
export function expressionOf(value: string): string {
    const match = /^\$\{\{([\s\S]*)\}\}$/.exec(value.trim());
    if (!match) throw new Error(`${JSON.stringify(value)} is not a single \${{ }} expression`);
    return match[1].trim();
}
