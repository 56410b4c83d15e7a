/**
 * What the xDS client needs to know about one resource type. The client is generic: it never looks
 * inside a resource; proxy/xds implements one ResourceType per type URL (Listener, Cluster, ...).
 *
 * A response is all-or-nothing (Envoy's default): if any resource in it fails to decode or validate,
 * the whole response is NACKed with every error and nothing in it is applied.
 */
export interface ResourceType<T, Raw = unknown> {
  /** `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
  readonly typeUrl: string;
  /**
   * True for LDS and CDS: a state-of-the-world response carries every resource of the type, so a
   * resource absent from it has been deleted. False for RDS, EDS and SDS, whose responses may carry
   * only some of the subscribed resources.
   */
  readonly allResourcesRequiredInSotW: boolean;
  /** Decodes the serialized message (the bytes of the Any). Throws on bytes that do not decode. */
  decode(bytes: Buffer): Raw;
  /** The resource's name as the protocol keys it (`name`, or `cluster_name` for a ClusterLoadAssignment). */
  name(raw: Raw): string;
  /** Validates and translates into the value watchers receive; errors become the NACK's message. */
  validate(raw: Raw): ValidationResult<T>;
  /** True when an update carries nothing new, so watchers are not woken for it. */
  equal(a: T, b: T): boolean;
  /**
   * True when validate() depends only on the bytes (and settings fixed for the client's life), so
   * byte-identical resources always validate to the same value. The client then reuses the value
   * from the last accepted response for a resource whose bytes did not change instead of decoding
   * and validating it again: a state-of-the-world push of 10,000 clusters with one changed costs
   * one translation, not 10,000. Leave it unset when validation looks at other state (a listener
   * whose inline routes are checked against the clusters present).
   */
  readonly reuseUnchanged?: boolean;
  /**
   * Responses of this type may be processed while a response of another type is still being
   * decoded or applied (in slices), instead of in stream order behind it. True for EDS: an
   * assignment only updates clusters already known, and a cluster being built takes the latest
   * assignment when it is installed, so an endpoint change never waits for a big CDS and never
   * depends on it. Responses of one type are always processed in order.
   */
  readonly independentOfOtherTypes?: boolean;
}

export type ValidationResult<T> = { readonly value: T } | { readonly errors: readonly string[] };

/** Receives the resources of one name (or every name, for a wildcard '*' watch). */
export interface ResourceWatcher<T> {
  /** A new or changed value for `name`. */
  onUpdate(name: string, value: T): void;
  /**
   * `name` does not exist: the server removed it (absent from an LDS/CDS state-of-the-world response,
   * or listed in a delta removed_resources), or nothing arrived for it within initial_fetch_timeout.
   */
  onDoesNotExist(name: string): void;
  /**
   * A response for this type was rejected (NACKed); the previous value, if any, stays current.
   * `errors` are the validation errors sent to the server.
   */
  onError?(errors: readonly string[]): void;
  /**
   * Called once after each group of onUpdate/onDoesNotExist calls delivered together (one
   * response, one timeout, one replay), for watchers that heard something in it. Lets a consumer
   * rebuild once per response (10,000 clusters → one snapshot swap), not once per resource.
   *
   * A watcher that applies a big batch in slices returns a promise: the client then sends the ACK
   * when it settles (the control plane learns the config is in place, not merely received), the
   * next response of the same type waits for it, and so do responses of the other types unless
   * their type says `independentOfOtherTypes`.
   */
  onBatchEnd?(): void | Promise<void>;
}

/** The name that subscribes to every resource of a type (LDS, CDS). */
export const WILDCARD = '*';
