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
