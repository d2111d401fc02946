/**
 * The pull-request check shown in policy-repo-template/README.md is what this code produces: the template's own
 * repository, a pull request that moves redis to port 6380, and onPullRequest's check and comment, rendered here and
 * compared with the README (run with PALISADE_UPDATE_EXAMPLES=1 to rewrite the section after a deliberate change).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { onPullRequest } from '../../pipeline/handlers/index.js';
import { PolicyRepo, ROOT } from '../handlers/policy-repo.js';

const README = join(ROOT, 'policy-repo-template/README.md');
const START = '<!-- palisade-example:start -->';
const END = '<!-- palisade-example:end -->';
let repo: PolicyRepo | undefined;
afterAll(() => repo?.destroy());

it("the template README's example check is this code's output", async () => {
  repo = new PolicyRepo('palisade-example-', true);
  repo.onBranch('move-redis-port', 'main', () => repo!.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  const r = await onPullRequest({ repo: repo.dir, base: 'main', head: 'move-redis-port' });
  const annotations = r.annotations.map((a) => `${a.path}:${a.line} (${a.level}) ${a.title}\n${a.message}`).join('\n\n');
  const section = [
    START,
    '',
    `A pull request that changes redis' port from 6379 to 6380 (\`policies/data/redis.yaml\`) gets a check run with`,
    `conclusion **${r.conclusion}** and the title "${r.title}", this annotation in the diff view:`,
    '',
    '```text',
    annotations,
    '```',
    '',
    'and this comment (updated in place on every push):',
    '',
    '````markdown',
    r.comment.trimEnd(),
    '````',
    '',
    END,
  ].join('\n');
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(START);
  const end = text.indexOf(END);
  expect(at).toBeGreaterThan(0);
  const current = text.slice(at, end + END.length);
  if (process.env.PALISADE_UPDATE_EXAMPLES === '1') writeFileSync(README, text.slice(0, at) + section + text.slice(end + END.length));
  else expect(current).toBe(section);
}, 60_000);
