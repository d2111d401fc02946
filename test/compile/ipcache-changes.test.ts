/**
 * The ipcache mirror's change log: what the kernel engine writes as single rows instead of reloading a generation.
 */
import { describe, expect, test } from 'vitest';
import { IpcacheLpm } from '../../pipeline/core/compile/ipcache-lpm.js';

describe('IpcacheLpm change log', () => {
  test('records nothing until tracking starts, then each prefix once with its latest identity, canonicalised', () => {
    const t = IpcacheLpm.from([{ prefix: '10.0.0.0/8', identity: 5 }]);
    expect(t.takeChanges()).toEqual([]);
    t.set('10.0.0.9', 7);
    t.trackChanges(); // forgets what came before
    expect(t.takeChanges()).toEqual([]);
    t.set('10.0.0.1', 300);
    t.set('fd00::1/128', 301);
    t.set('10.0.0.1/32', 302);
    t.set('192.168.1.77/24', 303);
    expect(t.takeChanges()).toEqual([
      { prefix: '10.0.0.1/32', identity: 302 },
      { prefix: 'fd00::1/128', identity: 301 },
      { prefix: '192.168.1.0/24', identity: 303 },
    ]);
    expect(t.takeChanges()).toEqual([]);
    t.set('10.0.0.2', 9);
    expect(t.takeChanges()).toEqual([{ prefix: '10.0.0.2/32', identity: 9 }]);
    expect(t.lookup('10.0.0.1')).toBe(302);
  });
});
