// Reads the Markdown files of a docs directory (recursively, in a stable order) for ingestion;
// a missing or unreadable directory is a typed error that names the path and the setting.
import { readdir, readFile, stat } from "node:fs/promises"
import { join, sep } from "node:path"
import { Data, Effect } from "effect"
import type { SourceDocument } from "./Ingestion.js"

export class KnowledgeLoadError extends Data.TaggedError("KnowledgeLoadError")<{
  readonly message: string
  readonly path: string
  readonly cause?: unknown
}> {}

const MARKDOWN = /\.(md|markdown)$/i
/** Larger files are almost certainly not documentation (a log, a dump): skipped with an error. */
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024

export const readDocuments = (dir: string): Effect.Effect<ReadonlyArray<SourceDocument>, KnowledgeLoadError> =>
  Effect.tryPromise({
    try: async () => {
      const info = await stat(dir)
      if (!info.isDirectory()) throw new Error("not a directory")
      const entries = (await readdir(dir, { recursive: true }))
        .filter((name) => MARKDOWN.test(name))
        .map((name) => name.split(sep).join("/"))
        .sort()
      const documents: Array<SourceDocument> = []
      for (const source of entries) {
        const path = join(dir, source)
        const fileInfo = await stat(path)
        if (!fileInfo.isFile()) continue
        if (fileInfo.size > MAX_DOCUMENT_BYTES) {
          throw new Error(`${source} is larger than ${MAX_DOCUMENT_BYTES} bytes; is it really documentation?`)
        }
        documents.push({ source, text: await readFile(path, "utf8") })
      }
      return documents
    },
    catch: (cause) =>
      new KnowledgeLoadError({
        message: `cannot read the knowledge base documents in ${dir} (KNOWLEDGE_DOCS_DIR): ${(cause as Error)?.message ?? String(cause)}`,
        path: dir,
        cause
      })
  })
