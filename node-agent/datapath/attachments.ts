/**
 * The attachment half of the datapath: both classifiers on the clsact hooks of endpoint host-side interfaces, and
 * their removal (only the filters, and the qdisc when this handle created it).
 */
import { type BpfProgram, ifIndex, tcAttach, tcDetach, tcHookCreate, tcHookDestroy, type TcFilter } from '../libbpf/index.js';

interface Attachment {
  readonly ifindex: number;
  readonly createdHook: boolean;
  readonly filters: TcFilter[];
}

/** The interfaces one datapath handle attached to. */
export class Attachments {
  private readonly byName = new Map<string, Attachment>();

  constructor(
    private readonly from: BpfProgram,
    private readonly to: BpfProgram,
  ) {}

  /** See LoadedDatapath.attach. @returns the interface index. */
  attach(ifname: string): number {
    const ifindex = ifIndex(ifname);
    const createdHook = tcHookCreate(ifindex);
    const att: Attachment = { ifindex, createdHook, filters: [] };
    this.byName.set(ifname, att);
    att.filters.push(tcAttach(ifindex, 'ingress', this.from.fd));
    att.filters.push(tcAttach(ifindex, 'egress', this.to.fd));
    return ifindex;
  }

  /** See LoadedDatapath.detach. */
  detach(ifname: string): void {
    const att = this.byName.get(ifname);
    if (!att) return;
    for (const f of att.filters) tcDetach(f);
    if (att.createdHook) tcHookDestroy(att.ifindex);
    this.byName.delete(ifname);
  }

  /** Interface names attached through this handle. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Detaches from everything. @returns the errors met (each interface is tried). */
  detachAll(): unknown[] {
    const errors: unknown[] = [];
    for (const ifname of this.names()) {
      try {
        this.detach(ifname);
      } catch (err) {
        errors.push(err);
      }
    }
    return errors;
  }

  /** Forgets the attachments without touching the kernel (release: the filters stay). */
  forget(): void {
    this.byName.clear();
  }
}
