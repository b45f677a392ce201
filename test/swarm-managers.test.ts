import { expect } from "chai";
import { DesiredManagers, LiveManager, managerRollCheck, managerRollTriggers, planManagers } from "../components/swarm/managerChanges";
import { renderStack } from "./harness";

const SUBNETS = ["subnet-a", "subnet-b", "subnet-c"];
const running = (amis: string[], instanceType = "t4g.small", subnets = SUBNETS): LiveManager[] =>
    amis.map((ami, index) => ({ instanceId: `i-${index}`, indexTag: String(index), index, ami, instanceType, subnetId: subnets[index % subnets.length], publicIp: `198.51.100.${index + 10}`, launchTime: `2026-11-0${index + 1}T00:00:00Z` }));
const want = (count: number, ami: string, amiPinned: boolean, instanceType = "t4g.small", subnets = SUBNETS): DesiredManagers => ({
    subnetIds: Array.from({ length: count }, (_, i) => subnets[i % subnets.length]),
    desired: { ami, instanceType },
    amiPinned,
});
const amis = (plan: ReturnType<typeof planManagers>) => plan.runtimes.map((r) => r.ami);

describe("swarm managers change one per up (issue 14 item 7)", () => {
    it("gives every manager of a first up the configured AMI and type", () => {
        const plan = planManagers([], want(3, "ami-new", false));
        expect(plan.runtimes).to.deep.equal(Array(3).fill({ ami: "ami-new", instanceType: "t4g.small" }));
        expect(plan.disrupted).to.deep.equal([]);
        expect(plan.problem).to.equal(undefined);
    });

    it("keeps the AMI each running manager has when a newer Amazon Linux is out and nothing is pinned", () => {
        const plan = planManagers(running(["ami-old", "ami-old", "ami-older"]), want(3, "ami-latest", false));
        expect(amis(plan)).to.deep.equal(["ami-old", "ami-old", "ami-older"]);
        expect(plan.disrupted).to.deep.equal([]);
    });

    it("moves a new swarm.amiId over three ups, one manager each, the first manager last", () => {
        let live = running(["ami-old", "ami-old", "ami-old"]);
        const seen: number[][] = [];
        for (let up = 0; up < 4; up++) {
            const plan = planManagers(live, want(3, "ami-pin", true));
            expect(plan.problem).to.equal(undefined);
            seen.push(plan.disrupted);
            live = live.map((m, i) => ({ ...m, ami: plan.runtimes[i].ami }));
        }
        expect(seen).to.deep.equal([[2], [1], [0], []]);
        expect(live.map((m) => m.ami)).to.deep.equal(["ami-pin", "ami-pin", "ami-pin"]);
    });

    it("moves a new instance type one manager per up, keeping its AMI within one architecture and taking the desired AMI across", () => {
        const same = planManagers(running(["ami-old", "ami-old", "ami-old"]), want(3, "ami-latest-arm", false, "t4g.medium"));
        expect(same.runtimes).to.deep.equal([
            { ami: "ami-old", instanceType: "t4g.small" },
            { ami: "ami-old", instanceType: "t4g.small" },
            { ami: "ami-old", instanceType: "t4g.medium" },
        ]);
        const across = planManagers(running(["ami-old", "ami-old", "ami-old"]), want(3, "ami-latest-x86", false, "t3.medium"));
        expect(across.runtimes[2]).to.deep.equal({ ami: "ami-latest-x86", instanceType: "t3.medium" });
        expect(across.disrupted).to.deep.equal([2]);
    });

    it("allows 1 to 3 and 5 to 3 managers, and refuses 3 to 1 naming the key and what is allowed", () => {
        const up = planManagers(running(["ami-a"]), want(3, "ami-a", false));
        expect(up.problem).to.equal(undefined);
        expect(up.runtimes).to.have.length(3);
        const down = planManagers(running(["a", "a", "a", "a", "a"]), want(3, "a", false));
        expect(down.problem).to.equal(undefined);
        expect(down.disrupted).to.deep.equal([3, 4]);
        const lost = planManagers(running(["a", "a", "a"]), want(1, "a", false));
        expect(lost.problem).to.match(/^dockyard:swarm\.managers: this update would replace or remove 2 of the 3 running managers at once \(manager-1 removed, manager-2 removed; swarm\.managers is 1\)/);
        expect(lost.problem).to.include("allowed: one manager replaced or removed per `pulumi up`, or 5 down to 3 managers");
    });

    it("refuses moving several managers to other subnets at once, and allows one", () => {
        const others = ["subnet-x", "subnet-y", "subnet-z"];
        const all = planManagers(running(["a", "a", "a"]), want(3, "a", false, "t4g.small", others));
        expect(all.problem).to.include("replace or remove 3 of the 3 running managers at once (manager-0 moved to another subnet, manager-1 moved to another subnet, manager-2 moved to another subnet");
        const one = planManagers(running(["a"]), want(1, "a", false, "t4g.small", others));
        expect(one.problem).to.equal(undefined);
        expect(one.disrupted).to.deep.equal([0]);
    });

    it("moves no AMI in an up that also removes a manager", () => {
        const plan = planManagers(running(["a", "a", "a", "a", "a"]), want(3, "b", true));
        expect(amis(plan)).to.deep.equal(["a", "a", "a"]);
        expect(plan.disrupted).to.deep.equal([3, 4]);
    });

    it("moves no AMI in an up that adds managers, which must join first (cold review of b62a90a, finding 4)", () => {
        const plan = planManagers(running(["a"]), want(3, "b", true));
        expect(amis(plan)).to.deep.equal(["a", "b", "b"]);
        expect(plan.disrupted).to.deep.equal([]);
    });

    it("takes the newer of two instances with one index (an interrupted replacement) as the manager and rolls nothing else that up (cold review of b62a90a, M3)", () => {
        const live = [...running(["a", "a", "a"]), { instanceId: "i-2b", indexTag: "2", index: 2, ami: "b", instanceType: "t4g.small", subnetId: "subnet-c", publicIp: "", launchTime: "2026-11-30T00:00:00Z" }];
        const plan = planManagers(live, want(3, "b", true));
        expect(amis(plan)).to.deep.equal(["a", "a", "b"]);
        expect(plan.disrupted).to.deep.equal([2]);
        expect(plan.problem).to.equal(undefined);
    });

    it("refuses managers without a usable dockyard:swarm-index tag instead of replacing them (cold review of b62a90a, H2)", () => {
        const live = running(["a", "a", "a"]).map((m, i) => (i === 0 ? m : { ...m, indexTag: i === 1 ? undefined : "x", index: NaN }));
        const plan = planManagers(live, want(3, "ami-latest", false));
        expect(plan.problem).to.match(/^dockyard:swarm\.managers: 2 of the stack's 3 manager instances have no usable dockyard:swarm-index tag \(i-1: null, i-2: "x"\); allowed: an integer 0 to 2/);
    });

    it("checks the swarm whole, through the first manager EC2 runs, before it moves one, and only then (cold review of b62a90a, H1)", () => {
        const roll = planManagers(running(["a", "a", "a"]), want(3, "b", true));
        expect(roll.rolled).to.deep.equal([2]);
        expect(managerRollCheck(roll, { via: "ssm", sshUser: "ec2-user" })).to.deep.equal({ sshTarget: "ec2-user@i-0", managerIds: ["i-0", "i-1", "i-2"], whole: true, workersNeeded: 0 });
        expect(managerRollCheck(roll, { via: "ssh", sshUser: "admin" })!.sshTarget).to.equal("admin@198.51.100.10");
        for (const calm of [planManagers(running(["a", "a", "a"]), want(3, "a", true)), planManagers([], want(3, "a", true)), planManagers(running(["a"]), want(3, "b", true))]) {
            expect(managerRollCheck(calm, { via: "ssm", sshUser: "ec2-user" })).to.equal(undefined);
        }
    });

    it("runs that check again whenever a manager's instance, AMI or type is to change", () => {
        const before = managerRollTriggers(planManagers(running(["a", "a", "a"]), want(3, "a", true)));
        expect(before).to.deep.equal(["i-0", "a", "t4g.small", "i-1", "a", "t4g.small", "i-2", "a", "t4g.small"]);
        expect(managerRollTriggers(planManagers(running(["a", "a", "a"]), want(3, "b", true)))).to.not.deep.equal(before);
        expect(managerRollTriggers(planManagers(running(["a", "a", "a"]), want(3, "a", true, "t4g.medium")))).to.not.deep.equal(before);
        const replaced = running(["a", "a", "a"]).map((m, i) => (i === 2 ? { ...m, instanceId: "i-2b" } : m));
        expect(managerRollTriggers(planManagers(replaced, want(3, "a", true)))).to.not.deep.equal(before);
        expect(managerRollTriggers(planManagers([], want(1, "a", true)))).to.deep.equal(["new", "a", "t4g.small"]);
    });

    it("makes every manager wait for that check, and the provider's gate wait for every manager of the up, re-run on any manager's id, AMI or type (cold review of b62a90a, H1)", async () => {
        const config = { "swarm.managers": 3, "network.azs": 3, "swarm.amiId": "ami-0123456789abcdef0" };
        const first = await renderStack("dev", config);
        const subnets = first.resources.filter((r) => r.type === "aws:ec2/instance:Instance").map((m) => String(m.inputs.subnetId));
        const live = running(["ami-old", "ami-old", "ami-old"], "t4g.small", subnets);
        const { resources } = await renderStack("dev", config, {
            "aws:ec2/getInstances:getInstances": () => ({ ids: live.map((m) => m.instanceId), privateIps: [], publicIps: [], ipv6Addresses: [], instanceTags: {} }),
            "aws:ec2/getInstance:getInstance": (inputs) => {
                const m = live.find((l) => l.instanceId === inputs.instanceId)!;
                return { instanceState: "running", tags: { "dockyard:swarm-index": String(m.index) }, ami: m.ami, instanceType: m.instanceType, subnetId: m.subnetId, publicIp: m.publicIp, launchTime: m.launchTime };
            },
        });
        const commands = resources.filter((r) => r.type === "command:local:Command");
        const whole = commands.find((r) => r.name.endsWith("-managers-whole"))!;
        const gate = commands.find((r) => r.name.endsWith("-ready"))!;
        expect(String(whole.inputs.create)).to.include("\nmanager_ids=('i-0' 'i-1' 'i-2')\nwhole=1\n").and.include("target='ec2-user@i-0'");
        const managers = resources.filter((r) => r.type === "aws:ec2/instance:Instance");
        expect(managers.map((m) => m.inputs.ami)).to.deep.equal(["ami-old", "ami-old", "ami-0123456789abcdef0"]);
        for (const m of managers) expect(m.dependencies).to.include(whole.name);
        expect(gate.dependencies).to.include.members(managers.map((m) => m.name));
        const triggers = gate.inputs.triggers as string[];
        expect(triggers).to.have.length(9);
        const ids = [triggers[0], triggers[3], triggers[6]];
        expect(ids.every((id) => /^i-[0-9a-f]+$/.test(id))).to.equal(true);
        expect(triggers).to.deep.equal(managers.flatMap((m, i) => [ids[i], m.inputs.ami, m.inputs.instanceType]));
        expect(String(gate.inputs.create)).to.include(`\nmanager_ids=(${ids.map((id) => `'${id}'`).join(" ")})\nwhole=0\n`);
    });

    it("asks EC2 for the stack's own managers that are not terminated", async () => {
        const { invokes } = await renderStack("dev");
        const lookups = invokes.filter((i) => i.token === "aws:ec2/getInstances:getInstances");
        expect(lookups).to.have.length(1);
        expect(lookups[0].inputs).to.deep.equal({
            filters: [
                { name: "tag:dockyard:project", values: ["dockyard"] },
                { name: "tag:dockyard:stack", values: ["dev"] },
                { name: "tag:dockyard:role", values: ["first-manager", "manager"] },
            ],
            instanceStateNames: ["pending", "running", "stopping", "stopped"],
        });
    });
});
