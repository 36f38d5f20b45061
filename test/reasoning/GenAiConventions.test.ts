// Issue 17's GenAI points, each asserted on exported spans of a real turn through POST /v1/chat
// with the LLM reasoner over an OpenAI-format stand-in on 127.0.0.1 (chat and embeddings):
// span kinds, provider name at creation, response facts, tokens only when reported, structured
// opt-in content, the embeddings span and metrics, our own attribute namespace, `_OTHER`, and
// the HTTP server span named by its route template.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, describe, expect, it } from "@effect/vitest"
import type { Context as OtelContext } from "@opentelemetry/api"
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { tracingLayer } from "../../src/observability/Otlp.js"
import type { Telemetry } from "../../src/observability/Telemetry.js"
import { LlmReasonerLive } from "../../src/reasoning/LlmReasoner.js"
import { genAiProviderName, type Reasoner } from "../../src/reasoning/Reasoner.js"
import { baseUrl, testServer } from "../support/app.js"

const MODEL = "conventions-model"
const RESPONSE_MODEL = "conventions-model-2026-01"
const EMBEDDINGS_MODEL = "conventions-embed"

/** An OpenAI-format server: usage only on routing answers, a 418 for one session's compose. */
const startStandIn = async () => {
  const server: Server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => {
      res.setHeader("content-type", "application/json")
      if (req.url?.endsWith("/models")) return res.end(JSON.stringify({ object: "list", data: [] }))
      const request = JSON.parse(body || "{}")
      if (req.url?.endsWith("/embeddings")) {
        const inputs: Array<string> = Array.isArray(request.input) ? request.input : [request.input]
        const vector = (text: string) => Array.from({ length: 8 }, (_, i) => (text.charCodeAt(i % text.length) % 7) + 1)
        return res.end(
          JSON.stringify({
            data: inputs.map((text, index) => ({ embedding: vector(text), index })),
            usage: { prompt_tokens: inputs.length * 5, total_tokens: inputs.length * 5 }
          })
        )
      }
      const system = String(request.messages?.[0]?.content ?? "")
      const routing = system.startsWith("You route messages")
      const user = JSON.stringify(request.messages)
      const route = user.includes("deny rule") ? "rag_agent" : "monitor"
      if (!routing && user.includes("teapot")) {
        res.statusCode = 418
        return res.end(JSON.stringify({ error: { message: "I'm a teapot" } }))
      }
      res.end(
        JSON.stringify({
          id: routing ? "chatcmpl-route-1" : "chatcmpl-compose-1",
          object: "chat.completion",
          created: 1,
          model: RESPONSE_MODEL,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: routing ? JSON.stringify({ route }) : "Traffic is normal." },
              finish_reason: "stop"
            }
          ],
          ...(routing ? { usage: { prompt_tokens: 101, completion_tokens: 7, total_tokens: 108 } } : {})
        })
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return { port, baseUrl: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(r)) }
}

/**
 * Keeps each span's attributes as they were when its first child started (Effect sets a span's
 * creation attributes right after the OTel start, before any work), and exports finished spans.
 */
class StartRecorder implements SpanProcessor {
  readonly beforeWork = new Map<string, Record<string, unknown>>()
  private readonly live = new Map<string, Span>()
  constructor(private readonly next: SpanProcessor) {}
  onStart(span: Span, context: OtelContext) {
    this.live.set(span.spanContext().spanId, span)
    const parentId = span.parentSpanContext?.spanId
    const parent = parentId === undefined ? undefined : this.live.get(parentId)
    if (parentId !== undefined && parent !== undefined && !this.beforeWork.has(parentId))
      this.beforeWork.set(parentId, { ...parent.attributes })
    this.next.onStart(span, context)
  }
  onEnd(span: ReadableSpan) {
    this.live.delete(span.spanContext().spanId)
    this.next.onEnd(span)
  }
  forceFlush() {
    return this.next.forceFlush()
  }
  shutdown() {
    return this.next.shutdown()
  }
}

const standIn = await startStandIn()
afterAll(() => standIn.close())

const env = {
  LLM_PROVIDER: "openai",
  OPENAI_BASE_URL: standIn.baseUrl,
  OPENAI_MODEL: MODEL,
  OPENAI_RESPONSE_FORMAT: "json_schema",
  LLM_MAX_RETRIES: "0",
  LLM_TIMEOUT_SECONDS: "5",
  AGENT_TRACE_CAPTURE_CONTENT: "true",
  EMBEDDINGS_BASE_URL: standIn.baseUrl,
  EMBEDDINGS_MODEL: EMBEDDINGS_MODEL
}

const exporter = new InMemorySpanExporter()
const recorder = new StartRecorder(new SimpleSpanProcessor(exporter))
const { otel } = Effect.runSync(Effect.provide(AppConfig, AppConfig.layerWith({})))
const tracing = tracingLayer(otel, () => recorder) as Layer.Layer<never>

const chat = (url: string, message: string, sessionId: string) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, session_id: sessionId })
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
  )

/** The app provides AppConfig to the reasoner it is given; the test option's type names only Telemetry. */
type ReasonerLayer = Layer.Layer<Reasoner, never, Telemetry>

const KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2 }

describe("GenAI semantic conventions on exported spans", () => {
  it("Google's provider name is gcp.gemini", () => {
    expect(genAiProviderName("google")).toBe("gcp.gemini")
    expect(genAiProviderName("openai")).toBe("openai")
  })

  it.live("a turn through POST /v1/chat carries every point", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const turn = yield* chat(url, "how busy is the site right now?", "conventions-1")
      expect(turn.status).toBe(200)
      const rag = yield* chat(url, "How do I configure a custom deny rule in SafeLine?", "conventions-2")
      expect(rag.status).toBe(200)
      const teapot = yield* chat(url, "teapot: how busy is the site right now?", "conventions-3")
      expect(teapot.status).toBe(200)
      yield* Effect.sleep("200 millis")
      const spans = exporter.getFinishedSpans()
      const ofSession = (sessionId: string) => spans.filter((s) => s.attributes["gen_ai.conversation.id"] === sessionId)
      const spansOfTurn = ofSession("conventions-1")
      const turnSpan = spansOfTurn.find((s) => s.name === "invoke_agent security-agent")!
      expect(turnSpan.spanContext().traceId).toBe(turn.body.trace_id)

      // The HTTP server span: SERVER, named by method and route template.
      const server = spans.find((s) => s.spanContext().spanId === turnSpan.parentSpanContext?.spanId)!
      expect(server.kind).toBe(KIND.SERVER)
      expect(server.name).toBe("POST /v1/chat")

      // The turn span: INTERNAL, a child of the server span, provider name set at creation.
      expect(turnSpan.kind).toBe(KIND.INTERNAL)
      expect(turnSpan.attributes["security_agent.route"]).toBe("monitor")
      expect(Object.keys(turnSpan.attributes).filter((k) => k === "gen_ai.agent.route")).toEqual([])
      const input = JSON.parse(String(turnSpan.attributes["gen_ai.input.messages"]))
      expect(input).toEqual([{ role: "user", parts: [{ type: "text", content: "how busy is the site right now?" }] }])
      const output = JSON.parse(String(turnSpan.attributes["gen_ai.output.messages"]))
      expect(output[0]).toMatchObject({ role: "assistant", finish_reason: "stop" })
      expect(output[0].parts[0].type).toBe("text")

      // Every invoke_agent span (turn and nodes) has gen_ai.provider.name from its creation, before its work.
      const agentSpans = spansOfTurn.filter((s) => s.name.startsWith("invoke_agent "))
      expect(agentSpans.map((s) => s.name)).toEqual(
        expect.arrayContaining(["invoke_agent security-agent", "invoke_agent supervisor", "invoke_agent monitor"])
      )
      for (const span of agentSpans) {
        expect(recorder.beforeWork.get(span.spanContext().spanId)?.["gen_ai.provider.name"], span.name).toBe("openai")
      }

      // chat spans: CLIENT, response facts, server address, tokens only when reported.
      const chats = spansOfTurn.filter((s) => s.name === `chat ${MODEL}`)
      expect(chats.map((s) => s.attributes["security_agent.purpose"])).toEqual(["route", "compose"])
      for (const span of chats) {
        expect(span.kind).toBe(KIND.CLIENT)
        expect(span.attributes).toMatchObject({
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": MODEL,
          "gen_ai.response.model": RESPONSE_MODEL,
          "gen_ai.response.finish_reasons": ["stop"],
          "server.address": "127.0.0.1",
          "server.port": standIn.port
        })
        const messages = JSON.parse(String(span.attributes["gen_ai.input.messages"]))
        expect(messages[0]).toMatchObject({ role: "system", parts: [{ type: "text" }] })
        expect(JSON.parse(String(span.attributes["gen_ai.output.messages"]))[0].role).toBe("assistant")
      }
      const [route, compose] = chats
      expect(route!.attributes).toMatchObject({
        "gen_ai.response.id": "chatcmpl-route-1",
        "gen_ai.usage.input_tokens": 101,
        "gen_ai.usage.output_tokens": 7,
        "security_agent.route.source": "model"
      })
      expect(compose!.attributes["gen_ai.response.id"]).toBe("chatcmpl-compose-1")
      expect(compose!.attributes["gen_ai.usage.input_tokens"]).toBeUndefined()
      expect(compose!.attributes["gen_ai.usage.output_tokens"]).toBeUndefined()

      // Embeddings: a CLIENT span per request and the GenAI client metrics.
      const embeddings = spans.filter((s) => s.name === `embeddings ${EMBEDDINGS_MODEL}`)
      expect(embeddings.length).toBeGreaterThan(0)
      expect(embeddings[0]!.kind).toBe(KIND.CLIENT)
      expect(embeddings[0]!.attributes).toMatchObject({
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": EMBEDDINGS_MODEL,
        "server.address": "127.0.0.1",
        "server.port": standIn.port
      })
      expect(rag.body.route).toBe("rag_agent")
      const ragSpans = spans.filter((s) => s.spanContext().traceId === rag.body.trace_id)
      expect(ragSpans.some((s) => s.name === `embeddings ${EMBEDDINGS_MODEL}`)).toBe(true)
      const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
      expect(metrics).toMatch(
        new RegExp(
          `gen_ai_client_operation_duration_seconds_count\\{[^}]*gen_ai_operation_name="embeddings"[^}]*gen_ai_request_model="${EMBEDDINGS_MODEL}"`
        )
      )
      expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_operation_name="embeddings"[^}]*\} [1-9]/)

      // An error the classifier cannot name is `_OTHER`, never a free-form string.
      const failed = ofSession("conventions-3").filter(
        (s) => s.name === `chat ${MODEL}` && s.attributes["error.type"] !== undefined
      )
      expect(failed.map((s) => s.attributes["error.type"])).toEqual(["_OTHER"])
    }).pipe(
      Effect.provide(testServer(env, { reasoner: LlmReasonerLive as ReasonerLayer }).pipe(Layer.provideMerge(tracing)))
    )
  )
})
