/** Label-selector matching (apimachinery semantics plus Cilium's label sources) and label text helpers. */
import { describe, expect, it } from 'vitest';
import { formatLabel, parseLabel, parseSelectorKey } from '../../pipeline/core/model/labels.js';
import { matchesSelector } from '../../pipeline/core/model/selector-match.js';
import type { LabelRequirement, Selector } from '../../pipeline/core/model/types.js';

const sel = (...requirements: LabelRequirement[]): Selector => ({ requirements, pos: { file: 't', line: 1, col: 1 } });
const req = (source: string, key: string, operator: LabelRequirement['operator'], values: string[] = []): LabelRequirement => ({ source, key, operator, values });
const web = ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop', 'reserved:host'].map(parseLabel);

describe('matchesSelector', () => {
  it('matches everything with no requirements', () => {
    expect(matchesSelector(sel(), web)).toBe(true);
    expect(matchesSelector(sel(), [])).toBe(true);
  });
  it('ANDs requirements; In/Exists need the key', () => {
    expect(matchesSelector(sel(req('k8s', 'app', 'In', ['web', 'api'])), web)).toBe(true);
    expect(matchesSelector(sel(req('k8s', 'app', 'In', ['api'])), web)).toBe(false);
    expect(matchesSelector(sel(req('k8s', 'app', 'Exists'), req('k8s', 'tier', 'Exists')), web)).toBe(false);
  });
  it('NotIn and DoesNotExist match when the key is absent', () => {
    expect(matchesSelector(sel(req('k8s', 'tier', 'NotIn', ['db'])), web)).toBe(true);
    expect(matchesSelector(sel(req('k8s', 'tier', 'DoesNotExist')), web)).toBe(true);
    expect(matchesSelector(sel(req('k8s', 'app', 'NotIn', ['web'])), web)).toBe(false);
    expect(matchesSelector(sel(req('k8s', 'app', 'DoesNotExist')), web)).toBe(false);
  });
  it('honours label sources: `any` matches every source, others only their own', () => {
    expect(matchesSelector(sel(req('any', 'app', 'In', ['web'])), web)).toBe(true);
    expect(matchesSelector(sel(req('reserved', 'app', 'In', ['web'])), web)).toBe(false);
    expect(matchesSelector(sel(req('reserved', 'host', 'Exists')), web)).toBe(true);
  });
});

describe('label text', () => {
  it('parses and prints source:key=value', () => {
    expect(parseLabel('k8s:app.kubernetes.io/name=web')).toEqual({ source: 'k8s', key: 'app.kubernetes.io/name', value: 'web' });
    expect(parseLabel('reserved:world')).toEqual({ source: 'reserved', key: 'world', value: '' });
    expect(formatLabel(parseLabel('k8s:a=b=c'))).toBe('k8s:a=b=c');
  });
  it('splits selector keys like Cilium', () => {
    expect(parseSelectorKey('app')).toEqual({ source: 'any', key: 'app' });
    expect(parseSelectorKey('k8s:io.kubernetes.pod.namespace')).toEqual({ source: 'k8s', key: 'io.kubernetes.pod.namespace' });
    expect(parseSelectorKey('$host')).toEqual({ source: 'reserved', key: 'host' });
  });
});
