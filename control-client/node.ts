/**
 * The node identity sent to the management server (envoy.config.core.v3.Node), from what the caller
 * (the bootstrap) supplies. Metadata is given as plain JSON and sent as a google.protobuf.Struct.
 */
import type { NodeMessage, StructMessage, ValueMessage } from './wire.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface NodeIdentity {
  readonly id: string;
  readonly cluster?: string;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  readonly metadata?: { readonly [key: string]: JsonValue };
  /** Defaults to 'remora'. */
  readonly user_agent_name?: string;
  readonly user_agent_version?: string;
  readonly client_features?: readonly string[];
}

export function nodeMessage(node: NodeIdentity, defaultVersion: string): NodeMessage {
  const msg: NodeMessage = {
    id: node.id,
    cluster: node.cluster ?? '',
    user_agent_name: node.user_agent_name ?? 'remora',
    user_agent_version: node.user_agent_version ?? defaultVersion,
    client_features: node.client_features ? [...node.client_features] : [],
  };
  if (node.locality) msg.locality = { ...node.locality };
  if (node.metadata) msg.metadata = structOf(node.metadata);
  return msg;
}

export function structOf(obj: { readonly [key: string]: JsonValue }): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = jsonToValue(v);
  return { fields };
}

function jsonToValue(v: JsonValue): ValueMessage {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: structOf(v) };
}
