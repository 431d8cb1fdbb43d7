import { describe, expect, it } from 'vitest';
import { captureRuleset, captureTableName, captureTeardown } from '../../../src/wg/capture-plan.js';

describe('capture plan', () => {
  it('names one table per interface, valid for nft whatever the interface name', () => {
    expect(captureTableName('sandcat0')).toBe('sandcat_sandcat0');
    expect(captureTableName('wg-a.b')).toBe('sandcat_wg_a_b');
    expect(captureTableName('a')).not.toBe(captureTableName('b'));
  });

  it('redirects DNS and TCP from the tunnel only, rejects other UDP, forwards nothing', () => {
    expect(captureRuleset({ iface: 'sandcat0', dnsPort: 5353, proxyPort: 3129 })).toMatchInlineSnapshot(`
      "table inet sandcat_sandcat0 {}
      delete table inet sandcat_sandcat0
      table inet sandcat_sandcat0 {
        chain prerouting {
          type nat hook prerouting priority dstnat; policy accept;
          iifname "sandcat0" udp dport 53 redirect to :5353
          iifname "sandcat0" tcp dport 53 redirect to :5353
          iifname "sandcat0" meta l4proto tcp redirect to :3129
          iifname "sandcat0" meta l4proto udp redirect to :3129
        }
        chain input {
          type filter hook input priority filter; policy accept;
          iifname "sandcat0" udp dport 5353 ct status dnat accept
          iifname "sandcat0" meta l4proto udp reject with icmpx type port-unreachable
        }
        chain forward {
          type filter hook forward priority filter; policy accept;
          iifname "sandcat0" meta l4proto udp reject with icmpx type port-unreachable
          iifname "sandcat0" drop
          oifname "sandcat0" drop
        }
      }
      "
    `);
  });

  it('refuses an interface name that could inject nft syntax', () => {
    expect(() => captureRuleset({ iface: 'x" accept; #', dnsPort: 1, proxyPort: 2 })).toThrow(/invalid interface name/);
  });

  it('teardown of an absent table is a no-op by construction', () => {
    expect(captureTeardown('sandcat0')).toBe('table inet sandcat_sandcat0 {}\ndelete table inet sandcat_sandcat0\n');
  });
});
