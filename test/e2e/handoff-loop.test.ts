// The handoff-loop alert against a real Prometheus: a scripted OpenAI-compatible model whose
// every plan bounces the turn between two specialists overruns the hop budget on every turn, and
// SecurityAgentHandoffLoop goes pending (with `for: 1s`, as the interop suite runs the rules).
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type OpenAiStandIn, startOpenAiStandIn } from "../reliability/OpenAiStandIn.js"
import { eventually } from "../support/eventually.js"
import { readJsonl } from "../support/jsonl.js"
import { freePort } from "../support/processes.js"
import {
  type AgentService,
  type SimulatorProcess,
  startService,
  startSimulator,
  type TraceEvent
} from "./support/AgentStack.js"
import { type PrometheusServer, startPrometheus } from "./support/PrometheusServer.js"

const MESSAGE = "what is my traffic? show me recent attacks"

/** Every answer is a plan of six steps bouncing between monitor and log_analyst. */
const BOUNCING_PLAN = JSON.stringify({
  steps: Array.from({ length: 6 }, (_, i) =>
    i % 2 === 0
      ? { agent: "monitor", request: "what is my traffic?" }
      : { agent: "log_analyst", request: "show me recent attacks" }
  )
})

describe("SecurityAgentHandoffLoop in a real Prometheus", () => {
  let dir = ""
  let simulator: SimulatorProcess | undefined
  let service: AgentService | undefined
  let prometheus: PrometheusServer | undefined
  let model: OpenAiStandIn | undefined

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sa-e2e-loop-"))
    // Every answer, whatever was asked, is the bouncing plan.
    model = await startOpenAiStandIn(0, () => BOUNCING_PLAN)
    simulator = await startSimulator(dir)
    service = await startService(dir, {
      safeline: simulator,
      // No collector here: spans are not what this file checks (a refused export degrades only OTLP).
      otlpEndpoint: `http://127.0.0.1:${await freePort()}`,
      env: {
        LLM_PROVIDER: "openai",
        OPENAI_BASE_URL: model.baseUrl,
        OPENAI_API_KEY: "sk-e2e-not-a-real-key-0000000000",
        OPENAI_MODEL: "bouncer",
        LLM_MAX_RETRIES: "0",
        AGENT_MAX_HOPS: "3"
      }
    })
    prometheus = await startPrometheus(dir, service.host)
  }, 180_000)

  afterAll(async () => {
    await Promise.allSettled([service?.stop(), simulator?.stop(), prometheus?.stop()])
    await model?.close()
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it("fires when every turn's plan overruns the hop budget, and the turns still answer", async () => {
    for (let i = 0; i < 6; i++) {
      const reply = await service!.chat(MESSAGE, `loop-${i}`)
      expect(reply.reply).toContain("not done: a turn runs at most 3 steps (AGENT_MAX_HOPS)")
    }
    expect(model!.calls.length).toBeGreaterThan(0)
    const events = readJsonl<TraceEvent>(service!.jsonlPath)
    const budget = events.filter(
      (e) => e.event === "guardrail.decision" && e.metadata.gate === "hop_budget" && e.metadata.decision === "deny"
    )
    expect(budget.length).toBe(6)
    // Counters need increases Prometheus sees (rate over scrapes): keep turns coming while waiting.
    let more = 0
    await eventually(
      async () => {
        await service!.chat(MESSAGE, `loop-more-${more++}`)
        const alerts = await prometheus!.alerts()
        const loop = alerts.find((a) => a.labels.alertname === "SecurityAgentHandoffLoop")
        expect(loop?.state === "pending" || loop?.state === "firing", JSON.stringify(alerts)).toBe(true)
      },
      { what: "SecurityAgentHandoffLoop", timeoutMs: 60_000 }
    )
  }, 240_000)
})
