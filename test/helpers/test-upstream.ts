/**
 * A small, real (socket-level) implementation of the upstream seams for tests of the downstream
 * side: a cluster with round robin over fixed hosts, and HTTP/1.1 / HTTP/2 pools built on Node's
 * http and http2 clients. The production cluster manager and pools live in proxy/upstream/; this
 * exists so the connection manager can be tested before and independently of them.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { StatsStore } from '../../proxy/observability/stats.js';
import { NO_MUTATIONS } from '../../proxy/router/header-mutations.js';
import type { MatchedRoute, RouteAction, RouteRequest, RouteTable } from '../../proxy/router/types.js';
import { type ClusterBreakers, PriorityBreakers } from '../../proxy/upstream/circuit-breakers.js';
import type { ClusterLookup, UpstreamCluster } from '../../proxy/upstream/cluster.js';
import { ClusterStats } from '../../proxy/upstream/cluster-stats.js';
import { Host } from '../../proxy/upstream/host.js';
import type { LbContext } from '../../proxy/upstream/load-balancer.js';
import type {
  ConnectionPool,
  UpstreamRequestHead,
  UpstreamResponseHandler,
  UpstreamStream,
} from '../../proxy/upstream/upstream-stream.js';

class H1Stream implements UpstreamStream {
  failed = false;
  res: http.IncomingMessage | null = null;
  constructor(
    readonly host: Host,
    readonly req: http.ClientRequest,
  ) {}
  write(chunk: Buffer): boolean {
    return this.req.write(chunk);
  }
  end(): void {
    this.req.end();
  }
  onDrain(cb: () => void): void {
    this.req.once('drain', cb);
  }
  pause(): void {
    this.res?.pause();
  }
  resume(): void {
    this.res?.resume();
  }
  reset(): void {
    this.failed = true;
    this.req.destroy();
  }
}

class H2Stream implements UpstreamStream {
  constructor(
    readonly host: Host,
    readonly stream: http2.ClientHttp2Stream,
  ) {}
  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }
  end(trailers?: OutgoingHttpHeaders): void {
    if (trailers !== undefined && Object.keys(trailers).length > 0) {
      this.stream.once('wantTrailers', () => this.stream.sendTrailers(trailers));
    }
    this.stream.end();
  }
  onDrain(cb: () => void): void {
    this.stream.once('drain', cb);
  }
  pause(): void {
    this.stream.pause();
  }
  resume(): void {
    this.stream.resume();
  }
  reset(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

export class TestPool implements ConnectionPool {
  activeStreams = 0;
  pendingStreams = 0;
  private readonly agent = new http.Agent({ keepAlive: true });
  private session: http2.ClientHttp2Session | null = null;
  constructor(
    readonly host: Host,
    readonly protocol: 'http1' | 'http2',
  ) {}

  newStream(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    return this.protocol === 'http1' ? this.h1(head, handler) : this.h2(head, handler);
  }

  private h1(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    const headers: OutgoingHttpHeaders = { ...head.headers, host: head.authority };
    if (head.contentLength > 0) headers['content-length'] = head.contentLength;
    if (head.upgrade !== null) {
      headers.connection = 'Upgrade';
      headers.upgrade = head.upgrade;
    }
    const req = http.request({
      host: this.host.address,
      port: this.host.port,
      method: head.method,
      path: head.path,
      headers,
      setHost: false,
      agent: head.upgrade === null ? this.agent : false,
    });
    if (head.contentLength < 0 && head.upgrade === null) req.setHeader('transfer-encoding', 'chunked');
    const s = new H1Stream(this.host, req);
    let gotHeaders = false;
    req.on('response', (res) => {
      s.res = res;
      gotHeaders = true;
      handler.onHeaders(res.statusCode ?? 502, res.headers);
      res.on('data', (c: Buffer) => handler.onData(c));
      res.on('end', () => {
        if (Object.keys(res.trailers).length > 0) handler.onTrailers(res.trailers);
        else handler.onEnd();
      });
      res.on('error', () => {});
      res.on('aborted', () => {
        if (!s.failed) handler.onError('connection_termination', '');
      });
    });
    req.on('upgrade', (res, socket: Duplex, rest: Buffer) => handler.onUpgrade(res.headers, socket, rest));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (s.failed) return;
      s.failed = true;
      if (gotHeaders) return;
      handler.onError(err.code === 'ECONNREFUSED' ? 'connect_failure' : 'connection_termination', '');
    });
    return s;
  }

  private h2(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    if (this.session === null || this.session.destroyed || this.session.closed) {
      const sess = http2.connect(`http://${this.host.address}:${this.host.port}`);
      sess.on('error', () => {});
      this.session = sess;
    }
    const sess = this.session;
    const stream = sess.request(
      {
        ...head.headers,
        ':method': head.method,
        ':path': head.path,
        ':authority': head.authority,
        ':scheme': head.scheme,
      },
      { endStream: head.contentLength === 0, waitForTrailers: true },
    );
    const s = new H2Stream(this.host, stream);
    let gotHeaders = false;
    let done = false;
    stream.on('response', (h) => {
      gotHeaders = true;
      const status = Number(h[':status']);
      const out: IncomingHttpHeaders = {};
      for (const k in h) if (!k.startsWith(':')) out[k] = h[k] as string;
      handler.onHeaders(status, out);
    });
    stream.on('data', (c: Buffer) => handler.onData(c));
    stream.on('trailers', (t) => {
      done = true;
      handler.onTrailers(t as IncomingHttpHeaders);
    });
    stream.on('end', () => {
      if (!done) {
        done = true;
        handler.onEnd();
      }
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (done) return;
      done = true;
      if (!gotHeaders && !sess.socket?.remoteAddress) handler.onError('connect_failure', '');
      else handler.onError(stream.rstCode ? 'remote_reset' : 'connection_termination', '');
    });
    return s;
  }

  drain(): void {
    this.session?.close();
  }
  destroy(): void {
    this.agent.destroy();
    this.session?.destroy();
  }
}

export class TestCluster implements UpstreamCluster {
  readonly stats: ClusterStats;
  readonly connectTimeoutMs = 1000;
  private readonly hosts: Host[];
  private readonly pools = new Map<Host, TestPool>();
  /** Envoy's default thresholds (the cluster has no circuit_breakers). */
  private readonly cb = new PriorityBreakers(this, []);
  private next = 0;
  constructor(
    store: StatsStore,
    readonly name: string,
    addrs: ReadonlyArray<{ address: string; port: number }>,
    readonly protocol: 'http1' | 'http2' = 'http1',
  ) {
    this.stats = new ClusterStats(store, name);
    this.hosts = addrs.map((a) => new Host(a));
  }
  chooseHost(_ctx: LbContext | null): Host | null {
    const healthy = this.hosts.filter((h) => h.healthy);
    if (healthy.length === 0) return null;
    return healthy[this.next++ % healthy.length];
  }
  breakers(priority: 'DEFAULT' | 'HIGH' = 'DEFAULT'): ClusterBreakers {
    return this.cb.get(priority);
  }
  poolFor(host: Host): ConnectionPool {
    let p = this.pools.get(host);
    if (p === undefined) {
      p = new TestPool(host, this.protocol);
      this.pools.set(host, p);
    }
    return p;
  }
  allHosts(): readonly Host[] {
    return this.hosts;
  }
  destroy(): void {
    for (const p of this.pools.values()) p.destroy();
  }
}

export class TestClusters implements ClusterLookup {
  readonly map = new Map<string, TestCluster>();
  add(c: TestCluster): this {
    this.map.set(c.name, c);
    return this;
  }
  get(name: string): UpstreamCluster | undefined {
    return this.map.get(name);
  }
  destroy(): void {
    for (const c of this.map.values()) c.destroy();
  }
}

/** A route for tests: a path prefix to a cluster with a timeout (0 disables). */
export interface TestRoute {
  readonly prefix: string;
  readonly cluster?: string;
  readonly timeoutMs?: number;
  readonly direct?: { status: number; body: string };
  readonly name?: string;
}

/** A RouteTable over prefix routes, first match wins (the production one is proxy/router's). */
export function testRouteTable(routes: readonly TestRoute[]): RouteTable {
  const compiled: Array<{ prefix: string; route: MatchedRoute }> = routes.map((r) => {
    const action: RouteAction =
      r.direct !== undefined
        ? {
            kind: 'direct_response',
            status: r.direct.status,
            body: Buffer.from(r.direct.body),
            location: () => null,
          }
        : {
            kind: 'route',
            selectCluster: () => r.cluster ?? '',
            rewritePath: (p: string) => p,
            hostRewriteLiteral: null,
            autoHostRewrite: false,
            timeoutMs: r.timeoutMs ?? 15_000,
            idleTimeoutMs: -1,
            clusterNotFoundStatus: 503,
            clusterMutations: () => null,
          };
    return {
      prefix: r.prefix,
      route: {
        name: r.name ?? '',
        virtualHostName: 'test',
        action,
        requestHeaders: NO_MUTATIONS,
        responseHeaders: NO_MUTATIONS,
      },
    };
  });
  return {
    name: 'test',
    internalOnlyHeaders: [],
    match(req: RouteRequest): MatchedRoute | null {
      for (const c of compiled) if (req.path.startsWith(c.prefix)) return c.route;
      return null;
    },
  };
}
