import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { redactSecrets } from "../scripts/offline/run";
import { only, resolve, runDeclaration } from "./harness";

describe("test harness", () => {
    it("records resources with parent and provider names, and secrets as [secret]", async () => {
        const run = await runDeclaration(() => {
            const provider = new aws.Provider("p", { region: "us-east-1" });
            const parent = new pulumi.ComponentResource("dockyard:test:Parent", "parent");
            return new aws.ssm.Parameter("param", { type: "SecureString", value: pulumi.secret("hunter2") }, { parent, provider });
        });
        const param = only(run.resources, "aws:ssm/parameter:Parameter");
        expect(param.parent).to.equal("parent");
        expect(param.provider).to.equal("p");
        expect(param.inputs.value).to.equal("[secret]");
        expect(JSON.stringify(param.inputs)).not.to.include("hunter2");
        expect(only(run.resources, "dockyard:test:Parent").parent).to.equal(null);
    });

    it("fails loudly on an invoke nobody mocked", async () => {
        let error: unknown;
        try {
            await runDeclaration(() => aws.ec2.getVpcOutput({ default: true }));
        } catch (err) {
            error = err;
        }
        expect(String(error)).to.include("no mock for invoke aws:ec2/getVpc:getVpc");
    });

    it("answers the mocked invokes deterministically", async () => {
        const run = await runDeclaration(() => aws.getAvailabilityZonesOutput({ state: "available" }), "prod");
        const zones = await resolve(run.value.names);
        expect(zones.slice(0, 3)).to.deep.equal(["us-east-1a", "us-east-1b", "us-east-1c"]);
    });

    it("redacts nested secrets and keeps key order stable", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "x" };
        expect(redactSecrets({ b: [secret], a: 1 })).to.deep.equal({ a: 1, b: ["[secret]"] });
        expect(Object.keys(redactSecrets({ b: 1, a: 2 }) as object)).to.deep.equal(["a", "b"]);
    });
});
