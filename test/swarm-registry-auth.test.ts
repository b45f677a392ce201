/**
 * Registry auth of the Swarm Docker provider (issue 14 item 1, the provider side): every service of
 * the EC2 stack that runs an image from the stack's ECR registry gets auth through the provider's
 * `registryAuth` entry for that host, and the entry is constant, so a rotated token shows no diff.
 */
import { expect } from "chai";
import { ECR_CREDENTIAL_HELPER, ecrRegistryAuth, ecrRegistryHost } from "../components/swarm/cluster";
import { ACCOUNT_ID } from "../scripts/offline/mocks";
import { ofType, only, ProgramRun, renderStack } from "./harness";

/** Provider configuration travels JSON-encoded (see the SSH options test in swarm-cluster.test.ts). */
const providerInput = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

/**
 * The provider's lookup (kreuzwerker/terraform-provider-docker resource_docker_service_funcs.go
 * fromRegistryAuth): the image's text before its first "/" names the registry entry; no entry, no auth.
 */
const registryOf = (image: string) => (image.includes("/") ? image.slice(0, image.indexOf("/")) : undefined);

describe("swarm registry auth", () => {
    let dev: ProgramRun;
    before(async () => {
        dev = await renderStack("dev");
    });

    it("names the ECR credential helper for the stack's registry, with no username, password or token", () => {
        expect(ecrRegistryHost("123456789012", "eu-west-1", "amazonaws.com")).to.equal("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        expect(ecrRegistryAuth("123456789012.dkr.ecr.eu-west-1.amazonaws.com")).to.deep.equal({
            address: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            configFileContent: '{"credHelpers":{"123456789012.dkr.ecr.eu-west-1.amazonaws.com":"ecr-login"}}',
        });
        expect(ECR_CREDENTIAL_HELPER).to.equal("ecr-login");
    });

    it("gives the dev stack's Docker provider that one entry, constant and in plain text (nothing that rotates)", () => {
        const provider = only(dev.resources, "pulumi:providers:docker");
        const host = `${ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com`;
        expect(providerInput(provider.inputs.registryAuth)).to.deep.equal([{ address: host, configFileContent: `{"credHelpers":{"${host}":"ecr-login"}}` }]);
        expect(JSON.stringify(provider.inputs)).not.to.include("mock-ecr-password");
    });

    it("covers every service of the dev stack whose image is not public: each image's registry is the entry's address", () => {
        const address = providerInput(only(dev.resources, "pulumi:providers:docker").inputs.registryAuth)[0].address;
        const images = ofType(dev.resources, "docker:index/service:Service").map((s) => (s.inputs as any).taskSpec.containerSpec.image as string);
        expect(images.length).to.be.greaterThan(0);
        const privateImages = images.filter((image) => registryOf(image)?.includes(".dkr.ecr."));
        expect(privateImages.length, images.join(", ")).to.be.greaterThan(0);
        for (const image of privateImages) expect(registryOf(image), image).to.equal(address);
    });

    it("gives the local engine's provider no registry auth: its images are local tags", async () => {
        const local = await renderStack("local");
        expect(only(local.resources, "pulumi:providers:docker").inputs).not.to.have.property("registryAuth");
    });
});
