/** Small real servers and raw clients for HTTP tests (loopback only). */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

/** An HTTP/1.1 upstream that records requests and answers via `handler` (default: echo JSON). */
export class RecordingServer {
  readonly seen: SeenRequest[] = [];
  readonly server: http.Server;
  port = 0;
  constructor(handler?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void) {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body,
        });
        if (handler !== undefined) handler(req, res, body);
        else {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              method: req.method,
              url: req.url,
              headers: req.headers,
              bodyLength: body.length,
            }),
          );
        }
      });
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One HTTP/1.1 request; resolves with the whole response. */
export function request(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: Buffer | string;
    agent?: http.Agent | false;
  },
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Sends raw bytes on a fresh connection and collects everything until the server closes or
 * `untilMs` passes (a bounded wait for servers that keep the connection open).
 */
export function rawExchange(port: number, data: string | Buffer, untilMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), untilMs);
    sock.on('data', (c: Buffer) => parts.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (parts.length > 0) resolve(Buffer.concat(parts).toString('latin1'));
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
    sock.write(data);
  });
}

/** HTTP/2 prior-knowledge request; resolves with status, headers, trailers, body. */
export function h2request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<{
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':path': '/', ...headers }, { endStream: body === undefined });
    let status = 0;
    let rh: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    req.on('response', (h) => {
      rh = h;
      status = Number(h[':status']);
    });
    req.on('trailers', (t) => {
      trailers = t;
    });
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      client.close();
      resolve({ status, headers: rh, trailers, body: Buffer.concat(parts) });
    });
    req.on('error', (e) => {
      client.destroy();
      reject(e);
    });
    if (body !== undefined) req.end(body);
  });
}

/** Polls `cond` every 5 ms until true or `ms` passes (then throws). */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
