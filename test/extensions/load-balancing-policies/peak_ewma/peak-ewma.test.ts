import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import {
  PeakEwmaLbFactory,
  peakEwmaFactory,
} from '../../../../proxy/extensions/load-balancing-policies/peak_ewma/factory.js';
import { HostEstimate } from '../../../../proxy/extensions/load-balancing-policies/peak_ewma/host-estimate.js';
import type { PeakEwmaLoadBalancer } from '../../../../proxy/extensions/load-balancing-policies/peak_ewma/peak-ewma-lb.js';
import type { Host } from '../../../../proxy/upstream/host.js';
import { chiSquare, chiSquareBound, countPicks, ctxWithHash, makeHosts, proportions } from '../helpers.js';

/** A manual clock: simulated time, advanced by the test. */
class FakeClock {
  t = 0;
  readonly now = (): number => this.t;
}

function setup(seed: number): { f: PeakEwmaLbFactory; clock: FakeClock } {
  const clock = new FakeClock();
  return { f: new PeakEwmaLbFactory({ rng: seededRng(seed), clock: clock.now }), clock };
}

const DEFAULTS = { decayTimeMs: 10_000, defaultRttMs: 30 };

interface InFlight {
  readonly host: Host;
  readonly start: number;
  readonly end: number;
}

/**
 * Open-loop traffic in simulated time: a request every `intervalMs`, each taking its host's
 * latency. Like the router, the simulation counts Host.rqActive and reports each completion to
 * the balancer at its simulated end time. Returns the picks per host in each window of `windowMs`.
 */
function simulate(
  lb: PeakEwmaLoadBalancer,
  clock: FakeClock,
  hosts: readonly Host[],
  latencyMs: (h: Host) => number,
  durationMs: number,
  intervalMs: number,
  windowMs: number,
): number[][] {
  const windows: number[][] = [];
  const inFlight: InFlight[] = [];
  const index = new Map(hosts.map((h, i) => [h, i]));
  for (let t = 0; t < durationMs; t += intervalMs) {
    // Deliver completions due by now, in time order.
    inFlight.sort((a, b) => a.end - b.end);
    while (inFlight.length > 0 && inFlight[0].end <= t) {
      const done = inFlight.shift()!;
      clock.t = done.end;
      done.host.rqActive--;
      lb.onRequestEnd(done.host, done.end - done.start);
    }
    clock.t = t;
    const host = lb.chooseHost(null)!;
    host.rqActive++;
    inFlight.push({ host, start: t, end: t + latencyMs(host) });
    const w = Math.floor(t / windowMs);
    windows[w] ??= new Array(hosts.length).fill(0);
    windows[w][index.get(host)!]++;
  }
  return windows;
}

describe('peak EWMA estimate', () => {
  it('jumps to a slower observation at once and decays toward faster ones with decay_time', () => {
    const e = new HostEstimate(30, 0);
    e.observe(200, 10, 10_000);
    expect(e.estimateMs).toBe(200);
    // One time constant later, a 20 ms observation moves it 1 - 1/e of the way down.
    e.observe(20, 10_010, 10_000);
    expect(e.estimateMs).toBeCloseTo(200 * Math.exp(-1) + 20 * (1 - Math.exp(-1)), 9);
  });

  it('decays toward zero while the host gets no responses, and costs scale with outstanding', () => {
    const e = new HostEstimate(100, 0);
    expect(e.estimateAt(10_000, 10_000)).toBeCloseTo(100 * Math.exp(-1), 9);
    expect(e.cost(0, 10_000, 3)).toBe(400);
  });
});

describe('peak EWMA balancer', () => {
  it('spreads evenly over identical hosts', () => {
    const hosts = makeHosts(4);
    const { f } = setup(1);
    const counts = countPicks(f.create(hosts, DEFAULTS, null), hosts, 40_000);
    expect(chiSquare(counts, proportions([1, 1, 1, 1]))).toBeLessThan(chiSquareBound(3));
  });

  it('routes around a slow host within a second', () => {
    const hosts = makeHosts(3);
    const { f, clock } = setup(2);
    const lb = f.create(hosts, DEFAULTS, null);
    const slow = hosts[2];
    // 500 requests/s; two hosts answer in 10 ms, one in 400 ms.
    const windows = simulate(lb, clock, hosts, (h) => (h === slow ? 400 : 10), 3000, 2, 1000);
    const share = (w: number[]) => w[2] / (w[0] + w[1] + w[2]);
    expect(share(windows[0])).toBeLessThan(0.05);
    expect(share(windows[1])).toBeLessThan(0.01);
    expect(share(windows[2])).toBeLessThan(0.01);
    // The two fast hosts share the rest evenly.
    expect(chiSquare([windows[1][0], windows[1][1]], [0.5, 0.5])).toBeLessThan(chiSquareBound(1));
  });

  it('prefers the faster of two healthy hosts, and probes a slow one again once it decays', () => {
    const hosts = makeHosts(2);
    const { f, clock } = setup(3);
    const lb = f.create(hosts, DEFAULTS, null);
    lb.onRequestEnd(hosts[1], 300);
    clock.t = 100;
    expect(countPicks(lb, hosts, 100)).toEqual([100, 0]);
    // A minute later, with no responses, 300 ms has decayed below the other host's 30 ms default.
    clock.t = 60_000;
    lb.onRequestEnd(hosts[0], 30);
    expect(lb.estimateOf(hosts[1])!).toBeLessThan(1);
    expect(countPicks(lb, hosts, 10)[1]).toBe(10);
  });

  it('carries estimates to the next balancer by host key; cost counts active requests', () => {
    const hosts = makeHosts(3);
    const { f, clock } = setup(4);
    const first = f.create(hosts, DEFAULTS, null);
    first.onRequestEnd(hosts[0], 250);
    clock.t = 5;
    const more = makeHosts(4);
    more[0].rqActive = 1;
    const second = f.create(more, DEFAULTS, first);
    expect(second.estimateOf(more[0])).toBeCloseTo(250 * Math.exp(-5 / 10_000), 9);
    expect(second.costOf(more[0])).toBeCloseTo(2 * 250 * Math.exp(-5 / 10_000), 9);
    expect(second.estimateOf(more[3])).toBe(30);
    // A request picked under the first balancer and finishing under the second still counts.
    second.onRequestEnd(hosts[0], 10);
    expect(second.estimateOf(more[0])).toBeLessThan(250);
    expect(first.estimateOf(hosts[0])).toBe(second.estimateOf(more[0]));
    // Hosts the balancer does not know are ignored, not an error.
    second.onRequestEnd(makeHosts(10)[9], 5);
  });

  it('without latency reports behaves as least request over Host.rqActive', () => {
    const hosts = makeHosts(4);
    hosts[1].rqActive = 5;
    const { f } = setup(6);
    const counts = countPicks(f.create(hosts, DEFAULTS, null), hosts, 20_000);
    // Two distinct candidates: the loaded host is never the cheaper one.
    expect(counts[1]).toBe(0);
    expect(chiSquare([counts[0], counts[2], counts[3]], [1 / 3, 1 / 3, 1 / 3])).toBeLessThan(
      chiSquareBound(2),
    );
  });

  it('picks the host with the lower current cost, as costOf reports it', () => {
    const { f, clock } = setup(8);
    const rng = seededRng(9);
    for (let trial = 0; trial < 200; trial++) {
      const hosts = makeHosts(2);
      clock.t = 0;
      const lb = f.create(hosts, DEFAULTS, null);
      // Random histories: each host observed at some time with some latency, some load.
      for (const h of hosts) {
        clock.t = rng.nextInt(60_000);
        lb.onRequestEnd(h, 1 + rng.nextInt(500));
        h.rqActive = rng.nextInt(5);
      }
      clock.t = 60_000 + rng.nextInt(60_000);
      const [c0, c1] = hosts.map((h) => lb.costOf(h)!);
      if (Math.abs(c0 - c1) < 1e-9 * Math.max(c0, c1)) continue;
      expect(lb.chooseHost(null)).toBe(c0 < c1 ? hosts[0] : hosts[1]);
    }
  });

  it('avoids hosts the request already tried and handles 0 and 1 hosts', () => {
    const hosts = makeHosts(3);
    const { f } = setup(5);
    const lb = f.create(hosts, DEFAULTS, null);
    for (let i = 0; i < 50; i++) expect(lb.chooseHost(ctxWithHash(undefined, [hosts[0]]))).not.toBe(hosts[0]);
    expect(f.create([], DEFAULTS, null).chooseHost(null)).toBeNull();
    expect(f.create([hosts[1]], DEFAULTS, null).chooseHost(null)).toBe(hosts[1]);
  });
});

describe('peak EWMA config', () => {
  it('is remora typed config with linkerd defaults', () => {
    expect(peakEwmaFactory.typeUrl).toBe(
      'type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma',
    );
    expect(peakEwmaFactory.lbPolicyEnum).toBeNull();
    const issues = new Issues();
    expect(peakEwmaFactory.parseConfig(undefined, 'p', issues)).toEqual(DEFAULTS);
    expect(peakEwmaFactory.parseConfig({ decay_time: 5000, default_rtt: 2.5 }, 'p', issues)).toEqual({
      decayTimeMs: 5000,
      defaultRttMs: 2.5,
    });
    expect(issues.list).toEqual([]);
  });

  it('rejects non-positive durations', () => {
    const issues = new Issues();
    peakEwmaFactory.parseConfig({ decay_time: 0, default_rtt: -1 }, 'lbp.typed_config', issues);
    expect(issues.format()).toBe(
      [
        'error: lbp.typed_config.decay_time: must be a positive duration',
        'error: lbp.typed_config.default_rtt: must be a positive duration',
      ].join('\n'),
    );
  });
});
