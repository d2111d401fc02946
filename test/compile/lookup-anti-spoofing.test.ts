/**
 * The lookup mirror's anti-spoofing: a packet leaving from an address that is no endpoint is dropped with
 * INVALID_SIP before policy (as bpf/palisade.bpf.c does), except ICMPv6 from fe80::/10 or ::; ingress to an unknown
 * address stays unjudged.
 */
import { describe, expect, test } from 'vitest';
import { DatapathMirror, ENDPOINT_NONE, linkLocalIcmpv6 } from '../../pipeline/core/compile/index.js';

const mirror = new DatapathMirror({
  ipcache: [{ prefix: '10.0.0.0/24', identity: 400 }, { prefix: '10.0.1.2/32', identity: 300 }],
  policy: [{ endpointId: 1, direction: 'egress', identity: 0, protocol: 0, port: 0, portPrefixLen: 0, deny: false, proxy: false, ruleId: 3 }],
  endpoints: [{ address: '10.0.1.2', endpointId: 1 }, { address: 'fd00::2', endpointId: 1 }],
});

describe('lookup mirror: anti-spoofing', () => {
  test('the endpoint itself is judged by policy', () => {
    expect(mirror.judge({ direction: 'egress', localIp: '10.0.1.2', peerIp: '10.0.0.9', protocol: 6, dport: 80 })).toEqual({
      judged: true, endpointId: 1, peerIdentity: 400, verdict: 'forwarded', dropReason: null, ruleId: 3,
    });
  });

  test('another source is dropped with INVALID_SIP under endpoint 0, whatever the policy says', () => {
    expect(mirror.judge({ direction: 'egress', localIp: '10.0.1.3', peerIp: '10.0.0.9', protocol: 6, dport: 80 })).toEqual({
      judged: true, endpointId: ENDPOINT_NONE, peerIdentity: 400, verdict: 'dropped', dropReason: 'INVALID_SIP', ruleId: 0,
    });
    expect(mirror.judge({ direction: 'egress', localIp: 'fd00::3', peerIp: 'fd00::9', protocol: 58, icmpType: 135 })).toMatchObject({
      dropReason: 'INVALID_SIP', peerIdentity: 2,
    });
  });

  test('ICMPv6 from link-local or :: passes unjudged; ingress to an unknown address too', () => {
    for (const localIp of ['fe80::1', 'febf:ffff::1', '::']) {
      expect(mirror.judge({ direction: 'egress', localIp, peerIp: 'ff02::1', protocol: 58, icmpType: 143 })).toEqual({ judged: false });
    }
    expect(mirror.judge({ direction: 'ingress', localIp: '10.0.1.3', peerIp: '10.0.0.9', protocol: 6, dport: 80 })).toEqual({ judged: false });
  });

  test('linkLocalIcmpv6: fe80::/10 and :: only, ICMPv6 only', () => {
    expect(linkLocalIcmpv6(58, 'fe80::1')).toBe(true);
    expect(linkLocalIcmpv6(58, 'fec0::1')).toBe(false);
    expect(linkLocalIcmpv6(58, 'fe7f::1')).toBe(false);
    expect(linkLocalIcmpv6(58, '::')).toBe(true);
    expect(linkLocalIcmpv6(58, '::1')).toBe(false);
    expect(linkLocalIcmpv6(17, 'fe80::1')).toBe(false);
    expect(linkLocalIcmpv6(58, '10.0.0.1')).toBe(false);
  });
});
