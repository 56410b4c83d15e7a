import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * After a 101 from the upstream: writes the 101 head downstream and splices the two sockets, raw
 * bytes both ways with pipe()'s backpressure. Either side closing or failing closes both; `owner`
 * hears once when it is over.
 */
export function spliceUpgrade(
  down: Duplex,
  up: Duplex,
  headers: IncomingHttpHeaders,
  requestedUpgrade: string,
  upHead: Buffer,
  downHead: Buffer,
  owner: { upgradeClosed(): void },
): void {
  let out = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || name === 'connection' || name === 'upgrade') continue;
    for (const x of Array.isArray(v) ? v : [v]) out += `${name}: ${x}\r\n`;
  }
  out += `connection: Upgrade\r\nupgrade: ${headers.upgrade ?? requestedUpgrade}\r\n\r\n`;
  down.write(out);
  if (upHead.length > 0) down.write(upHead);
  if (downHead.length > 0) up.write(downHead);
  down.pipe(up);
  up.pipe(down);
  let closed = false;
  const close = (): void => {
    down.destroy();
    up.destroy();
    if (closed) return;
    closed = true;
    owner.upgradeClosed();
  };
  down.on('error', close);
  up.on('error', close);
  down.on('close', close);
  up.on('close', close);
}
