/**
 * CIDR blocks judged by the addresses they cover, not by how they are spelled. "Open to the
 * internet" is a list whose union covers every IPv4 or every IPv6 address: `0.0.0.0/0` is, and so
 * are `["0.0.0.0/1", "128.0.0.0/1"]` and `::/0`; `0.0.0.0/00` is not a CIDR at all and is refused.
 * Pure functions with no dependency, so the config checks and the policy pack (`policy/`) share them.
 *
 * The spelling accepted is the canonical one AWS documents for security group and EKS CIDRs
 * (`203.0.113.0/24`, `2001:db8::/32`): decimal prefix without leading zeros, IPv4 octets without
 * leading zeros (Node's `net.isIPv4` refuses them, as `inet_pton` does), no host bits set.
 */
import * as net from "node:net";

export type Family = 4 | 6;

export interface Cidr {
    readonly family: Family;
    /** First address of the block. */
    readonly first: bigint;
    /** Last address of the block. */
    readonly last: bigint;
    readonly prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function ipv4Value(address: string): bigint {
    return address.split(".").reduce((acc, octet) => acc * 256n + BigInt(octet), 0n);
}

function ipv6Value(address: string): bigint {
    let text = address;
    // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        const n = ipv4Value(v4[1]);
        text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
    const left = head ? head.split(":") : [];
    const right = tail === undefined ? [] : tail ? tail.split(":") : [];
    const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
    return groups.reduce((acc, group) => acc * 65536n + BigInt(`0x${group}`), 0n);
}

/** The block `text` spells, or undefined when it is not a canonical CIDR block (see the file comment). */
export function parseCidr(text: string): Cidr | undefined {
    if (typeof text !== "string") return undefined;
    const slash = text.indexOf("/");
    if (slash < 0 || slash !== text.lastIndexOf("/")) return undefined;
    const address = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    const family: Family | undefined = net.isIPv4(address) ? 4 : net.isIPv6(address) && !address.includes("%") ? 6 : undefined;
    if (family === undefined || !PREFIX.test(prefixText)) return undefined;
    const prefix = Number(prefixText);
    const bits = BITS[family];
    if (prefix > bits) return undefined;
    const value = family === 4 ? ipv4Value(address) : ipv6Value(address);
    const size = 1n << BigInt(bits - prefix);
    if (value % size !== 0n) return undefined;
    return { family, first: value, last: value + size - 1n, prefix };
}

/** A canonical spelling of the network `text` would be with its host bits cleared, for messages. */
function networkOf(text: string): string | undefined {
    const match = /^(\d+\.\d+\.\d+\.\d+)\/(0|[1-9]\d?)$/.exec(text);
    if (!match || !net.isIPv4(match[1]) || Number(match[2]) > 32) return undefined;
    const size = 1n << BigInt(32 - Number(match[2]));
    const base = ipv4Value(match[1]) - (ipv4Value(match[1]) % size);
    return `${[24n, 16n, 8n, 0n].map((shift) => (base >> shift) & 255n).join(".")}/${match[2]}`;
}

/** What is allowed when `text` is not a canonical CIDR block of `family`, or undefined. */
export function cidrProblem(text: string, family: Family | "any" = 4): string | undefined {
    const example = family === 6 ? "2001:db8::/32" : family === 4 ? "203.0.113.0/24" : "203.0.113.0/24 or 2001:db8::/32";
    const what = family === "any" ? "a CIDR block" : `an IPv${family} CIDR block`;
    const cidr = parseCidr(text);
    if (cidr && (family === "any" || cidr.family === family)) return undefined;
    const network = family !== 6 ? networkOf(text) : undefined;
    if (network && network !== text) return `allowed: a network address with no host bits set, such as ${network}`;
    return `allowed: ${what} such as ${example} (decimal prefix without leading zeros)`;
}

/** The union of the blocks of one family as sorted, disjoint, non-adjacent ranges. */
function union(blocks: readonly Cidr[]): [bigint, bigint][] {
    const sorted = [...blocks].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const { first, last } of sorted) {
        const top = merged[merged.length - 1];
        if (top && first <= top[1] + 1n) top[1] = last > top[1] ? last : top[1];
        else merged.push([first, last]);
    }
    return merged;
}

/** How many addresses of `family` the list covers together (overlaps counted once); malformed entries cover nothing. */
export function addressesCovered(cidrs: readonly string[], family: Family): bigint {
    const blocks = cidrs.map(parseCidr).filter((c): c is Cidr => c !== undefined && c.family === family);
    return union(blocks).reduce((sum, [first, last]) => sum + (last - first + 1n), 0n);
}

/** The families whose every address the list covers together: `[4]` for `["0.0.0.0/1", "128.0.0.0/1"]`. */
export function worldOpenFamilies(cidrs: readonly string[]): Family[] {
    return ([4, 6] as const).filter((family) => addressesCovered(cidrs, family) === 1n << BigInt(BITS[family]));
}

/** True when the list, taken together, admits every IPv4 or every IPv6 address. */
export function coversTheInternet(cidrs: readonly string[]): boolean {
    return worldOpenFamilies(cidrs).length > 0;
}
