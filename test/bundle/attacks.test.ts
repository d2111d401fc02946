/**
 * One named test per attack on the agent's gate. Each builds a real hostile bundle file, checks that the gate
 * rejects it with its own code, exit code and reason, and that the gate's state is exactly what it was before.
 */
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_ERROR_EXIT,
  BundleError,
  BundleGate,
  PALISADE_ABI_VERSION,
  assembleBundle,
  createManifest,
  packBundle,
  signManifest,
  type BundleErrorCode,
  type ByteSource,
  type SigningKey,
  type TrustPolicy,
} from '../../pipeline/core/bundle/index.js';
import { T0, bundle, components, entryOffset, manifestInput, newKey, trustOf } from './fixtures.js';

const signer = newKey();
const trust1 = trustOf([signer], 1);

function gate(trust: TrustPolicy = trust1, minSerial = 0, now = new Date(T0.getTime() + 3600_000)): BundleGate {
  return new BundleGate({ trust, minSerial }, { clock: () => now });
}

/** Admits `source` expecting rejection with `code`; asserts the state did not change. Returns the message. */
async function expectRejected(g: BundleGate, source: ByteSource, code: BundleErrorCode, limits = {}): Promise<string> {
  const before = g.state;
  const snapshot = JSON.stringify({ ...before, trust: [...before.trust.keys.keys()] });
  const err = await g.admit(source, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BundleError);
  const be = err as BundleError;
  expect(be.code).toBe(code);
  expect(be.exitCode).toBe(BUNDLE_ERROR_EXIT[code]);
  expect(be.message).not.toContain('\n');
  expect(g.state).toBe(before);
  expect(JSON.stringify({ ...g.state, trust: [...g.state.trust.keys.keys()] })).toBe(snapshot);
  return be.message;
}

function flip(file: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(file);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

describe('bundle gate: attacks', () => {
  it('accepts a good bundle and records its serial', async () => {
    const g = gate();
    const v = await g.admit([bundle(7, [signer])]);
    expect(v.manifest.serial).toBe(7);
    expect(v.signers).toEqual([signer.keyId]);
    expect(g.state.minSerial).toBe(7);
    expect(g.state.minRollbackOf).toBe(7);
    expect(g.state.current?.manifestDigest).toBe(v.manifestDigest);
  });

  it('every rejection code has its own exit code', () => {
    const codes: number[] = Object.values(BUNDLE_ERROR_EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.every((c) => c !== 0 && c !== 1 && c !== 2 && c < 64)).toBe(true);
  });

  it('tampered component', async () => {
    const file = bundle(1, [signer]);
    const bpf = entryOffset(file, 'components/palisade.bpf.o');
    const msg = await expectRejected(gate(), [flip(file, bpf.data + 100)], 'bundle-component-mismatch');
    expect(msg).toMatch(/palisade\.bpf\.o.*digest/);
  });

  it('tampered manifest', async () => {
    const good = assembleBundle(manifestInput(1), components(), [signer]);
    const sigs = signManifest(good.manifest, [signer]);
    // Extend the expiry in manifest.json but keep the signatures over the original.
    const later = { ...good.manifest, expiresAt: '2036-01-01T00:00:00Z' };
    const comps = components();
    const file = packBundle(later, sigs, later.components.map((c) => ({ name: c.name, bytes: comps.find((x) => x.name === c.name)!.bytes }))).bytes;
    const msg = await expectRejected(gate(), [file], 'bundle-manifest-tampered');
    expect(msg).toContain('manifest.json');
  });

  it('tampered signed payload (bad signature)', async () => {
    const file = bundle(1, [signer]);
    const sig = entryOffset(file, `signatures/${signer.keyId}.sigstore.json`);
    const text = Buffer.from(file.subarray(sig.data, sig.data + sig.size)).toString('utf8');
    const env = JSON.parse(text) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(env.dsseEnvelope.payload, 'base64');
    payload[payload.indexOf('"serial":1') + 9] = '9'.charCodeAt(0);
    const forged = text.replace(env.dsseEnvelope.payload, payload.toString('base64'));
    expect(forged.length).toBe(text.length);
    const copy = new Uint8Array(file);
    copy.set(Buffer.from(forged, 'utf8'), sig.data);
    await expectRejected(gate(), [copy], 'bundle-bad-signature');
  });

  it('wrong key', async () => {
    // Signed by another key but claiming the trusted key's ID.
    const attacker = newKey();
    const m = createManifest(manifestInput(1), components());
    const [s] = signManifest(m, [attacker]);
    const impostor = {
      ...s!,
      verificationMaterial: { ...s!.verificationMaterial, publicKey: { hint: signer.keyId } },
      dsseEnvelope: { ...s!.dsseEnvelope, signatures: [{ ...s!.dsseEnvelope.signatures[0], keyid: signer.keyId }] as const },
    };
    const comps = components();
    const file = packBundle(m, [impostor], m.components.map((c) => ({ name: c.name, bytes: comps.find((x) => x.name === c.name)!.bytes }))).bytes;
    const msg = await expectRejected(gate(), [file], 'bundle-bad-signature');
    expect(msg).toContain(signer.keyId.slice(0, 12));
  });

  it('unknown key', async () => {
    const stranger = newKey();
    const msg = await expectRejected(gate(), [bundle(1, [stranger])], 'bundle-unknown-key');
    expect(msg).toContain(stranger.keyId.slice(0, 12));
  });

  it('below threshold', async () => {
    const keys: SigningKey[] = [newKey(), newKey(), newKey()];
    const g = gate(trustOf(keys, 2));
    const msg = await expectRejected(g, [bundle(1, [keys[0]!])], 'bundle-threshold');
    expect(msg).toMatch(/1 valid of 2/);
    await expectRejected(g, [bundle(1, [])], 'bundle-threshold');
    // Two of three pass; an extra signature by a stranger does not hurt.
    const v = await g.admit([bundle(1, [keys[0]!, keys[2]!, newKey()])]);
    expect(v.signers).toEqual([keys[0]!.keyId, keys[2]!.keyId].sort());
  });

  it('rollback: concurrent admits are judged in call order', async () => {
    const g = gate();
    const [six, five] = await Promise.allSettled([g.admit([bundle(6, [signer])]), g.admit([bundle(5, [signer])])]);
    expect(six.status).toBe('fulfilled');
    expect(five).toMatchObject({ status: 'rejected', reason: { code: 'bundle-rollback' } });
    expect(g.state.minSerial).toBe(6);
    expect(g.state.current?.serial).toBe(6);
  });

  it('rollback', async () => {
    const g = gate();
    await g.admit([bundle(5, [signer])]);
    await expectRejected(g, [bundle(4, [signer])], 'bundle-rollback');
    // A stale rollback (of serial 4, while 5 runs) is a rollback attack too.
    await expectRejected(g, [bundle(2, [signer], { rollbackOf: 4 })], 'bundle-rollback');
    // An explicit, signed rollback bundle of serial 5 is the only way back...
    await g.admit([bundle(3, [signer], { rollbackOf: 5 })]);
    expect(g.state.current?.serial).toBe(3);
    expect(g.state.minSerial).toBe(6);
    expect(g.state.minRollbackOf).toBe(5);
    // ...and the rolled-back serial stays refused, as does a stale rollback bundle.
    await expectRejected(g, [bundle(5, [signer])], 'bundle-rollback');
    await g.admit([bundle(9, [signer])]);
    await expectRejected(g, [bundle(2, [signer], { rollbackOf: 5 })], 'bundle-rollback');
    await expectRejected(g, [bundle(2, [signer], { rollbackOf: 8 })], 'bundle-rollback');
  });

  it('freeze (expired bundle)', async () => {
    const g = gate(trust1, 0, new Date(T0.getTime() + 25 * 3600_000));
    const msg = await expectRejected(g, [bundle(1, [signer])], 'bundle-expired');
    expect(msg).toContain('2026-11-29T10:00:00Z');
  });

  it('mix-and-match', async () => {
    const a = bundle(1, [signer], {}, 'a');
    const b = bundle(2, [signer], {}, 'b');
    // Take bundle b's (validly signed) policy model and put it into bundle a.
    const ea = entryOffset(a, 'components/policy-model.json');
    const eb = entryOffset(b, 'components/policy-model.json');
    expect(ea.size).toBe(eb.size);
    const mixed = new Uint8Array(a);
    mixed.set(b.subarray(eb.data, eb.data + eb.size), ea.data);
    const msg = await expectRejected(gate(), [mixed], 'bundle-component-mismatch');
    expect(msg).toContain('policy-model.json');
  });

  it('endless data', async () => {
    const file = bundle(1, [signer]);
    let pulled = 0;
    let stopped = false;
    // A server that keeps sending after the bundle ends, forever.
    function* endless(): Generator<Uint8Array> {
      try {
        yield file;
        for (;;) {
          pulled++;
          yield new Uint8Array(65536);
        }
      } finally {
        stopped = true;
      }
    }
    await expectRejected(gate(), endless(), 'bundle-oversize');
    expect(stopped).toBe(true);
    expect(pulled).toBeLessThan(3);
    // A component longer than the signed manifest says is refused before it is read.
    const m = createManifest(manifestInput(1), components());
    const comps = components();
    const padded = packBundle(m, signManifest(m, [signer]), m.components.map((c) => {
      const bytes = comps.find((x) => x.name === c.name)!.bytes;
      return { name: c.name, bytes: c.name === 'probes.jsonl' ? new Uint8Array([...bytes, ...new Uint8Array(100_000)]) : bytes };
    })).bytes;
    const msg = await expectRejected(gate(), [padded], 'bundle-oversize');
    expect(msg).toMatch(/probes\.jsonl.*larger than/);
    // More than the store announced, or than the hard limit.
    await expectRejected(gate(), [file], 'bundle-oversize', { expectedSize: file.length - 512 });
    await expectRejected(gate(), [file], 'bundle-oversize', { maxBytes: 4096 });
  });

  it('endless data: a stalled source is cut off by the caller\'s deadline', async () => {
    const file = bundle(1, [signer]);
    const deadline = new AbortController();
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield file.subarray(0, 1024);
      deadline.abort(new Error('deadline passed')); // the caller's timer firing while the source hangs
      await new Promise(() => undefined);
    }
    const msg = await expectRejected(gate(), stalled(), 'bundle-cancelled', { signal: deadline.signal });
    expect(msg).toContain('deadline passed');
  });

  it('truncated download', async () => {
    const file = bundle(1, [signer]);
    for (const cut of [100, 600, file.length - 2000, file.length - 1]) {
      await expectRejected(gate(), [file.subarray(0, cut)], 'bundle-truncated');
    }
    await expectRejected(gate(), [file], 'bundle-truncated', { expectedSize: file.length + 10 });
  });

  it('ABI mismatch', async () => {
    const msg = await expectRejected(gate(), [bundle(1, [signer], { abiVersion: PALISADE_ABI_VERSION + 1 })], 'bundle-abi-mismatch');
    expect(msg).toContain(`ABI v${PALISADE_ABI_VERSION + 1}`);
  });

  it('malformed envelope', async () => {
    const m = createManifest(manifestInput(1), components());
    const s = signManifest(m, [signer])[0]!;
    const broken = { ...s, dsseEnvelope: { ...s.dsseEnvelope, signatures: [] as unknown as typeof s.dsseEnvelope.signatures } };
    const comps = components();
    const file = packBundle(m, [broken], m.components.map((c) => ({ name: c.name, bytes: comps.find((x) => x.name === c.name)!.bytes }))).bytes;
    const msg = await expectRejected(gate(), [file], 'bundle-malformed');
    expect(msg).toContain('exactly one signature');
    await expectRejected(gate(), [new TextEncoder().encode('{"not":"a bundle"}'.padEnd(1024, ' '))], 'bundle-malformed');
  });

  it('a valid signature in a Sigstore bundle the writer would not write (extra member, other spelling)', async () => {
    const m = createManifest(manifestInput(1), components());
    const s = signManifest(m, [signer])[0]!;
    const comps = components();
    const parts = m.components.map((c) => ({ name: c.name, bytes: comps.find((x) => x.name === c.name)!.bytes }));
    const extra = { ...s, verificationMaterial: { ...s.verificationMaterial, tlogEntries: [] } } as typeof s;
    expect(await expectRejected(gate(), [packBundle(m, [extra], parts).bytes], 'bundle-malformed')).toContain('not in the form Palisade writes');
    const noKeyid = { ...s, dsseEnvelope: { ...s.dsseEnvelope, signatures: [{ sig: s.dsseEnvelope.signatures[0].sig }] } } as unknown as typeof s;
    expect(await expectRejected(gate(), [packBundle(m, [noKeyid], parts).bytes], 'bundle-malformed')).toContain('not in the form Palisade writes');
    // The signature as written passes.
    expect((await gate().admit([packBundle(m, [s], parts).bytes])).signers).toEqual([signer.keyId]);
  });
});
