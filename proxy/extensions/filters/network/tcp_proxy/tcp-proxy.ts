import type { Socket } from 'node:net';
import type { AccessLogSink } from '../../../../http/access-log-sink.js';
import { ResponseFlag } from '../../../../http/response-flags.js';
import { StreamInfo } from '../../../../http/stream-info.js';
import { sharedWheel, TimerEntry, type TimerTarget } from '../../../../http/timer-wheel.js';
import type { TcpProxyConfig } from '../../../../model/listener.js';
import type { Counter, Gauge, StatsStore } from '../../../../observability/stats.js';
import { sourceIpHashKey } from '../../../../router/hash-policy.js';
import type { ClusterBreakers } from '../../../../upstream/circuit-breakers.js';
import type { ClusterLookup, UpstreamCluster } from '../../../../upstream/cluster.js';
import type { Host } from '../../../../upstream/host.js';
import type { LbContext } from '../../../../upstream/load-balancer.js';
import { connectTcp, type TcpConnectResult } from '../../../../upstream/tcp-connect.js';

/**
 * Opens an upstream TCP connection to a host; the callback runs exactly once. The default is the
 * upstream side's connector (connect_timeout and upstream_cx_* stats are kept there).
 */
export type TcpConnector = (host: Host, cluster: UpstreamCluster, cb: (r: TcpConnectResult) => void) => void;

export const defaultTcpConnector: TcpConnector = (host, cluster, cb) => {
  connectTcp(host, cluster.stats, cluster.connectTimeoutMs, cb);
};

/** tcp.<stat_prefix>.* under Envoy's names. */
export class TcpProxyStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_no_route: Counter;
  readonly downstream_cx_rx_bytes_total: Counter;
  readonly downstream_cx_tx_bytes_total: Counter;
  readonly downstream_flow_control_paused_reading_total: Counter;
  readonly downstream_flow_control_resumed_reading_total: Counter;
  readonly upstream_flush_total: Counter;
  readonly upstream_flush_active: Gauge;
  readonly idle_timeout: Counter;

  constructor(store: StatsStore, prefix: string) {
    const p = `tcp.${prefix}.`;
    this.downstream_cx_total = store.counter(`${p}downstream_cx_total`);
    this.downstream_cx_no_route = store.counter(`${p}downstream_cx_no_route`);
    this.downstream_cx_rx_bytes_total = store.counter(`${p}downstream_cx_rx_bytes_total`);
    this.downstream_cx_tx_bytes_total = store.counter(`${p}downstream_cx_tx_bytes_total`);
    this.downstream_flow_control_paused_reading_total = store.counter(
      `${p}downstream_flow_control_paused_reading_total`,
    );
    this.downstream_flow_control_resumed_reading_total = store.counter(
      `${p}downstream_flow_control_resumed_reading_total`,
    );
    this.upstream_flush_total = store.counter(`${p}upstream_flush_total`);
    this.upstream_flush_active = store.gauge(`${p}upstream_flush_active`);
    this.idle_timeout = store.counter(`${p}idle_timeout`);
  }
}

export interface TcpProxyDeps {
  readonly stats: StatsStore;
  readonly clusters: ClusterLookup;
  readonly connector?: TcpConnector;
}

/** The tcp_proxy network filter: one per filter-chain config; a TcpSession per connection. */
export class TcpProxy {
  readonly stats: TcpProxyStats;
  readonly sessions = new Set<TcpSession>();
  readonly connector: TcpConnector;
  readonly sinks: AccessLogSink[];

  constructor(
    readonly cfg: TcpProxyConfig,
    readonly deps: TcpProxyDeps,
  ) {
    this.stats = new TcpProxyStats(deps.stats, cfg.statPrefix);
    this.connector = deps.connector ?? defaultTcpConnector;
    this.sinks = [];
    for (const l of cfg.accessLogs) if (l.sink !== null) this.sinks.push(l.sink);
  }

  accept(socket: Socket): void {
    this.stats.downstream_cx_total.inc();
    const s = new TcpSession(this, socket);
    this.sessions.add(s);
    s.start();
  }

  pickCluster(): string {
    const cfg = this.cfg;
    if (cfg.cluster !== '') return cfg.cluster;
    let r = Math.random() * cfg.totalWeight;
    for (const w of cfg.weightedClusters) {
      r -= w.weight;
      if (r < 0) return w.name;
    }
    return cfg.weightedClusters[cfg.weightedClusters.length - 1]?.name ?? '';
  }

  /** A raw TCP stream has no way to ask the peer to go away; drain just waits for it to close. */
  drain(): void {}

  forceClose(): void {
    for (const s of this.sessions) s.close();
  }
}

/**
 * Picks beyond the first that a connect retry makes to avoid hosts already tried, for policies
 * that do not skip previous hosts themselves (ring hash and Maglev map a key to one host).
 */
const RESELECT_ATTEMPTS = 3;

/** What the cluster's balancer sees for one TCP connection; previousHosts grows with connect retries. */
class TcpLbContext implements LbContext {
  hashKey: number | undefined;
  previousHosts: Host[] | null = null;
  constructor(
    readonly downstreamAddress: string,
    hashOnSourceIp: boolean,
  ) {
    this.hashKey = hashOnSourceIp ? sourceIpHashKey(downstreamAddress) : undefined;
  }
}

class TcpSession implements TimerTarget {
  readonly info = new StreamInfo();
  private upstream: Socket | null = null;
  private cluster: UpstreamCluster | null = null;
  private attempts = 0;
  private lb: TcpLbContext | null = null;
  /** The breakers the current upstream connection (or attempt) counts against. */
  private breakers: ClusterBreakers | null = null;
  private lastActivity = performance.now();
  private readonly timer = new TimerEntry(this, 0);
  private closed = false;
  private downClosed = false;
  private upClosed = false;
  private flushing = false;

  constructor(
    private readonly proxy: TcpProxy,
    private readonly down: Socket,
  ) {
    const info = this.info;
    info.downstreamRemoteAddress = `${down.remoteAddress}:${down.remotePort}`;
    info.downstreamLocalAddress = `${down.localAddress}:${down.localPort}`;
    down.on('error', () => this.close());
    down.on('close', () => this.onDownClose());
    // Hold downstream bytes until the upstream is connected.
    down.pause();
  }

  start(): void {
    const proxy = this.proxy;
    const name = proxy.pickCluster();
    this.info.upstreamCluster = name;
    const cluster = proxy.deps.clusters.get(name);
    if (cluster === undefined) {
      proxy.stats.downstream_cx_no_route.inc();
      this.info.setFlag(ResponseFlag.NoClusterFound);
      this.close();
      return;
    }
    this.cluster = cluster;
    this.lb = new TcpLbContext(this.info.downstreamRemoteAddress, proxy.cfg.hashOnSourceIp === true);
    this.connect();
  }

  private connect(): void {
    const cluster = this.cluster!;
    const host = this.pickHost(cluster, this.lb!);
    if (host === null) {
      cluster.stats.upstream_cx_none_healthy.inc();
      this.info.setFlag(ResponseFlag.NoHealthyUpstream);
      this.close();
      return;
    }
    // max_connections of the cluster's DEFAULT breakers. Over the limit the connection is refused
    // (UO): there is no pool to wait in (Envoy's TCP pool would queue it as pending). The count of
    // 1 keeps out the exemption for a pool with no connection yet, which has no meaning here.
    const breakers = cluster.breakers('DEFAULT');
    if (!breakers.canOpenConnection(1)) {
      this.info.setFlag(ResponseFlag.UpstreamOverflow);
      this.close();
      return;
    }
    breakers.connectionOpened();
    this.breakers = breakers;
    this.attempts++;
    this.info.attemptCount = this.attempts;
    this.info.upstreamHost = host.key;
    this.proxy.connector(host, cluster, (r) => this.onConnectResult(r, host));
  }

  /** The attempt's connection no longer counts against max_connections (failed, or closed). */
  private releaseConnection(): void {
    this.breakers?.connectionClosed();
    this.breakers = null;
  }

  /**
   * The first pick uses the connection's hash key; a connect retry avoids the hosts already tried:
   * a few more picks, then (when the hashed host itself failed) picks without the key, so a
   * consistent-hashing cluster falls back to another host instead of the dead one.
   */
  private pickHost(cluster: UpstreamCluster, ctx: TcpLbContext): Host | null {
    let h = cluster.chooseHost(ctx);
    const tried = ctx.previousHosts;
    if (tried === null) return h;
    for (let i = 0; i < RESELECT_ATTEMPTS && h !== null && tried.includes(h); i++)
      h = cluster.chooseHost(ctx);
    if (h !== null && tried.includes(h) && ctx.hashKey !== undefined) {
      ctx.hashKey = undefined;
      for (let i = 0; i < RESELECT_ATTEMPTS && h !== null && tried.includes(h); i++)
        h = cluster.chooseHost(ctx);
    }
    return h;
  }

  private onConnectResult(r: TcpConnectResult, host: Host): void {
    // Outlier detection: a connection made is the final success, a failed one a local-origin failure.
    if (r.ok) {
      host.outlier?.putLocalSuccess();
      this.onConnected(r.socket);
      return;
    }
    host.outlier?.putLocalFailure('connect_failed');
    this.releaseConnection();
    if (this.closed) return;
    const lb = this.lb!;
    if (lb.previousHosts === null) lb.previousHosts = [host];
    else lb.previousHosts.push(host);
    if (this.attempts < this.proxy.cfg.maxConnectAttempts) this.connect();
    else {
      this.info.setFlag(ResponseFlag.UpstreamConnectionFailure);
      this.info.upstreamHost = host.key;
      this.close();
    }
  }

  private onConnected(up: Socket): void {
    if (this.closed) {
      this.releaseConnection();
      up.destroy();
      return;
    }
    this.upstream = up;
    // Half-close passes through, so our side must not end itself when the upstream sends FIN.
    up.allowHalfOpen = true;
    this.info.upstreamLocalAddress = `${up.localAddress}:${up.localPort}`;
    const down = this.down;
    const stats = this.proxy.stats;
    up.on('close', () => {
      this.releaseConnection();
      this.onUpClose();
    });
    up.on('error', () => this.close());
    // Each direction: write, and stop reading the source while the sink's buffer is full.
    down.on('data', (c: Buffer) => {
      this.lastActivity = performance.now();
      stats.downstream_cx_rx_bytes_total.inc(c.length);
      this.info.bytesReceived += c.length;
      if (!up.write(c)) {
        stats.downstream_flow_control_paused_reading_total.inc();
        down.pause();
      }
    });
    up.on('drain', () => {
      stats.downstream_flow_control_resumed_reading_total.inc();
      down.resume();
    });
    up.on('data', (c: Buffer) => {
      this.lastActivity = performance.now();
      stats.downstream_cx_tx_bytes_total.inc(c.length);
      this.info.bytesSent += c.length;
      if (!down.write(c)) up.pause();
    });
    down.on('drain', () => up.resume());
    // Half-close passes through: each side's FIN is forwarded; the session ends when both closed.
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    const idle = this.proxy.cfg.idleTimeoutMs;
    if (idle > 0) sharedWheel.schedule(this.timer, idle);
    down.resume();
  }

  /** A side closed normally: let the other flush what it holds before it closes too. */
  private onDownClose(): void {
    this.downClosed = true;
    const up = this.upstream;
    if (up === null || this.upClosed) this.close();
    else {
      // Envoy's upstream_flush: the downstream is gone but bytes for the upstream are still queued.
      if (up.writableLength > 0 && !this.flushing) {
        this.flushing = true;
        this.proxy.stats.upstream_flush_total.inc();
        this.proxy.stats.upstream_flush_active.inc();
      }
      up.end();
    }
  }

  private onUpClose(): void {
    this.upClosed = true;
    if (this.downClosed) this.close();
    else this.down.end();
  }

  onTimer(): void {
    const idle = this.proxy.cfg.idleTimeoutMs;
    const since = performance.now() - this.lastActivity;
    if (since < idle) {
      sharedWheel.schedule(this.timer, idle - since);
      return;
    }
    this.proxy.stats.idle_timeout.inc();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) this.proxy.stats.upstream_flush_active.dec();
    sharedWheel.cancel(this.timer);
    this.down.destroy();
    this.upstream?.destroy();
    this.info.endMono = performance.now();
    this.proxy.sessions.delete(this);
    for (const s of this.proxy.sinks) s.log(this.info);
  }
}
