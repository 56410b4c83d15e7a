import { describe, expect, it } from 'vitest';
import { murmurHash2_64 } from '../../../../proxy/extensions/load-balancing-policies/common/murmur2-64.js';
import { xxHash64 } from '../../../../proxy/extensions/load-balancing-policies/common/xxhash64.js';

describe('xxHash64', () => {
  it('matches Envoy test vectors (seed 0)', () => {
    expect(xxHash64('foo')).toBe(3728699739546630719n);
    expect(xxHash64('bar')).toBe(5234164152756840025n);
    expect(xxHash64('foo\nbar')).toBe(8917841378505826757n);
    expect(xxHash64('lyft')).toBe(4400747396090729504n);
    expect(xxHash64('')).toBe(17241709254077376921n);
  });

  // Generated with the reference C implementation (xxhash-wasm 1.1.0, XXH64) to cover the 32-byte
  // stripe loop, the 8/4/1-byte tails, multi-byte UTF-8 and seed 1 (Maglev's skip hash).
  const vectors: [string, bigint, bigint][] = [
    ['a', 15154266338359012955n, 16051599287423682246n],
    ['abc', 4952883123889572249n, 13738734796240226568n],
    ['10.0.0.1:8080_0', 2567785056460330147n, 1339567776095442179n],
    ['The quick brown fox jumps over the lazy dog', 802816344064684476n, 16091521683136104155n],
    ['x'.repeat(31), 6979749295578388976n, 14922239680809824389n],
    ['y'.repeat(32), 7267155159012462182n, 14582915108349913609n],
    [
      'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!',
      649573284389922506n,
      8730426066088097180n,
    ],
    ['é€😀', 9463086168144608113n, 15458390223208323287n],
  ];
  it.each(vectors)(
    'matches the reference implementation for %j with seeds 0 and 1',
    (input, seed0, seed1) => {
      expect(xxHash64(input, 0)).toBe(seed0);
      expect(xxHash64(input, 1)).toBe(seed1);
    },
  );
});

describe('murmurHash2_64', () => {
  it('matches Envoy test vectors (STD_HASH_SEED)', () => {
    expect(murmurHash2_64('foo')).toBe(9631199822919835226n);
    expect(murmurHash2_64('bar')).toBe(11474628671133349555n);
    expect(murmurHash2_64('foo\nbar')).toBe(16306510975912980159n);
    expect(murmurHash2_64('lyft')).toBe(12847078931730529320n);
    expect(murmurHash2_64('')).toBe(6142509188972423790n);
  });

  // Generated with g++ / libstdc++ std::hash<std::string> (which is this function with this seed).
  const vectors: [string, bigint][] = [
    ['a', 4993892634952068459n],
    ['abc', 3663726644998027833n],
    ['10.0.0.1:8080_0', 2887472326060304709n],
    ['The quick brown fox jumps over the lazy dog', 15910076551593770101n],
    ['x'.repeat(31), 9303989464964141914n],
    ['y'.repeat(32), 17396650878024726476n],
    ['abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!', 17404661877789506607n],
    ['é€😀', 18335423782430195054n],
  ];
  it.each(vectors)('matches libstdc++ std::hash for %j', (input, expected) => {
    expect(murmurHash2_64(input)).toBe(expected);
  });
});
