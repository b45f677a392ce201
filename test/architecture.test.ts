import { expect } from "chai";
import { cpuArchitecture } from "../components/architecture";
import { amiTypeFor } from "../components/eks/nodeGroup";
import { architectureOf, nodePlatforms } from "../components/images/plan";

const ARM = ["a1.medium", "a1.metal", "t4g.small", "m7g.large", "c7gn.xlarge", "r6gd.large", "x2gd.xlarge", "im4gn.large", "is4gen.medium", "g5g.xlarge", "r8g.2xlarge"];
const X86 = ["t3.small", "m5.large", "m7i-flex.large", "c5n.large", "g5.xlarge", "g4dn.xlarge", "r7iz.large", "m7a.large", "inf2.xlarge"];

describe("instance architecture (issue 14 item 18)", () => {
    it("classifies Graviton types, a1 included, as arm64 and the rest as x86_64", () => {
        expect(ARM.map(cpuArchitecture)).to.deep.equal(ARM.map(() => "arm64"));
        expect(X86.map(cpuArchitecture)).to.deep.equal(X86.map(() => "x86_64"));
    });

    it("gives the Swarm AMI, the EKS AMI type and the image platform the same answer for every type", () => {
        for (const type of [...ARM, ...X86]) {
            const arm = cpuArchitecture(type) === "arm64";
            expect(architectureOf(type), type).to.equal(arm ? "arm64" : "amd64");
            expect(nodePlatforms([type]), type).to.deep.equal([arm ? "linux/arm64" : "linux/amd64"]);
            expect(amiTypeFor([type]), type).to.equal(arm ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD");
        }
    });
});
