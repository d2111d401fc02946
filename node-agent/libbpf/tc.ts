/**
 * TC (clsact) hooks and filters through libbpf's netlink helpers: create/destroy the clsact qdisc, attach/detach a
 * direct-action cls_bpf filter on ingress or egress.
 */
import { checkRc, errorFor } from './check.js';
import { Errno, LibbpfError } from './errors.js';
import { loadNative, type Native, type TcHookStruct, type TcOptsStruct } from './native.js';

/** enum bpf_tc_attach_point */
export const TcPoint = { INGRESS: 1, EGRESS: 2 } as const;
export type TcPointName = 'ingress' | 'egress';

const BPF_TC_F_REPLACE = 1;

/** Where a filter sits, to detach it later. */
export interface TcFilter {
  readonly ifindex: number;
  readonly point: TcPointName;
  readonly handle: number;
  readonly priority: number;
  /** Kernel id of the attached program. */
  readonly progId: number;
}

function hook(native: Native, ifindex: number, points: number): TcHookStruct {
  return { sz: native.sizes.tcHook, ifindex, attach_point: points, parent: 0 };
}

/**
 * The interface index of `ifname`.
 * @throws LibbpfError ENODEV when there is no such interface.
 */
export function ifIndex(ifname: string): number {
  const native = loadNative();
  if (ifname.length === 0 || ifname.length > 15) throw new LibbpfError('if_nametoindex', Errno.ENODEV, ifname);
  const idx = native.if_nametoindex(ifname);
  if (idx === 0) throw new LibbpfError('if_nametoindex', Errno.ENODEV, ifname);
  return idx;
}

/**
 * Create the clsact qdisc on `ifindex`.
 * @returns true when this call created it, false when it already existed.
 * @throws LibbpfError (EPERM without CAP_NET_ADMIN, ENODEV for a vanished interface).
 */
export function tcHookCreate(ifindex: number): boolean {
  const native = loadNative();
  const rc = native.bpf_tc_hook_create(hook(native, ifindex, TcPoint.INGRESS | TcPoint.EGRESS));
  if (rc === -Errno.EEXIST) return false;
  checkRc('bpf_tc_hook_create', rc, `ifindex ${ifindex}`);
  return true;
}

/**
 * Destroy the clsact qdisc on `ifindex` (and with it every filter on it). A missing qdisc or interface is fine.
 * @throws LibbpfError on other failures.
 */
export function tcHookDestroy(ifindex: number): void {
  const native = loadNative();
  const rc = native.bpf_tc_hook_destroy(hook(native, ifindex, TcPoint.INGRESS | TcPoint.EGRESS));
  if (rc === -Errno.ENOENT || rc === -Errno.ENODEV || rc === -Errno.EINVAL) return;
  checkRc('bpf_tc_hook_destroy', rc, `ifindex ${ifindex}`);
}

/**
 * Attach program `progFd` as a direct-action filter at `point`, replacing a filter with the same handle/priority.
 * @throws LibbpfError (ENOENT/EINVAL when the clsact qdisc is missing: call tcHookCreate first).
 */
export function tcAttach(ifindex: number, point: TcPointName, progFd: number, handle = 1, priority = 1): TcFilter {
  const native = loadNative();
  const opts: TcOptsStruct = { sz: native.sizes.tcOpts, prog_fd: progFd, flags: BPF_TC_F_REPLACE, prog_id: 0, handle, priority };
  checkRc('bpf_tc_attach', native.bpf_tc_attach(hook(native, ifindex, TcPoint[point === 'ingress' ? 'INGRESS' : 'EGRESS']), opts), `ifindex ${ifindex} ${point}`);
  return { ifindex, point, handle: opts.handle, priority: opts.priority, progId: opts.prog_id };
}

/**
 * Remove a filter attached by `tcAttach`. A filter (or interface) that is already gone is fine.
 * @throws LibbpfError on other failures.
 */
export function tcDetach(filter: TcFilter): void {
  const native = loadNative();
  const opts: TcOptsStruct = { sz: native.sizes.tcOpts, prog_fd: 0, flags: 0, prog_id: 0, handle: filter.handle, priority: filter.priority };
  const rc = native.bpf_tc_detach(hook(native, filter.ifindex, TcPoint[filter.point === 'ingress' ? 'INGRESS' : 'EGRESS']), opts);
  if (rc === -Errno.ENOENT || rc === -Errno.ENODEV || rc === -Errno.EINVAL) return;
  if (rc < 0) throw errorFor('bpf_tc_detach', -rc, `ifindex ${filter.ifindex} ${filter.point}`);
}

/**
 * The program id of the filter at handle/priority, or undefined when none is attached there.
 * @throws LibbpfError on failures other than "no such filter".
 */
export function tcQuery(ifindex: number, point: TcPointName, handle = 1, priority = 1): number | undefined {
  const native = loadNative();
  const opts: TcOptsStruct = { sz: native.sizes.tcOpts, prog_fd: 0, flags: 0, prog_id: 0, handle, priority };
  const rc = native.bpf_tc_query(hook(native, ifindex, TcPoint[point === 'ingress' ? 'INGRESS' : 'EGRESS']), opts);
  if (rc === -Errno.ENOENT || rc === -Errno.EINVAL || rc === -Errno.ENODEV) return undefined;
  checkRc('bpf_tc_query', rc, `ifindex ${ifindex} ${point}`);
  return opts.prog_id;
}
