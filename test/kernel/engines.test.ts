/**
 * Three engines, one answer: the kernel engine (BPF_PROG_TEST_RUN on synthesized packets) agrees with the reference
 * evaluator and the tables engine on every flow of generated policies and recordings.
 */
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { createEngine as createKernelEngine } from '../../node-agent/engine/kernel-engine.js';
import { createEngine as createTablesEngine } from '../../pipeline/simulate/engines/tables.js';
import { arbAuditScope, arbFlows, arbModel, SERVICES } from '../compile/generators.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';
import { describeKernel, OBJECT_PATH, REPO } from './kernel-env.js';

// Per process: another run of the suite may be going on at the same time.
const PIN_DIR = `/sys/fs/bpf/pld-engines-${process.pid}`;
const SEEDS = [7, 2026, 31337];

describeKernel('kernel engine agrees with reference and tables', () => {
  test('without root, palisade simulate --engine kernel fails with one clear line', () => {
    const cli = join(REPO, 'bin', 'palisade');
    const tpl = join(REPO, 'policy-repo-template');
    const run = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'simulate', '--policies', join(tpl, 'policies'), '--flows', join(tpl, 'flows', 'recorded.json'), '--engine', 'kernel', '--format', 'jsonl'],
      { encoding: 'utf8', cwd: tmpdir() },
    );
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('palisade: kernel engine needs root and BPF: not running as root [not-supported]\n');
    expect(run.status).toBe(1);
  });

  test('a missing object or a pin directory in use is a clear error, and nothing is loaded', async () => {
    const m = { specs: [], skipped: {} };
    await expect(createKernelEngine(m, { objectPath: '/nonexistent/palisade.bpf.o', pinDir: PIN_DIR })).rejects.toThrow(
      /^kernel engine needs root and BPF: the BPF object \/nonexistent\/palisade\.bpf\.o is missing/,
    );
    const first = await createKernelEngine(m, { objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    try {
      await expect(createKernelEngine(m, { objectPath: OBJECT_PATH, pinDir: PIN_DIR })).rejects.toMatchObject({ code: 'pins-in-use' });
    } finally {
      await first.close();
      await first.close();
    }
    expect(existsSync(PIN_DIR) ? readdirSync(PIN_DIR) : []).toEqual([]);
  });

  for (const seed of SEEDS) {
    test(`generated policies and flows, seed ${seed}`, async () => {
      await fc.assert(
        fc.asyncProperty(arbModel(6), arbFlows(25), async (model, flows) => {
          const ref = referenceVerdicts(model, flows, SERVICES);
          const tab = await engineVerdicts(await createTablesEngine(model, { services: SERVICES }), flows);
          const ker = await engineVerdicts(await createKernelEngine(model, { objectPath: OBJECT_PATH, pinDir: PIN_DIR, readAhead: 5, services: SERVICES }), flows);
          for (const [name, other] of [['tables', tab], ['kernel', ker]] as const) {
            const diff = disagreements(flows, ref, other);
            if (diff.length > 0) {
              const d = diff[0]!;
              throw new Error(`${name}: flow ${d.flow.index} disagrees:\nflow ${JSON.stringify(d.flow)}\nreference ${JSON.stringify(d.reference)}\n${name} ${JSON.stringify(d.other)}`);
            }
          }
        }),
        { seed, numRuns: 40, endOnFailure: true },
      );
      // The engine removed its pins.
      expect(existsSync(PIN_DIR) ? readdirSync(PIN_DIR) : []).toEqual([]);
    }, 120_000);
  }

  test('audit: the kernel forwards what it would drop as AUDIT, exactly where the reference and tables say', async () => {
    let audited = 0;
    await fc.assert(
      fc.asyncProperty(arbModel(6), arbFlows(25), arbAuditScope, async (model, flows, audit) => {
        const ref = referenceVerdicts(model, flows, SERVICES, audit);
        const tab = await engineVerdicts(await createTablesEngine(model, { services: SERVICES, audit }), flows);
        const ker = await engineVerdicts(await createKernelEngine(model, { objectPath: OBJECT_PATH, pinDir: PIN_DIR, readAhead: 5, services: SERVICES, audit }), flows);
        for (const [name, other] of [['tables', tab], ['kernel', ker]] as const) {
          const diff = disagreements(flows, ref, other);
          if (diff.length > 0) {
            const d = diff[0]!;
            throw new Error(`${name} (audit ${JSON.stringify(audit)}): flow ${d.flow.index} disagrees:\nflow ${JSON.stringify(d.flow)}\nreference ${JSON.stringify(d.reference)}\n${name} ${JSON.stringify(d.other)}`);
          }
        }
        audited += ker.filter((v) => v.verdict === 'AUDIT').length;
      }),
      { seed: 4711, numRuns: 30, endOnFailure: true },
    );
    expect(audited).toBeGreaterThan(0);
    expect(existsSync(PIN_DIR) ? readdirSync(PIN_DIR) : []).toEqual([]);
  }, 120_000);
});
