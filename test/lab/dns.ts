/**
 * The lab's "Amazon-provided DNS" at the VPC's base address + 2 (10.0.0.2 for 10.0.0.0/16): a UDP
 * resolver for the names a node looks up outside the swarm (the registry's host name, and a name a
 * scenario resolves from inside a task). Answers A records from a table, NXDOMAIN for other names
 * (RFC 1035 message format, section 4.1).
 *
 * Run inside the namespace: `node -r ts-node/register/transpile-only test/lab/dns.ts TABLE.json`.
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";

/** The question's name, type and the offset after it. */
function question(message: Buffer): { name: string; type: number; end: number } {
    const labels: string[] = [];
    let offset = 12;
    while (message[offset] !== 0) {
        const length = message[offset];
        labels.push(message.subarray(offset + 1, offset + 1 + length).toString("ascii"));
        offset += length + 1;
    }
    return { name: labels.join(".").toLowerCase(), type: message.readUInt16BE(offset + 1), end: offset + 5 };
}

export function answer(query: Buffer, table: Record<string, string>): Buffer {
    const { name, type, end } = question(query);
    const address = table[name];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    const rd = query[2] & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD as asked
    header[3] = 0x80 | (address === undefined ? 3 : 0); // RA, NXDOMAIN or NOERROR
    header.writeUInt16BE(1, 4);
    const records: Buffer[] = [];
    if (address !== undefined && type === 1) {
        const record = Buffer.alloc(16);
        record.writeUInt16BE(0xc00c, 0); // name: pointer to the question
        record.writeUInt16BE(1, 2); // A
        record.writeUInt16BE(1, 4); // IN
        record.writeUInt32BE(60, 6); // TTL
        record.writeUInt16BE(4, 10);
        address.split(".").forEach((octet, i) => (record[12 + i] = Number(octet)));
        records.push(record);
    }
    header.writeUInt16BE(records.length, 6);
    return Buffer.concat([header, query.subarray(12, end), ...records]);
}

export function serve(tablePath: string, host = "10.0.0.2", port = 53): dgram.Socket {
    const socket = dgram.createSocket("udp4");
    socket.on("message", (message, peer) => {
        try {
            const table = JSON.parse(fs.readFileSync(tablePath, "utf8"));
            socket.send(answer(message, table), peer.port, peer.address);
        } catch (err) {
            process.stderr.write(`dns: ${String(err)}\n`);
        }
    });
    socket.bind(port, host);
    return socket;
}

if (require.main === module) serve(process.argv[2]);
