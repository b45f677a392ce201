/**
 * What the real docker CLI sends as a service's registry auth (`docker service update
 * --with-registry-auth`, the call dockyard-registry-refresh makes) when the ECR credential helper
 * answers, and when it fails: the CLI on this machine talks to a stand-in Engine API that records the
 * X-Registry-Auth header, so the test sees exactly what dockerd would store (moby
 * daemon/cluster/services.go UpdateService keeps the old auth only for an empty header); and what
 * the CLI says when the refresh's inspect of a service fails, which the refresh tells apart.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const IMAGE = `${REGISTRY}/dockyard/dev/api@sha256:${"a".repeat(64)}`;

/** The helper as amazon-ecr-credential-helper answers (ecr-login/ecr.go Get): a token, or "not found" for any failed AWS call. */
const HELPER = `#!/bin/sh
touch "$HELPER_RAN"
read -r server
if [ "$HELPER_MODE" = token ]; then printf '{"ServerURL":"%s","Username":"AWS","Secret":"T0KEN"}\\n' "$server"; exit 0; fi
echo "credentials not found in native keychain"
exit 1
`;

describe("the docker CLI's registry auth for a service update (what the refresh relies on)", () => {
    let server: http.Server;
    let port = 0;
    let dir: string;
    const sent: (string | undefined)[] = [];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockyard-cli-auth-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "docker-credential-ecr-login"), HELPER, { mode: 0o755 });
        // What the bootstrap writes (components/swarm/cloudInit.ts configure_docker).
        fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { [REGISTRY]: "ecr-login" } }));
        server = http.createServer((req, res) => {
            const reply = (body: unknown) => {
                res.writeHead(200, { "Content-Type": "application/json", "Api-Version": "1.43" });
                res.end(JSON.stringify(body));
            };
            const fail = (status: number, message: string) => {
                res.writeHead(status, { "Content-Type": "application/json", "Api-Version": "1.43" });
                res.end(JSON.stringify({ message }));
            };
            if (req.url!.endsWith("/_ping")) return reply("OK");
            if (req.method === "POST" && /\/services\/svc\/update/.test(req.url!)) {
                sent.push(req.headers["x-registry-auth"] as string | undefined);
                req.resume();
                return reply({ Warnings: null });
            }
            if (/\/services\/svc(\?.*)?$/.test(req.url!)) return reply({ ID: "svc", Version: { Index: 7 }, Spec: { Name: "dev-api", TaskTemplate: { ContainerSpec: { Image: IMAGE } }, Mode: { Replicated: { Replicas: 1 } } } });
            // As dockerd answers an inspect of a removed service (404), and one a manager without quorum cannot serve (500).
            if (/\/services\/gone(\?.*)?$/.test(req.url!)) return fail(404, "service gone not found");
            if (/\/services\/broken(\?.*)?$/.test(req.url!)) return fail(500, "rpc error: code = Unknown desc = The swarm does not have a leader.");
            fail(404, `not a call of this test: ${req.method} ${req.url}`);
        });
        await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
        port = (server.address() as AddressInfo).port;
    });
    after(() => {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    // Asynchronously: the stand-in API answers from this process.
    const update = async (mode: "token" | "failing", config = dir) => {
        const env = { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, DOCKER_CONFIG: config, DOCKER_HOST: `tcp://127.0.0.1:${port}`, HELPER_MODE: mode, HELPER_RAN: path.join(dir, "helper-ran") };
        await new Promise<void>((done, fail) =>
            execFile("docker", ["service", "update", "--with-registry-auth", "--detach", "svc"], { env, timeout: 30_000 }, (err, _stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : done())),
        );
        const header = sent.pop();
        return header === undefined ? undefined : JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    };

    // The refresh's inspect, as the script makes it (registryRefresh.ts): its status and its error output.
    const inspect = (cli: string, id: string) =>
        new Promise<{ failed: boolean; stderr: string }>((done) =>
            execFile(cli, ["service", "inspect", id, "--format", "{{.Spec.Name}}"], { env: { ...process.env, DOCKER_CONFIG: dir, DOCKER_HOST: `tcp://127.0.0.1:${port}` }, timeout: 30_000 }, (err, _stdout, stderr) => done({ failed: err !== null, stderr })),
        );

    // The lab nodes' CLI (Debian's docker.io 20.10, /usr/bin/docker) and the newest here (first on PATH); AL2023's lies between.
    for (const cli of [...new Set(["docker", "/usr/bin/docker"].filter((c) => c === "docker" || fs.existsSync(c)))]) {
        it(`${cli} says "no such service" for a removed service and only then, so the refresh skips that one and fails on any other inspect error`, async () => {
            const gone = await inspect(cli, "gone");
            expect(gone.failed).to.equal(true);
            expect(gone.stderr).to.match(/no such service: gone/i);
            const broken = await inspect(cli, "broken");
            expect(broken.failed).to.equal(true);
            expect(broken.stderr).to.include("The swarm does not have a leader.");
            expect(broken.stderr).not.to.match(/no such service/i);
        });
    }

    it("sends the helper's token when it answers", async () => {
        expect(await update("token")).to.deep.include({ username: "AWS", password: "T0KEN" });
    });

    it("sends an empty auth, and succeeds, when the helper fails: dockerd would store it over the token still valid, so the refresh asks the helper first", async () => {
        expect(await update("failing")).to.deep.equal({});
    });

    it("sends the token of a config that holds it (auths), as the refresh writes one per registry, and runs no helper", async () => {
        const checked = path.join(dir, "run", REGISTRY);
        fs.mkdirSync(checked, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(checked, "config.json"), JSON.stringify({ auths: { [REGISTRY]: { auth: Buffer.from("AWS:CHECKED").toString("base64") } } }));
        fs.rmSync(path.join(dir, "helper-ran"), { force: true });
        expect(await update("failing", checked)).to.deep.include({ username: "AWS", password: "CHECKED" });
        expect(fs.existsSync(path.join(dir, "helper-ran")), "the helper ran").to.equal(false);
    });
});
