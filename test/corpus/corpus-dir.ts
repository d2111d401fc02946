/** Locates the shared real-world corpus (../shared/corpus from the repository root) for corpus tests. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CORPUS_CILIUM = path.resolve(REPO_ROOT, '..', 'shared', 'corpus', 'cilium');

/** True when the corpus is present. Under CI it must be: callers fail instead of skipping. */
export function corpusAvailable(): boolean {
  return existsSync(CORPUS_CILIUM);
}

/** Every .yaml/.yml/.json file under `dir`, sorted, as paths relative to `dir`. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...listFiles(dir, r));
    else if (/\.(ya?ml|json)$/.test(name)) out.push(r);
  }
  return out;
}
