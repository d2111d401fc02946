/**
 * A small reader for the .BTF section of a BPF ELF object: finds the section, parses the type table and answers
 * "what is the size and member layout of struct X" — enough to check the TypeScript ABI mirror against the object.
 * Bounded: refuses sections or type tables that run past the file.
 */
import { BadObjectError } from './errors.js';

/** A struct member as BTF records it. Offsets and sizes in bytes (bitfields report bitSize instead). */
export interface BtfMember {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** Set for a bitfield member. */
  readonly bitSize?: number;
}

/** A struct (or union) as BTF records it. */
export interface BtfStruct {
  readonly name: string;
  readonly size: number;
  readonly members: readonly BtfMember[];
}

const BTF_MAGIC = 0xeb9f;
const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

interface RawType {
  kind: number;
  name: string;
  vlen: number;
  kindFlag: boolean;
  sizeOrType: number;
  /** Offset of the kind-specific data that follows the common header. */
  extra: number;
}

/** Find the bytes of section `name` in a little-endian ELF64 file. */
function elfSection(file: Uint8Array, name: string, path: string): Uint8Array {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 64 || v.getUint32(0) !== 0x7f454c46) throw new BadObjectError(path, 'not an ELF file');
  if (file[4] !== 2 || file[5] !== 1) throw new BadObjectError(path, 'not a little-endian ELF64 object');
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  if (shentsize < 64 || shoff + shnum * shentsize > file.length || shstrndx >= shnum) throw new BadObjectError(path, 'truncated ELF section table');
  const sec = (i: number) => {
    const base = shoff + i * shentsize;
    return { nameOff: v.getUint32(base, true), offset: Number(v.getBigUint64(base + 0x18, true)), size: Number(v.getBigUint64(base + 0x20, true)) };
  };
  const strtab = sec(shstrndx);
  if (strtab.offset + strtab.size > file.length) throw new BadObjectError(path, 'truncated ELF string table');
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const start = strtab.offset + s.nameOff;
    let end = start;
    while (end < strtab.offset + strtab.size && file[end] !== 0) end++;
    if (Buffer.from(file.buffer, file.byteOffset + start, end - start).toString('latin1') !== name) continue;
    if (s.offset + s.size > file.length) throw new BadObjectError(path, `truncated ${name} section`);
    return file.subarray(s.offset, s.offset + s.size);
  }
  throw new BadObjectError(path, `no ${name} section (build with clang -g)`);
}

/** The parsed type table of one object. */
export class Btf {
  private readonly types: RawType[] = [{ kind: 0, name: '', vlen: 0, kindFlag: false, sizeOrType: 0, extra: 0 }]; // id 0 = void
  private readonly data: DataView;

  /**
   * Parse the .BTF section of the ELF object in `file`.
   * @throws BadObjectError when the file is no ELF64 LE object, has no .BTF, or its BTF is malformed.
   */
  constructor(file: Uint8Array, path: string) {
    const sec = elfSection(file, '.BTF', path);
    const v = new DataView(sec.buffer, sec.byteOffset, sec.byteLength);
    if (sec.length < 24 || v.getUint16(0, true) !== BTF_MAGIC) throw new BadObjectError(path, '.BTF has no BTF header');
    const hdrLen = v.getUint32(4, true);
    const typeOff = hdrLen + v.getUint32(8, true);
    const typeLen = v.getUint32(12, true);
    const strOff = hdrLen + v.getUint32(16, true);
    const strLen = v.getUint32(20, true);
    if (typeOff + typeLen > sec.length || strOff + strLen > sec.length) throw new BadObjectError(path, 'BTF tables run past the section');
    this.data = v;
    const str = (off: number): string => {
      if (off >= strLen) throw new BadObjectError(path, 'BTF string offset out of range');
      let end = strOff + off;
      while (end < strOff + strLen && sec[end] !== 0) end++;
      return Buffer.from(sec.buffer, sec.byteOffset + strOff + off, end - strOff - off).toString('utf8');
    };
    let p = typeOff;
    const endTypes = typeOff + typeLen;
    while (p < endTypes) {
      if (p + 12 > endTypes) throw new BadObjectError(path, 'truncated BTF type');
      const info = v.getUint32(p + 4, true);
      const t: RawType = {
        name: str(v.getUint32(p, true)),
        vlen: info & 0xffff,
        kind: (info >>> 24) & 0x1f,
        kindFlag: info >>> 31 === 1,
        sizeOrType: v.getUint32(p + 8, true),
        extra: p + 12,
      };
      p += 12 + Btf.extraSize(t, path);
      this.types.push(t);
    }
    if (p !== endTypes) throw new BadObjectError(path, 'BTF type table length mismatch');
  }

  private static extraSize(t: RawType, path: string): number {
    switch (t.kind) {
      case KIND.INT: case KIND.VAR: case KIND.DECL_TAG: return 4;
      case KIND.ARRAY: return 12;
      case KIND.STRUCT: case KIND.UNION: case KIND.DATASEC: case KIND.ENUM64: return 12 * t.vlen;
      case KIND.ENUM: case KIND.FUNC_PROTO: return 8 * t.vlen;
      case KIND.PTR: case KIND.FWD: case KIND.TYPEDEF: case KIND.VOLATILE: case KIND.CONST: case KIND.RESTRICT:
      case KIND.FUNC: case KIND.FLOAT: case KIND.TYPE_TAG: return 0;
      default: throw new BadObjectError(path, `unknown BTF kind ${t.kind}`);
    }
  }

  /** Size in bytes of type `id`, following typedefs and qualifiers. */
  sizeOf(id: number, depth = 0): number {
    const t = this.types[id];
    if (!t || depth > 32) return -1;
    switch (t.kind) {
      case KIND.INT: case KIND.STRUCT: case KIND.UNION: case KIND.ENUM: case KIND.ENUM64: case KIND.FLOAT: case KIND.DATASEC:
        return t.sizeOrType;
      case KIND.PTR: return 8;
      case KIND.TYPEDEF: case KIND.VOLATILE: case KIND.CONST: case KIND.RESTRICT: case KIND.TYPE_TAG:
        return this.sizeOf(t.sizeOrType, depth + 1);
      case KIND.ARRAY: {
        const elem = this.data.getUint32(t.extra, true);
        const n = this.data.getUint32(t.extra + 8, true);
        return this.sizeOf(elem, depth + 1) * n;
      }
      default: return -1;
    }
  }

  /** The named struct, or undefined when the object's BTF has none by that name. */
  struct(name: string): BtfStruct | undefined {
    const t = this.types.find((x) => x.kind === KIND.STRUCT && x.name === name);
    if (!t) return undefined;
    const members: BtfMember[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const base = t.extra + i * 12;
      const nameOff = this.data.getUint32(base, true);
      const type = this.data.getUint32(base + 4, true);
      const raw = this.data.getUint32(base + 8, true);
      const bitOffset = t.kindFlag ? raw & 0xffffff : raw;
      const bitSize = t.kindFlag ? raw >>> 24 : 0;
      const memberName = this.stringAt(nameOff);
      const m: BtfMember = bitSize
        ? { name: memberName, offset: bitOffset / 8, size: this.sizeOf(type), bitSize }
        : { name: memberName, offset: bitOffset / 8, size: this.sizeOf(type) };
      members.push(m);
    }
    return { name, size: t.sizeOrType, members };
  }

  private stringAt(off: number): string {
    // Member names come from the same string table; reuse the parsed type names' table through a scan.
    const v = this.data;
    const hdrLen = v.getUint32(4, true);
    const strOff = hdrLen + v.getUint32(16, true);
    const strLen = v.getUint32(20, true);
    if (off >= strLen) return '';
    let end = strOff + off;
    while (end < strOff + strLen && v.getUint8(end) !== 0) end++;
    return Buffer.from(v.buffer, v.byteOffset + strOff + off, end - strOff - off).toString('utf8');
  }
}
