/**
 * Turning the resources of one response into validated values, collecting every error rather than
 * stopping at the first, so a NACK tells the operator everything that is wrong at once.
 */
import type { ResourceType, ValidationResult } from './resource-type.js';
import { type SlicedStep, sliceOver } from './slices.js';
import type { DecodedUpdate } from './type-state.js';
import {
  type AnyMessage,
  decodeResourceWrapper,
  RESOURCE_WRAPPER_TYPE_URL,
  type ResourceMessage,
} from './wire.js';

export interface DecodedResponse<T> {
  readonly updates: DecodedUpdate<T>[];
  readonly errors: string[];
  /** The resources of this response by their bytes, for the next one (null without reuse). */
  readonly reuse: ReuseCache<T> | null;
}

/**
 * Accepted resources keyed by their serialized bytes (as a latin1 string: a copy of the bytes,
 * hashed once by the Map), for types with `reuseUnchanged`. Holds about one response's worth of
 * bytes per type, which is what the proxy already received.
 */
export type ReuseCache<T> = Map<string, { readonly name: string; readonly value: T }>;

function newResponse<T>(type: ResourceType<T, unknown>, reuse: boolean): DecodedResponse<T> {
  return { updates: [], errors: [], reuse: reuse && type.reuseUnchanged === true ? new Map() : null };
}

/**
 * Decodes a response's resources in slices, so that a big one (10,000 clusters: decode, validate and
 * translate take a few hundred milliseconds) does not hold the event loop: between slices the
 * process serves traffic and the xDS client reads the next responses (an EDS update need not wait
 * for a big CDS; see docs/xds.md). `run(deadline)` works until the deadline and says whether it
 * finished; the result is the same as decoding in one go.
 */
export class ResourceDecoder<T> {
  readonly result: DecodedResponse<T>;
  private readonly seen = new Set<string>();
  private readonly step: SlicedStep;

  private constructor(
    private readonly type: ResourceType<T, unknown>,
    count: number,
    decodeAt: (i: number, d: ResourceDecoder<T>) => void,
    reuse: boolean,
  ) {
    this.result = newResponse(type, reuse);
    this.step = sliceOver(count, (i) => decodeAt(i, this));
  }

  /** SotW: each Any is the resource itself or an envoy.service.discovery.v3.Resource wrapping it. */
  static sotw<T>(
    type: ResourceType<T, unknown>,
    resources: readonly AnyMessage[],
    versionInfo: string,
    previous: ReuseCache<T> | null = null,
  ): ResourceDecoder<T> {
    return new ResourceDecoder(
      type,
      resources.length,
      (i, d) => {
        const any = resources[i];
        if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) {
          d.one(any, '', versionInfo, `resources[${i}]`, previous);
          return;
        }
        let wrapper: ResourceMessage;
        try {
          wrapper = decodeResourceWrapper(any.value);
        } catch (err) {
          d.result.errors.push(
            `resources[${i}]: cannot decode ${RESOURCE_WRAPPER_TYPE_URL}: ${messageOf(err)}`,
          );
          return;
        }
        d.one(wrapper.resource, wrapper.name, versionInfo, `resources[${i}].resource`, previous);
      },
      true,
    );
  }

  /** Delta: each entry is a Resource carrying its own name and version. */
  static delta<T>(type: ResourceType<T, unknown>, resources: readonly ResourceMessage[]): ResourceDecoder<T> {
    // A delta response carries only what changed: nothing to gain from reusing by bytes.
    return new ResourceDecoder(
      type,
      resources.length,
      (i, d) => {
        const r = resources[i];
        d.one(r.resource, r.name, r.version, `resources[${i}].resource`, null);
      },
      false,
    );
  }

  /**
   * Decodes until every resource is done or performance.now() passes `deadline`. Returns true
   * when finished.
   */
  run(deadline = Number.POSITIVE_INFINITY): boolean {
    return this.step(deadline);
  }

  private one(
    any: AnyMessage | null,
    wrapperName: string,
    version: string,
    path: string,
    previous: ReuseCache<T> | null,
  ): void {
    decodeOne(this.type, any, wrapperName, version, path, this.seen, this.result, previous);
  }
}

/** SotW, in one go (snapshots, tests). */
export function decodeSotwResources<T>(
  type: ResourceType<T, unknown>,
  resources: readonly AnyMessage[],
  versionInfo: string,
  previous: ReuseCache<T> | null = null,
): DecodedResponse<T> {
  const d = ResourceDecoder.sotw(type, resources, versionInfo, previous);
  d.run();
  return d.result;
}

/** Delta, in one go (snapshots, tests). */
export function decodeDeltaResources<T>(
  type: ResourceType<T, unknown>,
  resources: readonly ResourceMessage[],
): DecodedResponse<T> {
  const d = ResourceDecoder.delta(type, resources);
  d.run();
  return d.result;
}

function decodeOne<T>(
  type: ResourceType<T, unknown>,
  any: AnyMessage | null,
  wrapperName: string,
  version: string,
  path: string,
  seen: Set<string>,
  out: DecodedResponse<T>,
  previous: ReuseCache<T> | null,
): void {
  const label = wrapperName === '' ? path : `${path} (${wrapperName})`;
  if (any === null || any === undefined) {
    // A Resource without its body is a TTL heartbeat (xDS protocol, "TTL"): it refreshes the
    // resource's lifetime and is not an update. remora does not expire resources by TTL (it does
    // not advertise xds.config.supports-resource-ttl), so a heartbeat changes nothing.
    if (wrapperName === '') out.errors.push(`${label}: Resource has neither a name nor a resource`);
    return;
  }
  if (any.type_url !== type.typeUrl) {
    out.errors.push(
      `${label}: type URL "${any.type_url}" does not match the response's type "${type.typeUrl}"`,
    );
    return;
  }
  const key = out.reuse === null ? '' : bytesKey(any.value);
  const hit = previous === null || key === '' ? undefined : previous.get(key);
  if (hit !== undefined && (wrapperName === '' || wrapperName === hit.name) && !seen.has(hit.name)) {
    // The same bytes as an accepted resource of the last response: the same value, no decoding.
    seen.add(hit.name);
    out.reuse?.set(key, hit);
    out.updates.push({ name: hit.name, value: hit.value, version, resource: any });
    return;
  }
  let raw: unknown;
  let name: string;
  try {
    raw = type.decode(any.value);
    name = type.name(raw);
  } catch (err) {
    out.errors.push(`${label}: cannot decode ${type.typeUrl}: ${messageOf(err)}`);
    return;
  }
  if (name === '') name = wrapperName;
  if (name === '') {
    // A type whose decode records problems instead of throwing may yield no name; its own errors
    // say more than "no name" does.
    const early = safeValidate(type, raw);
    if (early !== null && 'errors' in early && early.errors.length > 0) {
      for (const e of early.errors) out.errors.push(`${label}: ${e}`);
    } else {
      out.errors.push(`${label}: resource has no name`);
    }
    return;
  }
  if (wrapperName !== '' && wrapperName !== name) {
    out.errors.push(
      `${label}: Resource.name "${wrapperName}" differs from the resource's own name "${name}"`,
    );
    return;
  }
  if (seen.has(name)) {
    out.errors.push(`${name}: duplicate resource name in one response`);
    return;
  }
  seen.add(name);
  let result: ReturnType<typeof type.validate>;
  try {
    result = type.validate(raw);
  } catch (err) {
    // A translator that throws is a bug, but it must not take the client (or the proxy) down.
    out.errors.push(`${name}: validation failed unexpectedly: ${messageOf(err)}`);
    return;
  }
  if ('errors' in result) {
    if (result.errors.length === 0) out.errors.push(`${name}: invalid`);
    for (const e of result.errors) out.errors.push(`${name}: ${e}`);
    return;
  }
  out.updates.push({ name, value: result.value, version, resource: any });
  if (key !== '') out.reuse?.set(key, { name, value: result.value });
}

function safeValidate<T>(type: ResourceType<T, unknown>, raw: unknown): ValidationResult<T> | null {
  try {
    return type.validate(raw);
  } catch {
    return null;
  }
}

function bytesKey(v: Uint8Array): string {
  return (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString('latin1');
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
