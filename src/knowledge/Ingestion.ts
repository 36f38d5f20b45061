// Turns Markdown documents into retrievable chunks: sanitise against prompt injection, split
// by headings (every level), window long sections with overlap; each chunk keeps its source,
// heading path and index. Pure, so start-up, `security-agent ingest` and tests share it.
import { type ChunkingOptions, chunkText, DEFAULT_CHUNKING } from "./Chunker.js"
import { type RemovalKind, sanitizeText } from "./InjectionSanitizer.js"
import { splitMarkdown } from "./MarkdownSections.js"

export interface SourceDocument {
  /** File name relative to the docs directory, e.g. `safeline-admin-guide.md`. */
  readonly source: string
  readonly text: string
}

export interface KnowledgeChunk {
  /** `<source>#<chunkIndex>` */
  readonly id: string
  readonly source: string
  /**
   * The heading path joined with " > ", without the document's title (the file name already
   * says which document it is); the text under the title itself keeps the title.
   */
  readonly section: string
  /** Every heading above the chunk, the title included (what the index searches). */
  readonly headingPath: ReadonlyArray<string>
  /** Position of the chunk within its document, from 0. */
  readonly chunkIndex: number
  /** Sanitised text. */
  readonly text: string
}

export interface IngestedCorpus {
  readonly documents: number
  readonly chunks: ReadonlyArray<KnowledgeChunk>
  /** What the sanitiser removed, per document (excerpts are for operators, never for models). */
  readonly removals: ReadonlyArray<{ readonly source: string; readonly kind: RemovalKind; readonly excerpt: string }>
  /** Documents that parse but need a writer's attention. */
  readonly warnings: ReadonlyArray<{ readonly source: string; readonly message: string }>
}

export const SECTION_SEPARATOR = " > "

const titleOf = (source: string) => source.replace(/\.(md|markdown)$/i, "").replace(/[-_]+/g, " ")

export const ingestDocuments = (
  documents: ReadonlyArray<SourceDocument>,
  options: ChunkingOptions = DEFAULT_CHUNKING
): IngestedCorpus => {
  const chunks: Array<KnowledgeChunk> = []
  const removals: Array<IngestedCorpus["removals"][number]> = []
  const warnings: Array<IngestedCorpus["warnings"][number]> = []
  for (const doc of documents) {
    if (doc.text.includes("\uFFFD"))
      warnings.push({ source: doc.source, message: "contains bytes that are not valid UTF-8" })
    const sanitized = sanitizeText(doc.text)
    for (const r of sanitized.removals) removals.push({ source: doc.source, kind: r.kind, excerpt: r.excerpt })
    const outline = splitMarkdown(sanitized.text)
    for (const message of outline.warnings) warnings.push({ source: doc.source, message })
    if (outline.sections.length === 0) {
      warnings.push({ source: doc.source, message: "has no text to index" })
      continue
    }
    if (outline.sections.every((s) => s.level === 0)) warnings.push({ source: doc.source, message: "has no headings" })
    let chunkIndex = 0
    for (const section of outline.sections) {
      const headingPath =
        section.headingPath.length === 0 ? [outline.title ?? titleOf(doc.source)] : section.headingPath
      const shown =
        outline.title !== undefined && headingPath.length > 1 && headingPath[0] === outline.title
          ? headingPath.slice(1)
          : headingPath
      for (const piece of chunkText(section.body, options)) {
        chunks.push({
          id: `${doc.source}#${chunkIndex}`,
          source: doc.source,
          section: shown.join(SECTION_SEPARATOR),
          headingPath,
          chunkIndex,
          text: piece.text
        })
        chunkIndex++
      }
    }
  }
  return { documents: documents.length, chunks, removals, warnings }
}
