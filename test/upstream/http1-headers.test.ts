import { describe, expect, it } from 'vitest';
import { foldHeaders, serializeHead } from '../../proxy/upstream/http1-headers.js';

describe('foldHeaders (upstream response head)', () => {
  it('lower-cases names, joins repeats, keeps set-cookie as a list and single fields first-wins', () => {
    const h = foldHeaders(
      [
        'Content-Type',
        'text/plain',
        'X-A',
        '1',
        'x-a',
        '2',
        'Set-Cookie',
        'a=1',
        'set-cookie',
        'b=2',
        'Content-Type',
        'x/y',
      ],
      false,
    );
    expect(h).toEqual({ 'content-type': 'text/plain', 'x-a': '1, 2', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('leaves out Connection, what it names, Keep-Alive, Transfer-Encoding and Proxy-Connection', () => {
    const h = foldHeaders(
      [
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        'secret',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'Proxy-Connection',
        'keep-alive',
        'connection',
        'x-other',
        'X-Other',
        'o',
        'X-End',
        'e',
      ],
      false,
    );
    expect(h).toEqual({ 'x-end': 'e' });
  });

  it('never drops Content-Length even when Connection names it', () => {
    const h = foldHeaders(['Content-Length', '5', 'Connection', 'content-length'], false);
    expect(h).toEqual({ 'content-length': '5' });
  });

  it('lower-cases correctly past the name cache bound (ever-new names, long names)', () => {
    const raw: string[] = [];
    for (let i = 0; i < 1200; i++) raw.push(`X-Name-${i}`, String(i));
    raw.push(`X-${'L'.repeat(200)}`, 'long');
    const h = foldHeaders(raw, false);
    expect(Object.keys(h)).toHaveLength(1201);
    expect(h['x-name-1199']).toBe('1199');
    expect(h[`x-${'l'.repeat(200)}`]).toBe('long');
    // Seen again after the cache filled: still folded under the lower-case name.
    expect(foldHeaders(['X-Name-1199', 'again', 'CONTENT-TYPE', 't'], false)).toEqual({
      'x-name-1199': 'again',
      'content-type': 't',
    });
  });

  it('keeps the connection fields for a 101 (keepHopByHop)', () => {
    const h = foldHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket'], true);
    expect(h).toEqual({ connection: 'Upgrade', upgrade: 'websocket' });
  });
});

describe('serializeHead', () => {
  it('refuses CR/LF in a header value', () => {
    const head = {
      method: 'GET',
      path: '/',
      authority: 'a',
      scheme: 'http',
      headers: { 'x-a': 'b\r\nx-evil: 1' },
      contentLength: 0,
      upgrade: null,
    };
    expect(serializeHead(head, false)).toBeNull();
  });
});
