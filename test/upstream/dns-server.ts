import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/**
 * A tiny authoritative DNS server on loopback UDP for tests: answers A and AAAA queries from a map
 * the test controls (name → addresses), NXDOMAIN for unknown names, SERVFAIL when told to fail.
 */
export class TestDnsServer {
  readonly records = new Map<string, string[]>();
  ttl = 30;
  failing = false;
  queries = 0;
  private socket: Socket | null = null;

  async start(): Promise<number> {
    const s = createSocket('udp4');
    this.socket = s;
    s.on('message', (msg, rinfo) => this.answer(msg, rinfo));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return s.address().port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private answer(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < 12 || this.socket === null) return;
    this.queries++;
    // Question: labels, then QTYPE and QCLASS.
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off];
      labels.push(msg.subarray(off + 1, off + 1 + len).toString('ascii'));
      off += 1 + len;
    }
    off += 1;
    const qtype = msg.readUInt16BE(off);
    const questionEnd = off + 4;
    const name = labels.join('.').toLowerCase();
    const all = this.records.get(name);
    const family = qtype === 28 ? 6 : qtype === 1 ? 4 : 0;
    const addrs = (all ?? []).filter((a) =>
      family === 6 ? a.includes(':') : family === 4 && !a.includes(':'),
    );
    let rcode = 0;
    if (this.failing) rcode = 2;
    else if (all === undefined) rcode = 3;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | rcode, 2); // QR, RD, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rcode === 0 ? addrs.length : 0, 6);
    const parts = [header, msg.subarray(12, questionEnd)];
    if (rcode === 0) {
      for (const a of addrs) {
        const rdata = family === 4 ? Buffer.from(a.split('.').map(Number)) : ipv6Bytes(a);
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
        rr.writeUInt16BE(qtype, 2);
        rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(this.ttl, 6);
        rr.writeUInt16BE(rdata.length, 10);
        parts.push(rr, rdata);
      }
    }
    this.socket.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  }
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(Number.parseInt(groups[i], 16), i * 2);
  return b;
}
