import { EventEmitter } from 'node:events';
import type { Policy } from '../policy/index.js';
import type { SecretVault } from '../secrets/index.js';
import type { Settings } from '../settings/index.js';

/** Everything a decision needs, swapped as one unit on reload so no request sees half of each. */
export interface PolicySnapshot {
  readonly settings: Settings;
  readonly policy: Policy;
  readonly vault: SecretVault;
  /** Increases on each successful reload; logged with decisions. */
  readonly generation: number;
}

/**
 * The current policy. DNS and the proxy read `current` per request/lookup; reload replaces it.
 * Open connections keep working: they simply see the new snapshot on their next request.
 */
export class LiveState extends EventEmitter {
  #current: PolicySnapshot;

  constructor(initial: Omit<PolicySnapshot, 'generation'>) {
    super();
    this.#current = Object.freeze({ ...initial, generation: 1 });
  }

  get current(): PolicySnapshot {
    return this.#current;
  }

  replace(next: Omit<PolicySnapshot, 'generation'>): PolicySnapshot {
    const previous = this.#current;
    this.#current = Object.freeze({ ...next, generation: previous.generation + 1 });
    this.emit('replaced', this.#current, previous);
    return this.#current;
  }
}
