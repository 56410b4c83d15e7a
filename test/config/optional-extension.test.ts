import { describe, expect, it } from 'vitest';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import { lookupType } from '../../proxy/config/schema.js';

// An HTTP filter marked is_optional may name a type remora does not know: both decoders keep
// only its type URL (the HCM translator then skips the filter with a warning, as Envoy does).
// Without is_optional the unknown type stays an error.

const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const UNKNOWN = 'type.googleapis.com/acme.filters.http.Mystery';

function binary(isOptional: boolean): Uint8Array {
  const t = lookupType(HTTP_FILTER);
  // Built with the wire types directly: the payload is a message remora has no definition for.
  const msg = t.fromObject({
    name: 'acme.mystery',
    typed_config: { type_url: UNKNOWN, value: Buffer.from([0x0a, 0x01, 0x78]) },
    is_optional: isOptional,
  });
  return t.encode(msg).finish();
}

describe('optional HTTP filters of unknown type', () => {
  it('binary: kept as its type URL when is_optional is set', () => {
    const issues = new Issues();
    const out = decodeBinaryMessage(HTTP_FILTER, binary(true), issues, 'f');
    expect(issues.format()).toBe('');
    expect(out).toEqual({ name: 'acme.mystery', typed_config: { '@type': UNKNOWN }, is_optional: true });
  });

  it('binary: an error at the type URL without is_optional', () => {
    const issues = new Issues();
    decodeBinaryMessage(HTTP_FILTER, binary(false), issues, 'f');
    expect(issues.format()).toBe(
      `error: f.typed_config.@type: unknown type URL '${UNKNOWN}' (remora does not support this type)`,
    );
  });

  it('JSON: the same, whatever fields the unknown config has', () => {
    const issues = new Issues();
    const out = decodeJsonMessage(
      HTTP_FILTER,
      { name: 'acme.mystery', is_optional: true, typed_config: { '@type': UNKNOWN, knob: 3 } },
      issues,
      'f',
    );
    expect(issues.format()).toBe('');
    expect(out).toEqual({ name: 'acme.mystery', typed_config: { '@type': UNKNOWN }, is_optional: true });
  });
});
