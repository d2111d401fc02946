/**
 * One outgoing request with a deadline: the caller's signal and a timeout combined; network failures and the
 * timeout become StoreError `store-unreachable` (an abort by the caller's own signal is passed through as is).
 */
import { StoreError } from './errors.js';

/** How a request is sent. */
export interface SendOptions {
  readonly fetch: typeof fetch;
  /** Deadline for the whole exchange, body included, in milliseconds. */
  readonly timeoutMs: number;
  /** For messages; never holds credentials. */
  readonly location: string;
  readonly signal?: AbortSignal | undefined;
}

/** Sends `init` to `url`. @throws StoreError `store-unreachable`; the caller's AbortError when it aborted. */
export async function fetchWithTimeout(url: string, init: RequestInit, options: SendOptions): Promise<Response> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await options.fetch(url, { ...init, signal });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const why = timeout.aborted ? 'timed out' : ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new StoreError('store-unreachable', `${options.location}: ${why}`, { cause: err });
  }
}
