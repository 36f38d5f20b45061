// `security-agent ingest <dir>`: validates and previews a documents directory for the knowledge
// base. The service re-ingests KNOWLEDGE_DOCS_DIR at every start-up (it keeps no state), so this
// shows what it would index: documents, chunks, prompt-injection fragments removed, parse
// warnings, and a sample search.
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { readDocuments } from "../knowledge/DocumentLoader.js"
import { ingestDocuments } from "../knowledge/Ingestion.js"
import { buildKnowledgeBase } from "../knowledge/KnowledgeBase.js"

const dir = Args.directory({ name: "dir", exists: "yes" }).pipe(
  Args.withDescription("Directory of Markdown documents (searched recursively for .md files)")
)
const query = Options.text("query").pipe(
  Options.optional,
  Options.withDescription("Sample search to run (default: the first section heading)")
)
const json = Options.boolean("json").pipe(Options.withDescription("Print the figures as JSON"))

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

export const ingestCommand = Command.make("ingest", { dir, query, json }, (args) =>
  Effect.gen(function* () {
    const documents = yield* readDocuments(args.dir)
    const started = performance.now()
    const corpus = ingestDocuments(documents)
    const knowledge = yield* buildKnowledgeBase(corpus)
    const buildMs = performance.now() - started
    const sampleQuery = Option.getOrElse(args.query, () => corpus.chunks[0]?.section.split(" > ").pop() ?? "")
    const results = sampleQuery === "" ? [] : yield* knowledge.search(sampleQuery, { limit: 3 })
    const perDocument = documents.map((d) => ({
      source: d.source,
      chunks: corpus.chunks.filter((c) => c.source === d.source).length,
      sections: new Set(corpus.chunks.filter((c) => c.source === d.source).map((c) => c.section)).size,
      removed: corpus.removals.filter((r) => r.source === d.source).length
    }))
    if (corpus.chunks.length === 0) {
      yield* Effect.sync(() => {
        process.exitCode = 1
      })
    }
    if (args.json) {
      return yield* Console.log(
        JSON.stringify({
          dir: args.dir,
          documents: corpus.documents,
          chunks: corpus.chunks.length,
          sanitizedRemovals: corpus.removals.length,
          buildMs: Math.round(buildMs),
          perDocument,
          removals: corpus.removals,
          warnings: corpus.warnings,
          sample: {
            query: sampleQuery,
            results: results.map((p) => ({ source: p.source, section: p.section, score: p.score }))
          }
        })
      )
    }
    const lines = [
      `Ingested ${args.dir}: ${corpus.documents} documents, ${corpus.chunks.length} chunks, ${corpus.removals.length} prompt-injection fragment(s) removed (index built in ${buildMs.toFixed(0)} ms).`,
      ...perDocument.map(
        (d) =>
          `  ${d.source}: ${d.sections} sections, ${d.chunks} chunks${d.removed > 0 ? `, ${d.removed} removed` : ""}`
      )
    ]
    if (corpus.removals.length > 0) {
      lines.push("", "Removed as prompt injection (never shown to a model):")
      lines.push(...corpus.removals.map((r) => `  ${r.source}: ${r.kind}: ${oneLine(r.excerpt, 100)}`))
    }
    if (corpus.warnings.length > 0) {
      lines.push("", "Warnings:", ...corpus.warnings.map((w) => `  ${w.source}: ${w.message}`))
    }
    if (corpus.chunks.length === 0) {
      lines.push("", `Nothing to index: ${args.dir} has no Markdown (.md) documents with text.`)
    } else {
      lines.push("", `Sample search "${sampleQuery}":`)
      lines.push(
        ...results.flatMap((p, i) => [
          `  ${i + 1}. ${p.source} — ${p.section} (score ${p.score.toFixed(2)})`,
          `     ${oneLine(p.text, 140)}`
        ])
      )
      if (results.length === 0) lines.push("  (no results)")
    }
    yield* Console.log(lines.join("\n"))
  })
).pipe(
  Command.withDescription(
    "Validate and preview a directory of Markdown documents for the knowledge base (the service ingests KNOWLEDGE_DOCS_DIR at start-up)"
  )
)
