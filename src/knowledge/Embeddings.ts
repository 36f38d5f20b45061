// A client of an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, LM Studio,
// text-embeddings-inference) over fetch, for optional dense retrieval. Failures are typed, so
// the knowledge base can log them and fall back to BM25.
import { Data, Effect, Option, Redacted } from "effect"

export class EmbeddingsError extends Data.TaggedError("EmbeddingsError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddingsClient {
  readonly model: string
  readonly url: string
  /** One vector per input, in input order. */
  readonly embed: (
    inputs: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, EmbeddingsError>
}

export interface EmbeddingsSettings {
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434` (`/v1/embeddings` is appended as needed). */
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly timeoutMs?: number
  /** Inputs per request. */
  readonly batchSize?: number
}

/** `…/v1` → `…/v1/embeddings`; `…/embeddings` stays; anything else gets `/v1/embeddings`. */
export const embeddingsUrl = (baseUrl: string): string => {
  const base = baseUrl.replace(/\/+$/, "")
  if (/\/embeddings$/.test(base)) return base
  if (/\/v\d+$/.test(base)) return `${base}/embeddings`
  return `${base}/v1/embeddings`
}

interface EmbeddingsResponse {
  readonly data?: ReadonlyArray<{ readonly embedding?: ReadonlyArray<number>; readonly index?: number }>
}

export const makeEmbeddingsClient = (settings: EmbeddingsSettings): EmbeddingsClient => {
  const url = embeddingsUrl(settings.baseUrl)
  const timeoutMs = settings.timeoutMs ?? 10_000
  const batchSize = Math.max(1, settings.batchSize ?? 64)
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (Option.isSome(settings.apiKey)) headers.authorization = `Bearer ${Redacted.value(settings.apiKey.value)}`

  const embedBatch = (inputs: ReadonlyArray<string>) =>
    Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(url, {
          method: "POST",
          headers,
          body: JSON.stringify({ model: settings.model, input: inputs }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
        })
        if (!response.ok) throw new Error(`HTTP ${response.status}`)
        const body = (await response.json()) as EmbeddingsResponse
        const rows = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
        if (
          rows.length !== inputs.length ||
          rows.some((r) => !Array.isArray(r.embedding) || r.embedding.length === 0)
        ) {
          throw new Error(`expected ${inputs.length} embeddings, got ${rows.length}`)
        }
        return rows.map((r) => r.embedding!)
      },
      catch: (cause) =>
        new EmbeddingsError({
          message: `embeddings endpoint ${url} (${settings.model}) failed: ${(cause as Error)?.message ?? String(cause)}`,
          cause
        })
    })

  return {
    model: settings.model,
    url,
    embed: (inputs) => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < inputs.length; i += batchSize) batches.push(inputs.slice(i, i + batchSize))
      return Effect.map(Effect.forEach(batches, embedBatch), (parts) => parts.flat())
    }
  }
}

/** Cosine similarity; 0 when either vector is all zeros or their lengths differ. */
export const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  if (a.length !== b.length) return 0
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}
