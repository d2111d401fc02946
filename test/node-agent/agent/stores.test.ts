/**
 * The agent pulls through the same store clients `palisade publish` writes with: a bundle published to an OCI
 * registry (the real distribution registry on 127.0.0.1) and to a `palisade serve` HTTP store is applied end to end
 * on the table-lookup datapath.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { applyBundle } from '../../../node-agent/agent/apply.js';
import { TableDatapath } from '../../../node-agent/agent/table-datapath.js';
import { openStore } from '../../../pipeline/stores/index.js';
import { startRegistry, startServe, type ServeProcess } from '../../stores/helpers.js';
import { KEY, bundleOf, deps, freshState, scratch } from './fixtures.js';

let registry: { host: string; stop(): Promise<void> };
let serve: ServeProcess;
const s = scratch();

beforeAll(async () => {
  registry = await startRegistry();
  serve = await startServe(`${s.dir}/served`);
});
afterAll(async () => {
  await registry?.stop();
  await serve?.stop();
  s.remove();
});

test.each([
  // [store, where the publisher writes, where the agent reads]
  ['oci://', () => `oci://${registry.host}/palisade/bundles`, () => `oci://${registry.host}/palisade/bundles`],
  ['http:// (palisade serve over a directory)', () => `${s.dir}/served`, () => serve.url],
])('a bundle published to an %s store is fetched, verified and committed', async (_name, publishTo, readFrom) => {
  const desc = await openStore(publishTo()).publish({ serial: 1, bytes: bundleOf(1, [KEY]) });
  const store = openStore(readFrom());
  // palisade serve notices the directory's new latest on its next poll.
  let latest = await store.latest();
  while (latest === undefined) {
    await new Promise((r) => setTimeout(r, 50));
    latest = await store.latest();
  }
  const dp = new TableDatapath();
  const r = await applyBundle({ ...deps(s, dp).deps, store }, freshState(), latest);
  expect(r.outcome).toMatchObject({ kind: 'committed', record: { serial: 1, bundleDigest: desc.digest } });
  expect(dp.serial).toBe(1);
});
