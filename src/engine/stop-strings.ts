/**
 * Stop sequences over streamed text: text is released only when no stop string could still begin
 * in it, so a stop string is never shown in part and then taken back.
 */
export class StopStrings {
  private text = '';
  private released = 0;
  /** Set once a stop string was found; the text ends just before it. */
  stopped = false;

  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Adds decoded text; returns what can be shown now. */
  push(piece: string): string {
    if (this.stopped) return '';
    const from = Math.max(0, this.text.length - this.longest() + 1);
    this.text += piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s, from);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.text = this.text.slice(0, cut);
      return this.release(this.text.length);
    }
    return this.release(this.text.length - this.heldBack());
  }

  /** The rest, at the end of generation. */
  flush(piece = ''): string {
    return this.push(piece) + this.release(this.text.length);
  }

  get value(): string {
    return this.text;
  }

  private release(to: number): string {
    const out = this.text.slice(this.released, Math.max(this.released, to));
    this.released = Math.max(this.released, to);
    return out;
  }

  private longest(): number {
    return this.stops.reduce((m, s) => Math.max(m, s.length), 1);
  }

  /** Length of the longest end of the text that begins some stop string. */
  private heldBack(): number {
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.text.length); n > keep; n--) {
        if (this.text.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }
}
