// The real model's faults: a timeout shorter than generation, and the server killed mid-conversation
// and brought back. Turns degrade to the offline reasoner with a note in the reply (documentation
// answers too), /readyz and dependency_up{dependency="llm"} say so, the shipped LLM alert goes
// pending in a real Prometheus, and recovery needs no restart of the service.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PrometheusServer, startPrometheus } from "../e2e/support/PrometheusServer.js"
import { type LiveService, simulatorEnv, startService, startSimulator } from "../reliability/LiveService.js"
import { eventually } from "../support/eventually.js"
import {
  type LlamaServer,
  llamaServer,
  type RecordingProxy,
  realModelAvailable,
  recordingProxy
} from "./LlamaServer.js"
import { llmEnv, MODEL_UNAVAILABLE } from "./RealModelEnv.js"

/** This file's model names: the GenAI series (and the alert's group) are its own. */
const MODEL = `smollm2-135m-faults-${process.pid}`
const IMPATIENT_MODEL = `smollm2-135m-impatient-${process.pid}`
/** A documentation question the offline grounding answers from the bundled docs (data/eval/grounding.json). */
const DOC_QUESTION = "What should be in a SafeLine backup?"
const ALERT = "SecurityAgentLlmErrorRateHigh"

const skip = !realModelAvailable()

let chatServer: LlamaServer
let proxy: RecordingProxy
let simulator: Awaited<ReturnType<typeof startSimulator>>
const services: Array<LiveService> = []
let prometheus: PrometheusServer | undefined

const start = async (env: Record<string, string>) => {
  const service = await startService({ ...simulatorEnv(simulator.simulator), ...env })
  services.push(service)
  return service
}

beforeAll(async () => {
  if (skip) return
  chatServer = await llamaServer()
  await chatServer.start()
  proxy = await recordingProxy(chatServer.port)
  simulator = await startSimulator()
}, 300_000)

afterAll(async () => {
  await prometheus?.stop()
  for (const service of services) await service.close()
  await simulator?.close()
  await proxy?.close()
  await chatServer?.kill()
})

describe.skipIf(skip)("a real model's faults", () => {
  it("killed mid-conversation: degraded turns with a note, /readyz and dependency_up say so, the LLM alert goes pending; recovery is automatic", async () => {
    const service = await start(llmEnv(proxy.baseUrl, MODEL))
    prometheus = await startPrometheus(mkdtempSync(join(tmpdir(), "llm-prometheus-")), new URL(service.url).host)
    const first = await service.chat("how busy is the site right now?", "kill")
    expect(first.status).toBe(200)
    expect(first.body.reply).not.toContain(MODEL_UNAVAILABLE)
    // Prometheus has seen the model's successful calls before the outage.
    await eventually(
      async () =>
        (await prometheus!.query(`gen_ai_client_operation_duration_seconds_count{gen_ai_request_model="${MODEL}"}`))
          .length > 0,
      { what: "the model's calls scraped", timeoutMs: 30_000, intervalMs: 1000 }
    )

    await chatServer.kill()
    const down = await service.chat("show me recent attacks", "kill")
    expect(down.status).toBe(200)
    expect(down.body.route).toBe("log_analyst")
    expect(down.body.reply).toContain(MODEL_UNAVAILABLE)
    const doc = await service.chat(DOC_QUESTION, "kill-doc")
    expect(doc.status).toBe(200)
    expect(doc.body.route).toBe("rag_agent")
    expect(doc.body.sources.length, doc.body.reply).toBeGreaterThan(0)
    expect(doc.body.reply).toContain(MODEL_UNAVAILABLE)

    const readyDown = await service.get("/readyz")
    // Readiness does not depend on the model: the replica keeps serving degraded answers.
    expect(readyDown.status).toBe(200)
    expect(readyDown.body.dependencies.llm.ok, JSON.stringify(readyDown.body)).toBe(false)
    expect(await service.sample("dependency_up", { dependency: "llm" })).toBe(0)

    // Failed calls keep coming while the server is away: the shipped rule (its `for:` cut to 1s)
    // sees their rate for this model.
    const alert = await eventually(
      async () => {
        const again = await service.chat("which IPs attacked us in the last hour?", "kill")
        expect(again.status).toBe(200)
        expect(again.body.reply).toContain(MODEL_UNAVAILABLE)
        const found = (await prometheus!.alerts()).find(
          (a) => a.labels.alertname === ALERT && a.labels.gen_ai_request_model === MODEL
        )
        return found ?? false
      },
      { what: `${ALERT} for ${MODEL}`, timeoutMs: 90_000, intervalMs: 1000 }
    )
    expect(["pending", "firing"]).toContain(alert.state)
    expect(alert.labels.gen_ai_provider_name).toBe("openai")

    await chatServer.start()
    // An unreachable model is probed again within seconds, not after the minute a reachable one waits.
    await eventually(async () => (await service.get("/readyz")).body.dependencies.llm.ok === true, {
      what: "/readyz reporting the model back",
      timeoutMs: 60_000,
      intervalMs: 1000
    })
    expect(await service.sample("dependency_up", { dependency: "llm" })).toBe(1)
    const back = await service.chat("how busy is the site right now?", "kill")
    expect(back.status).toBe(200)
    expect(back.body.reply).not.toContain(MODEL_UNAVAILABLE)
    expect(proxy.calls.at(-1)?.status).toBe(200)
  })

  it("a timeout shorter than generation degrades the turn (documentation answers too), never hangs it", async () => {
    // Last in the file: the server still computes the answers nobody waits for.
    const impatient = await start(llmEnv(proxy.baseUrl, IMPATIENT_MODEL, { LLM_TIMEOUT_SECONDS: "0.01" }))
    const turn = await impatient.chat("show me recent attacks", "timeout")
    expect(turn.status).toBe(200)
    expect(turn.body.route).toBe("log_analyst")
    expect(turn.body.reply).toContain(MODEL_UNAVAILABLE)
    // Without the model a turn is local work: seconds even on two busy cores.
    expect(turn.ms).toBeLessThan(15_000)
    const doc = await impatient.chat(DOC_QUESTION, "timeout-doc")
    expect(doc.status).toBe(200)
    expect(doc.body.route).toBe("rag_agent")
    expect(doc.body.sources.length, doc.body.reply).toBeGreaterThan(0)
    expect(doc.body.reply).toContain(MODEL_UNAVAILABLE)
    expect(doc.ms).toBeLessThan(15_000)
    const timeouts = await impatient.sample(
      "gen_ai_client_operation_duration_seconds_count",
      {
        gen_ai_operation_name: "chat",
        gen_ai_provider_name: "openai",
        gen_ai_request_model: IMPATIENT_MODEL,
        error_type: "timeout"
      },
      true
    )
    // Route and compose of the first turn, route, draft and critique of the second, at least.
    expect(timeouts).toBeGreaterThanOrEqual(5)
  })
})
