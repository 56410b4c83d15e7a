import type { CidrRange, FilterChainModel } from '../model/listener.js';
import { cidrContains, ipBytes } from './cidr.js';

/**
 * Envoy's filter-chain selection, for the criteria remora supports, in Envoy's order: destination
 * port, destination IP, source IP, source port. At each step the chains that name a matching value
 * (the longest prefix, for ranges) win over the chains that leave the criterion empty; chains that
 * name only non-matching values drop out.
 */
export interface ConnectionFacts {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export function selectFilterChain<T extends { readonly model: FilterChainModel }>(
  chains: readonly T[],
  facts: ConnectionFacts,
): T | null {
  let cands = chains;
  cands = narrow(cands, (c) => {
    const p = c.model.match.destinationPort;
    return p === null ? -1 : p === facts.localPort ? 1 : 0;
  });
  const local = ipBytes(facts.localAddress);
  cands = narrow(cands, (c) => rangeScore(c.model.match.prefixRanges, local));
  const remote = ipBytes(facts.remoteAddress);
  cands = narrow(cands, (c) => rangeScore(c.model.match.sourcePrefixRanges, remote));
  cands = narrow(cands, (c) => {
    const ports = c.model.match.sourcePorts;
    return ports.length === 0 ? -1 : ports.includes(facts.remotePort) ? 1 : 0;
  });
  return cands.length === 0 ? null : cands[0];
}

/** Score: -1 criterion empty, 0 no match, >0 match strength. Keeps the best positive, else the empties. */
function narrow<T>(cands: readonly T[], score: (c: T) => number): readonly T[] {
  let best = 0;
  for (const c of cands) best = Math.max(best, score(c));
  if (best > 0) return cands.filter((c) => score(c) === best);
  return cands.filter((c) => score(c) === -1);
}

function rangeScore(ranges: readonly CidrRange[], ip: Uint8Array | null): number {
  if (ranges.length === 0) return -1;
  if (ip === null) return 0;
  let best = 0;
  for (const r of ranges) if (cidrContains(r, ip)) best = Math.max(best, r.prefixLen + 1);
  return best;
}
