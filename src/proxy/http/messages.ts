import { describeRule, unmatchedWhy, type Decision } from '../../policy/index.js';

/**
 * Text for the responses sandcat itself writes. Both a person and an agent read these, so they say
 * what was blocked, by which rule, and that retrying will not help. Pure, tested verbatim.
 */

/** Response header on every response sandcat wrote itself instead of the upstream. */
export const BLOCKED_HEADER = 'x-sandcat-blocked';
export const ERROR_HEADER = 'x-sandcat-error';

const NO_RETRY =
  'Retrying, or working around it with another URL, an IP address, a different tool or a proxy, will not help: ' +
  'the same policy applies to every connection. If this access is needed, ask the user to change the sandcat settings.';

export function policyDeniedText(method: string, host: string, decision: Decision): string {
  const why = decision.rule ? `rule ${describeRule(decision.rule)}` : decision.reason === 'no-settings' ? 'no settings file was found, so everything is denied' : unmatchedWhy(decision.host);
  return [
    `Blocked by sandcat network policy: ${method} ${host || '(no host)'}`,
    decision.host && decision.host !== host ? `Denied name: ${decision.host}` : null,
    `Reason: ${why}.`,
    NO_RETRY,
    '',
  ]
    .filter((l) => l !== null)
    .join('\n');
}

/** A request refused for a secret (leak toward another host, or cleartext). `detail` names the secret, never a value. */
export function secretBlockedText(method: string, host: string, detail: string): string {
  return [`Blocked by sandcat secret policy: ${method} ${host}`, detail, NO_RETRY, ''].join('\n');
}

/** A request body sandcat cannot check (unknown content-encoding). */
export function uncheckableBodyText(method: string, host: string, detail: string): string {
  return [`Blocked by sandcat: ${method} ${host}`, detail, ''].join('\n');
}

export function upstreamFailureText(method: string, host: string, cause: string): string {
  return [`sandcat could not complete ${method} ${host}: ${cause}`, ''].join('\n');
}
