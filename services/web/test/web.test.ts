import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { sampleWorkloads } from "../../../workloads";
import { all, Directive, one, parseNginxConfig } from "./nginxConfig";

const WEB = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(WEB, file), "utf8");

const workloads = sampleWorkloads({ redisPassword: "not-used-here" });
const workload = (name: string) => workloads.find((w) => w.name === name)!;
const httpPort = (name: string) => workload(name).ports!.find((p) => p.name === "http")!.port;

/** Instructions of a Dockerfile, continuation lines joined and comments dropped. */
function dockerfile(text: string): { instruction: string; args: string }[] {
    return text
        .replace(/\\\n/g, " ")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => {
            const [instruction, ...rest] = line.split(/\s+/);
            return { instruction: instruction.toUpperCase(), args: rest.join(" ") };
        });
}

describe("web: nginx config parser", () => {
    it("parses directives, nested blocks, comments and quoted arguments", () => {
        const parsed = parseNginxConfig('a 1; # note\nb { c "x y" \'z\'; d { e; } }');
        expect(parsed).to.deep.equal([
            { name: "a", args: ["1"] },
            { name: "b", args: [], block: [{ name: "c", args: ["x y", "z"] }, { name: "d", args: [], block: [{ name: "e", args: [] }] }] },
        ]);
    });

    it("rejects unbalanced braces and unterminated directives", () => {
        expect(() => parseNginxConfig("http { listen 80;")).to.throw("missing }");
        expect(() => parseNginxConfig("listen 80; }")).to.throw("unexpected }");
        expect(() => parseNginxConfig("listen 80")).to.throw("directive listen is not terminated");
    });
});

describe("web: nginx config", () => {
    const config = parseNginxConfig(read("nginx.conf"));
    const http = one(config, "http").block!;
    const server = one(http, "server").block!;
    const location = (...args: string[]) => one(server, "location", ...args).block!;

    it("listens on the port the web workload declares (8080, unprivileged)", () => {
        expect(all(server, "listen").map((d) => d.args[0])).to.deep.equal([String(httpPort("web"))]);
        expect(httpPort("web")).to.equal(8080);
    });

    it("proxies /api/ to the api service by its DNS name and declared port, keeping the request URI", () => {
        const proxyPass = one(location("/api/"), "proxy_pass").args;
        expect(proxyPass).to.deep.equal([`http://${workload("api").name}:${httpPort("api")}`]);
        // No path after host:port, so nginx forwards /api/hits as /api/hits, the route the api serves.
        expect(proxyPass[0]).to.match(/^http:\/\/[a-z0-9-]+:\d+$/);
    });

    it("answers the web health check itself, without depending on the api", () => {
        const health = workload("web").health!.http!;
        expect(health.port).to.equal(httpPort("web"));
        const block = location("=", health.path);
        expect(one(block, "return").args[0]).to.equal("200");
        expect(all(block, "proxy_pass")).to.deep.equal([]);
    });

    it("writes only under /tmp, so the root filesystem can be read-only", () => {
        const writable: Directive[] = [
            one(config, "pid"),
            ...["client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"].map((name) => one(http, name)),
        ];
        for (const directive of writable) expect(directive.args[0], directive.name).to.match(/^\/tmp\//);
        expect(one(config, "error_log").args[0]).to.equal("stderr");
        expect(one(http, "access_log").args[0]).to.equal("/dev/stdout");
        expect(all(config, "user"), "a user directive needs root").to.deep.equal([]);
    });

    it("serves the files the Dockerfile copies, with a same-origin content security policy", () => {
        expect(one(server, "root").args).to.deep.equal(["/usr/share/nginx/html"]);
        expect(dockerfile(read("Dockerfile"))).to.deep.include({ instruction: "COPY", args: "public/ /usr/share/nginx/html/" });
        const csp = all(server, "add_header").find((d) => d.args[0] === "Content-Security-Policy");
        expect(csp?.args[1]).to.equal("default-src 'self'");
    });
});

describe("web: static files", () => {
    const html = read("public/index.html");

    it("index.html loads app.js, and every local asset it references exists", () => {
        expect(html).to.match(/<script src="app\.js" defer><\/script>/);
        const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
        expect(assets).to.include.members(["app.js", "style.css"]);
        for (const asset of assets) expect(fs.existsSync(path.join(WEB, "public", asset)), asset).to.equal(true);
    });

    it("has no inline script, which the content security policy would block", () => {
        expect([...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1].trim())).to.deep.equal([""]);
        expect(html).not.to.match(/\son[a-z]+=/);
    });

    it("app.js calls the api route that nginx proxies and the api serves", () => {
        const script = read("public/app.js");
        expect(script).to.contain('fetch("/api/hits"');
        expect(script).to.contain("body.hits");
    });
});

describe("web: image", () => {
    const steps = dockerfile(read("Dockerfile"));

    it("builds on the unprivileged nginx image and runs as a numeric non-root user", () => {
        expect(steps.filter((s) => s.instruction === "FROM").map((s) => s.args)).to.deep.equal(["nginxinc/nginx-unprivileged:1.27-alpine"]);
        const user = steps.filter((s) => s.instruction === "USER").at(-1)!.args;
        expect(user).to.match(/^\d+(:\d+)?$/);
        expect(Number(user.split(":")[0])).to.be.greaterThan(0);
        expect(steps).to.deep.include({ instruction: "COPY", args: "nginx.conf /etc/nginx/nginx.conf" });
        expect(steps).to.deep.include({ instruction: "EXPOSE", args: String(httpPort("web")) });
    });

    it("sends only the config and the static files to the build", () => {
        expect(read(".dockerignore").split("\n").filter((l) => l && !l.startsWith("#"))).to.deep.equal(["**", "!nginx.conf", "!public"]);
    });
});
