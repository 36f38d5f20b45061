// "Restore the previous mode" over a deployment-wide record: two replicas (two SafeLineOps over
// one ChangeHistory and one SafeLine) restore each other's changes, never both restore the same
// change, and never revert a change made since by someone else; a lost record fails a restore
// clearly but never a mode change.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { SafeLineClient } from "../../src/safeline/SafeLineClient.js"
import { SafeLineOps } from "../../src/safeline/SafeLineOps.js"
import {
  ChangeHistory,
  type ChangeHistoryService,
  ChangeHistoryUnavailable,
  makeMemoryChangeHistory
} from "../../src/sessions/ChangeHistory.js"
import { simulatorAndClient } from "./SafeLineFixture.js"

const replicas = Effect.gen(function* () {
  const { simulator, client } = yield* simulatorAndClient()
  const history = yield* makeMemoryChangeHistory(undefined)
  const replica = (h: ChangeHistoryService) =>
    Effect.provide(
      SafeLineOps,
      SafeLineOps.layerWithHistory.pipe(
        Layer.provide(Layer.merge(Layer.succeed(SafeLineClient, client), Layer.succeed(ChangeHistory, h)))
      )
    )
  return { simulator, client, a: yield* replica(history), b: yield* replica(history), replica }
})

const values = (modes: Readonly<Record<string, string>>) => new Set(Object.values(modes))

describe("restore across replicas", () => {
  it.scopedLive("B restores A's change; a second restore undoes the first", () =>
    Effect.gen(function* () {
      const { client, a, b } = yield* replicas
      yield* a.setProtectionMode("detect")
      const plan = yield* b.restorePlan
      expect(plan).toMatchObject({ restorable: true, current: { mode: "detect" }, restoresTo: { mode: "block" } })
      expect((yield* b.restoreProtectionMode).current.mode).toBe("block")
      expect(values(yield* client.getMode)).toEqual(new Set(["default"]))
      expect((yield* a.restoreProtectionMode).current.mode).toBe("detect")
    })
  )

  it.scopedLive("two replicas restoring at once: exactly one restores, SafeLine is not flipped twice", () =>
    Effect.gen(function* () {
      const { client, a, b } = yield* replicas
      yield* a.setProtectionMode("off")
      const [x, y] = yield* Effect.all([Effect.exit(a.restoreProtectionMode), Effect.exit(b.restoreProtectionMode)], {
        concurrency: 2
      })
      expect([x, y].filter(Exit.isSuccess)).toHaveLength(1)
      const failed = [x, y].find(Exit.isFailure)!
      expect(failed).toMatchObject({ cause: { error: { reason: "mode_changed" } } })
      expect(values(yield* client.getMode)).toEqual(new Set(["default"]))
    })
  )

  it.scopedLive("never reverts a later change made outside the agent, and says so", () =>
    Effect.gen(function* () {
      const { client, a, b } = yield* replicas
      yield* a.setProtectionMode("detect")
      const now = yield* client.getMode
      yield* client.putMode(Object.fromEntries(Object.keys(now).map((m) => [m, "strict"])))
      const plan = yield* b.restorePlan
      expect(plan).toMatchObject({ restorable: false, reason: "mode_changed" })
      const refused = yield* Effect.exit(b.restoreProtectionMode)
      expect(refused).toMatchObject({ cause: { error: { reason: "mode_changed" } } })
      if (Exit.isFailure(refused)) {
        expect(JSON.stringify(refused.cause)).toContain("SafeLine now has strict")
      }
      expect(values(yield* client.getMode)).toEqual(new Set(["strict"]))
      // The scheduler's revert obeys the same rule.
      const stale = yield* Effect.exit(b.revertProtectionMode(now, { m_sqli: "default" }))
      expect(stale).toMatchObject({ cause: { error: { reason: "mode_changed" } } })
      expect(values(yield* client.getMode)).toEqual(new Set(["strict"]))
    })
  )

  it.scopedLive("a history that cannot be read fails a restore clearly, never a mode change", () =>
    Effect.gen(function* () {
      const { client, replica } = yield* replicas
      const down = new ChangeHistoryUnavailable({ message: "Redis at 127.0.0.1:1 did not answer" })
      const broken = yield* makeMemoryChangeHistory(undefined)
      const ops = yield* replica({
        ...broken,
        lastModeChange: Effect.fail(down),
        recordModeChange: () => Effect.fail(down),
        replaceModeChange: () => Effect.fail(down)
      })
      expect((yield* ops.setProtectionMode("detect")).current.mode).toBe("detect")
      expect(values(yield* client.getMode)).toEqual(new Set(["dry_run"]))
      const failed = yield* Effect.exit(ops.restoreProtectionMode)
      expect(failed).toMatchObject({ cause: { error: { reason: "history_unavailable" } } })
      expect(yield* ops.restorePlan).toMatchObject({ restorable: false, reason: "nothing_to_restore" })
    })
  )
})
