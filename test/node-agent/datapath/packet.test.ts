/** Packet synthesis: header fields, lengths and checksums that a receiver would accept; address parsing. */
import { describe, expect, test } from 'vitest';
import { formatAddress, parseAddress, parseCidr } from '../../../node-agent/datapath/address.js';
import { buildPacket } from '../../../node-agent/datapath/packet.js';

/** Ones' complement sum over the given byte ranges: 0xffff when a checksum inside them is right. */
function sum(...parts: Uint8Array[]): number {
  let s = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) s += ((p[i] as number) << 8) | (p[i + 1] ?? 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudo4(frame: Uint8Array, proto: number, len: number): Uint8Array {
  const p = new Uint8Array(12);
  p.set(frame.subarray(26, 34), 0);
  p[9] = proto;
  new DataView(p.buffer).setUint16(10, len);
  return p;
}

describe('buildPacket', () => {
  test('IPv4 TCP: Ethernet type, IP header checksum, TCP checksum with the pseudo header, ports, SYN', () => {
    const f = buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 'TCP', sport: 1234, dport: 80, payloadLength: 5 });
    const v = new DataView(f.buffer);
    expect(f.length).toBe(14 + 20 + 20 + 5);
    expect(v.getUint16(12)).toBe(0x0800);
    expect(v.getUint16(16)).toBe(20 + 20 + 5);
    expect(sum(f.subarray(14, 34))).toBe(0xffff);
    expect(sum(pseudo4(f, 6, 25), f.subarray(34))).toBe(0xffff);
    expect([v.getUint16(34), v.getUint16(36), f[47]]).toEqual([1234, 80, 0x02]);
  });

  test('IPv4 UDP and ICMP checksums; ICMP echo id and type', () => {
    const u = buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 'UDP', sport: 53, dport: 5353, payloadLength: 3 });
    expect(sum(pseudo4(u, 17, 11), u.subarray(34))).toBe(0xffff);
    const i = buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 'ICMPv4', icmpId: 0x99, icmpType: 13 });
    expect(sum(i.subarray(34))).toBe(0xffff);
    expect([i[34], new DataView(i.buffer).getUint16(38)]).toEqual([13, 0x99]);
  });

  test('IPv6 ICMPv6 echo by default, with the pseudo-header checksum; protocol numbers are taken literally', () => {
    expect(buildPacket({ saddr: 'fd00::1', daddr: 'fd00::2', protocol: 1 })[20]).toBe(1);
    const f = buildPacket({ saddr: 'fd00::1', daddr: 'fd00::2', protocol: 58 });
    const v = new DataView(f.buffer);
    expect(v.getUint16(12)).toBe(0x86dd);
    expect(f[20]).toBe(58);
    expect(f[54]).toBe(128);
    const p = new Uint8Array(40);
    p.set(f.subarray(22, 54), 0);
    new DataView(p.buffer).setUint32(32, 8);
    p[39] = 58;
    expect(sum(p, f.subarray(54))).toBe(0xffff);
  });

  test('SCTP carries the ports and a CRC32c checksum', () => {
    const f = buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 'SCTP', sport: 1, dport: 2 });
    expect(f.length).toBe(14 + 20 + 12);
    expect(new DataView(f.buffer).getUint32(34)).toBe(0x00010002);
    expect(new DataView(f.buffer).getUint32(42, true)).not.toBe(0);
  });

  test('bad input is refused with a reason', () => {
    expect(() => buildPacket({ saddr: '10.0.0.1', daddr: 'fd00::1', protocol: 'TCP' })).toThrow(/mixed address families/);
    expect(() => buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 'TCP', dport: 70000 })).toThrow(/dport 70000/);
    expect(() => buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.300', protocol: 'TCP' })).toThrow(/not an IPv4 or IPv6 address/);
    expect(() => buildPacket({ saddr: '10.0.0.1', daddr: '10.0.0.2', protocol: 256 })).toThrow(/not 0..255/);
  });
});

describe('addresses', () => {
  test('parse and format round-trip in canonical form', () => {
    for (const [text, canon] of [['fd00:0:0:0:0:0:0:1', 'fd00::1'], ['::', '::'], ['::ffff:10.1.2.3', '::ffff:a01:203'], ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3']]) {
      const a = parseAddress(text as string);
      expect(formatAddress(a.family, a.bytes)).toBe(canon);
    }
    expect(formatAddress(4, parseAddress('192.0.2.1').bytes)).toBe('192.0.2.1');
  });

  test('malformed text is refused', () => {
    for (const bad of ['1.2.3', '01.2.3.4', '1.2.3.256', ':::', '1::2::3', 'fd00::g', '1:2:3:4:5:6:7:8:9', '', '10.0.0.0/8']) {
      expect(() => parseAddress(bad), bad).toThrow();
    }
    expect(parseCidr('10.0.0.0/8').prefixLen).toBe(8);
    expect(parseCidr('fd00::/8').prefixLen).toBe(8);
    expect(() => parseCidr('fd00::1/64')).toThrow(/host bits/);
  });
});
