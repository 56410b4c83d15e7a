import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { GrpcCheckModel, HttpCheckModel, TcpCheckModel } from './config.js';

/** One probe's outcome: 'ok', a check failure (bad status, wrong bytes), or a network failure. */
export type ProbeResult = 'ok' | 'failure' | 'network_failure' | 'timeout';

export interface ProbeTarget {
  readonly address: string;
  readonly port: number;
  /** Host / :authority when the check sets none (Envoy uses the cluster name). */
  readonly defaultAuthority: string;
}

/**
 * Starts one probe; `done` is called exactly once. The returned function aborts it (no callback).
 * The checker's sockets never mix with the data path's pools. An HTTP/1 check given `agent` (the
 * host's keep-alive agent, reuse_connection) sends its probe over that agent's one connection;
 * otherwise each probe uses its own connection and closes it.
 */
export function startProbe(
  check: HttpCheckModel | TcpCheckModel | GrpcCheckModel,
  target: ProbeTarget,
  timeoutMs: number,
  done: (r: ProbeResult) => void,
  agent: http.Agent | null = null,
): () => void {
  let finished = false;
  let cleanup: () => void = () => {};
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  timer.unref();
  function finish(r: ProbeResult): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    cleanup();
    done(r);
  }
  if (check.kind === 'tcp') cleanup = tcpProbe(check, target, finish);
  else if (check.kind === 'grpc') cleanup = grpcProbe(check, target, finish);
  else if (check.http2) cleanup = http2Probe(check, target, finish);
  else cleanup = httpProbe(check, target, finish, agent);
  return () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    cleanup();
  };
}

function statusOk(check: HttpCheckModel, status: number): boolean {
  for (const [s, e] of check.expectedStatuses) if (status >= s && status < e) return true;
  return false;
}

function httpHeaders(check: HttpCheckModel): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'Envoy/HC' };
  for (const [k, v] of check.requestHeadersToAdd) h[k] = v;
  for (const k of check.requestHeadersToRemove) delete h[k];
  return h;
}

/** The keep-alive agent of one checked host (reuse_connection): one connection, kept between probes. */
export function probeAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
}

function httpProbe(
  check: HttpCheckModel,
  t: ProbeTarget,
  finish: (r: ProbeResult) => void,
  agent: http.Agent | null,
): () => void {
  const headers = httpHeaders(check);
  headers.host = check.host === '' ? t.defaultAuthority : check.host;
  if (agent === null) headers.connection = 'close';
  const req = http.request({
    host: t.address,
    port: t.port,
    method: check.method,
    path: check.path,
    headers,
    agent: agent ?? false,
  });
  req.on('response', (res) => {
    const ok = statusOk(check, res.statusCode ?? 0);
    res.resume();
    res.on('end', () => finish(ok ? 'ok' : 'failure'));
    res.on('error', () => finish('network_failure'));
  });
  req.on('error', () => finish('network_failure'));
  req.end();
  // An aborted probe (timeout, stop) destroys its socket: a kept connection is not trusted after.
  return () => req.destroy();
}

function http2Probe(check: HttpCheckModel, t: ProbeTarget, finish: (r: ProbeResult) => void): () => void {
  const session = http2.connect(`http://${hostPort(t)}`);
  session.on('error', () => finish('network_failure'));
  const headers: http2.OutgoingHttpHeaders = httpHeaders(check);
  headers[':method'] = check.method;
  headers[':path'] = check.path;
  headers[':authority'] = check.host === '' ? t.defaultAuthority : check.host;
  const stream = session.request(headers, { endStream: true });
  stream.on('response', (h) => {
    const ok = statusOk(check, Number(h[':status']));
    stream.resume();
    stream.on('end', () => finish(ok ? 'ok' : 'failure'));
  });
  stream.on('error', () => finish('network_failure'));
  return () => session.destroy();
}

/** grpc.health.v1.Health/Check: SERVING (1) with grpc-status 0 is healthy; anything else is not. */
function grpcProbe(check: GrpcCheckModel, t: ProbeTarget, finish: (r: ProbeResult) => void): () => void {
  const session = http2.connect(`http://${hostPort(t)}`);
  session.on('error', () => finish('network_failure'));
  const stream = session.request({
    ':method': 'POST',
    ':path': '/grpc.health.v1.Health/Check',
    ':authority': check.authority === '' ? t.defaultAuthority : check.authority,
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': 'Envoy/HC',
  });
  const chunks: Buffer[] = [];
  let grpcStatus: string | undefined;
  stream.on('response', (h) => {
    if (Number(h[':status']) !== 200) finish('failure');
    grpcStatus = h['grpc-status'] as string | undefined; // trailers-only response
  });
  stream.on('trailers', (h) => {
    grpcStatus = h['grpc-status'] as string | undefined;
  });
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (grpcStatus !== '0') return finish('failure');
    finish(servingStatus(Buffer.concat(chunks)) === 1 ? 'ok' : 'failure');
  });
  stream.on('error', () => finish('network_failure'));
  stream.end(encodeCheckRequest(check.serviceName));
  return () => session.destroy();
}

/** A length-prefixed gRPC message holding HealthCheckRequest{service = 1}. */
export function encodeCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** HealthCheckResponse.status (field 1, enum) from a gRPC frame; 0 (UNKNOWN) when absent or malformed. */
export function servingStatus(frame: Buffer): number {
  if (frame.length < 5 || frame[0] !== 0) return 0;
  const len = frame.readUInt32BE(1);
  if (frame.length < 5 + len) return 0;
  let i = 5;
  const end = 5 + len;
  let status = 0;
  while (i < end) {
    const [tag, ni] = readVarint(frame, i, end);
    if (ni < 0) return 0;
    i = ni;
    const wire = tag & 7;
    if (wire === 0) {
      const [v, vi] = readVarint(frame, i, end);
      if (vi < 0) return 0;
      if (tag >>> 3 === 1) status = v;
      i = vi;
    } else if (wire === 2) {
      const [l, li] = readVarint(frame, i, end);
      if (li < 0 || li + l > end) return 0;
      i = li + l;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else return 0;
  }
  return status;
}

function readVarint(b: Buffer, start: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = start; i < end && i < start + 8; i++) {
    v += (b[i] & 0x7f) * mul;
    mul *= 128;
    if ((b[i] & 0x80) === 0) return [v, i + 1];
  }
  return [0, -1];
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function tcpProbe(check: TcpCheckModel, t: ProbeTarget, finish: (r: ProbeResult) => void): () => void {
  const sock = net.connect({ host: t.address, port: t.port });
  let received: Buffer = Buffer.alloc(0);
  sock.on('connect', () => {
    if (check.send !== null) sock.write(check.send);
    if (check.receive.length === 0) finish('ok');
  });
  sock.on('data', (c: Buffer) => {
    received = received.length === 0 ? c : Buffer.concat([received, c]);
    if (containsInOrder(received, check.receive)) finish('ok');
  });
  // A peer that closes before sending what we expect fails the check (not a network failure).
  sock.on('end', () => finish('failure'));
  sock.on('error', () => finish('network_failure'));
  return () => sock.destroy();
}

/** Each block must be found, in the given order, not necessarily contiguous (Envoy's fuzzy match). */
export function containsInOrder(buf: Buffer, blocks: readonly Buffer[]): boolean {
  let at = 0;
  for (const b of blocks) {
    const i = buf.indexOf(b, at);
    if (i < 0) return false;
    at = i + b.length;
  }
  return true;
}

function hostPort(t: ProbeTarget): string {
  return t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}
