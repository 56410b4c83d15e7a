import { hostname } from 'node:os';
import { formatResponseFlags } from '../../http/response-flags.js';
import type { StreamInfo } from '../../http/stream-info.js';
import { StartTimeFormat } from './start-time.js';

/**
 * Envoy's access log command operators (`%RESPONSE_CODE%`, `%REQ(X?Y):N%`, ...). Each operator is
 * an object built once when the format is compiled; formatting calls a method on it, so the request
 * path allocates no closures and does no parsing.
 *
 * `value()` is the typed value JSON formats use (numbers stay numbers where Envoy keeps them);
 * `text()` is what text formats print. Both return null for "no value" (printed `-`, or omitted /
 * empty under omit_empty_values).
 */
export interface FormatOperator {
  text(info: StreamInfo): string | null;
  value(info: StreamInfo): string | number | null;
}

type HeaderMap = Readonly<Record<string, string | string[] | number | undefined>>;

enum HeaderSource {
  Request,
  Response,
  Trailer,
}

function headerValue(map: HeaderMap, name: string): string | null {
  const v = map[name];
  if (v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return v.length === 0 ? null : v.join(',');
}

/** %REQ(X?Y):N%, %RESP(X?Y):N%, %TRAILER(X?Y):N%: header X, else Y, cut to N characters. */
export class HeaderOperator implements FormatOperator {
  constructor(
    private readonly source: HeaderSource,
    /** Lower-cased names. */
    private readonly main: string,
    private readonly alt: string,
    /** 0 for no limit. */
    private readonly maxLength: number,
  ) {}

  static request(main: string, alt: string, maxLength: number): HeaderOperator {
    return new HeaderOperator(HeaderSource.Request, main, alt, maxLength);
  }
  static response(main: string, alt: string, maxLength: number): HeaderOperator {
    return new HeaderOperator(HeaderSource.Response, main, alt, maxLength);
  }
  static trailer(main: string, alt: string, maxLength: number): HeaderOperator {
    return new HeaderOperator(HeaderSource.Trailer, main, alt, maxLength);
  }

  private lookup(info: StreamInfo, name: string): string | null {
    switch (this.source) {
      case HeaderSource.Request: {
        const v = headerValue(info.requestHeaders, name);
        if (v !== null) return v;
        // HTTP/1 header maps have no pseudo-headers; the stream records method and path, and the
        // authority is the Host header. requestHeaders are the headers as received, so what the
        // proxy adds itself is taken from the stream.
        if (name === ':method') return info.requestMethod === '' ? null : info.requestMethod;
        if (name === ':path') return info.requestPath === '' ? null : info.requestPath;
        if (name === ':authority') return headerValue(info.requestHeaders, 'host');
        // A generated request id is not in the headers as received; Envoy logs the one it set.
        if (name === 'x-request-id') return info.requestId === '' ? null : info.requestId;
        return null;
      }
      case HeaderSource.Response:
        return headerValue(info.responseHeaders, name);
      case HeaderSource.Trailer:
        return headerValue(info.responseTrailers, name);
    }
  }

  text(info: StreamInfo): string | null {
    let v = this.lookup(info, this.main);
    if (v === null && this.alt !== '') v = this.lookup(info, this.alt);
    if (v !== null && this.maxLength > 0 && v.length > this.maxLength) v = v.slice(0, this.maxLength);
    return v;
  }

  value(info: StreamInfo): string | null {
    return this.text(info);
  }
}

/** %START_TIME% / %START_TIME(<format>)%. */
export class StartTimeOperator implements FormatOperator {
  constructor(private readonly fmt: StartTimeFormat) {}
  text(info: StreamInfo): string {
    return this.fmt.format(info.startTime);
  }
  value(info: StreamInfo): string {
    return this.fmt.format(info.startTime);
  }
}

/** A fixed string known at compile time (%HOSTNAME%). */
export class ConstantOperator implements FormatOperator {
  constructor(private readonly v: string) {}
  text(): string {
    return this.v;
  }
  value(): string {
    return this.v;
  }
}

/** The StreamInfo fields an operator can read, one per operator without arguments. */
export enum Field {
  Protocol,
  ResponseCode,
  ResponseCodeDetails,
  ResponseFlags,
  BytesReceived,
  BytesSent,
  Duration,
  RequestDuration,
  ResponseDuration,
  UpstreamHost,
  UpstreamCluster,
  UpstreamLocalAddress,
  DownstreamRemoteAddress,
  DownstreamRemoteAddressWithoutPort,
  DownstreamRemotePort,
  DownstreamLocalAddress,
  DownstreamLocalAddressWithoutPort,
  DownstreamLocalPort,
  RouteName,
  AttemptCount,
  StreamId,
}

function orNull(s: string): string | null {
  return s === '' ? null : s;
}

/** `ip:port` / `[v6]:port` → the address without the port (brackets removed). */
export function stripPort(addr: string): string | null {
  if (addr === '') return null;
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    return close < 0 ? addr : addr.slice(1, close);
  }
  const colon = addr.lastIndexOf(':');
  return colon < 0 ? addr : addr.slice(0, colon);
}

function portOf(addr: string): number | null {
  const colon = addr.lastIndexOf(':');
  if (colon < 0) return null;
  const p = Number(addr.slice(colon + 1));
  return Number.isInteger(p) ? p : null;
}

function sinceStart(info: StreamInfo, mono: number): number | null {
  return mono < 0 ? null : Math.floor(mono - info.startMono);
}

export class FieldOperator implements FormatOperator {
  constructor(readonly field: Field) {}

  value(info: StreamInfo): string | number | null {
    switch (this.field) {
      case Field.Protocol:
        return orNull(info.protocol);
      case Field.ResponseCode:
        return info.responseCode;
      case Field.ResponseCodeDetails:
        return orNull(info.responseCodeDetails);
      case Field.ResponseFlags:
        return formatResponseFlags(info.responseFlags);
      case Field.BytesReceived:
        return info.bytesReceived;
      case Field.BytesSent:
        return info.bytesSent;
      case Field.Duration:
        return sinceStart(info, info.endMono);
      case Field.RequestDuration:
        return sinceStart(info, info.lastDownstreamRxMono);
      case Field.ResponseDuration:
        return sinceStart(info, info.firstUpstreamRxMono);
      case Field.UpstreamHost:
        return orNull(info.upstreamHost);
      case Field.UpstreamCluster:
        return orNull(info.upstreamCluster);
      case Field.UpstreamLocalAddress:
        return orNull(info.upstreamLocalAddress);
      case Field.DownstreamRemoteAddress:
        return orNull(info.downstreamRemoteAddress);
      case Field.DownstreamRemoteAddressWithoutPort:
        return stripPort(info.downstreamRemoteAddress);
      case Field.DownstreamRemotePort:
        return portOf(info.downstreamRemoteAddress);
      case Field.DownstreamLocalAddress:
        return orNull(info.downstreamLocalAddress);
      case Field.DownstreamLocalAddressWithoutPort:
        return stripPort(info.downstreamLocalAddress);
      case Field.DownstreamLocalPort:
        return portOf(info.downstreamLocalAddress);
      case Field.RouteName:
        return orNull(info.routeName);
      case Field.AttemptCount:
        return info.attemptCount;
      case Field.StreamId:
        return orNull(info.requestId);
    }
  }

  text(info: StreamInfo): string | null {
    const v = this.value(info);
    return typeof v === 'number' ? String(v) : v;
  }
}

const FIELDS: Readonly<Record<string, Field>> = {
  PROTOCOL: Field.Protocol,
  RESPONSE_CODE: Field.ResponseCode,
  RESPONSE_CODE_DETAILS: Field.ResponseCodeDetails,
  RESPONSE_FLAGS: Field.ResponseFlags,
  BYTES_RECEIVED: Field.BytesReceived,
  BYTES_SENT: Field.BytesSent,
  DURATION: Field.Duration,
  REQUEST_DURATION: Field.RequestDuration,
  RESPONSE_DURATION: Field.ResponseDuration,
  UPSTREAM_HOST: Field.UpstreamHost,
  UPSTREAM_REMOTE_ADDRESS: Field.UpstreamHost,
  UPSTREAM_CLUSTER: Field.UpstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: Field.UpstreamLocalAddress,
  DOWNSTREAM_REMOTE_ADDRESS: Field.DownstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: Field.DownstreamRemoteAddressWithoutPort,
  DOWNSTREAM_REMOTE_PORT: Field.DownstreamRemotePort,
  DOWNSTREAM_LOCAL_ADDRESS: Field.DownstreamLocalAddress,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: Field.DownstreamLocalAddressWithoutPort,
  DOWNSTREAM_LOCAL_PORT: Field.DownstreamLocalPort,
  ROUTE_NAME: Field.RouteName,
  UPSTREAM_REQUEST_ATTEMPT_COUNT: Field.AttemptCount,
  STREAM_ID: Field.StreamId,
};

const HEADER_COMMANDS: Readonly<Record<string, HeaderSource>> = {
  REQ: HeaderSource.Request,
  REQUEST_HEADER: HeaderSource.Request,
  RESP: HeaderSource.Response,
  RESPONSE_HEADER: HeaderSource.Response,
  TRAILER: HeaderSource.Trailer,
  RESPONSE_TRAILER: HeaderSource.Trailer,
};

let cachedHostname: string | null = null;

/**
 * Builds the operator for one parsed command (`NAME`, the text in parentheses or null, the `:N`
 * length or null). Returns an error message when the command is unknown or malformed.
 */
export function buildOperator(
  command: string,
  arg: string | null,
  maxLength: number | null,
): FormatOperator | string {
  const header = HEADER_COMMANDS[command];
  if (header !== undefined) {
    if (arg === null || arg === '') return `${command} requires a header name: %${command}(X?Y):Z%`;
    const q = arg.indexOf('?');
    const main = (q < 0 ? arg : arg.slice(0, q)).toLowerCase();
    const alt = q < 0 ? '' : arg.slice(q + 1).toLowerCase();
    if (main === '' || (q >= 0 && alt === '')) return `${command}(${arg}): empty header name`;
    if (alt.includes('?')) return `${command}(${arg}): more than one alternative header`;
    return new HeaderOperator(header, main, alt, maxLength ?? 0);
  }
  if (maxLength !== null) return `${command} does not take a length (:${maxLength})`;
  if (command === 'START_TIME') {
    const fmt = StartTimeFormat.compile(arg ?? '');
    return typeof fmt === 'string' ? fmt : new StartTimeOperator(fmt);
  }
  if (arg !== null) return `${command} takes no parameters`;
  if (command === 'HOSTNAME') {
    cachedHostname ??= hostname();
    return new ConstantOperator(cachedHostname);
  }
  const field = FIELDS[command];
  if (field === undefined) return `unknown command operator %${command}%`;
  return new FieldOperator(field);
}
