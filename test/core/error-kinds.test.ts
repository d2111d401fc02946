/**
 * One convention for errors: codes are dashed words (never dotted), every error has a kind, and the CLI's exit code
 * comes from the kind alone.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../pipeline/cli/main.js';
import { InputError, IO_ERROR_CODES, NotSupportedError, PalisadeError, UsageError } from '../../pipeline/core/errors.js';
import { BundleError } from '../../pipeline/core/bundle/errors.js';
import { StoreError } from '../../pipeline/stores/errors.js';
import { FlowInputError } from '../../pipeline/flows/errors.js';
import { SimulateError } from '../../pipeline/simulate/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('error kinds and exit codes', () => {
  it.each([
    [new UsageError('bad flag'), 'usage', 2],
    [new InputError('io-unreadable', 'x: ENOENT'), 'io', 2],
    [new InputError('bundle-build-no-policies', 'no policies'), 'input', 1],
    [new StoreError('store-conflict', 'lost'), 'failure', 1],
    [new BundleError('bundle-expired', 'expired'), 'failure', 1],
    [new NotSupportedError('bpf', 'no BPF'), 'failure', 1],
    [new SimulateError('simulate-engine-unavailable', 'no engine'), 'failure', 1],
  ] as [PalisadeError, string, number][])('%s → %s → exit %i', (err, kind, exit) => {
    expect(err.kind).toBe(kind);
    expect(exitCodeOf(err)).toBe(exit);
  });

  it('every I/O code makes an io-kind input error; a flow error about content is input', () => {
    for (const code of IO_ERROR_CODES) expect(new InputError(code, 'x').kind).toBe('io');
    expect(new FlowInputError('flows-invalid-json', 'bad line', { file: 'f', line: 1, col: 1 }).kind).toBe('input');
  });

  it('no error code in the source is dotted: one separator everywhere', () => {
    const dotted: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const m of text.matchAll(/(?:Error|super)\(\s*'([a-z]+\.[a-z.-]+)'/g)) dotted.push(`${path}: ${m[1]}`);
        }
      }
    };
    walk(join(ROOT, 'pipeline'));
    walk(join(ROOT, 'node-agent'));
    expect(dotted).toEqual([]);
  });
});
