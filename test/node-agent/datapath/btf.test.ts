/** The BTF reader refuses what is not a BPF object with BTF, with a reason, and never reads past the file. */
import { describe, expect, test } from 'vitest';
import { Btf } from '../../../node-agent/datapath/btf.js';
import { BadObjectError } from '../../../node-agent/datapath/errors.js';

function elfWith(sections: { name: string; data: Uint8Array }[]): Uint8Array {
  // Minimal ELF64 LE: header, section data, .shstrtab, section headers (null + each + shstrtab).
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const strtab = Buffer.from(names.join('\0') + '\0');
  const nameOff = names.map((_, i) => names.slice(0, i).reduce((n, s) => n + s.length + 1, 0));
  let off = 64;
  const placed = sections.map((s) => {
    const at = off;
    off += s.data.length;
    return at;
  });
  const strAt = off;
  off += strtab.length;
  const shoff = off;
  const shnum = names.length;
  const out = new Uint8Array(shoff + shnum * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, shnum, true);
  v.setUint16(0x3e, shnum - 1, true);
  sections.forEach((s, i) => {
    out.set(s.data, placed[i] as number);
    const base = shoff + (i + 1) * 64;
    v.setUint32(base, nameOff[i + 1] as number, true);
    v.setBigUint64(base + 0x18, BigInt(placed[i] as number), true);
    v.setBigUint64(base + 0x20, BigInt(s.data.length), true);
  });
  out.set(strtab, strAt);
  const sb = shoff + (shnum - 1) * 64;
  v.setUint32(sb, nameOff[shnum - 1] as number, true);
  v.setBigUint64(sb + 0x18, BigInt(strAt), true);
  v.setBigUint64(sb + 0x20, BigInt(strtab.length), true);
  return out;
}

/** A BTF blob with one `struct s { int a; char b[3]; }` (int a at 0, b at 4, size 8). */
function btfBlob(): Uint8Array {
  const strings = Buffer.from('\0int\0char\0s\0a\0b\0');
  const types: number[] = [];
  const u32 = (...xs: number[]) => types.push(...xs);
  u32(1, (1 << 24) | 0, 4, 32); // [1] INT 'int' size 4, 32 bits
  u32(5, (1 << 24) | 0, 1, 8); // [2] INT 'char' size 1
  u32(0, 3 << 24, 0, 2, 2, 3); // [3] ARRAY of [2], index [1], 3 elements
  u32(10, (4 << 24) | 2, 8, 12, 1, 0, 14, 3, 32); // [4] STRUCT 's' size 8: a:int@0, b:[3]@32 bits
  const typeBytes = new Uint8Array(new Uint32Array(types).buffer);
  const hdr = new Uint8Array(24);
  const v = new DataView(hdr.buffer);
  v.setUint16(0, 0xeb9f, true);
  hdr[2] = 1;
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeBytes.length, true);
  v.setUint32(16, typeBytes.length, true);
  v.setUint32(20, strings.length, true);
  const out = new Uint8Array(24 + typeBytes.length + strings.length);
  out.set(hdr);
  out.set(typeBytes, 24);
  out.set(strings, 24 + typeBytes.length);
  return out;
}

describe('Btf', () => {
  test('reads struct sizes, member offsets and member sizes (arrays included)', () => {
    const btf = new Btf(elfWith([{ name: '.BTF', data: btfBlob() }]), 'x.o');
    expect(btf.struct('s')).toEqual({ name: 's', size: 8, members: [{ name: 'a', offset: 0, size: 4 }, { name: 'b', offset: 4, size: 3 }] });
    expect(btf.struct('missing')).toBeUndefined();
  });

  test('refuses non-ELF files, objects without .BTF, and BTF that runs past its section', () => {
    expect(() => new Btf(new Uint8Array(100), 'a.o')).toThrow(BadObjectError);
    expect(() => new Btf(new Uint8Array(100), 'a.o')).toThrow(/a.o: not an ELF file/);
    expect(() => new Btf(elfWith([{ name: '.text', data: new Uint8Array(8) }]), 'b.o')).toThrow(/no .BTF section \(build with clang -g\)/);
    const blob = btfBlob();
    new DataView(blob.buffer).setUint32(12, 4000, true);
    expect(() => new Btf(elfWith([{ name: '.BTF', data: blob }]), 'c.o')).toThrow(/run past the section/);
    const truncated = elfWith([{ name: '.BTF', data: btfBlob() }]).subarray(0, 120);
    expect(() => new Btf(truncated, 'd.o')).toThrow(BadObjectError);
  });
});
