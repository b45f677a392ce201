import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { prepareWorkloads, validateWorkloads, WorkloadSpec } from "../components/workload";
import { loadConfig } from "../services/api/src/config";
import { sampleWorkloads } from "../workloads";
import { PROJECT_ROOT, stackConfig } from "./harness";

const PASSWORD = "sample-password-value";

describe("sample workloads (workloads.ts)", () => {
    const specs = sampleWorkloads({ redisPassword: PASSWORD });
    const byName = (name: string) => specs.find((s) => s.name === name)!;

    it("declares redis, migrate, api and web, and they validate", () => {
        expect(specs.map((s) => s.name)).to.deep.equal(["redis", "migrate", "api", "web"]);
        expect(validateWorkloads(specs)).to.deep.equal([]);
    });

    for (const stack of ["dev", "prod", "local"]) {
        it(`accepts the ${stack} stack's workload overrides`, () => {
            const prepared = prepareWorkloads(specs, stackConfig(stack).workloads);
            expect(prepared.map((s) => s.name)).to.deep.equal(specs.map((s) => s.name));
        });
    }

    it("builds api and migrate from the same folder, and every build context has a Dockerfile and .dockerignore", () => {
        const contexts = specs.flatMap((s) => ("build" in s.image ? [[s.name, s.image.build.context]] : []));
        expect(contexts).to.deep.equal([["migrate", "services/api"], ["api", "services/api"], ["web", "services/web"]]);
        for (const [, context] of contexts) {
            for (const file of ["Dockerfile", ".dockerignore"]) expect(fs.existsSync(path.join(PROJECT_ROOT, context, file)), `${context}/${file}`).to.equal(true);
        }
        expect(byName("redis").image).to.deep.equal({ ref: "redis:7.4-alpine" });
    });

    it("gives the password to redis, migrate and api as the same secret file, never as env", () => {
        for (const name of ["redis", "migrate", "api"]) {
            expect(byName(name).secrets, name).to.deep.equal({ "redis-password": PASSWORD });
        }
        expect(byName("web").secrets).to.equal(undefined);
        const clear = JSON.stringify(specs.map((s) => [s.env, s.command, s.args]));
        expect(clear).not.to.contain(PASSWORD);
        expect(byName("redis").command!.join(" ")).to.contain('--requirepass "$(cat /run/secrets/redis-password)"');
    });

    it("points the api's own config (from the env it is given) at the redis workload and the mounted secret", () => {
        const redisPort = byName("redis").ports![0].port;
        for (const name of ["migrate", "api"]) {
            const config = loadConfig(byName(name).env!);
            expect(config.redisHost, name).to.equal("redis");
            expect(config.redisPort, name).to.equal(redisPort);
            expect(config.redisPasswordFile, name).to.equal(`/run/secrets/${Object.keys(byName(name).secrets!)[0]}`);
        }
        const api = byName("api");
        expect(loadConfig(api.env!).port).to.equal(api.ports![0].port);
        expect(api.health).to.deep.include({ http: { path: "/healthz", port: api.ports![0].port } });
    });

    it("runs migrate as a job of the api image that api waits for", () => {
        const migrate = byName("migrate");
        expect(migrate.kind).to.equal("job");
        expect(migrate.command).to.deep.equal(["node", "/app/dist/migrate.js"]);
        expect(fs.existsSync(path.join(PROJECT_ROOT, "services/api/src/migrate.ts"))).to.equal(true);
        expect(byName("api").after).to.deep.equal(["migrate"]);
        expect(byName("api").autoscaling).to.deep.equal({ min: 2, max: 6, cpuPercent: 70 });
    });

    it("keeps redis's data on one persistent volume, written by the image's redis user, one task at a time", () => {
        const redis: WorkloadSpec = byName("redis");
        expect(redis.volumes).to.deep.equal([{ name: "data", kind: "persistent", mountPath: "/data", size: "1Gi" }]);
        expect(redis.command!.join(" ")).to.contain("--dir /data");
        expect(redis.user).to.equal("999:1000");
        expect(redis.update?.order).to.equal("stop-first");
        expect(redis.ports).to.deep.equal([{ name: "redis", port: 6379, protocol: "tcp" }]);
        expect(redis.ports!.some((p) => p.public)).to.equal(false);
    });

    it("publishes only web, on / over http", () => {
        const publicPorts = specs.flatMap((s) => (s.ports ?? []).filter((p) => p.public).map((p) => [s.name, p.port, p.protocol, p.public]));
        expect(publicPorts).to.deep.equal([["web", 8080, "http", { path: "/" }]]);
        expect(byName("web").replicas).to.equal(2);
    });
});
