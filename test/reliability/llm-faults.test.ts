// The LLM endpoint (an OpenAI-format stand-in on 127.0.0.1) answering, slow, malformed, failing
// and down: with a working model the reply is the model's text and the GenAI metrics, the
// `chat <model>` span and the `llm.call` event appear; when it fails, routing falls back to the
// offline classifier and the reply to the built-in draft, said to be one, and the service stays
// healthy with the failure counted by error type.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readJsonl } from "../support/jsonl.js"
import { freePort } from "../support/processes.js"
import { type LiveService, startService } from "./LiveService.js"
import { MODEL_REPLY, type OpenAiStandIn, startOpenAiStandIn } from "./OpenAiStandIn.js"
import { startOtlpCollector } from "./OtlpCollectorStandIn.js"

const MODEL = "test-model"
const BUILT_IN = "(The language model is unavailable right now, so this is the built-in summary.)"
const SIMULATOR_LINE =
  "Data source: the SafeLine simulator (generated demo traffic, not a real WAF); set SAFELINE_URL to operate a real SafeLine."

const llmEnv = (baseUrl: string): Record<string, string> => ({
  LLM_PROVIDER: "openai",
  OPENAI_BASE_URL: baseUrl,
  OPENAI_API_KEY: "sk-reliability",
  OPENAI_MODEL: MODEL,
  // The stand-in answers prose whatever `response_format` asks, like a server without structured output.
  OPENAI_RESPONSE_FORMAT: "none",
  LLM_TIMEOUT_SECONDS: "1",
  LLM_MAX_RETRIES: "0"
})

const genAiCount = (s: LiveService, errorType?: string) =>
  s.sample(
    "gen_ai_client_operation_duration_seconds_count",
    {
      gen_ai_operation_name: "chat",
      gen_ai_provider_name: "openai",
      gen_ai_request_model: MODEL,
      ...(errorType === undefined ? {} : { error_type: errorType })
    },
    true
  )

let llm: OpenAiStandIn
let service: LiveService
let collector: Awaited<ReturnType<typeof startOtlpCollector>>

beforeAll(async () => {
  llm = await startOpenAiStandIn()
  collector = await startOtlpCollector()
  service = await startService({
    ...llmEnv(llm.baseUrl),
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json"
  })
})
afterAll(async () => {
  await service?.close()
  await llm?.close()
  await collector?.close()
})

const expectHealthy = async (s: LiveService) => {
  expect((await s.get("/healthz")).status).toBe(200)
  const ready = await s.get("/readyz")
  expect(ready.status).toBe(200)
  return ready.body
}

describe("LLM endpoint", () => {
  it("answering: the reply is the model's text, with GenAI metrics and the llm.call event", async () => {
    llm.setMode("ok")
    const callsBefore = (await genAiCount(service)) ?? 0
    const turn = await service.chat("how busy is the site right now?", "llm-ok")
    expect(turn.status).toBe(200)
    expect(turn.body.route).toBe("monitor")
    // The model's text verbatim, then the data-source line the agent appends (issue 15).
    expect(turn.body.reply).toBe(`${MODEL_REPLY}\n\n${SIMULATOR_LINE}`)
    expect(llm.calls.map((c) => c.purpose)).toEqual(["route", "compose"])
    expect(llm.calls.every((c) => c.model === MODEL)).toBe(true)
    expect(await genAiCount(service)).toBe(callsBefore + 2)
    expect(
      (await service.sample(
        "gen_ai_client_token_usage_sum",
        {
          gen_ai_operation_name: "chat",
          gen_ai_provider_name: "openai",
          gen_ai_request_model: MODEL,
          gen_ai_token_type: "input"
        },
        true
      )) ?? 0
    ).toBeGreaterThanOrEqual(642)
    const trace = await service.get(`/v1/sessions/llm-ok/turns/1/trace`)
    const llmCalls = trace.body.events.filter((e: any) => e.event === "llm.call")
    expect(llmCalls).toHaveLength(2)
    expect(llmCalls[0].metadata).toMatchObject({
      provider: "openai",
      model: MODEL,
      input_tokens: 321,
      output_tokens: 23
    })
    expect((await expectHealthy(service)).dependencies.llm.ok).toBe(true)
  })

  it("slow: each call gives up after LLM_TIMEOUT_SECONDS; offline routing and the built-in draft answer", async () => {
    llm.setMode("slow")
    const before = (await genAiCount(service, "timeout")) ?? 0
    const turn = await service.chat("what is my traffic?", "llm-slow")
    expect(turn.status).toBe(200)
    expect(turn.body.route).toBe("monitor")
    expect(turn.body.reply).toMatch(/requests\/s/)
    expect(turn.body.reply).toContain(BUILT_IN)
    // Two calls of 1 s at most; without the timeout they would take the stand-in's 3 s each.
    expect(turn.ms).toBeLessThan(4500)
    expect(await genAiCount(service, "timeout")).toBe(before + 2)
    await expectHealthy(service)
  })

  it("malformed answers and HTTP 500: the same fallback, the failure counted", async () => {
    for (const mode of ["malformed", "http500"] as const) {
      llm.setMode(mode)
      const turn = await service.chat("show me recent attacks", `llm-${mode}`)
      expect(turn.status, mode).toBe(200)
      expect(turn.body.route, mode).toBe("log_analyst")
      expect(turn.body.reply, mode).toMatch(/attack events/)
      expect(turn.body.reply, mode).toContain(BUILT_IN)
      await expectHealthy(service)
    }
    const text = await service.metrics()
    const failures = [
      ...text.matchAll(/^gen_ai_client_operation_duration_seconds_count\{.*error_type="(\w+)".*\} (\d+)$/gm)
    ]
    const byType = Object.fromEntries(failures.map((m) => [m[1], Number(m[2])]))
    expect(byType.unavailable, JSON.stringify(byType)).toBeGreaterThanOrEqual(2)
    expect(Object.values(byType).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6)
    expect(await service.sample("chat_failures_total")).toBe(0)
    llm.setMode("ok")
    const back = await service.chat("how busy is the site right now?", "llm-slow")
    expect(back.body).toMatchObject({ turn_id: "2", reply: `${MODEL_REPLY}\n\n${SIMULATOR_LINE}` })
  })

  it("down (nothing listening): healthy, /readyz reports the LLM, turns use the fallback", async () => {
    const closedPort = await freePort()
    const down = await startService(llmEnv(`http://127.0.0.1:${closedPort}/v1`))
    try {
      // gen_ai_* series are not namespaced: they are shared with the other service here.
      const before = (await genAiCount(down, "unavailable")) ?? 0
      const turn = await down.chat("what is SQL injection?", "llm-down")
      expect(turn.status).toBe(200)
      expect(turn.body.route).toBe("threat_intel")
      expect(turn.body.reply).toMatch(/CWE-89/)
      expect(turn.body.reply).toContain(BUILT_IN)
      const ready = await expectHealthy(down)
      expect(ready.dependencies.llm.ok).toBe(false)
      expect(await down.sample("dependency_up", { dependency: "llm" })).toBe(0)
      expect(await genAiCount(down, "unavailable")).toBe(before + 2)
    } finally {
      await down.close()
    }
  })

  it("the chat <model> spans reach the collector in the turn's trace; JSONL holds every llm.call", async () => {
    const okTurn = (await service.get("/v1/sessions/llm-ok/turns/1/trace")).body.events[0].trace_id
    await service.close()
    const chatSpans = collector.spans.filter((s) => s.name === `chat ${MODEL}`)
    expect(chatSpans.length).toBeGreaterThanOrEqual(2)
    const inOkTurn = chatSpans.filter((s) => s.traceId === okTurn)
    expect(inOkTurn).toHaveLength(2)
    expect(inOkTurn[0]!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": MODEL,
      "gen_ai.conversation.id": "llm-ok"
    })
    expect(collector.spans.some((s) => s.name === "invoke_agent security-agent" && s.traceId === okTurn)).toBe(true)
    const failed = chatSpans.filter((s) => s.attributes["error.type"] !== undefined)
    expect(failed.length).toBeGreaterThanOrEqual(6)
    const llmEvents = readJsonl(service.tracePath).filter((e) => e.event === "llm.call")
    expect(llmEvents.length).toBe(llm.calls.length)
  })
})
