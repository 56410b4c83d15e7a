/**
 * Proxy-generated responses. For gRPC requests Envoy answers with a trailers-only response (HTTP
 * 200, grpc-status, grpc-message) so gRPC clients see a status instead of an HTTP error; the HTTP
 * status maps to a gRPC code as the gRPC HTTP-to-gRPC mapping document prescribes.
 */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** Percent-encodes a grpc-message value as the gRPC spec requires (non-printable ASCII and %). */
export function encodeGrpcMessage(msg: string): string {
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Envoy's bodies for the local replies the router sends. */
export const LocalBody = {
  noHealthyUpstream: 'no healthy upstream',
  upstreamTimeout: 'upstream request timeout',
  streamTimeout: 'stream timeout',
  requestTimeout: 'request timeout',
  resetBeforeHeaders: 'upstream connect error or disconnect/reset before headers. reset reason: ',
} as const;

export function isGrpcContentType(ct: string | string[] | undefined): boolean {
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}
