import type { Socket } from 'node:net';
import type { LlhttpParser } from '../../upstream/llhttp.js';

/**
 * Letting llhttp read a socket's libuv handle itself, as node's own HTTP server does: each read is
 * parsed in C++ straight from node's read buffer and JS hears only the result (kOnExecute), with no
 * Buffer per read going through Readable and a 'data' event. None of this is a documented API, so
 * every piece is checked before use; when anything is missing the codec reads 'data' events.
 * Used by the server codec (server-connection.ts) and the upstream client
 * (upstream/http1-connection.ts, which consumes once connected). Inside kOnExecute the parser must
 * not be closed: node's read callback still touches it after kOnExecute returns (and ticks run
 * before that), so a close there waits for setImmediate.
 */
export interface StreamHandle {
  isStreamBase?: boolean;
  reading?: boolean;
  _consumed?: boolean;
  readStart(): number;
  readStop(): number;
}

interface ConsumingParser {
  consume(handle: object): void;
  unconsume(): void;
}

function consumable(parser: LlhttpParser, socket: Socket): StreamHandle | null {
  if (typeof parser.consume !== 'function' || typeof parser.unconsume !== 'function') return null;
  if (typeof parser.getCurrentBuffer !== 'function') return null;
  const h = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (h === null || h === undefined || h.isStreamBase !== true || h._consumed === true) return null;
  if (typeof h.readStart !== 'function' || typeof h.readStop !== 'function') return null;
  return h;
}

/**
 * Hands `socket`'s reads to `parser` (its kOnExecute must be set). Returns the handle and the bytes
 * the socket had already buffered (connection sniffing unshifts the first read), which the caller
 * parses first; null when the socket can not be consumed.
 */
export function consumeSocket(
  parser: LlhttpParser,
  socket: Socket,
): { handle: StreamHandle; first: Buffer | null } | null {
  const handle = consumable(parser, socket);
  if (handle === null) return null;
  const first = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
  handle._consumed = true;
  (parser as unknown as ConsumingParser).consume(handle);
  return { handle, first };
}

/** Pauses or resumes reads of a consumed handle (pausing the Readable would not stop them). */
export function setHandleReading(h: StreamHandle, on: boolean): void {
  if (on && !h.reading) {
    h.reading = true;
    h.readStart();
  } else if (!on && h.reading) {
    h.reading = false;
    h.readStop();
  }
}

/**
 * Gives the handle's reads back to the socket's own stream (upgrade; or a closed socket, with
 * `resumeReads` false). Reads stopped here start again: the socket's Readable still believes its
 * one read request is outstanding, so it would not restart them itself; what arrives is buffered
 * there, within its high-water mark.
 */
export function releaseSocket(parser: LlhttpParser, h: StreamHandle, resumeReads: boolean): void {
  (parser as unknown as ConsumingParser).unconsume();
  h._consumed = false;
  if (resumeReads) setHandleReading(h, true);
}

/** Inside kOnExecute: a copy of the read just parsed. */
export function currentRead(parser: LlhttpParser): Buffer {
  return (parser.getCurrentBuffer as () => Buffer).call(parser);
}
