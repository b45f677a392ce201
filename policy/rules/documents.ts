/**
 * IAM policy documents as every resource spells them: a JSON string or an object, `Statement` as
 * one object or a list, `Action`/`Principal`/`Resource` as a string or a list (IAM JSON policy
 * element reference, docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).
 */

export interface Statement {
    readonly Sid?: string;
    readonly Effect?: string;
    readonly Action?: string | string[];
    readonly NotAction?: string | string[];
    readonly Resource?: string | string[];
    readonly NotResource?: string | string[];
    readonly Principal?: string | Record<string, string | string[]>;
    readonly NotPrincipal?: string | Record<string, string | string[]>;
    readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a policy document, or undefined when it is absent or not JSON. */
export function statementsOf(document: unknown): Statement[] | undefined {
    let parsed: unknown = document;
    if (typeof document === "string") {
        try {
            parsed = JSON.parse(document);
        } catch {
            return undefined;
        }
    }
    if (!parsed || typeof parsed !== "object") return undefined;
    const statement = (parsed as { Statement?: unknown }).Statement;
    if (statement === undefined) return [];
    return (Array.isArray(statement) ? statement : [statement]) as Statement[];
}

export const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

export const isAllow = (s: Statement) => s.Effect === "Allow";

/** How a statement names who it applies to: `*` for everyone, or the values of one principal type. */
export function principalsOf(s: Statement): { kind: string; value: string }[] {
    if (s.Principal === undefined) return [];
    if (typeof s.Principal === "string") return [{ kind: "*", value: s.Principal }];
    return Object.entries(s.Principal).flatMap(([kind, values]) => asList(values).map((value) => ({ kind, value })));
}

/** Whether the statement applies to anyone at all: `Principal: "*"` or `{"AWS": "*"}` (IAM treats both as everyone). */
export const hasWildcardPrincipal = (s: Statement) => principalsOf(s).some((p) => p.value === "*" && (p.kind === "*" || p.kind === "AWS"));

/** Condition keys (lower-cased) a statement tests, across operators. */
export const conditionKeysOf = (s: Statement): string[] => Object.values(s.Condition ?? {}).flatMap((block) => Object.keys(block ?? {}).map((k) => k.toLowerCase()));

/**
 * Global condition keys that narrow "anyone" down to an organization, account, principal or network
 * path (IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID, aws:PrincipalAccount,
 * aws:PrincipalArn, aws:SourceAccount, aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOrgID).
 * A condition such as aws:SecureTransport limits how, not who.
 */
export const IDENTITY_CONDITION_KEYS: readonly string[] = [
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "kms:calleraccount",
];

export const narrowsPrincipal = (s: Statement) => conditionKeysOf(s).some((k) => IDENTITY_CONDITION_KEYS.includes(k));
