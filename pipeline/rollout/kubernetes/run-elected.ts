/**
 * The rollout controller on Kubernetes: it campaigns for a `coordination.k8s.io/v1` Lease and ticks only while it
 * holds it. A term ends when the Lease could not be renewed or the process is stopped; the controller's loop is
 * stopped and awaited before the Lease is released, so the next holder never overlaps a tick of this one.
 */
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { RolloutController } from '../controller.js';
import { runLeaseElection, type LeaseElectionOptions } from './lease-election.js';

/** The Lease the rollout controllers of a namespace campaign for. */
export const CONTROLLER_LEASE = 'palisade-rollout-controller';

/** Settings of {@link runElectedController}. */
export interface ElectedControllerOptions {
  readonly controller: RolloutController;
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** This process's identity among the candidates (e.g. the pod name). */
  readonly identity: string;
  /** Controller tick, ms. */
  readonly intervalMs: number;
  readonly log: (line: string) => void;
  /** Lease timings (defaults: client-go's 15 s / 10 s / 2 s). */
  readonly lease?: Pick<LeaseElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
}

/**
 * Runs until `signal` aborts: the controller ticks while this process holds the Lease.
 * @throws RangeError for inconsistent Lease timings.
 */
export async function runElectedController(o: ElectedControllerOptions, signal: AbortSignal): Promise<void> {
  await runLeaseElection(
    {
      api: o.kubeConfig.makeApiClient(CoordinationV1Api),
      namespace: o.namespace,
      name: CONTROLLER_LEASE,
      identity: o.identity,
      ...o.lease,
      onStartedLeading: async (leadership) => {
        o.log(`leading: ${o.identity} holds lease ${o.namespace}/${CONTROLLER_LEASE}; the controller acts`);
        await o.controller.run(leadership, o.intervalMs);
      },
      onStoppedLeading: () => o.log(`stopped leading: ${o.identity} no longer acts`),
      log: o.log,
    },
    signal,
  );
}
