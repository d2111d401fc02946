/**
 * The ABI mirror against the header text (constants), its own layouts (no overlaps, no holes, sizes add up), and the
 * encoders' byte layouts and refusals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ABI, ABI_LAYOUTS, encodeIpcacheEntry, encodePolicyEntry, policyPrefixLen, decodeVerdictEvent } from '../../../node-agent/datapath/abi.js';
import type { PolicyEntry } from '../../../pipeline/core/compile/entries.js';
import { PALISADE_ABI_VERSION } from '../../../pipeline/core/bundle/abi-version.js';

const HEADER = readFileSync(join(import.meta.dirname, '..', '..', '..', 'bpf', 'palisade_abi.h'), 'utf8');

function headerDefines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of HEADER.matchAll(/^#define (PALISADE_\w+) (.+?)(?:\s*\/\*.*)?$/gm)) {
    const expr = (m[2] as string).trim();
    if (!/^[\d\s()*<+-]+$/.test(expr)) continue;
    out.set(m[1] as string, Function(`return (${expr});`)() as number);
  }
  return out;
}

const entry = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: 1, direction: 'ingress', identity: 0, protocol: 6, port: 0, portPrefixLen: 0, deny: false, proxy: false, ruleId: 0, ...over,
});

describe('ABI mirror', () => {
  test('every numeric #define of the header has the same value in ABI, and ABI has nothing the header lacks', () => {
    const defs = headerDefines();
    defs.delete('PALISADE_EVENTS_RING_BYTES'); // the ring size is the object's business, not user space's
    expect(Object.fromEntries([...defs].sort())).toEqual(Object.fromEntries(Object.entries(ABI).sort()));
  });

  test('the ABI version is the one the bundles carry, and the header says the same', () => {
    expect(ABI.PALISADE_ABI_VERSION).toBe(PALISADE_ABI_VERSION);
    expect(headerDefines().get('PALISADE_ABI_VERSION')).toBe(PALISADE_ABI_VERSION);
    expect(readFileSync(join(import.meta.dirname, '..', '..', '..', 'node-agent', 'datapath', 'abi.ts'), 'utf8')).not.toMatch(/PALISADE_ABI_VERSION\s*[:=]\s*\d/);
  });

  test('layouts are packed: fields in order, no overlap, no hole, size = end of last field (rounded to alignment)', () => {
    for (const l of ABI_LAYOUTS) {
      let end = 0;
      for (const f of l.fields) {
        expect(f.offset, `${l.name}.${f.name}`).toBe(end);
        end = f.offset + f.size;
      }
      expect(l.size, l.name).toBe(end);
      expect(HEADER).toContain(`struct ${l.name} {`);
    }
  });

  test('ipcache keys: prefixlen counts the 32 fixed bits, addresses in network order', () => {
    const { key, value } = encodeIpcacheEntry(1, { prefix: '10.1.2.0/24', identity: 0x01020304 });
    expect([...key]).toEqual([56, 0, 0, 0, 1, 4, 0, 0, 10, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...value]).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    const v6 = encodeIpcacheEntry(0, { prefix: 'fd00::1', identity: 7 }).key;
    expect(new DataView(v6.buffer).getUint32(0, true)).toBe(160);
    expect(v6[5]).toBe(6);
    expect(() => encodeIpcacheEntry(0, { prefix: '10.1.2.3/24', identity: 1 })).toThrow(/host bits set/);
    expect(() => encodeIpcacheEntry(0, { prefix: '10.1.2.0/33', identity: 1 })).toThrow(/bad prefix length/);
  });

  test('policy keys: network-order endpoint, identity and port; prefix lengths 64 or 80 + port bits', () => {
    const { key, value } = encodePolicyEntry(1, entry({ endpointId: 0x0102, direction: 'egress', identity: 0x0a0b0c0d, protocol: 17, port: 0x1f90, portPrefixLen: 13, deny: true, ruleId: 9 }));
    expect([...key]).toEqual([93, 0, 0, 0, 1, 1, 1, 2, 0x0a, 0x0b, 0x0c, 0x0d, 17, 0, 0x1f, 0x90]);
    expect([...value]).toEqual([1, 93, 0, 0, 9, 0, 0, 0]);
    expect(policyPrefixLen({ protocol: 0, portPrefixLen: 0 })).toBe(64);
    expect(policyPrefixLen({ protocol: 6, portPrefixLen: 0 })).toBe(80);
    expect(policyPrefixLen({ protocol: 6, portPrefixLen: 16 })).toBe(96);
    expect(encodePolicyEntry(0, entry({ proxy: true })).value[0]).toBe(2);
  });

  test('policy entries that the LPM trie would misread are refused', () => {
    expect(() => encodePolicyEntry(0, entry({ port: 81, portPrefixLen: 15 }))).toThrow(/bits below its \/15 prefix/);
    expect(() => encodePolicyEntry(0, entry({ protocol: 0, port: 80, portPrefixLen: 16 }))).toThrow(/protocol wildcard cannot carry a port/);
    expect(() => encodePolicyEntry(0, entry({ endpointId: 0 }))).toThrow(/endpointId 0/);
    expect(() => encodePolicyEntry(0, entry({ portPrefixLen: 17 }))).toThrow(/portPrefixLen 17/);
    expect(() => encodePolicyEntry(2 as 0, entry({}))).toThrow(/generation 2/);
  });

  test('verdict events decode field by field', () => {
    const b = new Uint8Array(72);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, 123n, true);
    v.setUint32(8, 300, true);
    v.setUint32(12, 2, true);
    v.setUint32(16, 77, true);
    v.setUint16(20, 5, true);
    v.setUint16(22, 181, true);
    b.set([6, 1, 1, 58, 1, 128, 0, 0], 24);
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 32);
    b.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 48);
    v.setUint16(64, 0x4242, false);
    v.setUint32(68, 118, true);
    expect(decodeVerdictEvent(b)).toEqual({
      tsNs: 123n, srcIdentity: 300, dstIdentity: 2, ruleId: 77, endpointId: 5, dropReason: 'POLICY_DENY', family: 6,
      direction: 'egress', verdict: 'dropped', protocol: 58, gen: 1, icmpType: 128, icmpCode: 0, saddr: 'fd00::1',
      daddr: '2001:db8::2', sport: 0x4242, dport: 0, pktLen: 118,
    });
    expect(() => decodeVerdictEvent(b.subarray(0, 40))).toThrow(/40 bytes/);
  });
});
