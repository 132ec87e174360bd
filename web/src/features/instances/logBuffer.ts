// A job's log as text, bounded: the last `limit` characters are kept, whatever streams in.

export const LOG_LIMIT = 64 * 1024;

export class LogBuffer {
  private text = "";
  private dropped = 0;
  private readonly decoder = new TextDecoder("utf-8"); // one decoder: a character split across frames joins up
  constructor(private readonly limit = LOG_LIMIT) {}

  push(chunk: ArrayBuffer | Uint8Array | string): string {
    const piece = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const joined = this.text + piece;
    if (joined.length > this.limit) {
      let cut = joined.length - this.limit;
      const newline = joined.indexOf("\n", cut);
      if (newline >= 0 && newline - cut < 1024) cut = newline + 1; // start at a whole line when one is near
      this.dropped += cut;
      this.text = joined.slice(cut);
    } else {
      this.text = joined;
    }
    return this.text;
  }

  get value(): string {
    return this.text;
  }

  /** Characters no longer shown (older than the last `limit`). */
  get droppedChars(): number {
    return this.dropped;
  }
}
