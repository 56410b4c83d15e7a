import type { IncomingHttpHeaders } from 'node:http';
import { FIRST_WINS_FIELDS, lowerHeaderName } from '../header-names.js';

/**
 * Raw request header lines → the header map the connection manager and filters read, with the
 * rules node:http applies (joinDuplicateHeaders off): lower-case names, set-cookie as an array,
 * cookie joined with '; ', single-valued fields first-wins, every other duplicate joined with
 * ', '. Smuggling checks read the raw lines before this folding (request-validation.ts).
 */
export function foldRequestHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = lowerHeaderName(raw[i]);
    const value = raw[i + 1];
    const prev = h[name];
    if (prev === undefined) {
      h[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (prev as string[]).push(value);
    } else if (name === 'cookie') {
      h[name] = `${prev}; ${value}`;
    } else if (!FIRST_WINS_FIELDS.has(name)) {
      h[name] = `${prev}, ${value}`;
    }
  }
  return h;
}
