// Windows long section text into overlapping chunks that fit a size limit. Every step moves
// the window start forward by at least one character, so it terminates on any input
// (property-tested in test/knowledge/Chunker.test.ts).

export interface ChunkingOptions {
  /** Largest chunk, in characters (at least 1). */
  readonly maxChars: number
  /** Characters each window repeats from the previous one (clamped below maxChars). */
  readonly overlapChars: number
}

/** Small enough that a passage is about one thing (retrieval was best at 600 on the question set). */
export const DEFAULT_CHUNKING: ChunkingOptions = { maxChars: 600, overlapChars: 75 }

/** A window over the text: `text.slice(start, end)`. */
export interface TextWindow {
  readonly start: number
  readonly end: number
}

/**
 * How far back a window start may move to begin on a word: consecutive windows share at least
 * `overlap` and at most `overlap + boundarySlack(overlap)` characters.
 */
export const boundarySlack = (overlap: number): number => Math.min(40, overlap)

const normalize = (options: ChunkingOptions) => {
  const maxChars = Math.max(1, Math.floor(options.maxChars))
  const overlap = Math.min(Math.max(0, Math.floor(options.overlapChars)), maxChars - 1)
  return { maxChars, overlap }
}

const isSpace = (c: string | undefined) => c === " " || c === "\n" || c === "\t" || c === "\r"

/** The best end for a window in (lo, hi]: a paragraph break, a line break, a sentence end, a space, else hi. */
const chooseEnd = (text: string, lo: number, hi: number): number => {
  const slice = text.slice(lo, hi)
  const candidates = [slice.lastIndexOf("\n\n"), slice.lastIndexOf("\n"), lastSentenceEnd(slice), lastSpace(slice)]
  for (const at of candidates) {
    // `at` is the index of the boundary character: the window ends just after it.
    if (at >= 0) return lo + at + 1
  }
  return hi
}

const lastSentenceEnd = (slice: string): number => {
  for (let i = slice.length - 2; i >= 0; i--) {
    if ((slice[i] === "." || slice[i] === "!" || slice[i] === "?") && isSpace(slice[i + 1])) return i + 1
  }
  return -1
}

const lastSpace = (slice: string): number => {
  for (let i = slice.length - 1; i >= 0; i--) if (isSpace(slice[i])) return i
  return -1
}

/** The windows covering `text` from 0 to its end, each at most `maxChars` long. */
export const windowText = (text: string, options: ChunkingOptions = DEFAULT_CHUNKING): Array<TextWindow> => {
  const { maxChars, overlap } = normalize(options)
  const windows: Array<TextWindow> = []
  let start = 0
  while (start < text.length) {
    const hardEnd = Math.min(text.length, start + maxChars)
    if (hardEnd === text.length) {
      windows.push({ start, end: hardEnd })
      break
    }
    // The end must leave the next start (end - overlap) strictly after this start.
    const lo = start + Math.max(overlap + 1, Math.floor(maxChars / 2)) - 1
    const end = lo < hardEnd - 1 ? chooseEnd(text, lo, hardEnd) : hardEnd
    windows.push({ start, end })
    let next = end - overlap
    for (let p = next - 1; p >= Math.max(start, next - boundarySlack(overlap)); p--) {
      if (isSpace(text[p])) {
        next = p + 1
        break
      }
    }
    start = next
  }
  return windows
}

export interface TextChunk {
  readonly text: string
  readonly start: number
  readonly end: number
}

/** Windows with their text trimmed; windows of whitespace only are dropped. */
export const chunkText = (text: string, options: ChunkingOptions = DEFAULT_CHUNKING): Array<TextChunk> =>
  windowText(text, options)
    .map((w) => ({ text: text.slice(w.start, w.end).trim(), start: w.start, end: w.end }))
    .filter((c) => c.text !== "")
