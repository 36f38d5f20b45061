// JSON lines encoded once, as UTF-8, into large buffers outside the JS heap: the writer hands byte
// ranges to the disk and the recent-turns index keeps the same ranges. At high rates a line kept
// as a heap string outlived young-generation collections, and every scavenge copied it again.

/** Large enough that a slab is a rare allocation, small enough that a half-used one costs little. */
const SLAB_BYTES = 256 * 1024

/**
 * Lines appended one after another into slabs, each built in place from its parts (no joined
 * string); a full slab is left to the ranges still using it.
 */
export class LineSlabs {
  /** The slab the last line went into: its bytes, newline included, are `slab[start, end)`. */
  slab: Buffer = Buffer.alloc(0)
  start = 0
  end = 0

  /** Starts a line of at most `maxBytes`, newline included (in a new slab when this one may lack the room). */
  begin(maxBytes: number): void {
    if (this.slab.length - this.end < maxBytes) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, maxBytes))
      this.end = 0
    }
    this.start = this.end
  }

  /** Adds bytes encoded once (a constant part). */
  bytes(part: Uint8Array): void {
    this.slab.set(part, this.end)
    this.end += part.length
  }

  /** Adds text as UTF-8: at most 3 bytes per UTF-16 code unit, which `begin` must have counted. */
  text(part: string): void {
    this.end += this.slab.write(part, this.end)
  }

  /** Ends the line with its newline. */
  finish(): void {
    this.slab[this.end++] = 0x0a
  }

  /** Appends a whole line (and its newline). */
  append(line: string): void {
    this.begin(line.length * 3 + 1)
    this.text(line)
    this.finish()
  }
}

/** The line at `slab[start, end)`, parsed (JSON ignores the trailing newline). */
export const parseLine = (slab: Buffer, start: number, end: number): unknown =>
  JSON.parse(slab.toString("utf8", start, end))
