// The WAF change audit against the live file layer and real failing paths: records land in the
// file (intent, then outcome) before replies; a change whose intent cannot be written (/dev/full,
// a path under a regular file) is not applied; a lost outcome is reported as unaudited.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref, Schedule } from "effect"
import { Turn } from "../../src/agent/Turn.js"
import type { Principal } from "../../src/domain/Principal.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { AuditLog, MemoryAuditRecords } from "../../src/observability/AuditLog.js"
import { MemoryTraceEvents } from "../../src/observability/TraceSink.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { testApp } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { readJsonl } from "../support/jsonl.js"

const olga: Principal = { name: "olga", role: "operator" }

/** testApp, with the turn's nodes writing WAF change records through the live AuditLog file layer. */
const liveAuditApp = (changesPath: string) => {
  const env = {
    GUARDRAIL_AUDIT_CHANGES_PATH: changesPath,
    GUARDRAIL_AUDIT_PATH: join(scratch(), "guardrails.jsonl")
  }
  // fresh: testApp builds Turn.layer too, and a layer is otherwise built once per composition.
  return Layer.fresh(Turn.layer).pipe(Layer.provide(AuditLog.layer), Layer.provideMerge(testApp(env)))
}

const scratch = () => mkdtempSync(join(tmpdir(), "waf-changes-"))

const codeIn = (reply: string) => reply.match(/reply `confirm (\d{6})`/)?.[1] ?? ""

const run = (message: string, sessionId: string) =>
  Effect.flatMap(Turn, (turn) => turn.run({ message, sessionId, principal: olga }))

const guardrails = Effect.map(Effect.flatMap(MemoryTraceEvents, Ref.get), (events) =>
  events
    .filter((e) => e.event === "guardrail.decision")
    .map((e) => `${e.metadata.gate}:${e.metadata.decision}:${e.metadata.reason}`)
)

const auditFailures = (phase: "intent" | "outcome") =>
  Effect.gen(function* () {
    const m = yield* AgentMetrics
    return sampleValue(yield* m.exposition, `${m.namespace}_waf_change_audit_failures_total`, { phase }) ?? 0
  })

const modes = Effect.flatMap(SafeLineSimulator, (simulator) => Effect.map(simulator.snapshot, (s) => s.modes))

/** Asks for detect mode and confirms it; the intent record must fail on `changesPath`. */
const expectRefusedForIntent = (errno: string) =>
  Effect.gen(function* () {
    const before = yield* modes
    const challenge = yield* run("switch to detect mode", "f-1")
    const refused = yield* run(`confirm ${codeIn(challenge.reply)}`, "f-1")
    expect(refused.reply).toMatch(
      /^Nothing was changed \(switch protection to detect mode.*\): the WAF change audit could not be written/
    )
    expect(refused.pending_action).toBeUndefined()
    expect(yield* modes).toEqual(before)
    const decisions = yield* guardrails
    expect(decisions).toContain("change_audit:deny:audit_unavailable")
    expect(decisions).not.toContain("change_audit:allow:audited")
    expect(decisions).not.toContain("post_tool_result:allow:tool_ok")
    expect(yield* auditFailures("intent")).toBe(1)
    const audit = yield* Effect.flatMap(MemoryAuditRecords, Ref.get)
    expect(String(audit.find((r) => r.metadata.reason === "audit_unavailable")?.metadata.error)).toContain(errno)
  })

describe("WAF change audit file (live layer)", () => {
  it.live("intent then outcome are in the file, fsynced before the reply, with principal and role and no code", () => {
    const path = join(scratch(), "not", "yet", "waf-changes.jsonl")
    return Effect.gen(function* () {
      const challenge = yield* run("switch to detect mode", "l-1")
      const code = codeIn(challenge.reply)
      expect(readJsonl(path)).toEqual([])
      const confirmed = yield* run(`confirm ${code}`, "l-1")
      expect(confirmed.reply).toMatch(/Protection mode is now detect/)
      expect(new Set(Object.values(yield* modes))).toEqual(new Set(["dry_run"]))
      const [intent, outcome, ...rest] = readJsonl(path)
      expect(rest).toEqual([])
      const common = {
        event: "waf.change",
        action: "set_mode",
        params: { mode: "detect" },
        principal: "olga",
        role: "operator",
        session_id: "l-1",
        turn_id: "2",
        trace_id: confirmed.trace_id
      }
      expect(intent).toMatchObject({ ...common, phase: "intent" })
      expect(intent.status).toBeUndefined()
      expect(outcome).toMatchObject({ ...common, phase: "outcome", status: "ok", change_id: intent.change_id })
      expect(Date.parse(intent.ts)).toBeLessThanOrEqual(Date.parse(outcome.ts))
      expect(readFileSync(path, "utf8")).not.toContain(code)
      expect(yield* auditFailures("intent")).toBe(0)
    }).pipe(Effect.provide(liveAuditApp(path)))
  })

  it.live("/dev/full (ENOSPC): the change is not applied", () =>
    expectRefusedForIntent("ENOSPC").pipe(Effect.provide(liveAuditApp("/dev/full")))
  )

  it.live("a path under a regular file (ENOTDIR): the change is not applied", () => {
    const file = join(scratch(), "a-file")
    writeFileSync(file, "not a directory\n")
    return expectRefusedForIntent("ENOTDIR").pipe(Effect.provide(liveAuditApp(join(file, "waf-changes.jsonl"))))
  })

  it.live("the outcome cannot be written: the change is applied and the reply says it is unaudited", () => {
    const dir = join(scratch(), "audit")
    const path = join(dir, "waf-changes.jsonl")
    return Effect.gen(function* () {
      const simulator = yield* SafeLineSimulator
      const challenge = yield* run("switch to detect mode", "o-1")
      yield* simulator.setDelay(300)
      const confirming = yield* Effect.fork(run(`confirm ${codeIn(challenge.reply)}`, "o-1"))
      // Once the intent is durable (and SafeLine is still answering), the directory becomes a file.
      yield* Effect.sync(() => readJsonl(path).length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (n) => n === 1 })
      )
      yield* Effect.sync(() => {
        rmSync(dir, { recursive: true })
        writeFileSync(dir, "")
      })
      const applied = yield* Fiber.join(confirming)
      expect(applied.reply).toMatch(
        /^Protection mode is now detect .* Warning: the change was applied but is unaudited/
      )
      expect(new Set(Object.values(yield* modes))).toEqual(new Set(["dry_run"]))
      const decisions = yield* guardrails
      expect(decisions).toEqual(
        expect.arrayContaining([
          "change_audit:allow:audited",
          "post_tool_result:allow:tool_ok",
          "change_audit:deny:outcome_unaudited"
        ])
      )
      expect(yield* auditFailures("outcome")).toBe(1)
      expect(yield* auditFailures("intent")).toBe(0)
    }).pipe(Effect.provide(liveAuditApp(path)))
  })

  it.live("a failed write leaves the file usable: the next record starts on its own line", () => {
    const dir = join(scratch(), "recover")
    const path = join(dir, "waf-changes.jsonl")
    return Effect.gen(function* () {
      mkdirSync(dir)
      writeFileSync(path, '{"half a record')
      const challenge = yield* run("switch to detect mode", "r-1")
      yield* run(`confirm ${codeIn(challenge.reply)}`, "r-1")
      const text = readFileSync(path, "utf8").split("\n")
      expect(text[0]).toBe('{"half a record')
      expect(JSON.parse(text[1]!)).toMatchObject({ phase: "intent", principal: "olga" })
      expect(JSON.parse(text[2]!)).toMatchObject({ phase: "outcome", status: "ok" })
    }).pipe(Effect.provide(liveAuditApp(path)))
  })
})
