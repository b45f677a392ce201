import { expect } from "chai";
import { k8sProbes, k8sSeccomp } from "../policy/rules/kubernetes";
import { k8sIngressListenPorts, k8sServiceExposure } from "../policy/rules/kubernetesCluster";
import { runResourcePolicy } from "./policyHarness";

const service = (annotations: Record<string, string>, spec: Record<string, unknown>) => ({ type: "kubernetes:core/v1:Service", props: { metadata: { annotations }, spec: { type: "LoadBalancer", ...spec } } });
const violations = async (...args: Parameters<typeof runResourcePolicy>) => (await runResourcePolicy(...args)).violations;

describe("Kubernetes policy rules, the cases beyond one pass and one violation", () => {
    it("treats a LoadBalancer as internet-facing unless it says internal, and reads the source-ranges annotation too", async () => {
        expect(await violations(k8sServiceExposure, service({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" }, {}))).to.deep.equal([]);
        expect(await violations(k8sServiceExposure, service({ "service.beta.kubernetes.io/aws-load-balancer-internal": "true" }, {}))).to.deep.equal([]);
        expect((await violations(k8sServiceExposure, service({}, {})))[0]).to.match(/internet-facing LoadBalancer with no loadBalancerSourceRanges/);
        expect(await violations(k8sServiceExposure, service({ "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24, 198.51.100.0/24" }, {}))).to.deep.equal([]);
        expect((await violations(k8sServiceExposure, service({}, { loadBalancerSourceRanges: ["0.0.0.0/00"] })))[0]).to.match(/are not CIDR blocks/);
        expect((await violations(k8sServiceExposure, service({}, { loadBalancerSourceRanges: ["::/0"] })))[0]).to.match(/cover the whole internet/);
    });

    it("accepts an Ingress without listen-ports (the controller's HTTP 80) and refuses one that is not JSON", async () => {
        const ingress = (annotations: Record<string, string>) => ({ type: "kubernetes:networking.k8s.io/v1:Ingress", props: { metadata: { annotations } } });
        expect(await violations(k8sIngressListenPorts, ingress({}))).to.deep.equal([]);
        expect((await violations(k8sIngressListenPorts, ingress({ "alb.ingress.kubernetes.io/listen-ports": "80" })))[0]).to.match(/opens/);
        expect((await violations(k8sIngressListenPorts, ingress({ "alb.ingress.kubernetes.io/listen-ports": "[{HTTP:80" })))[0]).to.match(/is not JSON/);
    });

    it("asks no probes of a Job, and takes the pod's seccomp profile when the container sets none", async () => {
        const job = { type: "kubernetes:batch/v1:Job", props: { metadata: { namespace: "apps" }, spec: { template: { spec: { containers: [{ name: "migrate" }] } } } } };
        expect(await runResourcePolicy(k8sProbes, job)).to.deep.equal({ applicable: false, violations: [] });
        const pod = (podProfile?: string) => ({
            type: "kubernetes:core/v1:Pod",
            props: { metadata: { namespace: "apps" }, spec: { securityContext: podProfile ? { seccompProfile: { type: podProfile } } : {}, containers: [{ name: "c" }] } },
        });
        expect(await violations(k8sSeccomp, pod("RuntimeDefault"))).to.deep.equal([]);
        expect((await violations(k8sSeccomp, pod()))[0]).to.match(/"unset \(Unconfined\)"/);
    });
});
