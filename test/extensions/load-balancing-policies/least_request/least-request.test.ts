import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../proxy/config/proto-object.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import {
  type LeastRequestConfig,
  LeastRequestLbFactory,
  leastRequestFactory,
} from '../../../../proxy/extensions/load-balancing-policies/least_request/factory.js';
import { chiSquare, chiSquareBound, countPicks, ctxWithHash, makeHosts, proportions } from '../helpers.js';

const PICKS = 40_000;

function setup(
  seed: number,
  lbConfig?: ProtoObject,
): { f: LeastRequestLbFactory; config: LeastRequestConfig } {
  const f = new LeastRequestLbFactory({ rng: seededRng(seed) });
  const issues = new Issues();
  const config = f.parseConfig(lbConfig, 'clusters[0].least_request_lb_config', issues);
  expect(issues.format()).toBe('');
  return { f, config };
}

describe('least request, equal weights (power of two choices)', () => {
  it('is uniform when every host carries the same load', () => {
    const hosts = makeHosts(4);
    for (const h of hosts) h.rqActive = 3;
    const { f, config } = setup(1);
    const counts = countPicks(f.create(hosts, config, null), hosts, PICKS);
    expect(chiSquare(counts, proportions([1, 1, 1, 1]))).toBeLessThan(chiSquareBound(3));
  });

  it('sends a loaded host only the picks where both choices land on it', () => {
    const hosts = makeHosts(4);
    hosts[0].rqActive = 10;
    const { f, config } = setup(2);
    const counts = countPicks(f.create(hosts, config, null), hosts, PICKS);
    // P(loaded) = (1/4)^2; the other three share the rest equally.
    const p0 = 1 / 16;
    const expected = [p0, (1 - p0) / 3, (1 - p0) / 3, (1 - p0) / 3];
    expect(chiSquare(counts, expected)).toBeLessThan(chiSquareBound(3));
    expect(counts[0]).toBeLessThan(counts[1] / 5);
  });

  it('with choice_count 3 the loaded host gets (1/4)^3 of picks', () => {
    const hosts = makeHosts(4);
    hosts[2].rqActive = 1;
    const { f, config } = setup(3, { choice_count: 3 });
    expect(config.choiceCount).toBe(3);
    const counts = countPicks(f.create(hosts, config, null), hosts, PICKS);
    const p = 1 / 64;
    expect(chiSquare(counts, [(1 - p) / 3, (1 - p) / 3, p, (1 - p) / 3])).toBeLessThan(chiSquareBound(3));
  });

  it('FULL_SCAN always takes the least loaded host, ties at random', () => {
    const hosts = makeHosts(5);
    hosts.forEach((h, i) => {
      h.rqActive = [4, 1, 2, 1, 1][i];
    });
    const { f, config } = setup(4, { selection_method: 'FULL_SCAN' });
    const counts = countPicks(f.create(hosts, config, null), hosts, 30_000);
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    expect(chiSquare([counts[1], counts[3], counts[4]], [1 / 3, 1 / 3, 1 / 3])).toBeLessThan(
      chiSquareBound(2),
    );
  });

  it('follows active requests as they change between picks', () => {
    const hosts = makeHosts(3);
    const { f, config } = setup(5);
    const lb = f.create(hosts, config, null);
    // Every pick holds its request open: P2C keeps the counts within a couple of each other.
    for (let i = 0; i < 3000; i++) lb.chooseHost(null)!.rqActive++;
    const active = hosts.map((h) => h.rqActive);
    expect(Math.max(...active) - Math.min(...active)).toBeLessThanOrEqual(3);
  });
  it('lets a host already tried lose to any other candidate, even a busier one', () => {
    const hosts = makeHosts(3);
    hosts[1].rqActive = 50;
    hosts[2].rqActive = 50;
    const { f, config } = setup(11);
    const lb = f.create(hosts, config, null);
    const counts = countPicks(lb, hosts, 3000, ctxWithHash(undefined, [hosts[0]]));
    // Host 0 is chosen only when every draw of every attempt lands on it: (1/3)^2 per attempt.
    expect(counts[0]).toBeLessThan(5);
  });
});

describe('least request, unequal weights (EDF over weight / (active + 1)^bias)', () => {
  it('with no load picks exactly in proportion to weight', () => {
    const hosts = makeHosts(3, [1, 2, 3]);
    const { f, config } = setup(6);
    const counts = countPicks(f.create(hosts, config, null), hosts, 6000);
    // EDF is a deterministic schedule: within one pick per host of the exact share.
    expect(Math.abs(counts[0] - 1000)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts[1] - 2000)).toBeLessThanOrEqual(2);
    expect(Math.abs(counts[2] - 3000)).toBeLessThanOrEqual(2);
  });

  it('scales weights down by active requests with the default bias 1.0', () => {
    const hosts = makeHosts(2, [1, 2]);
    hosts[1].rqActive = 3; // effective 2 / (3 + 1) = 0.5 against 1 / 1
    const { f, config } = setup(7);
    const counts = countPicks(f.create(hosts, config, null), hosts, 6000);
    expect(Math.abs(counts[0] - 4000)).toBeLessThanOrEqual(3);
  });

  it('active_request_bias 0 ignores load (weighted round robin) and 2 penalises it harder', () => {
    const hosts = makeHosts(2, [1, 2]);
    hosts[1].rqActive = 1;
    const zero = setup(8, { active_request_bias: { default_value: 0, runtime_key: 'lr.bias' } });
    const c0 = countPicks(zero.f.create(hosts, zero.config, null), hosts, 3000);
    expect(Math.abs(c0[1] - 2000)).toBeLessThanOrEqual(3);
    const two = setup(9, { active_request_bias: { default_value: 2 } });
    // 2 / (1 + 1)^2 = 0.5 against 1: host 0 gets two thirds.
    const c2 = countPicks(two.f.create(hosts, two.config, null), hosts, 3000);
    expect(Math.abs(c2[0] - 2000)).toBeLessThanOrEqual(3);
  });

  it('avoids hosts the request already tried', () => {
    const hosts = makeHosts(3, [1, 1, 2]);
    const { f, config } = setup(10);
    const lb = f.create(hosts, config, null);
    for (let i = 0; i < 50; i++) expect(lb.chooseHost(ctxWithHash(undefined, [hosts[2]]))).not.toBe(hosts[2]);
  });
});

describe('least request config', () => {
  it('has Envoy defaults and names', () => {
    const issues = new Issues();
    expect(leastRequestFactory.parseConfig(undefined, 'c', issues)).toEqual({
      choiceCount: 2,
      activeRequestBias: 1,
      selectionMethod: 'N_CHOICES',
    });
    expect(leastRequestFactory.lbPolicyEnum).toBe('LEAST_REQUEST');
    expect(leastRequestFactory.name).toBe('envoy.load_balancing_policies.least_request');
    expect(leastRequestFactory.typeUrl).toBe(
      'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
    );
    expect(issues.list).toEqual([]);
  });

  it('reports bad fields with their paths', () => {
    const issues = new Issues();
    const p = 'static_resources.clusters[1].least_request_lb_config';
    leastRequestFactory.parseConfig(
      { choice_count: 1, active_request_bias: { default_value: -0.5 }, selection_method: 'ALL' },
      p,
      issues,
    );
    expect(issues.format()).toBe(
      [
        `error: ${p}.choice_count: must be at least 2, got 1`,
        `error: ${p}.active_request_bias.default_value: must be >= 0`,
        `error: ${p}.selection_method: must be one of N_CHOICES, FULL_SCAN, got "ALL"`,
      ].join('\n'),
    );
  });

  it('warns that slow start is not applied, and honours the deprecated enable_full_scan', () => {
    const issues = new Issues();
    const c = leastRequestFactory.parseConfig(
      { slow_start_config: { slow_start_window: 1000 }, enable_full_scan: true },
      'p',
      issues,
    );
    expect(issues.ok).toBe(true);
    expect(issues.format()).toBe(
      'warning: p.slow_start_config: slow start is not supported by remora; ignored',
    );
    expect(c.selectionMethod).toBe('FULL_SCAN');
  });
});
