/**
 * The TypeScript mirror of bpf/palisade_abi.h: constants, the byte layout of every map key and value, and encoders
 * and decoders for them. `checkAbiLayouts` compares these layouts with the BTF of a built object; the datapath
 * refuses to load on any difference. Change this file together with the header and PALISADE_ABI_VERSION (whose one
 * TypeScript definition is pipeline/core/bundle/abi-version.ts: bundles and the datapath speak the same version).
 */
import { PALISADE_ABI_VERSION } from '../../pipeline/core/bundle/abi-version.js';
import type { IpcacheEntry, PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { formatAddress, parseAddress, parseCidr } from './address.js';
import type { Btf } from './btf.js';
import { DatapathError } from './errors.js';
import type { CounterRow, Direction, DropReason, Generation, VerdictEvent, VerdictName } from './types.js';

/** #define mirrors of palisade_abi.h (a unit test compares them with the header text). */
export const ABI = {
  PALISADE_ABI_VERSION,
  PALISADE_GENERATIONS: 2,
  PALISADE_DIR_INGRESS: 0,
  PALISADE_DIR_EGRESS: 1,
  PALISADE_DROP_POLICY_DENIED: 133,
  PALISADE_DROP_POLICY_DENY: 181,
  PALISADE_DROP_INVALID_SIP: 132,
  PALISADE_ENDPOINT_NONE: 0,
  PALISADE_VERDICT_FORWARDED: 0,
  PALISADE_VERDICT_DROPPED: 1,
  PALISADE_VERDICT_PROXY: 2,
  PALISADE_VERDICT_REPLY: 3,
  PALISADE_VERDICT_AUDIT: 4,
  PALISADE_CONTROL_EVENTS_OFF: 1,
  PALISADE_CONTROL_AUDIT: 2,
  PALISADE_CONTROL_AUDIT_FLAGGED: 4,
  PALISADE_ENDPOINT_AUDIT: 1,
  PALISADE_IDENTITY_ANY: 0,
  PALISADE_IDENTITY_WORLD: 2,
  PALISADE_IPCACHE_MAX_ENTRIES: 1048576,
  PALISADE_POLICY_MAX_ENTRIES: 262144,
  PALISADE_ENDPOINTS_MAX_ENTRIES: 65536,
  PALISADE_CT_MAX_ENTRIES: 262144,
  PALISADE_COUNTERS_MAX_ENTRIES: 65536,
  PALISADE_POLICY_DENY: 1,
  PALISADE_POLICY_PROXY: 2,
} as const;

/** One field of a struct: byte offset and size. */
export interface FieldLayout {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** A struct's layout as this mirror believes it to be. */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
}

function layout(name: string, size: number, fields: [string, number, number][]): StructLayout {
  return { name, size, fields: fields.map(([n, offset, sz]) => ({ name: n, offset, size: sz })) };
}

/** Every struct of palisade_abi.h. */
export const ABI_LAYOUTS: readonly StructLayout[] = [
  layout('palisade_control', 16, [['active_gen', 0, 4], ['flags', 4, 4], ['serial', 8, 8]]),
  layout('ipcache_key', 24, [['prefixlen', 0, 4], ['gen', 4, 1], ['family', 5, 1], ['pad', 6, 2], ['addr', 8, 16]]),
  layout('ipcache_value', 8, [['identity', 0, 4], ['flags', 4, 4]]),
  layout('endpoint_key', 20, [['family', 0, 1], ['pad', 1, 3], ['addr', 4, 16]]),
  layout('endpoint_value', 8, [['endpoint_id', 0, 2], ['flags', 2, 2], ['ifindex', 4, 4]]),
  layout('policy_key', 16, [
    ['prefixlen', 0, 4], ['gen', 4, 1], ['direction', 5, 1], ['endpoint_id', 6, 2],
    ['identity', 8, 4], ['protocol', 12, 1], ['pad', 13, 1], ['dport', 14, 2],
  ]),
  layout('policy_value', 8, [['flags', 0, 1], ['prefixlen', 1, 1], ['proxy_port', 2, 2], ['rule_id', 4, 4]]),
  layout('ct_key', 40, [
    ['saddr', 0, 16], ['daddr', 16, 16], ['sport', 32, 2], ['dport', 34, 2], ['protocol', 36, 1], ['family', 37, 1], ['pad', 38, 2],
  ]),
  layout('ct_value', 24, [['created_ns', 0, 8], ['packets', 8, 8], ['rule_id', 16, 4], ['gen', 20, 1], ['verdict', 21, 1], ['pad', 22, 2]]),
  layout('counter_key', 8, [['endpoint_id', 0, 2], ['direction', 2, 1], ['verdict', 3, 1], ['gen', 4, 1], ['pad', 5, 3]]),
  layout('counter_value', 16, [['packets', 0, 8], ['bytes', 8, 8]]),
  layout('verdict_event', 72, [
    ['ts_ns', 0, 8], ['src_identity', 8, 4], ['dst_identity', 12, 4], ['rule_id', 16, 4], ['endpoint_id', 20, 2],
    ['drop_reason', 22, 2], ['family', 24, 1], ['direction', 25, 1], ['verdict', 26, 1], ['protocol', 27, 1],
    ['gen', 28, 1], ['icmp_type', 29, 1], ['icmp_code', 30, 1], ['pad', 31, 1], ['saddr', 32, 16], ['daddr', 48, 16],
    ['sport', 64, 2], ['dport', 66, 2], ['pkt_len', 68, 4],
  ]),
];

/** Size of a struct in this mirror. @throws DatapathError for an unknown name (a programming error). */
export function sizeOfAbi(name: string): number {
  const l = ABI_LAYOUTS.find((x) => x.name === name);
  if (!l) throw new DatapathError('bad-entry', `no ABI struct ${name}`);
  return l.size;
}

/**
 * Compare `layouts` with the structs in `btf`.
 * @returns one line per difference (missing struct, size, member name/order, offset, size); empty when they agree.
 */
export function checkAbiLayouts(btf: Btf, layouts: readonly StructLayout[] = ABI_LAYOUTS): string[] {
  const out: string[] = [];
  for (const l of layouts) {
    const s = btf.struct(l.name);
    if (!s) {
      out.push(`struct ${l.name}: not in the object's BTF`);
      continue;
    }
    if (s.size !== l.size) out.push(`struct ${l.name}: size ${s.size} in the object, ${l.size} in abi.ts`);
    const n = Math.max(s.members.length, l.fields.length);
    for (let i = 0; i < n; i++) {
      const m = s.members[i];
      const f = l.fields[i];
      if (!m || !f) {
        out.push(`struct ${l.name}: member #${i} is ${m ? m.name : 'absent'} in the object, ${f ? f.name : 'absent'} in abi.ts`);
        continue;
      }
      if (m.name !== f.name) out.push(`struct ${l.name}: member #${i} is ${m.name} in the object, ${f.name} in abi.ts`);
      else if (m.bitSize !== undefined) out.push(`struct ${l.name}.${m.name}: a bitfield in the object`);
      else {
        if (m.offset !== f.offset) out.push(`struct ${l.name}.${m.name}: offset ${m.offset} in the object, ${f.offset} in abi.ts`);
        if (m.size !== f.size) out.push(`struct ${l.name}.${m.name}: size ${m.size} in the object, ${f.size} in abi.ts`);
      }
    }
  }
  return out;
}

// ───────── enum names ─────────

const VERDICTS: readonly VerdictName[] = ['forwarded', 'dropped', 'proxy', 'reply', 'audit'];

/** PALISADE_DIR_* of a direction name. */
export function directionCode(d: Direction): number {
  return d === 'ingress' ? ABI.PALISADE_DIR_INGRESS : ABI.PALISADE_DIR_EGRESS;
}

function directionName(code: number): Direction {
  return code === ABI.PALISADE_DIR_INGRESS ? 'ingress' : 'egress';
}

function verdictName(code: number): VerdictName {
  const v = VERDICTS[code];
  if (!v) throw new DatapathError('bad-entry', `unknown verdict code ${code}`);
  return v;
}

function dropReasonName(code: number): DropReason {
  if (code === ABI.PALISADE_DROP_POLICY_DENIED) return 'POLICY_DENIED';
  if (code === ABI.PALISADE_DROP_POLICY_DENY) return 'POLICY_DENY';
  if (code === ABI.PALISADE_DROP_INVALID_SIP) return 'INVALID_SIP';
  return null;
}

function checkGen(gen: number): Generation {
  if (gen !== 0 && gen !== 1) throw new DatapathError('bad-generation', `generation ${gen} is not 0 or 1`);
  return gen;
}

function checkUint(what: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new DatapathError('bad-entry', `${what} ${v} is not an integer in 0..${max}`);
  return v;
}

// ───────── control ─────────

/** Control map content. */
export interface ControlValue {
  readonly activeGen: Generation;
  readonly flags: number;
  readonly serial: bigint;
}

/** Encode `struct palisade_control`. */
export function encodeControl(c: ControlValue): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, checkGen(c.activeGen), true);
  v.setUint32(4, c.flags >>> 0, true);
  v.setBigUint64(8, c.serial, true);
  return b;
}

/** Decode `struct palisade_control`. */
export function decodeControl(b: Uint8Array): ControlValue {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { activeGen: (v.getUint32(0, true) & 1) as Generation, flags: v.getUint32(4, true), serial: v.getBigUint64(8, true) };
}

// ───────── ipcache ─────────

/** Bits of ipcache_key before the address: gen + family + pad. */
const IPCACHE_FIXED_BITS = 32;

/**
 * Encode one ipcache entry of generation `gen` as (key, value).
 * @throws DatapathError `bad-address` for a bad prefix, `bad-entry` for an identity out of u32.
 */
export function encodeIpcacheEntry(gen: Generation, e: IpcacheEntry): { key: Uint8Array; value: Uint8Array } {
  const cidr = parseCidr(e.prefix);
  const key = new Uint8Array(24);
  const kv = new DataView(key.buffer);
  kv.setUint32(0, IPCACHE_FIXED_BITS + cidr.prefixLen, true);
  key[4] = checkGen(gen);
  key[5] = cidr.family;
  key.set(cidr.bytes, 8);
  const value = new Uint8Array(8);
  new DataView(value.buffer).setUint32(0, checkUint('identity', e.identity, 0xffffffff), true);
  return { key, value };
}

/** The generation byte of an encoded ipcache key. */
export function ipcacheKeyGen(key: Uint8Array): number {
  return key[4] as number;
}

// ───────── endpoints ─────────

/**
 * Encode a local endpoint address → id row; `audit` sets PALISADE_ENDPOINT_AUDIT (audited under
 * PALISADE_CONTROL_AUDIT_FLAGGED).
 * @throws DatapathError `bad-address`, or `bad-entry` for an id outside 1..65535.
 */
export function encodeEndpoint(address: string, endpointId: number, ifindex = 0, audit = false): { key: Uint8Array; value: Uint8Array } {
  const a = parseAddress(address);
  const key = new Uint8Array(20);
  key[0] = a.family;
  key.set(a.bytes, 4);
  if (!Number.isInteger(endpointId) || endpointId < 1 || endpointId > 0xffff) {
    throw new DatapathError('bad-entry', `endpoint id ${endpointId} is not 1..65535`);
  }
  const value = new Uint8Array(8);
  const v = new DataView(value.buffer);
  v.setUint16(0, endpointId, true);
  v.setUint16(2, audit ? ABI.PALISADE_ENDPOINT_AUDIT : 0, true);
  v.setUint32(4, checkUint('ifindex', ifindex, 0xffffffff), true);
  return { key, value };
}

// ───────── policy ─────────

/** Bits of policy_key before protocol: gen, direction, endpoint_id, identity. */
export const POLICY_FIXED_BITS = 64;

/**
 * The LPM prefix length of a policy entry: 64 for a protocol wildcard, else 80 + portPrefixLen (protocol and the
 * always-zero pad byte, then the port bits) — the same numbers as the compiler's mirror (l4-prefix.ts).
 */
export function policyPrefixLen(e: Pick<PolicyEntry, 'protocol' | 'portPrefixLen'>): number {
  if (e.protocol === 0) return POLICY_FIXED_BITS;
  return POLICY_FIXED_BITS + 16 + e.portPrefixLen;
}

/**
 * Encode one policy entry of generation `gen` as (key, value).
 * @throws DatapathError `bad-entry` when a field is out of range, a protocol wildcard carries a port, or port bits
 *         below the prefix are set (the LPM trie would silently merge such entries).
 */
export function encodePolicyEntry(gen: Generation, e: PolicyEntry): { key: Uint8Array; value: Uint8Array } {
  checkUint('endpointId', e.endpointId, 0xffff);
  if (e.endpointId === 0) throw new DatapathError('bad-entry', 'policy entry endpointId 0 (ids are 1..65535)');
  if (e.direction !== 'ingress' && e.direction !== 'egress') throw new DatapathError('bad-entry', `direction ${String(e.direction)}`);
  checkUint('identity', e.identity, 0xffffffff);
  checkUint('protocol', e.protocol, 255);
  checkUint('port', e.port, 0xffff);
  checkUint('portPrefixLen', e.portPrefixLen, 16);
  checkUint('ruleId', e.ruleId, 0xffffffff);
  if (e.protocol === 0 && (e.port !== 0 || e.portPrefixLen !== 0)) {
    throw new DatapathError('bad-entry', `rule ${e.ruleId}: a protocol wildcard cannot carry a port (${e.port}/${e.portPrefixLen})`);
  }
  const mask = e.portPrefixLen === 0 ? 0 : (0xffff << (16 - e.portPrefixLen)) & 0xffff;
  if ((e.port & ~mask & 0xffff) !== 0) {
    throw new DatapathError('bad-entry', `rule ${e.ruleId}: port ${e.port} has bits below its /${e.portPrefixLen} prefix`);
  }
  const prefixLen = policyPrefixLen(e);
  const key = new Uint8Array(16);
  const kv = new DataView(key.buffer);
  kv.setUint32(0, prefixLen, true);
  key[4] = checkGen(gen);
  key[5] = directionCode(e.direction);
  kv.setUint16(6, e.endpointId, false); // network order: LPM bit order = field order
  kv.setUint32(8, e.identity, false);
  key[12] = e.protocol;
  kv.setUint16(14, e.port, false);
  const value = new Uint8Array(8);
  const vv = new DataView(value.buffer);
  value[0] = (e.deny ? ABI.PALISADE_POLICY_DENY : 0) | (e.proxy ? ABI.PALISADE_POLICY_PROXY : 0);
  value[1] = prefixLen;
  vv.setUint32(4, e.ruleId, true);
  return { key, value };
}

/** The generation byte of an encoded policy key. */
export function policyKeyGen(key: Uint8Array): number {
  return key[4] as number;
}

// ───────── counters ─────────

/** Encode nothing: counters are written only by the datapath. Decode a key and the per-CPU values, summed. */
export function decodeCounter(key: Uint8Array, perCpuValues: Uint8Array): CounterRow {
  const kv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const vv = new DataView(perCpuValues.buffer, perCpuValues.byteOffset, perCpuValues.byteLength);
  let packets = 0n;
  let bytes = 0n;
  for (let off = 0; off + 16 <= perCpuValues.length; off += 16) {
    packets += vv.getBigUint64(off, true);
    bytes += vv.getBigUint64(off + 8, true);
  }
  return {
    endpointId: kv.getUint16(0, true),
    direction: directionName(key[2] as number),
    verdict: verdictName(key[3] as number),
    gen: ((key[4] as number) & 1) as Generation,
    packets: Number(packets),
    bytes: Number(bytes),
  };
}

// ───────── events ─────────

/**
 * Decode one ring-buffer record (`struct verdict_event`).
 * @throws DatapathError `bad-entry` when the record is shorter than the struct.
 */
export function decodeVerdictEvent(b: Uint8Array): VerdictEvent {
  if (b.length < 72) throw new DatapathError('bad-entry', `verdict event of ${b.length} bytes (want 72)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = b[24] === 6 ? 6 : 4;
  const addr = (off: number) => formatAddress(family, b.subarray(off, off + (family === 4 ? 4 : 16)));
  return {
    tsNs: v.getBigUint64(0, true),
    srcIdentity: v.getUint32(8, true),
    dstIdentity: v.getUint32(12, true),
    ruleId: v.getUint32(16, true),
    endpointId: v.getUint16(20, true),
    dropReason: dropReasonName(v.getUint16(22, true)),
    family,
    direction: directionName(b[25] as number),
    verdict: verdictName(b[26] as number),
    protocol: b[27] as number,
    gen: ((b[28] as number) & 1) as Generation,
    icmpType: b[29] as number,
    icmpCode: b[30] as number,
    saddr: addr(32),
    daddr: addr(48),
    sport: v.getUint16(64, false),
    dport: v.getUint16(66, false),
    pktLen: v.getUint32(68, true),
  };
}
