/**
 * Ordering of recorded times. Hubble prints RFC 3339 with 0 to 9 fractional digits, so the strings do not sort
 * as text ("…:13Z" would sort after "…:13.5Z"); they are compared as nanoseconds since the epoch instead.
 */

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Nanoseconds since the epoch of an RFC 3339 time.
 * @returns null when the text is not an RFC 3339 time.
 */
export function rfc3339Nanos(time: string): bigint | null {
  const m = RFC3339.exec(time);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

/** Keeps the earliest and latest of the times it is shown; unparsable times are ignored. */
export class TimeSpan {
  private firstNs: bigint | null = null;
  private lastNs: bigint | null = null;
  first: string | null = null;
  last: string | null = null;

  /** Takes one recorded time into account. */
  observe(time: string | undefined): void {
    if (time === undefined) return;
    const ns = rfc3339Nanos(time);
    if (ns === null) return;
    if (this.firstNs === null || ns < this.firstNs) {
      this.firstNs = ns;
      this.first = time;
    }
    if (this.lastNs === null || ns > this.lastNs) {
      this.lastNs = ns;
      this.last = time;
    }
  }
}
