// A client of an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, LM Studio,
// text-embeddings-inference) over fetch, for optional dense retrieval. Failures are typed, so
// the knowledge base can log them and fall back to BM25. Each request is an `embeddings {model}`
// CLIENT span with the GenAI client metrics, like a chat call.
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ERROR_TYPE_VALUE_OTHER,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI
} from "@opentelemetry/semantic-conventions/incubating"
import { Clock, Data, Effect, Exit, Option, Redacted } from "effect"
import { Telemetry } from "../observability/Telemetry.js"

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
  readonly usage?: { readonly prompt_tokens?: number }
}

/** A bounded `error.type` for an embeddings failure. */
const embeddingsErrorType = (cause: unknown): string => {
  const text = String((cause as Error)?.message ?? cause).toLowerCase()
  if (/timeout|timed out|abort/.test(text)) return "timeout"
  if (/http 429/.test(text)) return "rate_limited"
  if (/http 5\d\d|econnrefused|fetch failed|network|socket/.test(text)) return "unavailable"
  if (/expected \d+ embeddings|json/.test(text)) return "invalid_response"
  return ERROR_TYPE_VALUE_OTHER
}

export const makeEmbeddingsClient = (settings: EmbeddingsSettings): EmbeddingsClient => {
  const url = embeddingsUrl(settings.baseUrl)
  // Small batches with a generous timeout: a CPU-bound local server (llama.cpp) embeds a batch of
  // long chunks in seconds, and one timed-out batch turns dense retrieval off for the process.
  const timeoutMs = settings.timeoutMs ?? 30_000
  const batchSize = Math.max(1, settings.batchSize ?? 16)
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (Option.isSome(settings.apiKey)) headers.authorization = `Bearer ${Redacted.value(settings.apiKey.value)}`

  const endpoint = new URL(url)
  const server = {
    [ATTR_SERVER_ADDRESS]: endpoint.hostname,
    [ATTR_SERVER_PORT]: endpoint.port === "" ? (endpoint.protocol === "http:" ? 80 : 443) : Number(endpoint.port)
  }
  const request = (inputs: ReadonlyArray<string>) =>
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
        return { vectors: rows.map((r) => r.embedding!), inputTokens: body.usage?.prompt_tokens }
      },
      catch: (cause) =>
        new EmbeddingsError({
          message: `embeddings endpoint ${url} (${settings.model}) failed: ${(cause as Error)?.message ?? String(cause)}`,
          cause
        })
    })

  /** One request: span, GenAI metrics (when Telemetry is in context) and a classified failure. */
  const embedBatch = (inputs: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const telemetry = yield* Effect.serviceOption(Telemetry)
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(request(inputs))
      const durationSeconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      const base = {
        operation: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
        provider: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
        model: settings.model,
        durationSeconds
      }
      if (Exit.isSuccess(exit)) {
        const { vectors, inputTokens } = exit.value
        if (inputTokens !== undefined) yield* Effect.annotateCurrentSpan(ATTR_GEN_AI_USAGE_INPUT_TOKENS, inputTokens)
        if (Option.isSome(telemetry)) yield* telemetry.value.recordLlmCall({ ...base, inputTokens })
        return vectors
      }
      const error = exit.cause._tag === "Fail" ? exit.cause.error : new EmbeddingsError({ message: "interrupted" })
      const errorType = embeddingsErrorType(error.cause ?? error)
      yield* Effect.annotateCurrentSpan(ATTR_ERROR_TYPE, errorType)
      if (Option.isSome(telemetry)) yield* telemetry.value.recordLlmCall({ ...base, errorType })
      return yield* Effect.failCause(exit.cause)
    }).pipe(
      Effect.withSpan(`embeddings ${settings.model}`, {
        kind: "client",
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
          [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
          [ATTR_GEN_AI_REQUEST_MODEL]: settings.model,
          ...server
        }
      })
    )

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
