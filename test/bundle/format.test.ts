/**
 * The format itself: reproducible bytes, canonical JSON, the ABI version mirrored from the C header, strict
 * manifests and the bounded reader G's stores use.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PALISADE_ABI_VERSION,
  assembleBundle,
  canonicalJson,
  parseManifest,
  parseProbeVectors,
  readBounded,
  verifyBundle,
  verifyBundleStream,
} from '../../pipeline/core/bundle/index.js';
import { REPO_ROOT, T0, components, manifestInput, newKey, trustOf } from './fixtures.js';

describe('bundle format', () => {
  it('reproducibility: the same inputs give the same bytes', () => {
    const a = assembleBundle(manifestInput(4), components(), []);
    const b = assembleBundle(manifestInput(4), [...components()].reverse(), []);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    // Signing adds signatures but leaves the manifest (the bundle's identity) and every component as they were.
    const k = newKey();
    const s = assembleBundle(manifestInput(4), components(), [k]);
    expect(s.manifestDigest).toBe(a.manifestDigest);
    expect(Buffer.from(s.bytes.subarray(s.bytes.length - 3000)).equals(Buffer.from(a.bytes.subarray(a.bytes.length - 3000)))).toBe(true);
    // Any input change changes the identity.
    expect(assembleBundle(manifestInput(5), components(), []).manifestDigest).not.toBe(a.manifestDigest);
  });

  it('canonical JSON sorts keys and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: undefined } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"z":1}}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow();
  });

  it('PALISADE_ABI_VERSION matches bpf/palisade_abi.h', () => {
    const header = readFileSync(`${REPO_ROOT}bpf/palisade_abi.h`, 'utf8');
    const m = /#define\s+PALISADE_ABI_VERSION\s+(\d+)/.exec(header);
    expect(Number(m?.[1])).toBe(PALISADE_ABI_VERSION);
  });

  it('manifests are read strictly', () => {
    const good = assembleBundle(manifestInput(1), components(), []).manifest;
    expect(parseManifest(JSON.parse(JSON.stringify(good)))).toEqual(good);
    for (const bad of [
      { ...good, extra: 1 },
      { ...good, serial: -1 },
      { ...good, expiresAt: good.createdAt },
      { ...good, components: good.components.slice(1) },
      { ...good, components: [...good.components].reverse() },
    ]) {
      expect(() => parseManifest(bad)).toThrow(expect.objectContaining({ code: 'bundle-malformed' }));
    }
  });

  it('an unsigned bundle verifies structurally but fails the threshold', async () => {
    const file = assembleBundle(manifestInput(1), components(), []).bytes;
    await expect(verifyBundle(file, { trust: trustOf([newKey()], 1), now: T0 })).rejects.toMatchObject({ code: 'bundle-threshold' });
  });

  it('readBounded stops endless sources and reports short ones', async () => {
    let stopped = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield new Uint8Array(1000);
      } finally {
        stopped = true;
      }
    }
    await expect(readBounded(endless(), { maxBytes: 10_000 })).rejects.toMatchObject({ code: 'bundle-oversize' });
    expect(stopped).toBe(true);
    await expect(readBounded([new Uint8Array(10)], { expectedSize: 11 })).rejects.toMatchObject({ code: 'bundle-truncated' });
    await expect(readBounded([new Uint8Array(12)], { expectedSize: 11 })).rejects.toMatchObject({ code: 'bundle-oversize' });
    // An announced size over the limit is refused before anything is pulled, and the source is told to stop.
    stopped = false;
    await expect(readBounded(endless(), { maxBytes: 10, expectedSize: 11 })).rejects.toMatchObject({ code: 'bundle-oversize' });
    const parts = [new Uint8Array([1, 2]), new Uint8Array([3])];
    expect([...(await readBounded(parts, { expectedSize: 3 }))]).toEqual([1, 2, 3]);
  });

  it('verifies a bundle arriving in small chunks', async () => {
    const k = newKey();
    const file = assembleBundle(manifestInput(1), components(), [k]).bytes;
    const chunks = Array.from({ length: Math.ceil(file.length / 333) }, (_, i) => file.subarray(i * 333, (i + 1) * 333));
    const v = await verifyBundle(file, { trust: trustOf([k], 1), now: T0 });
    const w = await verifyBundleStream(chunks, { trust: trustOf([k], 1), now: T0, expectedSize: file.length });
    expect(w.manifestDigest).toBe(v.manifestDigest);
    expect(w.size).toBe(file.length);
    expect(Buffer.from(w.components.get('palisade.bpf.o')!).equals(Buffer.from(components()[1]!.bytes))).toBe(true);
  });

  it('probe vectors are read back strictly', () => {
    const line = (i: number) => JSON.stringify({ flow: { index: i }, verdict: { index: i, verdict: 'DROPPED' }, origin: 'recorded' });
    expect(parseProbeVectors(new TextEncoder().encode(`${line(0)}\n${line(1)}\n`))).toHaveLength(2);
    expect(() => parseProbeVectors(new TextEncoder().encode(`${line(0)}\n${line(5)}\n`))).toThrow(/probes\.jsonl:2:/);
    expect(() => parseProbeVectors(new TextEncoder().encode('{oops\n'))).toThrow(/probes\.jsonl:1: not JSON/);
    expect(() => parseProbeVectors(new TextEncoder().encode(`${line(0)}\n${line(1)}\n`), 1)).toThrow(/more than 1/);
  });
});
