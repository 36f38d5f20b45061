// config_manager's guards around a WAF change, over the whole graph and the simulator: roles,
// wrong codes throttled per principal across change requests, the change audit records, and
// changes refused while the audit is off.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { ConfirmationGuard } from "../../src/agent/ConfirmationGuard.js"
import { newTurnState } from "../../src/agent/GraphState.js"
import { configManagerNode } from "../../src/agent/nodes/ConfigManager.js"
import { Turn } from "../../src/agent/Turn.js"
import type { Principal } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryAuditRecords, MemoryChangeRecords } from "../../src/observability/AuditLog.js"
import { withTurnSpan } from "../../src/observability/Correlation.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { testApp } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"

const olga: Principal = { name: "olga", role: "operator" }
const otto: Principal = { name: "otto", role: "operator" }
const vera: Principal = { name: "vera", role: "viewer" }

const codeIn = (reply: string) => reply.match(/reply `confirm (\d{6})`/)?.[1] ?? ""
const wrongCode = (code: string) => (code === "000000" ? "000001" : "000000")

const run = (message: string, sessionId: string, principal: Principal = olga) =>
  Effect.flatMap(Turn, (turn) => turn.run({ message, sessionId, principal }))

const guardrails = Effect.map(Effect.flatMap(MemoryTraceEvents, Ref.get), (events) =>
  events
    .filter((e) => e.event === "guardrail.decision")
    .map((e) => `${e.metadata.gate}:${e.metadata.decision}:${e.metadata.reason}`)
)

const metric = (name: string, labels: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const m = yield* AgentMetrics
    return sampleValue(yield* m.exposition, `${m.namespace}_${name}`, labels) ?? 0
  })

const wafState = Effect.flatMap(SafeLineSimulator, (simulator) =>
  Effect.map(simulator.snapshot, (s) => ({ modes: s.modes, ips: s.ipGroups.flatMap((g) => g.ips) }))
)

describe("roles", () => {
  it.live("a viewer may read the mode but neither request nor confirm a change", () =>
    Effect.gen(function* () {
      const before = yield* wafState
      for (const message of ["switch to block mode", "ban 203.0.113.9", "confirm 123456"]) {
        const refused = yield* run(message, "v-1", vera)
        expect(refused.route, message).toBe("config_manager")
        expect(refused.reply, message).toMatch(
          /needs the operator role, and vera is not an operator: nothing was changed/
        )
        expect(refused.reply, message).not.toMatch(/\d{6}/)
        expect(refused.pending_action, message).toBeUndefined()
      }
      const read = yield* run("change the protection mode", "v-1", vera)
      expect(read.route).toBe("config_manager")
      expect(read.reply).toMatch(/The protection mode is \w+/)
      expect(yield* wafState).toEqual(before)
      const decisions = yield* guardrails
      expect(decisions.filter((d) => d === "authorization:deny:insufficient_role")).toHaveLength(3)
      expect(decisions).not.toContain("action_confirmation:challenge:confirmation_required")
      expect(decisions).not.toContain("authorization:allow:role_ok")
      const audit = yield* Effect.flatMap(MemoryAuditRecords, Ref.get)
      expect(audit.find((r) => r.metadata.reason === "insufficient_role")?.metadata).toMatchObject({
        principal: "vera",
        role: "viewer",
        required_role: "operator"
      })
      expect(yield* Effect.flatMap(MemoryChangeRecords, Ref.get)).toEqual([])
    }).pipe(Effect.provide(testApp()))
  )

  it.live("an operator's change request is authorized before the challenge", () =>
    Effect.gen(function* () {
      const challenge = yield* run("switch to block mode", "o-1")
      expect(codeIn(challenge.reply)).toMatch(/^\d{6}$/)
      const decisions = yield* guardrails
      const authorized = decisions.indexOf("authorization:allow:role_ok")
      expect(authorized).toBeGreaterThanOrEqual(0)
      expect(authorized).toBeLessThan(decisions.indexOf("action_confirmation:challenge:confirmation_required"))
    }).pipe(Effect.provide(testApp()))
  )
})

describe("wrong codes throttled per principal", () => {
  it.live("across two change requests: over the limit even the right code is refused; others are unaffected", () =>
    Effect.gen(function* () {
      const before = yield* wafState
      // Change 1: three wrong codes cancel it (the per-change limit) — 3 failures for olga.
      const first = yield* run("switch to block mode", "t-1")
      const wrong1 = wrongCode(codeIn(first.reply))
      yield* run(`confirm ${wrong1}`, "t-1")
      yield* run(`confirm ${wrong1}`, "t-1")
      const cancelled = yield* run(`confirm ${wrong1}`, "t-1")
      expect(cancelled.reply).toMatch(/Too many wrong codes: the pending change .* is cancelled/)
      // Change 3 is asked for (and its code issued) before the limit is reached.
      const third = yield* run("switch to strict mode", "t-3")
      // Change 2, another session: the 4th wrong code reaches the per-principal limit.
      const second = yield* run("ban 203.0.113.7", "t-2")
      const throttledNow = yield* run(`confirm ${wrongCode(codeIn(second.reply))}`, "t-2")
      expect(throttledNow.reply).toMatch(
        /That code does not match\. Too many wrong confirmation codes from olga \(4 recently\): confirmations are refused for the next 15 minutes\. The pending change \(blacklist 203\.0\.113\.7/
      )
      expect(throttledNow.pending_action).toBeUndefined()
      // Change 3: the right code is refused too, and the change is cancelled.
      const refused = yield* run(`confirm ${codeIn(third.reply)}`, "t-3")
      expect(refused.reply).toMatch(/Too many wrong confirmation codes from olga .* refused for the next 15 minutes/)
      expect(refused.reply).toMatch(/nothing was changed/)
      expect(refused.pending_action).toBeUndefined()
      // A new change request while throttled gets no code at all.
      const fourth = yield* run("switch to detect mode", "t-4")
      expect(fourth.reply).toMatch(/Too many wrong confirmation codes from olga recently: .*no code was issued/)
      expect(fourth.reply).not.toMatch(/confirm \d{6}/)
      expect(fourth.pending_action).toBeUndefined()
      expect(yield* wafState).toEqual(before)
      // Another principal still confirms.
      const theirs = yield* run("switch to detect mode", "t-1", otto)
      const applied = yield* run(`confirm ${codeIn(theirs.reply)}`, "t-1", otto)
      expect(applied.reply).toMatch(/Protection mode is now detect/)
      expect(yield* metric("confirmation_code_failures_total")).toBe(4)
      const decisions = yield* guardrails
      expect(decisions.filter((d) => d === "action_confirmation:deny:code_throttled")).toHaveLength(3)
    }).pipe(Effect.provide(testApp({ CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "4", CONFIRMATION_MAX_ATTEMPTS: "3" })))
  )

  it.live("the throttle ends with its window", () =>
    Effect.gen(function* () {
      const first = yield* run("switch to detect mode", "w-1")
      const throttled = yield* run(`confirm ${wrongCode(codeIn(first.reply))}`, "w-1")
      expect(throttled.reply).toMatch(/refused for the next 1 second/)
      const second = yield* run("switch to detect mode", "w-1")
      expect(second.reply).toMatch(/Too many wrong confirmation codes .*no code was issued/)
      yield* Effect.sleep("1100 millis")
      const third = yield* run("switch to detect mode", "w-1")
      expect((yield* run(`confirm ${codeIn(third.reply)}`, "w-1")).reply).toMatch(/Protection mode is now detect/)
    }).pipe(
      Effect.provide(
        testApp({ CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL: "1", CONFIRMATION_FAILURE_WINDOW_SECONDS: "1" })
      )
    )
  )
})

describe("change audit records", () => {
  it.live("a confirmed change writes intent then outcome, naming principal and role, never the code", () =>
    Effect.gen(function* () {
      const challenge = yield* run("switch to detect mode", "a-1")
      const code = codeIn(challenge.reply)
      expect(yield* Effect.flatMap(MemoryChangeRecords, Ref.get)).toEqual([])
      const confirmed = yield* run(`confirm ${code}`, "a-1")
      expect(confirmed.reply).toMatch(/Protection mode is now detect/)
      const records = yield* Effect.flatMap(MemoryChangeRecords, Ref.get)
      expect(records.map((r) => r.phase)).toEqual(["intent", "outcome"])
      for (const record of records) {
        expect(record).toMatchObject({
          event: "waf.change",
          action: "set_mode",
          params: { mode: "detect" },
          principal: "olga",
          role: "operator",
          session_id: "a-1",
          turn_id: "2",
          trace_id: confirmed.trace_id,
          change_id: records[0]!.change_id
        })
      }
      expect(records[1]).toMatchObject({ status: "ok", result: expect.stringMatching(/now detect/) })
      expect(JSON.stringify(records)).not.toContain(code)
      const decisions = yield* guardrails
      const order = [
        "action_confirmation:allow:nonce_match",
        "change_audit:allow:audited",
        "post_tool_result:allow:tool_ok"
      ]
      expect(decisions.filter((d) => order.includes(d))).toEqual(order)
    }).pipe(Effect.provide(testApp()))
  )

  it.live("a change SafeLine refuses has an error outcome", () =>
    Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const challenge = yield* run("ban 203.0.113.7", "a-2")
      yield* simulator.setFailure("http500")
      const failed = yield* run(`confirm ${codeIn(challenge.reply)}`, "a-2")
      expect(failed.reply).toMatch(/SafeLine did not apply the change/)
      const records = yield* Effect.flatMap(MemoryChangeRecords, Ref.get)
      expect(records.map((r) => [r.phase, r.status])).toEqual([
        ["intent", undefined],
        ["outcome", "error"]
      ])
      expect(records[0]?.params).toMatchObject({ target: "203.0.113.7" })
    }).pipe(Effect.provide(testApp({ SAFELINE_RETRIES: "0" })))
  )
})

describe("GUARDRAIL_AUDIT_ENABLED=false", () => {
  it.live("a change is refused when asked: no code, nothing changed", () =>
    Effect.gen(function* () {
      const before = yield* wafState
      const refused = yield* run("switch to block mode", "d-1")
      expect(refused.reply).toMatch(/refused while the guardrail audit is off .* no confirmation code was issued/)
      expect(refused.reply).not.toMatch(/\d{6}/)
      expect(refused.pending_action).toBeUndefined()
      expect(yield* guardrails).toContain("change_audit:deny:audit_disabled")
      expect(yield* guardrails).not.toContain("action_confirmation:challenge:confirmation_required")
      expect(yield* wafState).toEqual(before)
    }).pipe(Effect.provide(testApp({ GUARDRAIL_AUDIT_ENABLED: "false" })))
  )

  it.live("a change issued before the audit was turned off is refused when confirmed with the right code", () =>
    Effect.gen(function* () {
      const before = yield* wafState
      const guard = yield* ConfirmationGuard
      const { code, pending } = yield* guard.issue({
        binding: { principal: "olga", sessionId: "d-2" },
        action: "set_mode",
        params: { mode: "off" },
        summary: "turn protection off",
        now: Date.now(),
        ttlSeconds: 300
      })
      const update = yield* withTurnSpan(
        "d-2",
        "2",
        olga
      )(
        configManagerNode(
          newTurnState({ sessionId: "d-2", message: `confirm ${code}`, history: [], pendingAction: pending })
        )
      )
      expect(update.reply).toMatch(
        /Nothing was changed \(turn protection off\): WAF changes are refused while the guardrail audit is off/
      )
      expect(update.pendingAction).toBeNull()
      const decisions = yield* guardrails
      expect(decisions).toEqual(
        expect.arrayContaining(["action_confirmation:allow:nonce_match", "change_audit:deny:audit_disabled"])
      )
      expect(decisions).not.toContain("post_tool_result:allow:tool_ok")
      expect(yield* wafState).toEqual(before)
      expect(yield* Effect.flatMap(MemoryChangeRecords, Ref.get)).toEqual([])
    }).pipe(Effect.provide(testApp({ GUARDRAIL_AUDIT_ENABLED: "false" })))
  )
})
