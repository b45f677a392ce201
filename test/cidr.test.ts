/** Issue 17 item 8: "open to the internet" judged by the addresses covered, not by spelling. */
import { expect } from "chai";
import { addressesCovered, cidrProblem, coversTheInternet, parseCidr, worldOpenFamilies } from "../components/cidr";
import { readStackConfig } from "../components/config";
import { stackConfigMap } from "./harness";

describe("components/cidr.ts", () => {
    it("parses canonical IPv4 and IPv6 blocks into their first and last address", () => {
        expect(parseCidr("10.0.0.0/8")).to.deep.equal({ family: 4, first: 0x0a000000n, last: 0x0affffffn, prefix: 8 });
        expect(parseCidr("0.0.0.0/0")).to.deep.equal({ family: 4, first: 0n, last: 0xffffffffn, prefix: 0 });
        expect(parseCidr("2001:db8::/32")).to.include({ family: 6, first: 0x20010db8n << 96n, prefix: 32 });
        expect(parseCidr("::/0")).to.deep.equal({ family: 6, first: 0n, last: (1n << 128n) - 1n, prefix: 0 });
        expect(parseCidr("::ffff:192.0.2.0/120")).to.include({ family: 6, first: (0xffffn << 32n) + 0xc0000200n });
        expect(parseCidr("203.0.113.7/32")).to.include({ first: 0xcb007107n, last: 0xcb007107n });
    });

    it("refuses what is not a canonical block: leading zeros, host bits, out-of-range prefixes, junk", () => {
        for (const bad of ["0.0.0.0/00", "0.0.0.0/000", "10.0.0.0/08", "010.0.0.0/8", "10.0.0.1/8", "10.0.0.0/33", "256.0.0.0/8", "10.0.0.0", "10.0.0.0/8/8", "10.0.0.0/-1", " 10.0.0.0/8", "2001:db8::1/32", "::/129", "fe80::%eth0/64", "", "0/0"]) {
            expect(parseCidr(bad), bad).to.equal(undefined);
        }
        expect(cidrProblem("0.0.0.0/00")).to.match(/decimal prefix without leading zeros/);
        expect(cidrProblem("10.0.0.1/8")).to.equal("allowed: a network address with no host bits set, such as 10.0.0.0/8");
        expect(cidrProblem("2001:db8::/32")).to.match(/IPv4/);
        expect(cidrProblem("2001:db8::/32", 6)).to.equal(undefined);
        expect(cidrProblem("2001:db8::/32", "any")).to.equal(undefined);
    });

    it("counts the addresses a list covers together, overlaps once", () => {
        expect(addressesCovered(["10.0.0.0/8", "10.1.0.0/16"], 4)).to.equal(1n << 24n);
        expect(addressesCovered(["10.0.0.0/9", "10.128.0.0/9"], 4)).to.equal(1n << 24n);
        expect(addressesCovered(["10.0.0.0/8", "::/0"], 6)).to.equal(1n << 128n);
        expect(addressesCovered(["0.0.0.0/00"], 4)).to.equal(0n);
    });

    it("knows the whole internet however it is spelled", () => {
        expect(coversTheInternet(["0.0.0.0/0"])).to.equal(true);
        expect(coversTheInternet(["0.0.0.0/1", "128.0.0.0/1"])).to.equal(true);
        expect(coversTheInternet(["128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"])).to.equal(true);
        expect(coversTheInternet(["::/0"])).to.equal(true);
        expect(coversTheInternet(["::/1", "8000::/1"])).to.equal(true);
        expect(worldOpenFamilies(["0.0.0.0/1", "128.0.0.0/1", "::/1"])).to.deep.equal([4]);
        expect(coversTheInternet(["0.0.0.0/1"])).to.equal(false);
        expect(coversTheInternet(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4"])).to.equal(false);
        expect(coversTheInternet(["0.0.0.0/00"])).to.equal(false);
    });
});

describe("config judges CIDR lists by coverage", () => {
    const problems = (overrides: Record<string, unknown>) => {
        const { config } = stackConfigMap("dev", overrides);
        return readStackConfig(config, "dockyard", "dev").problems.join("\n");
    };

    it("refuses SSH from the whole internet spelled as two halves", () => {
        expect(problems({ "swarm.access": "ssh", "swarm.sshCidrs": ["0.0.0.0/1", "128.0.0.0/1"] })).to.include(
            'dockyard:swarm.sshCidrs is ["0.0.0.0/1","128.0.0.0/1"], which together cover every IPv4 address; SSH must never be open to the whole internet',
        );
        expect(problems({ "swarm.access": "ssh", "swarm.sshCidrs": ["203.0.113.0/24", "198.51.100.0/24"] })).to.equal("");
    });

    it("refuses 0.0.0.0/00 as malformed instead of reading it as a /0 nobody checks", () => {
        expect(problems({ "swarm.access": "ssh", "swarm.sshCidrs": ["0.0.0.0/00"] })).to.include('dockyard:swarm.sshCidrs is ["0.0.0.0/00"]; allowed: a list of IPv4 CIDR blocks');
        expect(problems({ "eks.publicAccessCidrs": ["0.0.0.0/00"] })).to.include('(bad: "0.0.0.0/00")');
    });

    it("refuses an EKS API endpoint open to the world in any spelling, public or private", () => {
        for (const key of ["eks.publicAccessCidrs", "eks.privateAccessCidrs"]) {
            expect(problems({ target: "eks", "eks.publicAccessCidrs": ["203.0.113.0/24"], [key]: ["0.0.0.0/1", "128.0.0.0/1"] }), key).to.include(
                `dockyard:${key} is ["0.0.0.0/1","128.0.0.0/1"], which together cover every IPv4 address; the API endpoint must not be open to the world`,
            );
        }
    });
});
