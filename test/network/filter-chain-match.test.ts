import { describe, expect, it } from 'vitest';
import type { FilterChainMatchModel, FilterChainModel } from '../../proxy/model/listener.js';
import { selectFilterChain } from '../../proxy/network/filter-chain-match.js';

function chain(name: string, m: Partial<FilterChainMatchModel>): { model: FilterChainModel } {
  return {
    model: {
      name,
      match: { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [], ...m },
      filter: null as unknown as FilterChainModel['filter'],
    },
  };
}

const facts = { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '10.1.2.3', remotePort: 5555 };

describe('filter chain selection', () => {
  it('the most specific match wins, in Envoy’s order of criteria', () => {
    const chains = [
      chain('any', {}),
      chain('port', { destinationPort: 8080 }),
      chain('port+src8', {
        destinationPort: 8080,
        sourcePrefixRanges: [{ address: '10.0.0.0', prefixLen: 8 }],
      }),
      chain('port+src16', {
        destinationPort: 8080,
        sourcePrefixRanges: [{ address: '10.1.0.0', prefixLen: 16 }],
      }),
      chain('otherport', { destinationPort: 9090 }),
    ];
    expect(selectFilterChain(chains, facts)?.model.name).toBe('port+src16');
    expect(selectFilterChain(chains, { ...facts, remoteAddress: '192.168.0.1' })?.model.name).toBe('port');
    expect(selectFilterChain(chains, { ...facts, localPort: 1 })?.model.name).toBe('any');
  });

  it('no chain when only non-matching specific chains exist', () => {
    const chains = [chain('p', { destinationPort: 9090 }), chain('s', { sourcePorts: [1] })];
    expect(selectFilterChain(chains, facts)).toBeNull();
  });

  it('IPv6 and IPv4-mapped addresses', () => {
    const chains = [
      chain('v6', { sourcePrefixRanges: [{ address: '2001:db8::', prefixLen: 32 }] }),
      chain('v4', { sourcePrefixRanges: [{ address: '10.0.0.0', prefixLen: 8 }] }),
    ];
    expect(selectFilterChain(chains, { ...facts, remoteAddress: '2001:db8::5' })?.model.name).toBe('v6');
    expect(selectFilterChain(chains, { ...facts, remoteAddress: '::ffff:10.0.0.9' })?.model.name).toBe('v4');
  });
});
