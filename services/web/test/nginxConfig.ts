/**
 * A small nginx configuration parser for tests: directives with their arguments and blocks, so
 * assertions look at where a directive is (which server, which location), not at raw text.
 */
export interface Directive {
    readonly name: string;
    readonly args: string[];
    readonly block?: Directive[];
}

function tokenize(text: string): string[] {
    const tokens: string[] = [];
    const pattern = /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/gy;
    let match: RegExpExecArray | null;
    while (pattern.lastIndex < text.length && (match = pattern.exec(text))) {
        const value = match[1] ?? match[2] ?? match[3] ?? match[4];
        if (value !== undefined) tokens.push(value);
    }
    if (pattern.lastIndex < text.length) throw new Error(`nginx config: cannot tokenize at offset ${pattern.lastIndex}`);
    return tokens;
}

export function parseNginxConfig(text: string): Directive[] {
    const tokens = tokenize(text);
    let i = 0;
    const parseBlock = (nested: boolean): Directive[] => {
        const directives: Directive[] = [];
        while (i < tokens.length) {
            if (tokens[i] === "}") {
                if (!nested) throw new Error("nginx config: unexpected }");
                i++;
                return directives;
            }
            const name = tokens[i++];
            const args: string[] = [];
            while (i < tokens.length && tokens[i] !== ";" && tokens[i] !== "{") args.push(tokens[i++]);
            if (tokens[i] === ";") {
                i++;
                directives.push({ name, args });
            } else if (tokens[i] === "{") {
                i++;
                directives.push({ name, args, block: parseBlock(true) });
            } else {
                throw new Error(`nginx config: directive ${name} is not terminated`);
            }
        }
        if (nested) throw new Error("nginx config: missing }");
        return directives;
    };
    return parseBlock(false);
}

/** The directives named `name` directly inside `directives`. */
export function all(directives: readonly Directive[], name: string, ...args: string[]): Directive[] {
    return directives.filter((d) => d.name === name && args.every((a, k) => d.args[k] === a));
}

/** The one directive named `name` (with these leading args); fails when there is none or several. */
export function one(directives: readonly Directive[], name: string, ...args: string[]): Directive {
    const found = all(directives, name, ...args);
    if (found.length !== 1) throw new Error(`expected one ${[name, ...args].join(" ")}, found ${found.length}`);
    return found[0];
}
