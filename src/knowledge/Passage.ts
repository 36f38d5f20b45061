// A retrieved piece of the knowledge base: what the Self-RAG loop cites as `[n]`.
export interface Passage {
  /** Stable id of the chunk: `<source>#<chunk_index>`. */
  readonly id: string
  /** File name of the document, e.g. `safeline-admin-guide.md`. */
  readonly source: string
  /** Heading path, e.g. `SafeLine administration > IP groups > Blacklisting`. */
  readonly section: string
  readonly chunkIndex: number
  /** Sanitised text (prompt-injection patterns removed). */
  readonly text: string
  readonly score: number
}
