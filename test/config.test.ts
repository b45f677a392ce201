import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { asNestedByTheCli, CONFIG_KEYS, ConfigError, flattenPathConfig, parseStackConfig } from "../components/config";
import { projectFile, readmeWithReference, staleFiles } from "../scripts/configReference";
import { loadStackFile } from "../scripts/offline/stackFile";
import { PROJECT_ROOT, stackConfig, stackConfigMap } from "./harness";

function problemsOf(overrides: Record<string, unknown>, stack = "dev"): readonly string[] {
    try {
        parseStackConfig(stackConfigMap(stack, overrides).config, "dockyard", stack);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
}

describe("config", () => {
    it("loads the dev stack file: swarm, small and cheap", () => {
        const config = stackConfig("dev");
        expect(config.target).to.equal("swarm");
        expect(config.swarm.managers).to.equal(1);
        expect(config.swarm.managerInstanceType).to.match(/^t4g\./);
        expect(config.network.natGateways).to.equal("none");
        expect(config.production).to.equal(false);
    });

    it("loads the prod stack file: eks over three AZs with NAT per AZ and protected state", () => {
        const config = stackConfig("prod");
        expect(config.target).to.equal("eks");
        expect(config.network.azs).to.equal(3);
        expect(config.network.natGateways).to.equal("perAz");
        expect(config.production).to.equal(true);
        expect(config.eks.nodesMin).to.be.at.least(3);
        expect(config.workloads.replicas).to.deep.equal({ api: 3, web: 3 });
    });

    it("fills every unset key with its default", () => {
        const config = parseStackConfig({}, "dockyard", "bare");
        expect(config.target).to.equal("swarm");
        expect(config.network).to.deep.equal({ cidr: "10.0.0.0/16", azs: 2, natGateways: "none" });
        expect(config.eks.publicAccessCidrs).to.deep.equal([]);
        expect(config.workloads).to.deep.equal({ replicas: {}, imageTags: {}, hosts: {} });
    });

    it("returns a deeply frozen object", () => {
        const config = stackConfig("prod");
        expect(Object.isFrozen(config)).to.equal(true);
        expect(Object.isFrozen(config.eks.instanceTypes)).to.equal(true);
        expect(() => {
            (config.workloads.replicas as Record<string, number>).api = 9;
        }).to.throw(TypeError);
    });

    it("parses integers, booleans, lists and maps from the strings Pulumi passes", () => {
        const config = parseStackConfig(
            {
                "dockyard:swarm.managers": "3",
                "dockyard:production": "true",
                "dockyard:swarm.sshCidrs": '["203.0.113.0/24"]',
                "dockyard:swarm.access": "ssh",
                "dockyard:workloads.replicas": '{"api":4}',
            },
            "dockyard",
            "s",
        );
        expect(config.swarm.managers).to.equal(3);
        expect(config.production).to.equal(true);
        expect(config.swarm.sshCidrs).to.deep.equal(["203.0.113.0/24"]);
        expect(config.workloads.replicas).to.deep.equal({ api: 4 });
    });

    it("ignores keys of other namespaces, and accepts aws:region when it is dockyard:region", () => {
        expect(problemsOf({ "aws:region": "us-east-1", "kubernetes:context": "x" })).to.deep.equal([]);
    });

    it("refuses an aws:region that dockyard would silently ignore", () => {
        expect(problemsOf({ "aws:region": "eu-west-1" })).to.deep.equal([
            'aws:region is "eu-west-1" but dockyard:region is "us-east-1"; dockyard creates every resource through its own AWS provider in dockyard:region and never reads aws:region; allowed: the same region in both, e.g. `pulumi config set dockyard:region eu-west-1` (or remove aws:region)',
        ]);
    });

    it("accepts a VPC block anywhere inside a private range, up to its last /16", () => {
        for (const cidr of ["10.255.0.0/16", "172.16.0.0/16", "172.31.0.0/16", "192.168.255.0/24"]) expect(problemsOf({ "network.cidr": cidr }), cidr).to.deep.equal([]);
    });

    it("refuses a swarm overlay pool that overlaps the VPC, naming both keys (issue 14 item 6; fails on a2f6c95)", () => {
        expect(problemsOf({ "network.cidr": "10.200.0.0/16" })).to.deep.equal([
            'dockyard:swarm.overlayAddressPool is "10.200.0.0/16", which overlaps dockyard:network.cidr "10.200.0.0/16": an overlay subnet would shadow VPC addresses (the VPC resolver at its base + 2 among them); allowed: a block apart from network.cidr, e.g. 10.201.0.0/16',
        ]);
        expect(problemsOf({ "swarm.overlayAddressPool": "10.0.0.0/8" })).to.deep.equal([
            'dockyard:swarm.overlayAddressPool is "10.0.0.0/8", which overlaps dockyard:network.cidr "10.0.0.0/16": an overlay subnet would shadow VPC addresses (the VPC resolver at its base + 2 among them); allowed: a block apart from network.cidr, e.g. 10.200.0.0/16',
        ]);
        const allowed = "allowed: a /8 to /24 block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, outside Docker's local bridge pools (172.17.0.0/16, 172.18.0.0/15, 172.20.0.0/14, 172.24.0.0/13, 192.168.0.0/16) and apart from network.cidr, e.g. 10.200.0.0/16";
        for (const pool of ["172.18.0.0/16", "192.168.10.0/24", "172.31.0.0/24", "8.8.0.0/16", "10.200.0.0/25"]) {
            expect(problemsOf({ "swarm.overlayAddressPool": pool }), pool).to.deep.equal([`dockyard:swarm.overlayAddressPool is ${JSON.stringify(pool)}; ${allowed}`]);
        }
        for (const pool of ["10.200.0.0/16", "172.16.0.0/16", "10.128.0.0/9", "10.1.0.0/24"]) expect(problemsOf({ "swarm.overlayAddressPool": pool }), pool).to.deep.equal([]);
        expect(stackConfig("dev").swarm.overlayAddressPool).to.equal("10.200.0.0/16");
    });

    it("accepts any AWS region, priced or not", () => {
        for (const region of ["ap-south-1", "sa-east-1", "us-gov-west-1", "ap-southeast-5", "eu-central-2"]) expect(problemsOf({ region }), region).to.deep.equal([]);
    });

    it("accepts keys set with --path (nested), as docs/eks.md shows, and names the user's own key when one is wrong", () => {
        // What `pulumi config set --path 'eks.adminPrincipals[0]' <arn>` and `--path workloads.replicas.api 3` store.
        const config = parseStackConfig({ "dockyard:eks": '{"adminPrincipals":["arn:aws:iam::123456789012:role/admin"],"nodesMax":4}', "dockyard:workloads": '{"replicas":{"api":3}}' }, "dockyard", "s");
        expect(config.eks.adminPrincipals).to.deep.equal(["arn:aws:iam::123456789012:role/admin"]);
        expect(config.eks.nodesMax).to.equal(4);
        expect(config.workloads.replicas).to.deep.equal({ api: 3 });
        expect(problemsOf({ eks: { nodeMax: 4 } })).to.deep.equal([
            "dockyard:eks.nodeMax (set with --path inside dockyard:eks) is not a dockyard setting; did you mean dockyard:eks.nodesMax?; allowed keys are listed in the README's config reference",
        ]);
        expect(problemsOf({ eks: { nodesMax: 4 }, "eks.nodesMax": 5 })).to.deep.equal([
            "dockyard:eks.nodesMax is set twice, flat and with --path inside dockyard:eks; allowed: one of them (`pulumi config rm --path eks` removes the nested one)",
        ]);
    });

    it("reads the config the way the Pulumi CLI merges Pulumi.yaml into it: defaults nested at their key's path beside the stack's flat keys", () => {
        // pulumi/pulumi pkg/workspace/config.go mergeConfig sets each project default with path
        // semantics, so Pulumi.dev.yaml's flat swarm.ingress: direct arrives next to dockyard:swarm
        // holding the Pulumi.yaml default ingress "alb".
        const { config: raw } = loadStackFile(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));
        expect(raw["dockyard:swarm.ingress"]).to.equal("direct");
        expect(JSON.parse(raw["dockyard:swarm"])).to.include({ ingress: "alb", managers: 1, access: "ssm" });
        expect(JSON.parse(raw["dockyard:network"])).to.deep.equal({ azs: 2, cidr: "10.0.0.0/16", natGateways: "none" });
        expect(raw["dockyard:target"]).to.equal("swarm");
        expect(raw).not.to.have.property("dockyard:network.cidr");
        const config = parseStackConfig(raw, "dockyard", "dev");
        expect(config.swarm.ingress).to.equal("direct");
        expect(config.network.cidr).to.equal("10.0.0.0/16");
        // A value set with --path that is not the default, beside a flat one, is still two settings.
        expect(problemsOf({ network: { cidr: "10.1.0.0/16" }, "network.cidr": "10.2.0.0/16" })).to.deep.equal([
            "dockyard:network.cidr is set twice, flat and with --path inside dockyard:network; allowed: one of them (`pulumi config rm --path network` removes the nested one)",
        ]);
        expect(problemsOf({ network: { cidr: "10.0.0.0/16" }, "network.cidr": "10.2.0.0/16" })).to.deep.equal([]);
    });

    it("nests a Pulumi.yaml default as the CLI does, coercing \"true\" and digit strings, and takes such a default for the CLI's, not a second setting (fails on 6b7fcda)", () => {
        // v3.248.0: createConfigValue -> fmt.Sprintf("%v") -> Map.Set(path) -> coerceObject -> coerce.
        const cases: [unknown, unknown][] = [["true", true], ["false", false], [true, true], ["1", 1], ["+7", 7], ["-3", -3], [2, 2], ["0123", "0123"], ["0", 0], [0.5, "0.5"], ["1.35", "1.35"], ["", ""], ["alb", "alb"], [[], []], [{}, {}]];
        for (const [value, nested] of cases) expect(asNestedByTheCli(value), JSON.stringify(value)).to.deep.equal(nested);
        // A project whose Pulumi.yaml declares string defaults that look like a boolean and a number,
        // and a stack that sets both flat: the CLI hands over both shapes, and they are one setting each.
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-coerce-"));
        fs.writeFileSync(
            path.join(root, "Pulumi.yaml"),
            YAML.stringify({ name: "dockyard", runtime: "nodejs", config: { "swarm.ingress": { type: "string", default: "alb" }, "images.tag": { type: "string", default: "true" }, "eks.version": { type: "string", default: "1" } } }),
        );
        const stackFile = path.join(root, "Pulumi.s.yaml");
        fs.writeFileSync(stackFile, YAML.stringify({ config: { "dockyard:images.tag": "abc123" } }));
        const { config: raw } = loadStackFile(stackFile, root);
        expect(raw["dockyard:images.tag"]).to.equal("abc123");
        expect(JSON.parse(raw["dockyard:images"])).to.deep.equal({ tag: true });
        expect(JSON.parse(raw["dockyard:eks"])).to.deep.equal({ version: 1 });
        // Every default of every key, nested the CLI's way beside a flat setting of that key, is the
        // CLI's default and not a second setting, whatever the default is ("true", "1", 0.5 ...).
        for (const declared of CONFIG_KEYS.filter((d) => d.key.includes(".") && d.default !== undefined)) {
            const [top, ...rest] = declared.key.split(".");
            const nested: Record<string, unknown> = {};
            let node = nested;
            for (const segment of rest.slice(0, -1)) node = (node[segment] = {}) as Record<string, unknown>;
            node[rest[rest.length - 1]] = asNestedByTheCli(declared.default);
            const { problems } = flattenPathConfig({ [`dockyard:${top}`]: JSON.stringify(nested), [`dockyard:${declared.key}`]: JSON.stringify(declared.default) });
            expect(problems, declared.key).to.deep.equal([]);
        }
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("says to quote a version that YAML read as a number", () => {
        // `eks.version: 1.30` unquoted in Pulumi.<stack>.yaml arrives as 1.3.
        expect(problemsOf({ "eks.version": 1.3 })).to.deep.equal([
            'dockyard:eks.version is "1.3"; not a version dockyard knows the support dates of; allowed: 1.35; in a YAML stack file write it in quotes ("1.30" if you meant that): YAML reads an unquoted 1.30 as the number 1.3',
        ]);
    });

    const badConfigs: [string, Record<string, unknown>, string][] = [
        ["wrong target", { target: "ecs" }, 'dockyard:target is "ecs"; allowed: swarm or eks'],
        ["even manager count", { "swarm.managers": 2 }, "dockyard:swarm.managers is 2; a swarm needs an odd number of managers: 1, 3 or 5"],
        ["too many managers", { "swarm.managers": 7 }, "dockyard:swarm.managers is 7; a swarm needs an odd number of managers: 1, 3 or 5"],
        ["managers not a number", { "swarm.managers": "three" }, 'dockyard:swarm.managers is "three"; expected an integer'],
        ["malformed CIDR", { "network.cidr": "10.0.0/16" }, 'dockyard:network.cidr is "10.0.0/16"; allowed: an IPv4 CIDR block such as 10.0.0.0/16'],
        ["CIDR with host bits", { "network.cidr": "10.0.1.0/16" }, 'dockyard:network.cidr is "10.0.1.0/16"; allowed: a network address with no host bits set, such as 10.0.0.0/16'],
        ["public CIDR", { "network.cidr": "8.8.0.0/16" }, 'dockyard:network.cidr is "8.8.0.0/16"; allowed: a /16 to /24 block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16'],
        ["CIDR just past 172.16.0.0/12", { "network.cidr": "172.32.0.0/16" }, 'dockyard:network.cidr is "172.32.0.0/16"; allowed: a /16 to /24 block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16'],
        ["CIDR too large", { "network.cidr": "10.0.0.0/8" }, 'dockyard:network.cidr is "10.0.0.0/8"; allowed: a /16 to /24 block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16'],
        ["one AZ", { "network.azs": 1 }, "dockyard:network.azs is 1; allowed: 2 or 3"],
        ["four AZs", { "network.azs": 4 }, "dockyard:network.azs is 4; allowed: 2 or 3"],
        ["unknown NAT strategy", { "network.natGateways": "multi" }, 'dockyard:network.natGateways is "multi"; allowed: none, single or perAz'],
        ["negative replicas", { "workloads.replicas": { api: -1 } }, 'dockyard:workloads.replicas is {"api":-1}; allowed: a map of workload name to a replica count of 0 or more (bad: api=-1)'],
        ["fractional replicas", { "workloads.replicas": { web: 1.5 } }, 'dockyard:workloads.replicas is {"web":1.5}; allowed: a map of workload name to a replica count of 0 or more (bad: web=1.5)'],
        ["replicas not a map", { "workloads.replicas": [3] }, "dockyard:workloads.replicas is [3]; expected a map"],
        ["a YAML-ish map given to the CLI", { "workloads.replicas": "{api: 3}" }, 'dockyard:workloads.replicas is "{api: 3}"; expected a map in JSON, e.g. `pulumi config set dockyard:workloads.replicas \'{"api":3}\'` (the CLI takes JSON; in a stack file YAML works too: dockyard:workloads.replicas: {api: 3})'],
        ["unknown key with a suggestion", { "swarm.manager": 3 }, "dockyard:swarm.manager is not a dockyard setting; did you mean dockyard:swarm.managers?; allowed keys are listed in the README's config reference"],
        ["unknown key without a suggestion", { colour: "blue" }, "dockyard:colour is not a dockyard setting; allowed keys are listed in the README's config reference"],
        ["structured --path object with a wrong field", { swarm: { manager: 3 } }, "dockyard:swarm.manager (set with --path inside dockyard:swarm) is not a dockyard setting; did you mean dockyard:swarm.managers?; allowed keys are listed in the README's config reference"],
        ["boolean that is not", { production: "yes" }, 'dockyard:production is "yes"; expected true or false'],
        ["a region that is not a region code", { region: "Frankfurt" }, 'dockyard:region is "Frankfurt"; allowed: an AWS region code such as us-east-1 or ap-southeast-2'],
        ["bad instance type", { "swarm.managerInstanceType": "large" }, 'dockyard:swarm.managerInstanceType is "large"; allowed: an EC2 instance type such as t4g.small'],
        ["empty node instance types", { "eks.instanceTypes": [] }, "dockyard:eks.instanceTypes is []; allowed: a non-empty list of EC2 instance types"],
        ["instance types not a list", { "eks.instanceTypes": "m7g.large" }, 'dockyard:eks.instanceTypes is "m7g.large"; expected a list in JSON, e.g. `pulumi config set dockyard:eks.instanceTypes \'["a","b"]\'` (the CLI takes JSON; in a stack file YAML works too: dockyard:eks.instanceTypes: [a, b])'],
        ["unsupported Kubernetes version", { "eks.version": "1.20" }, 'dockyard:eks.version is "1.20"; not a version dockyard knows the support dates of; allowed: 1.35'],
        ["capacity type", { "eks.capacityType": "spot" }, 'dockyard:eks.capacityType is "spot"; allowed: ON_DEMAND or SPOT'],
        ["min above desired", { "eks.nodesMin": 4, "eks.nodesDesired": 2, "eks.nodesMax": 5 }, "dockyard:eks.nodesMin/nodesDesired/nodesMax are 4/2/5; allowed: min <= desired <= max"],
        ["desired above max", { "swarm.workersDesired": 5, "swarm.workersMax": 3 }, "dockyard:swarm.workersMin/workersDesired/workersMax are 0/5/3; allowed: min <= desired <= max"],
        ["log retention CloudWatch does not offer", { "logs.retentionDays": 10 }, "dockyard:logs.retentionDays is 10; allowed CloudWatch retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653"],
        ["ssh access without CIDRs", { "swarm.access": "ssh" }, 'dockyard:swarm.sshCidrs is []; swarm.access "ssh" needs at least one CIDR to allow SSH from'],
        ["ssh open to the world", { "swarm.access": "ssh", "swarm.sshCidrs": ["0.0.0.0/0"] }, 'dockyard:swarm.sshCidrs is ["0.0.0.0/0"], which together cover every IPv4 address; SSH must never be open to the whole internet: list your own CIDRs'],
        ["bad CIDR in a list", { "eks.publicAccessCidrs": ["198.51.100.7"] }, 'dockyard:eks.publicAccessCidrs is ["198.51.100.7"]; allowed: a list of IPv4 CIDR blocks such as 203.0.113.0/24, no host bits set, decimal prefix without leading zeros (bad: \"198.51.100.7\")'],
        ["admin principal that is not an ARN", { "eks.adminPrincipals": ["alice"] }, 'dockyard:eks.adminPrincipals is ["alice"]; allowed: IAM role or user ARNs (bad: alice)'],
        ["promotion source that is not a stack reference", { "images.from": "dev" }, 'dockyard:images.from is "dev"; allowed: a stack reference org/project/stack, or empty'],
        ["digest that is a tag", { "images.digests": { api: "repo/api:1.0" } }, 'dockyard:images.digests is {"api":"repo/api:1.0"}; allowed: a map of workload name to an image reference pinned by digest (…@sha256:<64 hex>) (bad: api="repo/api:1.0")'],
        ["local engine with eks", { target: "eks", "swarm.engine": "local", "eks.publicAccessCidrs": ["203.0.113.0/24"] }, 'dockyard:swarm.engine is "local" but dockyard:target is "eks"; the local engine runs the swarm target only'],
    ];

    for (const [what, overrides, message] of badConfigs) {
        it(`rejects ${what}`, () => {
            expect(problemsOf(overrides)).to.deep.equal([message]);
        });
    }

    it("reports every problem at once, not just the first", () => {
        const problems = problemsOf({ target: "nomad", "swarm.managers": 4, "network.azs": 9, typo: 1 });
        expect(problems).to.have.members([
            "dockyard:typo is not a dockyard setting; allowed keys are listed in the README's config reference",
            'dockyard:target is "nomad"; allowed: swarm or eks',
            "dockyard:swarm.managers is 4; a swarm needs an odd number of managers: 1, 3 or 5",
            "dockyard:network.azs is 9; allowed: 2 or 3",
        ]);
        try {
            parseStackConfig(stackConfigMap("dev", { target: "nomad", "network.azs": 9 }).config, "dockyard", "dev");
            expect.fail("expected a ConfigError");
        } catch (err) {
            expect((err as Error).message).to.match(/^invalid stack configuration \(2 problems\):\n {2}- /);
        }
    });

    it("config-reference --check names the generated files that drifted, and rewrites nothing", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-reference-"));
        for (const file of ["Pulumi.yaml", "README.md"]) fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(root, file));
        expect(staleFiles(root)).to.deep.equal([]);
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8").replace("| `dockyard:target` |", "| `dockyard:targets` |");
        fs.writeFileSync(path.join(root, "README.md"), readme);
        expect(staleFiles(root).map((s) => path.basename(s.file))).to.deep.equal(["README.md"]);
        expect(fs.readFileSync(path.join(root, "README.md"), "utf8")).to.equal(readme);
    });

    it("Pulumi.yaml declares every key with its type, default and description", () => {
        const file = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
        expect(file, "run `npm run config-reference`").to.equal(projectFile(file));
        const declared = YAML.parse(file).config;
        expect(Object.keys(declared)).to.deep.equal(CONFIG_KEYS.map((d) => d.key));
        for (const def of CONFIG_KEYS) {
            expect(declared[def.key], def.key).to.include({ type: def.type });
            expect(declared[def.key].default, def.key).to.deep.equal(def.default);
            expect(declared[def.key].description, def.key).to.be.a("string").and.not.equal("");
        }
    });

    it("the README's config reference matches CONFIG_KEYS", () => {
        const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
        expect(readme, "run `npm run config-reference`").to.equal(readmeWithReference(readme));
        for (const def of CONFIG_KEYS) expect(readme).to.include(`\`dockyard:${def.key}\``);
    });

    it("every stack file in the repository validates", () => {
        const stacks = fs.readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f));
        expect(stacks).to.include.members(["Pulumi.dev.yaml", "Pulumi.prod.yaml"]);
        for (const file of stacks) {
            const stack = file.split(".")[1];
            expect(() => stackConfig(stack), file).not.to.throw();
        }
    });
});
