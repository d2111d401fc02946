/**
 * Property: no mutation of a good bundle file (byte flips, cuts, insertions, appended data, chunking) makes the
 * gate accept different content or fail with anything but a BundleError. Either it is rejected with a stable code,
 * or what is accepted is exactly the original manifest and components. Saved seed, so failures reproduce.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleError, verifyBundleStream } from '../../pipeline/core/bundle/index.js';
import { T0, bundle, newKey, trustOf } from './fixtures.js';

const key = newKey();
const trust = trustOf([key], 1);
const good = bundle(1, [key]);
const now = new Date(T0.getTime() + 3600_000);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'append'; bytes: Uint8Array };

function apply(m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const c = new Uint8Array(good);
      c[m.at] = c[m.at]! ^ (1 << m.bit);
      return c;
    }
    case 'cut':
      return good.subarray(0, m.at);
    case 'insert':
      return new Uint8Array([...good.subarray(0, m.at), ...m.bytes, ...good.subarray(m.at)]);
    case 'append':
      return new Uint8Array([...good, ...m.bytes]);
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Flips weighted towards the manifest and signatures, where the parsing is.
  fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: 6000 }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: good.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: good.length - 1 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.integer({ min: 0, max: good.length }), bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 1024 }) }),
);

describe('bundle gate under mutation', () => {
  it('rejects with a BundleError or accepts exactly the original content', async () => {
    const original = await verifyBundleStream([good], { trust, now });
    await fc.assert(
      fc.asyncProperty(mutation, fc.integer({ min: 1, max: 4096 }), async (m, chunk) => {
        const bytes = apply(m);
        const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk));
        try {
          const v = await verifyBundleStream(chunks, { trust, now });
          expect(v.manifestDigest).toBe(original.manifestDigest);
          for (const [name, b] of original.components) expect(Buffer.from(v.components.get(name)!).equals(Buffer.from(b))).toBe(true);
        } catch (e) {
          if (!(e instanceof BundleError)) throw e;
        }
      }),
      { seed: 20261128, numRuns: 400 },
    );
  });
});
