/**
 * The lab's instance metadata service (IMDSv2 only, as the nodes' launch templates require): one
 * server at 169.254.169.254 in the lab's VPC namespace that tells each node who it is by the
 * address the request comes from, from the instances in the shared fake-AWS store.
 *
 * As EC2 documents it (docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
 * `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1–21600) returns a token;
 * every other request needs `X-aws-ec2-metadata-token` or gets 401; unknown paths get 404.
 * `meta-data/autoscaling/target-lifecycle-state` is what the Auto Scaling group intends for the
 * instance (`InService`, `Terminated`, …; docs: ec2-auto-scaling lifecycle hooks, "retrieve the target
 * lifecycle state through instance metadata").
 *
 * Run inside the namespace by scripts/lab/node service: `node -r ts-node/register/transpile-only test/lab/imds.ts STORE`.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";

export interface LabInstance {
    readonly node: string;
    readonly instanceId: string;
    readonly ip: string;
    readonly az: string;
    /** The worker group's name for a worker, none for a manager. */
    readonly group?: string;
    /** Auto Scaling lifecycle state, e.g. `InService`, `Terminating:Wait`. */
    lifecycleState: string;
    /** EC2 instance state: `running`, `terminated`. */
    state: string;
    health?: string;
    /** When the instance launched (ISO 8601), for the group's health check grace period. */
    launchTime: string;
}

/** What the group intends for an instance, from its lifecycle state. */
export function targetLifecycleState(instance: LabInstance): string {
    if (instance.lifecycleState.startsWith("Terminat")) return "Terminated";
    if (instance.lifecycleState.startsWith("Pending")) return "InService";
    return "InService";
}

export function metadata(instance: LabInstance, accountId: string, region: string, path: string): string | undefined {
    const document = { accountId, architecture: "arm64", availabilityZone: instance.az, imageId: "ami-dylab", instanceId: instance.instanceId, instanceType: "t4g.small", privateIp: instance.ip, region, version: "2017-09-30" };
    const table: Record<string, string> = {
        "meta-data/instance-id": instance.instanceId,
        "meta-data/local-ipv4": instance.ip,
        "meta-data/placement/availability-zone": instance.az,
        "meta-data/placement/region": region,
        "dynamic/instance-identity/document": JSON.stringify(document, null, 2),
    };
    if (instance.group) table["meta-data/autoscaling/target-lifecycle-state"] = targetLifecycleState(instance);
    return table[path];
}

export function serve(storePath: string, port = 80, host = "169.254.169.254"): http.Server {
    const tokens = new Map<string, number>();
    const server = http.createServer((req, res) => {
        const reply = (status: number, body = "") => {
            res.writeHead(status, { "Content-Type": "text/plain" });
            res.end(body);
        };
        const url = (req.url ?? "").replace(/^\/latest\//, "");
        if (req.method === "PUT" && url === "api/token") {
            const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
            if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return reply(400);
            const token = crypto.randomBytes(24).toString("base64");
            tokens.set(token, Date.now() + ttl * 1000);
            return reply(200, token);
        }
        if (req.method !== "GET") return reply(405);
        const token = String(req.headers["x-aws-ec2-metadata-token"] ?? "");
        if (!tokens.has(token) || tokens.get(token)! < Date.now()) return reply(401);
        const store = JSON.parse(fs.readFileSync(storePath, "utf8"));
        const address = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
        const instance = (Object.values(store.instances) as LabInstance[]).find((i) => i.ip === address && i.state === "running");
        if (!instance) return reply(404);
        const body = metadata(instance, store.accountId, store.region, url);
        return body === undefined ? reply(404) : reply(200, body);
    });
    server.listen(port, host);
    return server;
}

if (require.main === module) serve(process.argv[2]);
