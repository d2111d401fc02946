/**
 * A text builder with a hard character budget. Text that must close what was opened (a `</details>`, a final note)
 * is reserved up front, so whatever gets cut, the output stays well-formed and within the limit.
 */

/** Appends pieces while they fit; `length` counts UTF-16 code units, as GitHub's comment limit does. */
export class BoundedText {
  private readonly parts: string[] = [];
  private used = 0;
  private reserved = 0;

  constructor(private readonly limit: number) {}

  /** Characters still free for optional text, after what is reserved. */
  get free(): number {
    return this.limit - this.used - this.reserved;
  }

  /** Appends `text` when it fits beside the reservations. @returns whether it was appended. */
  tryAppend(text: string): boolean {
    if (text.length > this.free) return false;
    this.parts.push(text);
    this.used += text.length;
    return true;
  }

  /** Holds back room for text that will be written later through {@link release}. */
  reserve(chars: number): void {
    this.reserved += chars;
  }

  /** Writes text for which room was reserved (at most `reservedChars` of it is taken from the reservation). */
  release(text: string, reservedChars: number): void {
    this.reserved -= reservedChars;
    if (text.length > this.limit - this.used - this.reserved) {
      throw new RangeError(`reserved text of ${text.length} characters exceeds the budget`);
    }
    this.parts.push(text);
    this.used += text.length;
  }

  toString(): string {
    return this.parts.join('');
  }
}
