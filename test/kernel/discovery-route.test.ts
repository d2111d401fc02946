/**
 * The Kubernetes source's default host-interface lookup on this kernel: a pod routed through its own veth (as
 * Cilium's lxc devices are: a /32 and a /128 route per pod) is found by address; an address with no such route is not.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { interfaceByRoute } from '../../node-agent/discovery/kubernetes-source.js';
import { describeKernel, sh, shQuiet } from './kernel-env.js';

const HOST_IF = 'pld-rt0h';
const PEER_IF = 'pld-rt0p';

describeKernel('host interface by route', () => {
  beforeAll(() => {
    shQuiet('ip', 'link', 'del', HOST_IF);
    sh('ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF);
    sh('ip', 'link', 'set', HOST_IF, 'up');
    sh('ip', 'link', 'set', PEER_IF, 'up');
    sh('ip', 'route', 'add', '10.198.7.7/32', 'dev', HOST_IF);
    sh('ip', '-6', 'route', 'add', 'fd00:198::7/128', 'dev', HOST_IF);
  });
  afterAll(() => {
    shQuiet('ip', 'link', 'del', HOST_IF);
    expect(sh('ip', '-o', 'link', 'show').includes(HOST_IF)).toBe(false);
  });

  test('finds the veth a pod address is routed through (IPv4 and IPv6)', async () => {
    expect(await interfaceByRoute('10.198.7.7')).toBe(HOST_IF);
    expect(await interfaceByRoute('fd00:198::7')).toBe(HOST_IF);
  });

  test('loopback, non-addresses and unrouted addresses give no interface', async () => {
    expect(await interfaceByRoute('127.0.0.1')).toBeUndefined();
    expect(await interfaceByRoute('not-an-ip')).toBeUndefined();
    expect(await interfaceByRoute('fd00:198::8')).not.toBe(HOST_IF);
    expect(await interfaceByRoute('240.0.0.1')).not.toBe(HOST_IF);
  });
});
