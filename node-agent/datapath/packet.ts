/**
 * Packet synthesis: an Ethernet frame with IPv4/IPv6 and TCP/UDP/SCTP/ICMP/ICMPv6 from a flow tuple, with correct
 * header checksums, for BPF_PROG_TEST_RUN (the `kernel` engine, probes, benchmarks).
 */
import { parseAddress } from './address.js';
import { DatapathError } from './errors.js';

/** IANA protocol numbers used by the datapath. */
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;

/** TCP flag bits. */
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** A flow tuple to turn into one packet. Ports and ids host order. */
export interface PacketSpec {
  /** Source and destination addresses: both IPv4 or both IPv6. */
  readonly saddr: string;
  readonly daddr: string;
  /** Protocol name as flows spell it, or an IANA number (other numbers get an empty L4 payload). */
  readonly protocol: 'TCP' | 'UDP' | 'SCTP' | 'ICMPv4' | 'ICMPv6' | number;
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP type/code; default echo request (8 for ICMPv4, 128 for ICMPv6), code 0. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** ICMP echo identifier (default 0x4242) and sequence (default 1). */
  readonly icmpId?: number;
  readonly icmpSeq?: number;
  /** TCP flags (default SYN). */
  readonly tcpFlags?: number;
  /** Bytes of zero payload after the L4 header (default 0, max 1400). */
  readonly payloadLength?: number;
}

function protocolNumber(p: PacketSpec['protocol']): number {
  switch (p) {
    case 'TCP':
      return IPPROTO.TCP;
    case 'UDP':
      return IPPROTO.UDP;
    case 'SCTP':
      return IPPROTO.SCTP;
    case 'ICMPv4':
      return IPPROTO.ICMP;
    case 'ICMPv6':
      return IPPROTO.ICMPV6;
    default:
      if (!Number.isInteger(p) || p < 0 || p > 255) throw new DatapathError('bad-packet', `protocol ${String(p)} is not 0..255`);
      return p; // literal, even when odd for the family (ICMP in IPv6): the engines must judge what was asked
  }
}

function u16(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new DatapathError('bad-packet', `${name} ${n} is not 0..65535`);
  return n;
}

/** RFC 1071 ones' complement sum over `parts`, folded and inverted. */
function inetChecksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += ((p[i] as number) << 8) | (p[i + 1] as number);
    if (p.length & 1) sum += (p[p.length - 1] as number) << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

let crc32cTable: Uint32Array | undefined;
/** CRC32c (Castagnoli), as SCTP's checksum wants. */
function crc32c(data: Uint8Array): number {
  if (!crc32cTable) {
    crc32cTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      crc32cTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of data) crc = (crc32cTable[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function l4Header(proto: number, spec: PacketSpec): Uint8Array {
  const sport = u16('sport', spec.sport, 40000);
  const dport = u16('dport', spec.dport, 0);
  switch (proto) {
    case IPPROTO.TCP: {
      const h = new Uint8Array(20);
      const v = new DataView(h.buffer);
      v.setUint16(0, sport);
      v.setUint16(2, dport);
      v.setUint32(4, 1); // sequence
      h[12] = 5 << 4; // data offset: 5 words
      h[13] = (spec.tcpFlags ?? TCP_FLAGS.SYN) & 0xff;
      v.setUint16(14, 64240); // window
      return h;
    }
    case IPPROTO.UDP: {
      const h = new Uint8Array(8);
      const v = new DataView(h.buffer);
      v.setUint16(0, sport);
      v.setUint16(2, dport);
      return h;
    }
    case IPPROTO.SCTP: {
      const h = new Uint8Array(12); // common header; the checksum covers it and the chunks (none here)
      const v = new DataView(h.buffer);
      v.setUint16(0, sport);
      v.setUint16(2, dport);
      v.setUint32(4, 0x01020304); // verification tag
      return h;
    }
    case IPPROTO.ICMP:
    case IPPROTO.ICMPV6: {
      const h = new Uint8Array(8);
      const v = new DataView(h.buffer);
      const echo = proto === IPPROTO.ICMP ? 8 : 128;
      h[0] = u16('icmpType', spec.icmpType, echo) & 0xff;
      h[1] = u16('icmpCode', spec.icmpCode, 0) & 0xff;
      if ((spec.icmpType ?? echo) > 255 || (spec.icmpCode ?? 0) > 255) throw new DatapathError('bad-packet', 'ICMP type and code are 0..255');
      v.setUint16(4, u16('icmpId', spec.icmpId, 0x4242));
      v.setUint16(6, u16('icmpSeq', spec.icmpSeq, 1));
      return h;
    }
    default:
      return new Uint8Array(0);
  }
}

/**
 * Build one Ethernet frame for `spec`.
 * @returns the frame bytes (Ethernet II, no FCS); IPv4 TTL/IPv6 hop limit 64, checksums filled in.
 * @throws DatapathError `bad-packet` on mixed families, out-of-range ports/types, or an oversized payload;
 *         `bad-address` on unparsable addresses.
 */
export function buildPacket(spec: PacketSpec): Uint8Array {
  const src = parseAddress(spec.saddr);
  const dst = parseAddress(spec.daddr);
  if (src.family !== dst.family) throw new DatapathError('bad-packet', `mixed address families: ${spec.saddr} → ${spec.daddr}`);
  const family = src.family;
  const proto = protocolNumber(spec.protocol);
  const payloadLength = spec.payloadLength ?? 0;
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > 1400) {
    throw new DatapathError('bad-packet', `payloadLength ${payloadLength} is not 0..1400`);
  }
  const header = l4Header(proto, spec);
  const l4 = new Uint8Array(header.length + payloadLength);
  l4.set(header);
  const l4len = l4.length;

  // L4 checksum: pseudo header for TCP/UDP/ICMPv6, none for ICMPv4, CRC32c for SCTP.
  const pseudo = new Uint8Array(family === 4 ? 12 : 40);
  const pv = new DataView(pseudo.buffer);
  if (family === 4) {
    pseudo.set(src.bytes, 0);
    pseudo.set(dst.bytes, 4);
    pseudo[9] = proto;
    pv.setUint16(10, l4len);
  } else {
    pseudo.set(src.bytes, 0);
    pseudo.set(dst.bytes, 16);
    pv.setUint32(32, l4len);
    pseudo[39] = proto;
  }
  const lv = new DataView(l4.buffer);
  if (proto === IPPROTO.UDP) lv.setUint16(4, l4len); // the length is part of what the checksum covers
  if (proto === IPPROTO.TCP) lv.setUint16(16, inetChecksum([pseudo, l4]));
  else if (proto === IPPROTO.UDP) lv.setUint16(6, inetChecksum([pseudo, l4]) || 0xffff);
  else if (proto === IPPROTO.ICMP) lv.setUint16(2, inetChecksum([l4]));
  else if (proto === IPPROTO.ICMPV6) lv.setUint16(2, inetChecksum([pseudo, l4]));
  else if (proto === IPPROTO.SCTP) lv.setUint32(8, crc32c(l4), true);

  const ipLen = family === 4 ? 20 : 40;
  const frame = new Uint8Array(14 + ipLen + l4len);
  const fv = new DataView(frame.buffer);
  frame.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0); // locally administered MACs
  fv.setUint16(12, family === 4 ? 0x0800 : 0x86dd);
  if (family === 4) {
    const ip = new Uint8Array(20);
    const iv = new DataView(ip.buffer);
    ip[0] = 0x45;
    iv.setUint16(2, 20 + l4len);
    iv.setUint16(4, 1); // id
    iv.setUint16(6, 0x4000); // DF
    ip[8] = 64;
    ip[9] = proto;
    ip.set(src.bytes, 12);
    ip.set(dst.bytes, 16);
    iv.setUint16(10, inetChecksum([ip]));
    frame.set(ip, 14);
  } else {
    fv.setUint32(14, 0x60000000);
    fv.setUint16(18, l4len);
    frame[20] = proto;
    frame[21] = 64;
    frame.set(src.bytes, 22);
    frame.set(dst.bytes, 38);
  }
  frame.set(l4, 14 + ipLen);
  return frame;
}
