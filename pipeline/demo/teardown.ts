/**
 * What the demo must undo, in reverse order of doing it: each undo runs once, even when an earlier one throws, so
 * an interrupted or failed demo leaves nothing behind.
 */
export class Teardown {
  readonly #undo: { what: string; run: () => unknown }[] = [];
  #done = false;

  /** Registers an undo, run before every one registered earlier. */
  add(what: string, run: () => unknown): void {
    this.#undo.push({ what, run });
  }

  /** Runs every undo once, newest first. @returns the ones that failed, with why */
  async run(): Promise<string[]> {
    if (this.#done) return [];
    this.#done = true;
    const failed: string[] = [];
    for (const u of this.#undo.reverse()) {
      try {
        await u.run();
      } catch (err) {
        failed.push(`${u.what}: ${(err as Error).message}`);
      }
    }
    return failed;
  }
}
