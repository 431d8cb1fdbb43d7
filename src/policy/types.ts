export type Action = 'allow' | 'deny';
export type Layer = 'local' | 'project' | 'user';

/** One network rule, as the settings loader hands it over: already validated, enabled rules only. */
export interface RuleDefinition {
  action: Action;
  host: string;
  method?: string;
  port?: number;
  /** TLS pass-through when false: bytes are relayed untouched after an SNI check. Default true. */
  intercept?: boolean;
  layer: Layer;
  /** Position in its own file's `network` array, from 0 (disabled rules still count). */
  index: number;
  /** The settings file the rule came from, for messages. */
  file?: string;
}

/** Everything a decision may depend on. Absent method/port mean "not applicable" (DNS, raw TCP). */
export interface DecisionFacts {
  host: string;
  method?: string;
  port?: number;
  /**
   * The connection carries requests whose method the proxy cannot see (raw TCP, TLS relayed with
   * `intercept: false`). sandcat's rule "no method: match on host" is right for DNS, but for such
   * a connection it would let `{"allow", "*", "GET"}` open a byte pipe anywhere. With `opaque`, a
   * rule that names a method can still deny, but cannot allow. Off by default (sandcat semantics).
   */
  opaque?: boolean;
}

export type DecisionReason = 'matched-allow' | 'matched-deny' | 'no-rule-matched' | 'no-settings' | 'empty-host';

export interface Decision {
  action: Action;
  rule: RuleDefinition | null;
  reason: DecisionReason;
  /** The (normalized) host the decision was about; with several names, the one that decided. */
  host: string;
  /** One sentence for logs and 403 bodies. */
  explain: string;
}
