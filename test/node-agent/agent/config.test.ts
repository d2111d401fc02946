/**
 * The agent config file and its health checks: a command (exit status, timeout) and a URL (2xx) against a real local
 * HTTP server; bad files named with the field.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { healthCheck, readAgentConfig } from '../../../node-agent/agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'pld-agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, value: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
};

test('a health command is healthy on exit 0, and says why not otherwise (including a timeout)', async () => {
  const ok = healthCheck(readAgentConfig(file('ok.json', { health: { command: ['true'] } })))!;
  expect(await ok()).toBeNull();
  const failing = healthCheck(readAgentConfig(file('fail.json', { health: { command: ['sh', '-c', 'exit 3'] } })))!;
  expect(await failing()).toBe('sh exited with 3');
  const slow = healthCheck(readAgentConfig(file('slow.json', { health: { command: ['sleep', '5'], timeoutSeconds: 0.2 } })))!;
  expect(await slow()).toBe('sleep timed out');
});

test('a health URL is healthy on 2xx only; the answer\'s first line says why, bounded and escaped', async () => {
  let status = 200;
  let body = 'x';
  const server = createServer((_req, res) => res.writeHead(status).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const check = healthCheck(readAgentConfig(file('url.json', { health: { url: `http://127.0.0.1:${port}/healthz` } })))!;
    expect(await check()).toBeNull();
    status = 503;
    body = 'failing: shop/api → data/db TCP/5432\nsecond line';
    expect(await check()).toBe(`HTTP 503 from http://127.0.0.1:${port}/healthz: failing: shop/api → data/db TCP/5432`);
    body = `\x1b[31m${'y'.repeat(100_000)}`;
    const long = (await check())!;
    expect(long).toMatch(/^HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/healthz: \\x1b\[31my+$/);
    expect(long.length).toBeLessThan(400);
    body = '';
    expect(await check()).toBe(`HTTP 503 from http://127.0.0.1:${port}/healthz`);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('bad config files are named with the field; bake settings parse', () => {
  expect(readAgentConfig(file('bake.json', { bake: { maxPolicyDrops: 10, intervalSeconds: 2 } }))).toEqual({ bake: { maxPolicyDrops: 10, intervalMs: 2000 } });
  const cases: [unknown, RegExp][] = [
    ['{', /bad1\.json: /],
    [{ health: { command: [] } }, /health\.command: expected a non-empty list of strings/],
    [{ health: { url: 'file:///etc/passwd' } }, /health\.url: expected an http\(s\) URL/],
    [{ health: {} }, /health: give a command or a url/],
    [{ bake: { maxPolicyDrops: -1 } }, /bake\.maxPolicyDrops: expected a whole number >= 0/],
    [{ other: 1 }, /unknown field 'other'/],
  ];
  cases.forEach(([v, re], i) => {
    expect(() => readAgentConfig(file(`bad${i + 1}.json`, v))).toThrow(re);
    expect(() => readAgentConfig(join(dir, `bad${i + 1}.json`))).toThrow(expect.objectContaining({ code: 'bad-config' }));
  });
});
