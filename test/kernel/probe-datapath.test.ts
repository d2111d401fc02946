/**
 * A probe datapath: a second load of the object that shares the enforcing datapath's generation tables (ipcache,
 * endpoints, policy) but keeps its own control map, so BPF_PROG_TEST_RUN judges by a staged generation while the
 * enforcing datapath still judges by the active one. Also clearGeneration and mapPressure. Nothing left behind.
 */
import { afterAll, expect, test } from 'vitest';
import { buildPacket, DatapathError, openDatapath, type LoadedDatapath } from '../../node-agent/datapath/index.js';
import { OBJECT_PATH, describeKernel, leftovers } from './kernel-env.js';

const LIVE = '/sys/fs/bpf/pld-probe-live';
const PROBE = '/sys/fs/bpf/pld-probe-test';

describeKernel('probe datapath', () => {
  const ids: { programs: number[]; maps: number[] } = { programs: [], maps: [] };
  const opened: LoadedDatapath[] = [];
  const open = (dp: LoadedDatapath): LoadedDatapath => {
    opened.push(dp);
    ids.programs.push(...dp.kernelIds().programs);
    ids.maps.push(...dp.kernelIds().maps);
    return dp;
  };
  afterAll(async () => {
    for (const dp of opened.reverse()) dp.close();
    expect(await leftovers({ ...ids, pinDir: LIVE })).toEqual([]);
    expect(await leftovers({ programs: [], maps: [], pinDir: PROBE })).toEqual([]);
  });

  test('judges by the staged generation while the live one keeps the active generation', () => {
    const live = open(openDatapath({ objectPath: OBJECT_PATH, pinDir: LIVE }));
    live.setEndpoints([{ address: '10.9.0.1', endpointId: 1 }]);
    live.setEventsEnabled(true);
    // gen 0 (active): nothing allowed; gen 1 (staged): TCP 80 to the endpoint from anyone.
    live.stageGeneration(1, {
      ipcache: [{ prefix: '0.0.0.0/0', identity: 2 }],
      policy: [{ endpointId: 1, direction: 'ingress', identity: 0, protocol: 6, port: 80, portPrefixLen: 16, deny: false, proxy: false, ruleId: 7 }],
    });
    const probe = open(openDatapath({ objectPath: OBJECT_PATH, pinDir: PROBE, shareMaps: { pinDir: LIVE, maps: ['ipcache', 'endpoints', 'policy'] } }));
    probe.setEventsEnabled(true);
    probe.switchTo(1);
    const packet = buildPacket({ saddr: '10.9.0.2', daddr: '10.9.0.1', protocol: 6, sport: 40000, dport: 80 });
    const staged = probe.classify('ingress', packet);
    expect(staged.event?.verdict).toBe('forwarded');
    expect(staged.event?.ruleId).toBe(7);
    expect(staged.event?.gen).toBe(1);
    const active = live.classify('ingress', packet);
    expect(active.event?.verdict).toBe('dropped');
    expect(live.activeGeneration()).toBe(0);
    expect(live.mapPressure().find((m) => m.map === 'policy')?.entries).toBe(1);
    expect(live.clearGeneration(1)).toBe(2);
    expect(live.mapPressure().find((m) => m.map === 'policy')?.entries).toBe(0);
  });

  test('sharing maps that are not pinned is refused before anything loads', () => {
    expect(() => openDatapath({ objectPath: OBJECT_PATH, pinDir: PROBE, shareMaps: { pinDir: '/sys/fs/bpf/pld-probe-none', maps: ['policy'] } })).toThrow(DatapathError);
  });
});
