/**
 * Issue 17 items 5 and 6 (the generic part): no message quotes a secret value, and a key declared
 * secret that is set in plain text is refused. The program runs as Pulumi runs it: the offline
 * runner hands it the config with the keys set with `--secret` listed, as the language host does
 * (PULUMI_CONFIG_SECRET_KEYS, read by @pulumi/pulumi's isConfigSecret).
 */
import { expect } from "chai";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, readStackConfig, SECRET_NOT_SHOWN, secretConfigKeys } from "../components/config";
import { ProgramFailure, runProgram } from "../scripts/offline/run";
import { loadStackFile } from "../scripts/offline/stackFile";
import { PROJECT_ROOT, stackConfigMap } from "./harness";

/** A real private key, PEM (several lines), as someone would paste it. */
const PRIVATE_KEY = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const KEY_BODY = PRIVATE_KEY.split("\n").filter((line) => line && !line.startsWith("-----"));

/** Runs the real program on dev's stack file with overrides, the given keys marked secret; returns the failure message. */
async function failureOf(overrides: Record<string, string>, secretKeys: string[]): Promise<string> {
    const { config, secretKeys: fileSecrets } = stackConfigMap("dev");
    for (const [key, value] of Object.entries(overrides)) config[`dockyard:${key}`] = value;
    try {
        await runProgram({ stack: "dev", config, secretKeys: [...fileSecrets, ...secretKeys.map((k) => `dockyard:${k}`)] });
    } catch (err) {
        expect(err).to.be.instanceOf(ProgramFailure);
        expect((err as ProgramFailure).resources, "no resource before the refusal").to.deep.equal([]);
        return (err as Error).message;
    }
    throw new Error("the program accepted the config");
}

const expectNoKey = (message: string) => {
    for (const line of KEY_BODY) expect(message).not.to.include(line);
    for (let i = 0; i + 12 <= KEY_BODY.join("").length; i += 6) expect(message).not.to.include(KEY_BODY.join("").slice(i, i + 12));
};

describe("secrets in config messages", function () {
    this.timeout(120_000);

    it("the program learns which keys are secret the way Pulumi tells it (isConfigSecret)", async () => {
        let seen: string[] = [];
        await runProgram({
            stack: "dev",
            config: { "dockyard:a": "1", "dockyard:b": "2" },
            secretKeys: ["dockyard:b"],
            program: () => {
                seen = secretConfigKeys(pulumi.runtime.allConfig());
                return {};
            },
        });
        expect(seen).to.deep.equal(["dockyard:b"]);
    });

    it("a private key set with --secret in the wrong key is refused naming the key, never quoted", async () => {
        const message = await failureOf({ "swarm.sshPublicKey": PRIVATE_KEY }, ["swarm.sshPublicKey"]);
        expect(message).to.include(`dockyard:swarm.sshPublicKey is ${SECRET_NOT_SHOWN}; allowed: an OpenSSH public key, or empty`);
        expectNoKey(message);
    });

    it("a private key pasted in plain text into any key is not quoted either", async () => {
        const message = await failureOf({ "swarm.sshUser": PRIVATE_KEY }, []);
        expect(message).to.include(`dockyard:swarm.sshUser is ${SECRET_NOT_SHOWN}; allowed: a Linux user name`);
        expectNoKey(message);
    });

    it("a secret in a key of another type, or in a list that a cross-key check quotes, is not shown", async () => {
        const password = "correct-horse-battery-staple";
        const asInteger = await failureOf({ "swarm.managers": password }, ["swarm.managers"]);
        expect(asInteger).to.include(`dockyard:swarm.managers is ${SECRET_NOT_SHOWN}; expected an integer`);
        expect(asInteger).not.to.include(password);
        const list = await failureOf({ "swarm.access": "ssh", "swarm.sshCidrs": JSON.stringify(["0.0.0.0/1", "128.0.0.0/1"]) }, ["swarm.sshCidrs"]);
        expect(list).to.include("dockyard:swarm.sshCidrs is");
        expect(list).to.include("cover every IPv4 address");
        expect(list).not.to.match(/0\.0\.0\.0\/1|128\.0\.0\.0\/1/);
    });

    it("a key declared secret set in plain text is refused, naming the key and not the value", async () => {
        expect(CONFIG_KEYS.find((d) => d.key === "swarm.sshPrivateKey")!.secret).to.equal(true);
        const message = await failureOf({ "swarm.sshPrivateKey": PRIVATE_KEY }, []);
        expect(message).to.include("dockyard:swarm.sshPrivateKey is set in plain text; it is a secret");
        expect(message).to.include("pulumi config set --secret dockyard:swarm.sshPrivateKey");
        expectNoKey(message);
    });

    it("the same key set with --secret (also with --path inside dockyard:swarm) is accepted", () => {
        const { config } = stackConfigMap("dev");
        expect(readStackConfig({ ...config, "dockyard:swarm.sshPrivateKey": PRIVATE_KEY }, "dockyard", "dev", ["dockyard:swarm.sshPrivateKey"]).problems).to.deep.equal([]);
        const nested: Record<string, string> = { ...config, "dockyard:swarm": JSON.stringify({ sshPrivateKey: PRIVATE_KEY }) };
        delete nested["dockyard:swarm.sshPrivateKey"];
        expect(readStackConfig(nested, "dockyard", "dev", ["dockyard:swarm"]).problems).to.deep.equal([]);
        expect(readStackConfig(nested, "dockyard", "dev", []).problems.join("\n")).to.include("dockyard:swarm.sshPrivateKey is set in plain text");
    });

    it("a stack file's plain swarm.sshPrivateKey is refused by the render, a secure: one is not", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-secret-"));
        try {
            const base = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8").trimEnd();
            const plain = path.join(dir, "Pulumi.plain.yaml");
            fs.writeFileSync(plain, `${base}\n  dockyard:swarm.sshPrivateKey: not-encrypted-key-material\n`);
            const secure = path.join(dir, "Pulumi.secure.yaml");
            fs.writeFileSync(secure, `${base}\n  dockyard:swarm.sshPrivateKey:\n    secure: v1:abcdefghijklmnop:qrstuvwxyz\n`);
            const run = (file: string) => {
                const stackFile = loadStackFile(file);
                return runProgram({ stack: "dev", config: stackFile.config, secretKeys: stackFile.secretKeys });
            };
            const failure = await run(plain).then(
                () => "",
                (err: Error) => err.message,
            );
            expect(failure).to.include("dockyard:swarm.sshPrivateKey is set in plain text");
            expect(failure).not.to.include("not-encrypted-key-material");
            const ok = await run(secure);
            expect(ok.resources.length).to.be.greaterThan(0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
