import { describe, expect, it } from 'vitest';
import { permissionFor, redact, retryDecision } from '../../pipeline/github/index.js';

const at = (status: number | undefined, headers: Record<string, string> = {}, retry = 0) => retryDecision({ status, headers, retry, nowMs: 1_700_000_000_000 });

describe('retryDecision', () => {
  it('waits what GitHub says on rate limits', () => {
    expect(at(429, { 'retry-after': '7' })).toEqual({ delayMs: 7000, rateLimited: true });
    expect(at(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_700_000_030) })).toEqual({ delayMs: 31_000, rateLimited: true });
    expect(at(403, { 'retry-after': '2' })).toEqual({ delayMs: 2000, rateLimited: true });
    // A secondary limit may come with neither header: GitHub's advice is to wait a minute.
    const secondary = retryDecision({ status: 403, headers: {}, retry: 0, nowMs: 0, message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' });
    expect(secondary).toEqual({ delayMs: 60_000, rateLimited: true });
    expect(retryDecision({ status: 403, headers: {}, retry: 0, nowMs: 0, message: 'Resource not accessible by integration' })).toEqual({ delayMs: null, rateLimited: false });
  });
  it('backs off exponentially on 5xx and network errors, then gives up', () => {
    expect([0, 1, 2, 3].map((r) => at(502, {}, r).delayMs)).toEqual([500, 1000, 2000, 4000]);
    expect(at(undefined, {}, 0).delayMs).toBe(500);
    expect(at(503, {}, 4).delayMs).toBeNull();
  });
  it('does not retry refusals, nor waits longer than a minute', () => {
    for (const s of [400, 401, 403, 404, 422]) expect(at(s).delayMs).toBeNull();
    expect(at(429, { 'retry-after': '3600' })).toEqual({ delayMs: null, rateLimited: true });
  });
});

describe('messages', () => {
  it('names the permission of each endpoint Palisade calls', () => {
    expect(permissionFor('POST', '/repos/a/b/check-runs')).toBe('checks: write');
    expect(permissionFor('PATCH', '/repos/a/b/check-runs/5')).toBe('checks: write');
    expect(permissionFor('PATCH', '/repos/a/b/issues/comments/9')).toBe('pull-requests: write');
    expect(permissionFor('POST', '/repos/a/b/issues/3/comments')).toBe('pull-requests: write');
    expect(permissionFor('GET', '/repos/a/b/issues/3/comments?page=2')).toBe('pull-requests: read');
  });
  it('redacts tokens of every GitHub shape and bearer credentials', () => {
    expect(redact('x ghp_abcdefghijklmnopqrstuvwxyz0123 y')).toBe('x [redacted] y');
    expect(redact('github_pat_11ABCDEFG0123456789_abcdefghijklmnop')).toBe('[redacted]');
    expect(redact('Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig')).toBe('Authorization: Bearer [redacted]');
    expect(redact('my secret-token-123 here', 'secret-token-123')).toBe('my [redacted] here');
  });
});
