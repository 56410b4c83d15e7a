/** Loopback HTTP backends that fail on command, for the resilience tests. */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type BackendMode = 'ok' | '503' | '500' | 'hang' | 'reset';

export class Backend {
  mode: BackendMode = 'ok';
  /** Requests seen (any mode), and their bodies. */
  hits = 0;
  bodies: string[] = [];
  /** x-envoy-attempt-count of each request ('' when absent). */
  attempts: string[] = [];
  /** Requests answered from pathStatus (health checks). */
  hcHits = 0;
  /** TCP connections accepted (across revives). */
  connectionsAccepted = 0;
  /** Per-path status overrides (e.g. the health check path). */
  readonly pathStatus = new Map<string, number>();
  port = 0;
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly hung: http.ServerResponse[] = [];

  constructor(readonly name: string) {
    this.server = this.create();
  }

  private create(): http.Server {
    const s = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const forced = this.pathStatus.get(req.url ?? '');
        if (forced !== undefined) {
          this.hcHits++;
          res.writeHead(forced).end(this.name);
          return;
        }
        this.hits++;
        this.bodies.push(Buffer.concat(parts).toString());
        this.attempts.push(String(req.headers['x-envoy-attempt-count'] ?? ''));
        switch (this.mode) {
          case 'ok':
            res.writeHead(200, { 'x-backend': this.name }).end(this.name);
            return;
          case '503':
          case '500':
            res.writeHead(Number(this.mode), { 'x-backend': this.name }).end('fail');
            return;
          case 'hang':
            this.hung.push(res);
            return;
          case 'reset':
            req.socket.destroy();
            return;
        }
      });
    });
    s.on('connection', (c: Socket) => {
      this.connectionsAccepted++;
      this.sockets.add(c);
      c.on('close', () => this.sockets.delete(c));
    });
    return s;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Closes the listener and every connection: further connects are refused. */
  async kill(): Promise<void> {
    for (const r of this.hung.splice(0)) r.destroy();
    for (const c of this.sockets) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    this.server = this.create();
    await this.listen(this.port);
  }

  /** Ends the hang: answers every held request. */
  release(): void {
    for (const r of this.hung.splice(0)) if (!r.destroyed) r.writeHead(200).end(this.name);
  }

  async close(): Promise<void> {
    for (const r of this.hung.splice(0)) r.destroy();
    for (const c of this.sockets) c.destroy();
    if (this.server.listening) await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export async function startBackends(n: number): Promise<Backend[]> {
  const out: Backend[] = [];
  for (let i = 0; i < n; i++) {
    const b = new Backend(`b${i}`);
    await b.listen();
    out.push(b);
  }
  return out;
}
