// SafeLine down, slow, failing with HTTP 5xx and with an error envelope on HTTP 200: the service
// stays healthy, the turn answers with a clear message, every turn is still traced, sessions go
// on with gapless turn ids, and the WAF is never left half-changed.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Simulator } from "../../src/simulator/Simulator.js"
import { eventually } from "../support/eventually.js"
import { readJsonl } from "../support/jsonl.js"
import { freePort } from "../support/processes.js"
import { type LiveService, run, simulatorEnv, startService, startSimulator } from "./LiveService.js"

let simulator: Simulator
let stopSimulator: () => Promise<void>
let service: LiveService

beforeAll(async () => {
  ;({ simulator, close: stopSimulator } = await startSimulator())
  service = await startService({ ...simulatorEnv(simulator), SAFELINE_TIMEOUT: "1", SAFELINE_RETRIES: "0" })
})
afterAll(async () => {
  await service?.close()
  await stopSimulator?.()
})

/** The parts of the WAF a turn may change: modes, IP groups and policies. */
const wafState = async () => {
  const { modes, ipGroups, policies } = await run(simulator.snapshot)
  return { modes, ipGroups, policies }
}

const expectHealthy = async (s: LiveService) => {
  expect((await s.get("/healthz")).status).toBe(200)
  const ready = await s.get("/readyz")
  expect(ready.status).toBe(200)
  return ready.body
}

describe("SafeLine faults", () => {
  it("slow SafeLine: the turn answers within the timeout with a clear message, and recovers", async () => {
    const session = "slow-safeline"
    await run(simulator.setDelay(3000))
    const slow = await service.chat("what is my traffic?", session)
    expect(slow.status).toBe(200)
    expect(slow.body).toMatchObject({ session_id: session, turn_id: "1", route: "monitor" })
    expect(slow.body.reply).toMatch(/SafeLine did not answer .* within 1 s/)
    expect(slow.body.reply).toMatch(/SAFELINE_TIMEOUT/)
    expect(slow.ms).toBeLessThan(2500)
    await expectHealthy(service)
    await run(simulator.setDelay(0))
    const recovered = await service.chat("what is my traffic?", session)
    expect(recovered.body.turn_id).toBe("2")
    expect(recovered.body.reply).toMatch(/requests\/s/)
    expect(
      await service.sample("agent_tool_calls_total", {
        agent: "monitor",
        status: "error",
        tool: "tool_get_traffic_stats"
      })
    ).toBeGreaterThanOrEqual(1)
  })

  it("HTTP 500 and an error envelope on HTTP 200: clear replies naming SafeLine's answer", async () => {
    await run(simulator.setFailure("http500"))
    const failing = await service.chat("what is my traffic?", "safeline-500")
    expect(failing.status).toBe(200)
    expect(failing.body.reply).toMatch(/SafeLine answered HTTP 500/)
    expect(failing.body.reply).toMatch(/retry later/)
    const ready = await expectHealthy(service)
    expect(ready.dependencies.safeline.ok).toBe(false)
    expect(await service.sample("dependency_up", { dependency: "safeline" })).toBe(0)

    await run(simulator.setFailure("envelope_error"))
    const envelope = await service.chat("show me recent attacks", "safeline-envelope")
    expect(envelope.status).toBe(200)
    expect(envelope.body.route).toBe("log_analyst")
    expect(envelope.body.reply).toMatch(/SafeLine refused .*error envelope on HTTP 200/)
    await expectHealthy(service)

    await run(simulator.setFailure("none"))
    const recovered = await service.chat("show me recent attacks", "safeline-envelope")
    expect(recovered.body.turn_id).toBe("2")
    expect(recovered.body.reply).toMatch(/attack events/)
    expect((await expectHealthy(service)).dependencies.safeline.ok).toBe(true)
    expect(await service.sample("dependency_up", { dependency: "safeline" })).toBe(1)
  })

  it("a confirmed change that SafeLine refuses is not applied, is audited, and is not left pending", async () => {
    const session = "change-during-outage"
    const before = await wafState()
    const asked = await service.chat("ban 203.0.113.77 because it scans us", session)
    expect(asked.body.pending_action).toMatchObject({ action: "blacklist_ip" })
    const code = asked.body.reply.match(/confirm (\d{6})/)![1]
    await run(simulator.setFailure("http500"))
    const confirmed = await service.chat(`confirm ${code}`, session)
    expect(confirmed.status).toBe(200)
    expect(confirmed.body.reply).toMatch(/SafeLine did not apply the change/)
    expect(confirmed.body.pending_action).toBeUndefined()
    await run(simulator.setFailure("none"))
    expect(await wafState()).toEqual(before)
    // The code was spent: replaying it once SafeLine is back changes nothing.
    const replay = await service.chat(`confirm ${code}`, session)
    expect(replay.body.reply).toMatch(/no pending change/)
    expect(await wafState()).toEqual(before)
    expect(
      await service.sample("agent_guardrail_total", {
        decision: "deny",
        gate: "post_tool_result",
        reason: "tool_error"
      })
    ).toBe(1)
    await eventually(
      () =>
        readJsonl(service.auditPath).some(
          (r) => r.session_id === session && r.metadata.gate === "post_tool_result" && r.metadata.decision === "deny"
        ),
      { what: "the refused change in the audit log", timeoutMs: 5000 }
    )
  })

  it("SafeLine down (nothing listening): healthy, /readyz reports it, the turn says so", async () => {
    const closedPort = await freePort()
    const down = await startService({
      SAFELINE_URL: `http://127.0.0.1:${closedPort}`,
      SAFELINE_API_TOKEN: "nobody-listens",
      SAFELINE_TIMEOUT: "1",
      SAFELINE_RETRIES: "1"
    })
    try {
      const turn = await down.chat("what is my traffic?", "down-1")
      expect(turn.status).toBe(200)
      expect(turn.body.route).toBe("monitor")
      expect(turn.body.reply).toMatch(/couldn't finish that \(monitor\): .*SafeLine/)
      expect(turn.ms).toBeLessThan(5000)
      const ready = await expectHealthy(down)
      expect(ready.status).toBe("ready")
      expect(ready.dependencies.safeline.ok).toBe(false)
      expect(ready.dependencies.safeline.detail).toContain(String(closedPort))
      const next = await down.chat("what is SQL injection?", "down-1")
      expect(next.body).toMatchObject({ turn_id: "2", route: "threat_intel" })
      expect(next.body.reply).toMatch(/CWE-89/)
      expect(await down.sample("chat_failures_total")).toBe(0)
    } finally {
      await down.close()
    }
  })

  it("every turn of the faults above was traced to the end, one trace id per turn", async () => {
    await service.close()
    const events = readJsonl(service.tracePath)
    const turns = new Map<string, Array<any>>()
    for (const e of events) {
      const key = `${e.session_id}/${e.turn_id}`
      turns.set(key, [...(turns.get(key) ?? []), e])
    }
    expect(turns.size).toBe(8)
    for (const [key, list] of turns) {
      expect(
        list.filter((e) => e.event === "turn.started"),
        key
      ).toHaveLength(1)
      expect(
        list.filter((e) => e.event === "turn.completed"),
        key
      ).toHaveLength(1)
      expect(new Set(list.map((e) => e.trace_id)).size, key).toBe(1)
    }
    const degraded = events.filter((e) => e.event === "turn.completed" && e.metadata.status === "degraded")
    expect(degraded.length).toBeGreaterThanOrEqual(3)
  })
})
