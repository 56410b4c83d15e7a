/** A raw HTTP/1.x client for codec tests: writes bytes, parses whole responses as they arrive. */
import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ', '. */
  readonly headers: Record<string, string>;
  /** The header lines as sent (name case kept). */
  readonly rawHead: string;
  readonly body: string;
  /** Trailer lines of a chunked body, as sent. */
  readonly trailers: string;
}

/**
 * One connection. `responses(n)` resolves once n whole responses arrived (Content-Length,
 * chunked, or bodies that end with the connection); `closed` once the server closed.
 */
export class RawClient {
  readonly sock: net.Socket;
  private buf = '';
  private readonly parsed: RawResponse[] = [];
  private waiters: Array<() => void> = [];
  isClosed = false;
  /** Requests whose responses carry no body (HEAD), in order. */
  readonly headRequests: boolean[] = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('error', () => {});
    this.sock.on('data', (c: Buffer) => {
      this.buf += c.toString('latin1');
      this.parse(false);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      this.sock.on('close', () => {
        this.isClosed = true;
        this.parse(true);
        this.wake();
        resolve();
      });
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Everything received that is not yet part of a parsed response. */
  get rest(): string {
    return this.buf;
  }

  get count(): number {
    return this.parsed.length;
  }

  async responses(n: number, ms = 3000): Promise<RawResponse[]> {
    const deadline = Date.now() + ms;
    while (this.parsed.length < n) {
      if (this.isClosed) throw new Error(`closed after ${this.parsed.length} responses: ${this.buf}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.parsed.length} responses: ${this.buf}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.parsed.slice(0, n);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private parse(eof: boolean): void {
    for (let guard = 0; guard < 1000; guard++) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const rawHead = this.buf.slice(0, end);
      const lines = rawHead.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      let rest = this.buf.slice(end + 4);
      if (status >= 100 && status < 200) {
        this.parsed.push({ status, headers, rawHead, body: '', trailers: '' });
        this.buf = rest;
        continue;
      }
      const noBody =
        status === 204 ||
        status === 304 ||
        this.headRequests[this.parsed.filter((r) => r.status >= 200).length];
      let body = '';
      let trailers = '';
      if (noBody) {
        // nothing
      } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (rest.length < n) return;
        body = rest.slice(0, n);
        rest = rest.slice(n);
      } else if (headers['transfer-encoding'] === 'chunked') {
        let pos = 0;
        for (;;) {
          const le = rest.indexOf('\r\n', pos);
          if (le < 0) return;
          const size = Number.parseInt(rest.slice(pos, le), 16);
          if (size === 0) {
            const te = rest.indexOf('\r\n\r\n', le);
            if (te >= 0) {
              trailers = rest.slice(le + 2, te);
              rest = rest.slice(te + 4);
              break;
            }
            if (rest.slice(le + 2, le + 4) === '\r\n') {
              rest = rest.slice(le + 4);
              break;
            }
            return;
          }
          if (rest.length < le + 2 + size + 2) return;
          body += rest.slice(le + 2, le + 2 + size);
          pos = le + 2 + size + 2;
        }
      } else {
        // Delimited by the end of the connection.
        if (!eof) return;
        body = rest;
        rest = '';
      }
      this.parsed.push({ status, headers, rawHead, body, trailers });
      this.buf = rest;
    }
  }
}
