// Timed WAF changes and "restore the previous mode" through the API: the duration is in the
// confirmation prompt and the reply, the revert is stored with the change and run once when due
// (audited as the scheduler, linked to the change, counted), skipped when the mode changed since;
// a ban's revert removes only that entry; a restore is refused when someone changed the mode since.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { RevertScheduler } from "../../src/app/RevertScheduler.js"
import { AgentMetrics } from "../../src/observability/AgentMetrics.js"
import { MemoryChangeRecords } from "../../src/observability/AuditLog.js"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineSimulator } from "../../src/simulator/Simulator.js"
import { SafeLineTools } from "../../src/tools/SafeLineTools.js"
import { baseUrl, testServer } from "../support/app.js"
import { sampleValue } from "../support/exposition.js"
import { askAndConfirm, chat } from "./changeTurns.js"

const HOUR = 3_600_000
const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
/** Reverts (memory sessions) go beside the change audit path: a scratch directory per test. */
const server = () => {
  const dir = mkdtempSync(join(tmpdir(), "sa-timed-"))
  dirs.push(dir)
  return testServer({ GUARDRAIL_AUDIT_CHANGES_PATH: join(dir, "waf-changes.jsonl") })
}

const modes = Effect.flatMap(SafeLineSimulator, (s) =>
  Effect.map(s.snapshot, (snap) => new Set(Object.values(snap.modes)))
)

const revertsMetric = (labels: Record<string, string>, name = "waf_scheduled_reverts_total") =>
  Effect.gen(function* () {
    const metrics = yield* AgentMetrics
    return sampleValue(yield* metrics.exposition, `${metrics.namespace}_${name}`, labels)
  })

const changeRecords = Effect.flatMap(MemoryChangeRecords, Ref.get)

describe("timed changes through the API", () => {
  it.live("turn protection off for an hour: prompt and reply say when, the revert runs once and is audited", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const scheduler = yield* RevertScheduler
      const { asked, confirmed } = yield* askAndConfirm(url, "turn protection off for an hour", "t-1")
      expect(asked.reply).toMatch(
        /To switch protection to off mode .* for 1 hour \(reverted automatically, at about \d\d:\d\d UTC if confirmed now\), reply `confirm \d{6}`/
      )
      expect(confirmed.reply).toMatch(/Protection mode is now off \(was block\).* It reverts to block at \d\d:\d\d UTC/)
      expect(yield* modes).toEqual(new Set(["disable"]))

      expect(yield* scheduler.runDue(Date.now() + HOUR - 60_000)).toEqual([])
      expect(yield* revertsMetric({}, "waf_scheduled_reverts_pending")).toBe(1)
      const [run, ...others] = yield* scheduler.runDue(Date.now() + HOUR + 60_000)
      expect(others).toEqual([])
      expect(run).toMatchObject({ action: "set_mode", outcome: "ok" })
      expect(yield* modes).toEqual(new Set(["default"]))
      // Once: a later poll finds nothing.
      expect(yield* scheduler.runDue(Date.now() + 2 * HOUR)).toEqual([])
      expect(yield* revertsMetric({ action: "set_mode", outcome: "ok" })).toBe(1)
      expect(yield* revertsMetric({}, "waf_scheduled_reverts_pending")).toBe(0)

      const records = yield* changeRecords
      const original = records.find((r) => r.phase === "intent" && r.action === "set_mode")!
      expect(original.params).toMatchObject({ mode: "off", duration_seconds: "3600" })
      expect(run!.changeId).toBe(original.change_id)
      const revert = records.filter((r) => r.change_id === run!.revertChangeId)
      expect(revert.map((r) => r.phase)).toEqual(["intent", "outcome"])
      expect(revert[0]).toMatchObject({
        action: "restore_mode",
        principal: "scheduler",
        params: { revert_of: original.change_id, mode: "block" }
      })
      expect(revert[1]).toMatchObject({ status: "ok" })

      const journal = yield* Effect.flatMap(SafeLineTools, (t) => t.changeJournal)
      expect(journal.map((j) => [j.principal, j.modeAfter])).toEqual([
        ["anonymous", "off"],
        ["scheduler", "block"]
      ])
      expect(journal[1]).toMatchObject({ revertOf: original.change_id })
    }).pipe(Effect.provide(server()))
  )

  it.live("a timed mode whose mode was changed since is not reverted: skipped, audited, counted", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const scheduler = yield* RevertScheduler
      yield* askAndConfirm(url, "switch to detect for 30 minutes", "t-2")
      const later = yield* askAndConfirm(url, "switch to strict mode", "t-2")
      expect(later.confirmed.reply).toMatch(/Protection mode is now strict/)
      const [run] = yield* scheduler.runDue(Date.now() + HOUR)
      expect(run).toMatchObject({ outcome: "skipped" })
      expect(run!.detail).toContain("has changed since")
      expect(yield* modes).toEqual(new Set(["strict"]))
      expect(yield* revertsMetric({ action: "set_mode", outcome: "skipped" })).toBe(1)
      const outcome = (yield* changeRecords).find((r) => r.change_id === run!.revertChangeId && r.phase === "outcome")
      expect(outcome).toMatchObject({ status: "ok", principal: "scheduler" })
      expect(outcome!.result).toMatch(/^skipped: /)
      expect(yield* scheduler.runDue(Date.now() + 2 * HOUR)).toEqual([])
    }).pipe(Effect.provide(server()))
  )

  it.live("ban X for 24 h: the revert removes only that entry", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const scheduler = yield* RevertScheduler
      const simulator = yield* SafeLineSimulator
      const timed = yield* askAndConfirm(url, "ban 203.0.113.7 for 24 h", "t-3")
      expect(timed.asked.reply).toMatch(/blacklist 203\.0\.113\.7 \(deny all its requests\) for 1 day/)
      expect(timed.confirmed.reply).toMatch(
        /203\.0\.113\.7 is blacklisted.* It reverts \(the entry is removed\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC/
      )
      yield* askAndConfirm(url, "ban 198.51.100.9", "t-3")
      const ips = Effect.map(simulator.snapshot, (s) => s.ipGroups.flatMap((g) => g.ips))
      expect(yield* ips).toEqual(expect.arrayContaining(["203.0.113.7", "198.51.100.9"]))

      expect(yield* scheduler.runDue(Date.now() + 23 * HOUR)).toEqual([])
      const [run] = yield* scheduler.runDue(Date.now() + 25 * HOUR)
      expect(run).toMatchObject({ action: "blacklist_add", outcome: "ok" })
      const left = yield* ips
      expect(left).toContain("198.51.100.9")
      expect(left).not.toContain("203.0.113.7")
      expect(yield* revertsMetric({ action: "blacklist_add", outcome: "ok" })).toBe(1)
    }).pipe(Effect.provide(server()))
  )

  it.live("an already-banned address stays banned when a timed ban of it ends", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      yield* askAndConfirm(url, "ban 203.0.113.8", "t-4")
      const timed = yield* askAndConfirm(url, "ban 203.0.113.8 for 2 hours", "t-4")
      expect(timed.confirmed.reply).toMatch(
        /was already blacklisted.*No revert is scheduled: 203\.0\.113\.8 already was blacklisted/
      )
      expect(yield* (yield* RevertScheduler).runDue(Date.now() + 3 * HOUR)).toEqual([])
    }).pipe(Effect.provide(server()))
  )

  it.live("where the revert cannot be stored, the reply says plainly that the change has no end", () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-timed-"))
    dirs.push(dir)
    writeFileSync(join(dir, "not-a-directory"), "")
    return Effect.gen(function* () {
      const url = yield* baseUrl
      const { confirmed } = yield* askAndConfirm(url, "switch to detect for 2 hours", "t-6")
      expect(confirmed.reply).toMatch(
        /Protection mode is now detect .* This change has no end: its revert could not be stored .*Undo it yourself/
      )
      expect(yield* modes).toEqual(new Set(["dry_run"]))
      expect(yield* (yield* RevertScheduler).runDue(Date.now() + 3 * HOUR)).toEqual([])
      // Nothing to revert: no revert, and no false promise.
      const again = yield* askAndConfirm(url, "switch to detect for 1 hour", "t-6")
      expect(again.confirmed.reply).toMatch(/No revert is scheduled: the mode already was detect/)
    }).pipe(
      Effect.provide(testServer({ GUARDRAIL_AUDIT_CHANGES_PATH: join(dir, "not-a-directory", "waf-changes.jsonl") }))
    )
  })

  it.live("an out-of-bounds or unreadable duration is refused with no code, and nothing changes", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      for (const message of [
        "turn protection off for 45 days",
        "switch to detect for 5 seconds",
        "switch to detect until tomorrow",
        "unblock 203.0.113.7 for an hour"
      ]) {
        const answer = yield* chat(url, message, "t-5")
        expect(answer.status).toBe(200)
        expect(answer.reply, message).toMatch(/^I won't make that change as asked .*no confirmation code was issued/)
        expect(answer.pending_action).toBeUndefined()
      }
      expect(yield* modes).toEqual(new Set(["default"]))
    }).pipe(Effect.provide(server()))
  )
})

describe("restore the previous mode through the API", () => {
  it.live("refuses, before any code, when nothing is on record or the mode changed since", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const nothing = yield* chat(url, "restore the previous mode", "r-1")
      expect(nothing.reply).toMatch(/no previous protection mode to restore/)
      expect(nothing.pending_action).toBeUndefined()

      yield* askAndConfirm(url, "switch to detect mode", "r-1")
      // Another operator, in the SafeLine console: strict everywhere.
      const client = yield* SafeLineClient
      const current = yield* client.getMode
      yield* client.putMode(Object.fromEntries(Object.keys(current).map((m) => [m, "strict"])))
      const refused = yield* chat(url, "restore the previous mode", "r-1")
      expect(refused.reply).toMatch(
        /has changed since the agent's last change .*SafeLine now has strict.*nothing was changed/
      )
      expect(refused.pending_action).toBeUndefined()
      expect(yield* modes).toEqual(new Set(["strict"]))
    }).pipe(Effect.provide(server()))
  )

  it.live("restores, and says from what to what in the prompt", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      yield* askAndConfirm(url, "switch to detect mode", "r-2")
      const { asked, confirmed } = yield* askAndConfirm(url, "restore the previous mode", "r-2")
      expect(asked.reply).toMatch(/now detect; back to block/)
      expect(confirmed.reply).toMatch(/Restored the previous protection mode: now block \(was detect\)/)
      expect(yield* modes).toEqual(new Set(["default"]))
    }).pipe(Effect.provide(server()))
  )
})
