/**
 * The rollout's Kubernetes backend: leader election on a Lease, the controller run under it, and the view a
 * PolicyRollout object shows to kubectl (the records themselves are kept by stores/kubernetes-records.ts).
 */
export { runLeaseElection, type LeaseElectionOptions } from './lease-election.js';
export { runElectedController, CONTROLLER_LEASE, type ElectedControllerOptions } from './run-elected.js';
export { policyRolloutView, rolloutStatus, duration, type Condition } from './policy-rollout-view.js';
