import type { Layer, RuleDefinition } from '../policy/types.js';

export type SecretSource = { kind: 'value'; value: string } | { kind: 'op'; ref: string } | { kind: 'pass'; ref: string };

export interface SecretDefinition {
  name: string;
  source: SecretSource;
  hosts: string[];
  placeholder: string;
  layer: Layer;
  /** The settings file that defined it (the winning layer's), for messages. */
  file?: string;
}

export interface LayerSource {
  layer: Layer;
  file: string;
  present: boolean;
}

/** Merged, validated settings. Frozen and passed down; nothing else reads settings files. */
export interface Settings {
  /** False when no layer existed at all: everything is denied. */
  configured: boolean;
  sources: LayerSource[];
  env: Record<string, string>;
  secrets: Record<string, SecretDefinition>;
  rules: RuleDefinition[];
  dnsServers: string[] | null;
  extraHosts: Record<string, string>;
  upstreamCa: string | null;
  opServiceAccountToken: string | null;
  protonPassToken: string | null;
  warnings: string[];
}

export function defaultPlaceholder(name: string): string {
  return `SANDCAT_PLACEHOLDER_${name}`;
}
