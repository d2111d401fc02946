import { describe, expect, it } from 'vitest';
import { canonicalIp, parseCidr, parseIp, rangeContains } from '../../pipeline/core/evaluate/index.js';

describe('addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::', '2001:db8::'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['fe80:0:0:1:0:0:0:1', 'fe80:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::64d8:8aff:fe72:fc14', 'fe80::64d8:8aff:fe72:fc14'],
  ])('%s is canonically %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });
  it.each(['10.0.0', '10.0.0.256', '1::2::3', '12345::', 'x', '', '1:2:3:4:5:6:7:8:9'])('%s is not an address', (text) => {
    expect(parseIp(text)).toBeNull();
  });
  it('prefixes mask host bits and contain their addresses', () => {
    const r = parseCidr('10.1.2.3/16')!;
    expect(rangeContains(r, parseIp('10.1.255.255')!)).toBe(true);
    expect(rangeContains(r, parseIp('10.2.0.0')!)).toBe(false);
    expect(rangeContains(parseCidr('0.0.0.0/0')!, parseIp('255.255.255.255')!)).toBe(true);
    expect(rangeContains(parseCidr('::/0')!, parseIp('10.0.0.1')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });
});
