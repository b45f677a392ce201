/**
 * HTTPS on a real domain, shared by both targets: an ACM certificate for the stack's domain and its
 * public host names, validated through DNS records in the domain's Route 53 hosted zone, and alias
 * records that point host names at a load balancer. TLS ends at the load balancer.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PublicEndpoint } from "./workload";

export interface DomainCertificateArgs {
    /** The Route 53 hosted zone, looked up by name (`dockyard:ingress.domain`). */
    readonly domain: string;
    /** Host names the certificate also covers: the domain itself or names under it. */
    readonly hostNames: readonly string[];
}

/** The certificate's names: the domain first, then each other host name once. Throws for a name outside the domain. */
export function certificateNames(domain: string, hostNames: readonly string[]): string[] {
    const outside = hostNames.filter((h) => h !== domain && !h.endsWith(`.${domain}`));
    if (outside.length > 0) {
        throw new Error(`public host names ${outside.map((h) => JSON.stringify(h)).join(", ")} are not under dockyard:ingress.domain ${JSON.stringify(domain)}; allowed: ${domain} or names ending in .${domain}`);
    }
    return [domain, ...new Set(hostNames.filter((h) => h !== domain))];
}

/**
 * The host names the stack serves on its domain: each endpoint's host, and the domain itself for
 * endpoints without one.
 */
export function publicHostNames(domain: string, endpoints: readonly PublicEndpoint[]): string[] {
    if (!domain) return [];
    return [...new Set(endpoints.map((e) => e.host ?? domain))];
}

export class DomainCertificate extends pulumi.ComponentResource {
    /** ARN of the certificate once ACM has validated it: listeners that use it wait for validation. */
    public readonly certificateArn: pulumi.Output<string>;
    public readonly zoneId: pulumi.Output<string>;

    constructor(name: string, args: DomainCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dockyard:dns:DomainCertificate", name, {}, opts);
        const names = certificateNames(args.domain, args.hostNames);
        const zone = aws.route53.getZoneOutput({ name: args.domain, privateZone: false }, { parent: this });
        this.zoneId = zone.zoneId;

        const certificate = new aws.acm.Certificate(
            `${name}-cert`,
            { domainName: names[0], subjectAlternativeNames: names.slice(1), validationMethod: "DNS", keyAlgorithm: "EC_prime256v1" },
            { parent: this },
        );
        // One record per name, found by name: ACM does not promise the order of its validation options.
        const records = names.map((domainName, i) => {
            const option = certificate.domainValidationOptions.apply((options) => {
                const found = options.find((o) => o.domainName === domainName);
                if (!found) throw new Error(`ACM returned no DNS validation option for ${domainName}`);
                return found;
            });
            return new aws.route53.Record(
                `${name}-validation-${i}`,
                { zoneId: this.zoneId, name: option.resourceRecordName, type: option.resourceRecordType, records: [option.resourceRecordValue], ttl: 300, allowOverwrite: true },
                { parent: this },
            );
        });
        const validation = new aws.acm.CertificateValidation(
            `${name}-validation`,
            { certificateArn: certificate.arn, validationRecordFqdns: records.map((r) => r.fqdn) },
            { parent: this },
        );
        this.certificateArn = validation.certificateArn;
        this.registerOutputs({ certificateArn: this.certificateArn, zoneId: this.zoneId });
    }
}

export interface AliasRecordArgs {
    readonly zoneId: pulumi.Input<string>;
    readonly hostName: pulumi.Input<string>;
    /** The load balancer's DNS name and hosted zone. */
    readonly targetDnsName: pulumi.Input<string>;
    readonly targetZoneId: pulumi.Input<string>;
}

/** An A alias record from a host name to a load balancer. */
export function aliasRecord(name: string, args: AliasRecordArgs, opts?: pulumi.CustomResourceOptions): aws.route53.Record {
    return new aws.route53.Record(
        name,
        {
            zoneId: args.zoneId,
            name: args.hostName,
            type: "A",
            aliases: [{ name: args.targetDnsName, zoneId: args.targetZoneId, evaluateTargetHealth: true }],
            allowOverwrite: false,
        },
        opts,
    );
}
