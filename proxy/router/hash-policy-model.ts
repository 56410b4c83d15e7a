import type { RegexRewriteModel } from './route-model.js';

/**
 * RouteAction.hash_policy entries as plain data (translated by hash-policy-translate.ts, compiled
 * once by hash-policy.ts). Envoy evaluates them in order and combines the hashes they produce.
 */
export type HashPolicyModel =
  | {
      readonly kind: 'header';
      /** Lower-case; `:authority`, `:path` and `:method` name the request's pseudo-headers. */
      readonly header: string;
      readonly regexRewrite: RegexRewriteModel | null;
      readonly terminal: boolean;
    }
  | {
      readonly kind: 'cookie';
      readonly name: string;
      /** ttl in whole seconds; null when unset (then a missing cookie is not generated). */
      readonly ttlSeconds: number | null;
      /** Path attribute of a generated cookie ('' for none). */
      readonly path: string;
      readonly terminal: boolean;
    }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean };
