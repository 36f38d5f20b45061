// The change history, written once and run for each store: this process (reverts in a durable
// file) and Redis on a real redis-server as two replicas. What a replica sees is what every
// replica sees: the last mode change (compare-and-swap), the bounded journal, and due reverts
// claimed by exactly one of them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { makeMemoryChangeHistory, makeRedisChangeHistory, REVERT_LEASE } from "../../src/sessions/ChangeHistory.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { changeHistoryContract, entry, revert } from "./changeHistoryContract.js"

describe("ChangeHistory", () => {
  const dirs: Array<string> = []
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-history-"))
    dirs.push(dir)
    return dir
  }
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  changeHistoryContract("in this process (one history, twice)", () =>
    Effect.map(makeMemoryChangeHistory(join(scratch(), "reverts.json")), (h) => [h, h] as const)
  )

  it.live("keeps scheduled reverts across a restart, in a file written whole", () =>
    Effect.gen(function* () {
      const path = join(scratch(), "state", "reverts.json")
      const first = yield* makeMemoryChangeHistory(path)
      yield* first.scheduleRevert(revert("c-1", 1_000))
      yield* first.scheduleRevert(revert("c-2", 2_000))
      expect(readdirSync(join(path, ".."))).toEqual(["reverts.json"])
      const restarted = yield* makeMemoryChangeHistory(path)
      expect(yield* restarted.pendingReverts).toBe(2)
      const claimed = Option.getOrThrow(yield* restarted.claimDueRevert(1_500))
      expect(claimed.revert).toEqual(revert("c-1", 1_000))
      yield* restarted.completeRevert(claimed)
      expect(yield* (yield* makeMemoryChangeHistory(path)).pendingReverts).toBe(1)
      expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ version: 1, reverts: [{ changeId: "c-2" }] })
    })
  )

  it.live("keeps an unreadable file aside instead of overwriting it, and starts empty", () =>
    Effect.gen(function* () {
      const dir = scratch()
      const path = join(dir, "reverts.json")
      writeFileSync(path, '{"version":1,"reverts":[{"changeId":"x","dueAt":"soon"}]}')
      const history = yield* makeMemoryChangeHistory(path)
      expect(yield* history.pendingReverts).toBe(0)
      expect(readdirSync(dir).some((f) => f.startsWith("reverts.json.unreadable-"))).toBe(true)
      yield* history.scheduleRevert(revert("c-3", 1))
      expect(readdirSync(dir).filter((f) => f.startsWith("reverts.json"))).toHaveLength(2)
    })
  )

  it.live("without a durable place, refuses to schedule a revert (the change then has no end)", () =>
    Effect.gen(function* () {
      const history = yield* makeMemoryChangeHistory(undefined)
      const error = yield* Effect.flip(history.scheduleRevert(revert("c-1", 1)))
      expect(error.message).toContain("no durable store")
      expect(yield* history.pendingReverts).toBe(0)
    })
  )

  it.live("a revert file it cannot write fails the schedule and keeps nothing half-written", () =>
    Effect.gen(function* () {
      const dir = scratch()
      writeFileSync(join(dir, "file"), "")
      const history = yield* makeMemoryChangeHistory(join(dir, "file", "reverts.json"))
      const error = yield* Effect.flip(history.scheduleRevert(revert("c-1", 1)))
      expect(error.message).toContain("cannot write the scheduled reverts")
      expect(yield* history.pendingReverts).toBe(0)
    })
  )
})

describe("ChangeHistory in Redis", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.dispose()
  })
  let db = 0
  const replica = (url: string) => makeRedisChangeHistory(Option.some(Redacted.make(url)))

  changeHistoryContract("in Redis (two replicas, one redis-server)", () =>
    Effect.suspend(() => {
      const url = redis.url(++db)
      return Effect.all([replica(url), replica(url)])
    })
  )

  it.scopedLive("loads its scripts once (EVALSHA), and locks a claimed revert with an expiry", () =>
    Effect.gen(function* () {
      const url = redis.url(++db)
      const raw = new Redis(url)
      yield* Effect.addFinalizer(() => Effect.sync(() => raw.disconnect()))
      yield* Effect.promise(() => raw.config("RESETSTAT"))
      const history = yield* replica(url)
      for (let i = 0; i < 10; i++) yield* history.appendJournal(entry(i))
      yield* history.scheduleRevert(revert("c-1", 1))
      const claimed = Option.getOrThrow(yield* history.claimDueRevert(2))
      const ttl = yield* Effect.promise(() => raw.pttl(`sa:{changes}:revert-lock:c-1`))
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(Duration.toMillis(REVERT_LEASE))
      yield* history.completeRevert(claimed)
      const stats = yield* Effect.promise(() => raw.info("commandstats"))
      const calls = (command: string) => Number(stats.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`))?.[1] ?? 0)
      // 13 script calls over 4 scripts: at most one EVAL per script (the first time a server
      // meets it), every other call by its SHA.
      expect(calls("eval")).toBeLessThanOrEqual(4)
      expect(calls("evalsha")).toBeGreaterThanOrEqual(9)
      expect(calls("evalsha") + calls("eval")).toBeGreaterThanOrEqual(13)
    })
  )

  it.scopedLive("fails with a message naming Redis when it is away", () =>
    Effect.gen(function* () {
      const history = yield* replica("redis://127.0.0.1:1/0")
      const error = yield* Effect.flip(history.journal)
      expect(error._tag).toBe("ChangeHistoryUnavailable")
      expect(error.message).toContain("127.0.0.1:1")
    })
  )
})
