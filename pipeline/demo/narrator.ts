/**
 * The demo's voice: a step counter, what is being waited for, and results, as lines for a person; with
 * `--format json` the same lines go to stderr and stdout carries only the final JSON document.
 */
export interface NarratorSinks {
  /** A line of the story (stdout for text, stderr for json). */
  readonly line: (text: string) => void;
}

export class Narrator {
  #step = 0;
  #stepStart = 0;
  readonly #started = Date.now();

  constructor(
    private readonly sinks: NarratorSinks,
    readonly total: number,
  ) {}

  /** Starts step `n` of `total`. */
  step(title: string): void {
    this.#step++;
    this.#stepStart = Date.now();
    this.sinks.line('');
    this.sinks.line(`── [${this.#step}/${this.total}] ${title}`);
  }

  /** A result line of the current step. */
  say(text: string): void {
    this.sinks.line(`   ${text}`);
  }

  /** What the demo waits for now. */
  waiting(what: string): void {
    this.sinks.line(`   … ${what}`);
  }

  /** Seconds since the current step started. */
  stepSeconds(): number {
    return (Date.now() - this.#stepStart) / 1000;
  }

  /** Seconds since the demo started. */
  totalSeconds(): number {
    return (Date.now() - this.#started) / 1000;
  }
}
