import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Deferred, Duration, Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { MemorySessionStore, pruneInterval } from "../../src/sessions/MemorySessionStore.js"
import type { Session, SessionMessage } from "../../src/sessions/Session.js"
import { SessionStore } from "../../src/sessions/SessionStore.js"

const memoryStore = (env: Record<string, string> = {}) =>
  MemorySessionStore.layer.pipe(Layer.provide(AppConfig.layerWith(env)))

const message = (content: string): SessionMessage => ({ role: "user", content, ts: "2025-01-01T00:00:00.000Z" })

/** One turn: returns the turn count it found and saves it incremented, with the given messages appended. */
const turn = (sessionId: string, messages: ReadonlyArray<SessionMessage> = []) =>
  Effect.flatMap(SessionStore, (store) =>
    store.withSession(sessionId, (session) =>
      Effect.succeed([
        session.turnCount,
        { ...session, turnCount: session.turnCount + 1, messages: [...session.messages, ...messages] }
      ] as const)
    )
  )

const get = (sessionId: string) => Effect.flatMap(SessionStore, (store) => store.get(sessionId))
const size = Effect.flatMap(SessionStore, (store) => store.size)

class TurnBroke extends Data.TaggedError("TurnBroke")<{}> {}

describe("MemorySessionStore", () => {
  it.effect("starts an unknown session at turn 0 and reads back what a turn saved", () =>
    Effect.gen(function* () {
      expect(yield* get("s-1")).toBeUndefined()
      expect(yield* turn("s-1", [message("hello")])).toBe(0)
      expect(yield* turn("s-1")).toBe(1)
      const saved = yield* get("s-1")
      expect(saved).toMatchObject({ id: "s-1", turnCount: 2, messages: [{ content: "hello" }], pendingAction: null })
      yield* (yield* SessionStore).ping
    }).pipe(Effect.provide(memoryStore()))
  )

  it.effect("expires a session TTL seconds after its last update: it then reads as new", () =>
    Effect.gen(function* () {
      yield* turn("s-ttl")
      yield* TestClock.adjust("9 seconds")
      expect(yield* turn("s-ttl")).toBe(1) // still there, and this save refreshes the TTL
      yield* TestClock.adjust("9 seconds")
      expect((yield* get("s-ttl"))?.turnCount).toBe(2)
      yield* TestClock.adjust("10 seconds")
      expect(yield* get("s-ttl")).toBeUndefined()
      expect(yield* turn("s-ttl")).toBe(0)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_SESSION_TTL_SECONDS: "10" })))
  )

  it.effect("prunes expired sessions in the background, without anyone reading them", () =>
    Effect.gen(function* () {
      yield* turn("a")
      yield* turn("b")
      yield* TestClock.adjust("2 seconds")
      yield* turn("c")
      expect(yield* size).toBe(3)
      yield* TestClock.adjust("8 seconds") // t=10 s: a and b expired, c has 2 s left
      expect(yield* size).toBe(1)
      yield* TestClock.adjust("5 seconds")
      expect(yield* size).toBe(0)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_SESSION_TTL_SECONDS: "10" })))
  )

  it("prunes every min(60 s, ttl / 2)", () => {
    expect(Duration.toMillis(pruneInterval(3600))).toBe(60_000)
    expect(Duration.toMillis(pruneInterval(10))).toBe(5_000)
  })

  it.effect("keeps at most ASSISTANT_API_MAX_SESSIONS, evicting the least recently updated", () =>
    Effect.gen(function* () {
      for (const id of ["a", "b", "c"]) {
        yield* turn(id)
        yield* TestClock.adjust("1 second")
      }
      yield* turn("a") // a is now the most recently updated; b the oldest
      yield* TestClock.adjust("1 second")
      yield* turn("d")
      expect(yield* size).toBe(3)
      expect(yield* get("b")).toBeUndefined()
      for (const id of ["a", "c", "d"]) expect(yield* get(id)).toBeDefined()
      expect((yield* get("a"))?.turnCount).toBe(2)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_MAX_SESSIONS: "3" })))
  )

  it.effect("keeps only the latest ASSISTANT_API_HISTORY_MESSAGES messages on save", () =>
    Effect.gen(function* () {
      yield* turn("h", [message("1"), message("2"), message("3")])
      yield* turn("h", [message("4"), message("5"), message("6")])
      const saved = yield* get("h")
      expect(saved?.messages.map((m) => m.content)).toEqual(["3", "4", "5", "6"])
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_HISTORY_MESSAGES: "4" })))
  )

  it.effect("stamps the id and the time of the save, whatever the turn returned", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust("5 seconds")
      const store = yield* SessionStore
      yield* store.withSession("real-id", (session) =>
        Effect.succeed([undefined, { ...session, id: "other", updatedAt: 0 } satisfies Session] as const)
      )
      expect(yield* get("real-id")).toMatchObject({ id: "real-id", updatedAt: yield* Clock.currentTimeMillis })
      expect(yield* get("other")).toBeUndefined()
    }).pipe(Effect.provide(memoryStore()))
  )

  it.live("runs two concurrent turns of one session one after the other; the second sees the first's save", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      const log: Array<string> = []
      const slowTurn = (name: string) =>
        store.withSession("shared", (session) =>
          Effect.gen(function* () {
            log.push(`${name} start`)
            yield* Effect.sleep("50 millis")
            log.push(`${name} end`)
            return [session.turnCount, { ...session, turnCount: session.turnCount + 1 }] as const
          })
        )
      const seen = yield* Effect.all([slowTurn("x"), slowTurn("y")], { concurrency: "unbounded" })
      expect([...seen].sort()).toEqual([0, 1])
      expect(log).toEqual(
        log[0] === "x start" ? ["x start", "x end", "y start", "y end"] : ["y start", "y end", "x start", "x end"]
      )
      expect((yield* store.get("shared"))?.turnCount).toBe(2)
    }).pipe(Effect.provide(memoryStore()))
  )

  it.live("runs turns of different sessions in parallel", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      let inside = 0
      let mostInside = 0
      const slowTurn = (sessionId: string) =>
        store.withSession(sessionId, (session) =>
          Effect.gen(function* () {
            mostInside = Math.max(mostInside, ++inside)
            yield* Effect.sleep("100 millis")
            inside--
            return [undefined, session] as const
          })
        )
      yield* Effect.all([slowTurn("p"), slowTurn("q"), slowTurn("r")], { concurrency: "unbounded" })
      expect(mostInside).toBe(3)
    }).pipe(Effect.provide(memoryStore()))
  )

  it.live("fails with SessionBusy after ASSISTANT_API_TURN_WAIT_SECONDS when an earlier turn holds the session", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const first = yield* Effect.fork(
        store.withSession("busy", (session) =>
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(release)),
            Effect.as([undefined, { ...session, turnCount: 1 }] as const)
          )
        )
      )
      yield* Deferred.await(entered)
      const started = yield* Clock.currentTimeMillis
      const second = yield* Effect.either(turn("busy"))
      const waited = (yield* Clock.currentTimeMillis) - started
      expect(second._tag === "Left" && second.left).toMatchObject({ _tag: "SessionBusy", sessionId: "busy" })
      expect(waited).toBeGreaterThanOrEqual(180)
      expect(waited).toBeLessThan(1500)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      expect(yield* turn("busy")).toBe(1)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.2" })))
  )

  it.live("releases the session when a turn fails or dies, and saves nothing of it", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      const failed = yield* Effect.exit(store.withSession("f", () => new TurnBroke()))
      expect(Exit.isFailure(failed) && failed.cause._tag === "Fail" && failed.cause.error._tag).toBe("TurnBroke")
      const died = yield* Effect.exit(store.withSession("f", () => Effect.die(new Error("bug"))))
      expect(Exit.isFailure(died)).toBe(true)
      expect(yield* turn("f")).toBe(0)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.2" })))
  )

  it.live("releases the session when a turn is interrupted, or a waiting turn gives up", () =>
    Effect.gen(function* () {
      const store = yield* SessionStore
      const entered = yield* Deferred.make<void>()
      const stuck = yield* Effect.fork(
        store.withSession("i", () => Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)))
      )
      yield* Deferred.await(entered)
      const waiting = yield* Effect.fork(turn("i"))
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(waiting)
      yield* Fiber.interrupt(stuck)
      expect(yield* turn("i")).toBe(0)
      expect(yield* turn("i")).toBe(1)
    }).pipe(Effect.provide(memoryStore({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.2" })))
  )
})
