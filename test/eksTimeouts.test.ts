import { expect } from "chai";
import { ADDON_TIMEOUTS } from "../components/eks/addons";
import { NODE_GROUP_TIMEOUTS } from "../components/eks/nodeGroup";
import { CONTROL_PLANE_TIMEOUTS, GITHUB_HOSTED_JOB_LIMIT_MINUTES, HELM_TIMEOUT_SECONDS, minutes, SCALING_COMMAND_MINUTES, workloadChainMinutes, worstCaseUp } from "../components/eks/timeouts";
import { JOB_TIMEOUTS, ROLLOUT_TIMEOUTS } from "../components/kubernetes/workload";
import type { WorkloadSpec } from "../components/workload";
import { sampleWorkloads } from "../workloads";
import { ofType, runDeclaration, stackConfig, THREE_AZ_NETWORK } from "./harness";
import { EksCluster } from "../components/eks/cluster";

const spec = (name: string, extra: { kind?: "job"; after?: string[]; ports?: WorkloadSpec["ports"] } = {}): WorkloadSpec => ({
    name,
    image: { ref: "nginx:1.27" },
    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    ...extra,
});

describe("eks: time bounds of one `pulumi up`", function () {
    it("reads durations in minutes and refuses anything else", function () {
        expect(minutes("90m")).to.equal(90);
        expect(() => minutes("1h")).to.throw(/not a duration in minutes: "1h"/);
    });

    it("chains workloads: Jobs first, then what runs after them; a public service also waits for its Service and Ingress", function () {
        expect(workloadChainMinutes([])).to.equal(0);
        expect(workloadChainMinutes([spec("internal")])).to.equal(minutes(ROLLOUT_TIMEOUTS.update));
        expect(workloadChainMinutes([spec("web", { ports: [{ name: "http", port: 8080, public: {} }] })])).to.equal(20);
        const migrate = spec("migrate", { kind: "job" });
        const second = spec("seed", { kind: "job", after: ["migrate"] });
        const api = spec("api", { after: ["seed"], ports: [{ name: "http", port: 8080, public: {} }] });
        expect(workloadChainMinutes([api, second, migrate])).to.equal(2 * minutes(JOB_TIMEOUTS.create) + 20);
        expect(() => workloadChainMinutes([spec("a", { after: ["b"] }), spec("b", { kind: "job", after: ["a"] })])).to.throw(/cycle: a -> b -> a/);
    });

    it("the longest chain is a one-minor upgrade: control plane, add-ons, node-group rolls with drains, Helm, workloads", function () {
        const worst = worstCaseUp(sampleWorkloads({ redisPassword: "x" }));
        expect(worst.chain).to.equal("update");
        expect(worst.steps.map((s) => s.minutes)).to.deep.equal([
            10,
            minutes(CONTROL_PLANE_TIMEOUTS.update),
            minutes(ADDON_TIMEOUTS.update),
            Math.max(minutes(NODE_GROUP_TIMEOUTS.update), minutes(NODE_GROUP_TIMEOUTS.create) + minutes(NODE_GROUP_TIMEOUTS.delete)),
            SCALING_COMMAND_MINUTES,
            minutes(ADDON_TIMEOUTS.update),
            (2 * HELM_TIMEOUT_SECONDS) / 60,
            workloadChainMinutes(sampleWorkloads({ redisPassword: "x" })),
        ]);
        expect(worst.total).to.equal(worst.steps.reduce((a, s) => a + s.minutes, 0));
        // The sample: migrate (Job, 20) then api (15); web is public (Service then Ingress, 20).
        expect(workloadChainMinutes(sampleWorkloads({ redisPassword: "x" }))).to.equal(35);
        expect(worst.total).to.equal(325);
        expect(worst.total).to.be.at.most(GITHUB_HOSTED_JOB_LIMIT_MINUTES);
    });

    it("waits at least the provider's default wherever something drains or rolls (node groups 60m, add-ons 20m/20m/40m, Helm 300 s)", function () {
        expect(minutes(NODE_GROUP_TIMEOUTS.update)).to.be.at.least(60);
        expect(minutes(NODE_GROUP_TIMEOUTS.delete)).to.be.at.least(60);
        expect(minutes(ADDON_TIMEOUTS.create)).to.be.at.least(20);
        expect(minutes(ADDON_TIMEOUTS.update)).to.be.at.least(20);
        expect(minutes(ADDON_TIMEOUTS.delete)).to.be.at.least(40);
        expect(HELM_TIMEOUT_SECONDS).to.be.greaterThan(300);
    });

    it("gives both Helm releases the Helm timeout", async function () {
        const run = await runDeclaration(() => new EksCluster("eks", { config: stackConfig("prod"), network: THREE_AZ_NETWORK }), "prod");
        const releases = ofType(run.resources, "kubernetes:helm.sh/v3:Release");
        expect(releases.map((r) => r.name).sort()).to.deep.equal(["eks-autoscaler-release", "eks-lbc-release"]);
        for (const release of releases) expect(release.inputs.timeout, release.name).to.equal(HELM_TIMEOUT_SECONDS);
    });
});
