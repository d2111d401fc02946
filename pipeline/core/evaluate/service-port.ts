/**
 * Service port translation, as the datapath does it before any policy: a connection to a Service's cluster IP on one
 * of its ports goes to a backend on that port's `targetPort` (a number, or a container port name looked up on the
 * backend pod, name and protocol both matching). Cilium enforces L4 policy on the translated packet ("Layer 4
 * policies apply to ports after service port mapping has been applied"), so toPorts — in toServices rules too —
 * compare the backend port, never the service port.
 */
import type { NamedPort } from '../flow/types.js';
import type { ServiceInfo } from './types.js';

/**
 * The backend port a connection to `service` on `protocol`/`port` reaches.
 * @param backendPorts the chosen backend pod's named container ports (for a named targetPort); empty when unknown
 * @returns the target port, or undefined when the service exposes no such port, its ports are unknown, or a named
 *          targetPort does not resolve on the backend (the connection then goes nowhere: nothing to translate)
 */
export function serviceTargetPort(
  service: ServiceInfo,
  protocol: string,
  port: number,
  backendPorts: readonly NamedPort[],
): number | undefined {
  const entry = service.ports?.find((p) => p.protocol === protocol && p.port === port);
  if (entry === undefined) return undefined;
  if (typeof entry.targetPort === 'number') return entry.targetPort;
  return backendPorts.find((np) => np.name === entry.targetPort && np.protocol === protocol)?.port;
}
