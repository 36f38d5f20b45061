// The knowledge base: the bundled documents (or KNOWLEDGE_DOCS_DIR) ingested once at start-up
// into a BM25 index, plus dense vectors when an embeddings endpoint is configured, fused with
// reciprocal-rank fusion. BM25 comes from minisearch (BM25+ scoring, field boosts, prefix and
// fuzzy matching, filters; small, dependency-free and well maintained) rather than a hand-rolled
// scorer; our own analyzer (stemming, stop words, security synonyms) feeds it.

import { Context, Effect, Layer, Option } from "effect"
import MiniSearch from "minisearch"
import { AppConfig } from "../config/AppConfig.js"
import { resolveDataPath } from "../config/DataPaths.js"
import { withTurnChildSpan } from "../observability/Correlation.js"
import type { ChunkingOptions } from "./Chunker.js"
import { readDocuments } from "./DocumentLoader.js"
import { cosine, type EmbeddingsClient, makeEmbeddingsClient } from "./Embeddings.js"
import { type IngestedCorpus, ingestDocuments, type KnowledgeChunk, type SourceDocument } from "./Ingestion.js"
import type { Passage } from "./Passage.js"
import { reciprocalRankFusion } from "./RankFusion.js"
import { analyze, expandQuery, salientTerms } from "./TextAnalyzer.js"

export interface KnowledgeSearchOptions {
  /** Passages to return (default 4, at most 20). */
  readonly limit?: number
  /** Only passages from these documents (file names as in `Passage.source`). */
  readonly sources?: ReadonlyArray<string>
  /** A retry's wider net: synonym phrases expanded, prefix and fuzzy term matching. */
  readonly broaden?: boolean
}

export interface KnowledgeStats {
  readonly documents: number
  readonly chunks: number
  /** Prompt-injection fragments removed from the documents at ingestion. */
  readonly sanitizedRemovals: number
  /** Whether dense (embedding) retrieval is fused with BM25. */
  readonly dense: boolean
}

export interface KnowledgeBaseService {
  /** Best passages first; never fails (a failing embeddings endpoint degrades to BM25). */
  readonly search: (query: string, options?: KnowledgeSearchOptions) => Effect.Effect<ReadonlyArray<Passage>>
  readonly stats: Effect.Effect<KnowledgeStats>
  /** True when there is something to search: the /readyz knowledge_base check. */
  readonly ready: boolean
  /** The indexed documents' file names. */
  readonly sources: ReadonlyArray<string>
}

export const DEFAULT_LIMIT = 4
export const MAX_LIMIT = 20
/** Candidates each ranker contributes to the fusion. */
const FUSION_DEPTH = 50
const MAX_QUERY_CHARS = 2000

/**
 * Field boosts. minisearch scores each field with its own BM25 statistics and sums them, so a
 * heading match counts on top of the body match: a question usually paraphrases the heading
 * of the section that answers it. The body carries the heading path too, so the body score
 * alone ranks sensibly. (Tuned on test/knowledge/questions.json: 47 of 49 in the top 3.)
 */
const BOOST = { heading: 1, parents: 0.5, body: 1 }
/** Weight of a query's salient terms (acronyms, identifiers, security synonyms) over its other words. */
const SALIENT_BOOST = 2

interface IndexedChunk {
  readonly id: string
  readonly heading: string
  readonly parents: string
  readonly body: string
}

/**
 * The best chunk of each section, best first: two windows of one section say much the same, and
 * the slots are worth more spent on other sections.
 */
const onePerSection = (
  ranked: ReadonlyArray<{ readonly id: string; readonly score: number }>,
  chunks: ReadonlyMap<string, KnowledgeChunk>,
  limit: number
) => {
  const seen = new Set<string>()
  const kept: Array<{ readonly id: string; readonly score: number }> = []
  for (const r of ranked) {
    const chunk = chunks.get(r.id)
    if (chunk === undefined) continue
    const key = `${chunk.source}\u0000${chunk.section}`
    if (seen.has(key)) continue
    seen.add(key)
    kept.push(r)
    if (kept.length === limit) break
  }
  return kept
}

/** Builds the index once; every search reuses it. */
export const buildKnowledgeBase = (
  corpus: IngestedCorpus,
  embeddings: Option.Option<EmbeddingsClient> = Option.none()
): Effect.Effect<KnowledgeBaseService> =>
  Effect.gen(function* () {
    const chunks = new Map<string, KnowledgeChunk>(corpus.chunks.map((c) => [c.id, c]))
    const index = new MiniSearch<IndexedChunk>({
      fields: ["heading", "parents", "body"],
      tokenize: analyze,
      processTerm: (term) => term,
      searchOptions: { boost: BOOST, combineWith: "OR" }
    })
    index.addAll(
      corpus.chunks.map((c) => ({
        id: c.id,
        heading: c.headingPath[c.headingPath.length - 1] ?? "",
        parents: c.headingPath.slice(0, -1).join(" "),
        body: `${c.headingPath.join("\n")}\n${c.text}`
      }))
    )

    const vectors = yield* Option.match(corpus.chunks.length === 0 ? Option.none() : embeddings, {
      onNone: () => Effect.succeed(Option.none<ReadonlyMap<string, ReadonlyArray<number>>>()),
      onSome: (client) =>
        client.embed(corpus.chunks.map((c) => `${c.section}\n${c.text}`)).pipe(
          Effect.map((rows) => Option.some(new Map(corpus.chunks.map((c, i) => [c.id, rows[i]!] as const)))),
          Effect.tap(() => Effect.logInfo(`knowledge base: dense retrieval on (${client.model} at ${client.url})`)),
          Effect.catchAll((error) =>
            Effect.logWarning(`knowledge base: dense retrieval off, BM25 only: ${error.message}`).pipe(
              Effect.as(Option.none<ReadonlyMap<string, ReadonlyArray<number>>>())
            )
          )
        )
    })
    const dense = Option.isSome(vectors) && Option.isSome(embeddings)

    const stats: KnowledgeStats = {
      documents: corpus.documents,
      chunks: corpus.chunks.length,
      sanitizedRemovals: corpus.removals.length,
      dense
    }

    const bm25 = (query: string, options: KnowledgeSearchOptions, allowed: (id: string) => boolean) => {
      const salient = salientTerms(query)
      return index
        .search(options.broaden === true ? expandQuery(query) : query, {
          filter: (r) => allowed(r.id as string),
          boostTerm: (term) => (salient.has(term) ? SALIENT_BOOST : 1),
          ...(options.broaden === true
            ? {
                prefix: (term: string) => term.length >= 4,
                fuzzy: (term: string) => (term.length >= 6 ? 0.2 : false),
                weights: { fuzzy: 0.3, prefix: 0.5 }
              }
            : {})
        })
        .slice(0, FUSION_DEPTH)
        .map((r) => ({ id: r.id as string, score: r.score }))
    }

    const denseRanking = (query: string, allowed: (id: string) => boolean) =>
      Option.match(Option.all({ client: embeddings, table: vectors }), {
        onNone: () => Effect.succeed(Option.none<Array<string>>()),
        onSome: ({ client, table }) =>
          client.embed([query]).pipe(
            Effect.map(([queryVector]) =>
              Option.some(
                [...table.entries()]
                  .filter(([id]) => allowed(id))
                  .map(([id, v]) => ({ id, score: cosine(queryVector!, v) }))
                  .sort((a, b) => b.score - a.score)
                  .slice(0, FUSION_DEPTH)
                  .map((r) => r.id)
              )
            ),
            Effect.catchAll((error) =>
              Effect.logWarning(`knowledge base: dense retrieval failed, using BM25 alone: ${error.message}`).pipe(
                Effect.as(Option.none<Array<string>>())
              )
            )
          )
      })

    const search = (rawQuery: string, options: KnowledgeSearchOptions = {}) => {
      const query = rawQuery.slice(0, MAX_QUERY_CHARS)
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(options.limit ?? DEFAULT_LIMIT)))
      const scope = options.sources !== undefined && options.sources.length > 0 ? new Set(options.sources) : undefined
      const allowed = (id: string) => scope === undefined || scope.has(chunks.get(id)?.source ?? "")
      return Effect.gen(function* () {
        const sparse = bm25(query, options, allowed)
        const denseIds = yield* denseRanking(query, allowed)
        const ranked = Option.match(denseIds, {
          onNone: () => sparse,
          onSome: (ids) => reciprocalRankFusion([sparse.map((r) => r.id), ids])
        })
        const passages: Array<Passage> = onePerSection(ranked, chunks, limit).map((r) => {
          const chunk = chunks.get(r.id)!
          return {
            id: chunk.id,
            source: chunk.source,
            section: chunk.section,
            chunkIndex: chunk.chunkIndex,
            text: chunk.text,
            score: r.score
          }
        })
        yield* Effect.annotateCurrentSpan({
          "security_agent.retrieval.mode": Option.isSome(denseIds) ? "hybrid" : dense ? "bm25_fallback" : "bm25",
          "security_agent.retrieval.result_count": passages.length,
          "security_agent.retrieval.result_ids": passages.map((p) => p.id).join(",")
        })
        return passages as ReadonlyArray<Passage>
      }).pipe(
        withTurnChildSpan("retrieval knowledge_base", {
          "gen_ai.operation.name": "retrieval",
          "gen_ai.data_source.id": "knowledge_base",
          "gen_ai.request.top_k": limit,
          "security_agent.retrieval.broaden": options.broaden === true,
          ...(scope === undefined ? {} : { "security_agent.retrieval.sources": [...scope].join(",") })
        })
      )
    }

    return {
      search,
      stats: Effect.succeed(stats),
      ready: corpus.chunks.length > 0,
      sources: [...new Set(corpus.chunks.map((c) => c.source))]
    } satisfies KnowledgeBaseService
  })

/** Logs what ingestion found that an operator should know about. */
const reportIngestion = (corpus: IngestedCorpus, dir: string) =>
  Effect.all([
    corpus.removals.length === 0
      ? Effect.void
      : Effect.logWarning(
          `knowledge base: removed ${corpus.removals.length} prompt-injection fragment(s) from ${[
            ...new Set(corpus.removals.map((r) => r.source))
          ].join(", ")}`
        ),
    Effect.forEach(corpus.warnings, (w) => Effect.logWarning(`knowledge base: ${w.source} ${w.message}`)),
    corpus.chunks.length === 0 ? Effect.logError(`knowledge base: no documents to index in ${dir}`) : Effect.void
  ])

export interface KnowledgeBaseOptions {
  readonly embeddings?: EmbeddingsClient
  readonly chunking?: ChunkingOptions
}

export class KnowledgeBase extends Context.Tag("security-agent/KnowledgeBase")<KnowledgeBase, KnowledgeBaseService>() {
  /** The documents of KNOWLEDGE_DOCS_DIR (default: the bundled data/docs), dense when EMBEDDINGS_BASE_URL is set. */
  static readonly layer = Layer.effect(
    KnowledgeBase,
    Effect.gen(function* () {
      const rag = (yield* AppConfig).rag
      const dir = resolveDataPath(rag.docsDir)
      const corpus = ingestDocuments(yield* readDocuments(dir))
      yield* reportIngestion(corpus, dir)
      const embeddings = Option.map(rag.embeddingsBaseUrl, (baseUrl) =>
        makeEmbeddingsClient({ baseUrl, model: rag.embeddingsModel, apiKey: rag.embeddingsApiKey })
      )
      return yield* buildKnowledgeBase(corpus, embeddings)
    })
  )

  /** An index over the given documents: for tests and tools. */
  static readonly fromDocuments = (documents: ReadonlyArray<SourceDocument>, options: KnowledgeBaseOptions = {}) =>
    Layer.effect(
      KnowledgeBase,
      buildKnowledgeBase(ingestDocuments(documents, options.chunking), Option.fromNullable(options.embeddings))
    )

  /** An index over the Markdown files of a directory, BM25 only. */
  static readonly layerFromDir = (dir: string, options: KnowledgeBaseOptions = {}) =>
    Layer.effect(
      KnowledgeBase,
      Effect.flatMap(readDocuments(dir), (documents) =>
        buildKnowledgeBase(ingestDocuments(documents, options.chunking), Option.fromNullable(options.embeddings))
      )
    )
}
