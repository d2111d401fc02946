/**
 * Errors of the node agent's apply cycle and state. Callers (the run loop, status, metrics) branch on `code`.
 */
import { PalisadeError } from '../../pipeline/core/errors.js';

/** Stable codes of {@link AgentError}. */
export type AgentErrorCode =
  | 'self-test-mismatch' // a probe's verdict on this kernel differs from the signed or reference verdict
  | 'bake-failed' // the bake window saw a failed health check, self-test or too many drops
  | 'state-corrupt' // a file in the state directory cannot be read as what it should be
  | 'bad-config' // the agent config file is not usable
  | 'trust-downgrade' // --trust names an older trust root than the one this state directory already trusted
  | 'bad-argument'; // a command-line value that does not parse

/** One failure of the agent, with its stable code. */
export class AgentError extends PalisadeError {
  declare readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
