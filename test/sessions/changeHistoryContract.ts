// What every ChangeHistory does, written once and registered for each store: this process, Redis
// (test/sessions/ChangeHistory.test.ts) and a Redis Cluster (test/sessions/RedisCluster.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, type Scope } from "effect"
import {
  type AppliedChange,
  type ChangeHistoryService,
  JOURNAL_MAX_ENTRIES,
  type ScheduledRevert
} from "../../src/sessions/ChangeHistory.js"

export type OpenHistories = () => Effect.Effect<
  readonly [ChangeHistoryService, ChangeHistoryService],
  unknown,
  Scope.Scope
>

export const entry = (n: number): AppliedChange => ({
  at: n,
  principal: "olga",
  sessionId: "s",
  action: "blacklist_add",
  target: `203.0.113.${n % 250}`,
  changed: true
})

export const revert = (changeId: string, dueAt: number, extra: Partial<ScheduledRevert> = {}): ScheduledRevert => ({
  changeId,
  action: "set_mode",
  dueAt,
  createdAt: dueAt - 3_600_000,
  principal: "olga",
  sessionId: "s-1",
  before: { m_sqli: "default" },
  after: { m_sqli: "disable" },
  attempts: 0,
  ...extra
})

export const changeHistoryContract = (name: string, open: OpenHistories) =>
  describe(name, () => {
    it.scopedLive("records the last mode change for every replica; a stale compare-and-swap loses", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open()
        expect(yield* b.lastModeChange).toEqual(Option.none())
        const first = yield* a.recordModeChange({ m: "default" }, { m: "disable" })
        const seen = Option.getOrThrow(yield* b.lastModeChange)
        expect(seen).toMatchObject({ version: first.version, previous: { m: "default" }, current: { m: "disable" } })

        // Two replicas restore the same record at once: exactly one wins.
        const [x, y] = yield* Effect.all(
          [
            a.replaceModeChange(seen.version, { m: "disable" }, { m: "default" }),
            b.replaceModeChange(seen.version, { m: "disable" }, { m: "default" })
          ],
          { concurrency: 2 }
        )
        expect([x, y].filter(Option.isSome)).toHaveLength(1)
        const after = Option.getOrThrow(yield* a.lastModeChange)
        expect(after.version).toBeGreaterThan(seen.version)
        expect(after.current).toEqual({ m: "default" })
        expect(yield* a.replaceModeChange(seen.version, {}, {})).toEqual(Option.none())
        // A new change always supersedes.
        const newer = yield* b.recordModeChange({ m: "default" }, { m: "strict" })
        expect(newer.version).toBeGreaterThan(after.version)
      })
    )

    it.scopedLive("keeps a journal every replica reads, oldest first, bounded to the latest entries", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open()
        yield* a.appendJournal({ ...entry(1), changeId: "c-1", revertAt: 99 })
        yield* b.appendJournal(entry(2))
        expect(yield* a.journal).toEqual([{ ...entry(1), changeId: "c-1", revertAt: 99 }, entry(2)])
        yield* Effect.forEach(
          Array.from({ length: JOURNAL_MAX_ENTRIES + 5 }, (_, i) => i + 3),
          (n) => a.appendJournal(entry(n)),
          { concurrency: 8 }
        )
        const all = yield* b.journal
        expect(all).toHaveLength(JOURNAL_MAX_ENTRIES)
        expect(all.some((e) => e.at === 1)).toBe(false)
      })
    )

    it.scopedLive("hands a due revert to exactly one replica, never before it is due, once", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open()
        yield* a.scheduleRevert(revert("c-due", 1_000))
        yield* a.scheduleRevert(revert("c-later", 5_000, { action: "blacklist_add", target: "203.0.113.7" }))
        expect(yield* b.pendingReverts).toBe(2)
        expect(yield* b.claimDueRevert(999)).toEqual(Option.none())

        const claims = yield* Effect.all([a.claimDueRevert(1_000), b.claimDueRevert(1_000)], { concurrency: 2 })
        const won = claims.filter(Option.isSome).map((c) => c.value)
        expect(won).toHaveLength(1)
        expect(won[0]!.revert).toEqual(revert("c-due", 1_000))
        yield* (claims[0]!._tag === "Some" ? b : a).completeRevert(won[0]!)
        // Only the holder of the lock completes it.
        expect(yield* a.pendingReverts).toBe(1)
        yield* a.completeRevert(won[0]!)
        expect(yield* a.pendingReverts).toBe(1)
        expect(yield* b.claimDueRevert(2_000)).toEqual(Option.none())

        const later = Option.getOrThrow(yield* b.claimDueRevert(5_000))
        expect(later.revert.target).toBe("203.0.113.7")
        yield* b.retryRevert(later, 9_000)
        expect(yield* a.claimDueRevert(8_999)).toEqual(Option.none())
        const retried = Option.getOrThrow(yield* a.claimDueRevert(9_000))
        expect(retried.revert).toMatchObject({ changeId: "c-later", attempts: 1, dueAt: 9_000 })
        yield* a.completeRevert(retried)
        expect(yield* b.pendingReverts).toBe(0)
      })
    )
  })
