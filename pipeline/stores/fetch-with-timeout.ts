/**
 * One outgoing request with a deadline that covers the whole exchange, body included: a server that sends its
 * headers and then stalls fails with StoreError `store-timeout` naming the URL and the deadline, from `fetch` or
 * from the body read, whichever is waiting. Network failures become `store-unreachable`, oversized answer headers
 * `store-protocol`; an abort by the caller's own signal is passed through as is.
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

/**
 * Sends `init` to `url`. The response body keeps the deadline: reading it past the deadline throws the timeout.
 * @throws StoreError `store-timeout`, `store-unreachable`, `store-protocol` (headers above Node's header limit);
 *   the caller's AbortError when it aborted.
 */
export async function fetchWithTimeout(url: string, init: RequestInit, options: SendOptions): Promise<Response> {
  const deadline = new AbortController();
  // The abort reason is what fetch and the body stream reject with, so a stall anywhere reads as this error.
  const timer = setTimeout(() => deadline.abort(timeoutError(url, options)), options.timeoutMs);
  timer.unref();
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    return await options.fetch(url, { ...init, signal });
  } catch (err) {
    clearTimeout(timer);
    if (options.signal?.aborted || err instanceof StoreError) throw err;
    const cause = (err as Error).cause as (Error & { code?: unknown }) | undefined;
    if (cause?.code === 'UND_ERR_HEADERS_OVERFLOW') {
      throw new StoreError('store-protocol', `${options.location}: ${printableUrl(url)} answered with headers larger than this client accepts`,
        { cause: err });
    }
    throw new StoreError('store-unreachable', `${options.location}: ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
}

function timeoutError(url: string, options: SendOptions): StoreError {
  const seconds = options.timeoutMs % 1000 === 0 ? `${options.timeoutMs / 1000} s` : `${options.timeoutMs} ms`;
  return new StoreError('store-timeout', `${options.location}: ${printableUrl(url)} did not answer completely within the ${seconds} deadline`,
    { detail: `no complete answer within ${seconds}` });
}

/** The URL without query, fragment or user information (upload sessions and realms may carry state there). */
function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(malformed URL)';
  }
}
