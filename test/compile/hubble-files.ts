/** The real Hubble recordings of the corpus and the bookinfo policy set the engine tests judge them under. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './netpol-run.js';

export const HUBBLE = join(REPO, '..', 'shared', 'corpus', 'hubble');
export const HUBBLE_FILES = [
  ...readdirSync(join(HUBBLE, 'hubble-otel-testdata')).map((f) => join(HUBBLE, 'hubble-otel-testdata', f)),
  join(HUBBLE, 'cilium-docs-export-dropped-flows.jsonl'),
].sort();
export const BOOKINFO = join(REPO, 'test', 'compile', 'fixtures', 'bookinfo-policies.yaml');
