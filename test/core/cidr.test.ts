/** IP prefix parsing, canonical text and containment. */
import { describe, expect, it } from 'vitest';
import { canonicalPrefix, parsePrefix, prefixContains } from '../../pipeline/core/model/cidr.js';

describe('prefixes', () => {
  it('canonicalises IPv4 and IPv6 (RFC 5952) and masks host bits', () => {
    expect(canonicalPrefix('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(parsePrefix('10.1.2.3/8')!.hostBitsSet).toBe(true);
    expect(canonicalPrefix('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(canonicalPrefix('FD00:0:0:0:0:0:0:1/128')).toBe('fd00::1/128');
    expect(canonicalPrefix('2001:db8:0:0:1:0:0:1/128')).toBe('2001:db8::1:0:0:1/128');
    expect(canonicalPrefix('::ffff:192.0.2.1/128')).toBe('::ffff:c000:201/128');
    expect(canonicalPrefix('::/0')).toBe('::/0');
  });
  it('rejects what is not a prefix', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '010.0.0.0/8', '1::2::3/64', 'fd00::/129', '10.0.0/8', 'x/8', '10.0.0.0/08']) {
      expect(parsePrefix(bad), bad).toBeUndefined();
    }
  });
  it('decides containment within one family', () => {
    const p = (s: string) => parsePrefix(s)!;
    expect(prefixContains(p('10.0.0.0/8'), p('10.9.0.0/16'))).toBe(true);
    expect(prefixContains(p('10.0.0.0/8'), p('10.0.0.0/8'))).toBe(true);
    expect(prefixContains(p('10.0.0.0/16'), p('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(p('10.0.0.0/8'), p('11.0.0.0/16'))).toBe(false);
    expect(prefixContains(p('::/0'), p('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(p('fd00::/8'), p('fd12:3456::/32'))).toBe(true);
  });
});
