// What every SessionStore does, written once and registered for each store: the memory store
// (test/sessions/MemorySessionStore.test.ts) and the Redis store on a real redis-server
// (test/integration/redis-session-store.test.ts). Each file keeps only what is its store's own.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Data, Deferred, Effect, Exit, Fiber, type Scope } from "effect"
import type { Session, SessionMessage } from "../../src/sessions/Session.js"
import type { SessionStoreService } from "../../src/sessions/SessionStore.js"

/**
 * Two handles on the same, empty sessions with the given settings (AppConfig env), for one
 * test: two replicas sharing one store, or the one in-process store twice.
 */
export type OpenStores = (
  env: Readonly<Record<string, string>>
) => Effect.Effect<readonly [SessionStoreService, SessionStoreService], unknown, Scope.Scope>

export const message = (content: string): SessionMessage => ({ role: "user", content, ts: "2025-01-01T00:00:00.000Z" })

/** One turn: returns the turn count it found and saves it incremented, with `messages` appended. */
export const turn = (store: SessionStoreService, sessionId: string, messages: ReadonlyArray<SessionMessage> = []) =>
  store.withSession(sessionId, (session) =>
    Effect.succeed([
      session.turnCount,
      { ...session, turnCount: session.turnCount + 1, messages: [...session.messages, ...messages] }
    ] as const)
  )

/** The effect's result and how long it took (ms). */
export const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const result = yield* effect
    return [result, (yield* Clock.currentTimeMillis) - started] as const
  })

class TurnBroke extends Data.TaggedError("TurnBroke")<{}> {}

/** Registers the contract's tests for the store `open` gives, under `name`. */
export const sessionStoreContract = (name: string, open: OpenStores) =>
  describe(name, () => {
    it.scopedLive("starts an unknown session at turn 0; what a turn saves is read back through either handle", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({})
        yield* a.ping
        expect(yield* b.get("s-1")).toBeUndefined()
        expect(yield* turn(a, "s-1", [message("hello")])).toBe(0)
        expect(yield* b.get("s-1")).toMatchObject({
          id: "s-1",
          turnCount: 1,
          messages: [{ content: "hello" }],
          pendingAction: null
        })
        const pendingAction = {
          action: "set_mode",
          params: { mode: "block" },
          summary: "Switch protection to block",
          nonceHash: "ab".repeat(32),
          expiresAt: 1_900_000_000_000,
          failedAttempts: 0
        } as const
        yield* b.withSession("s-1", (session) =>
          Effect.succeed([
            undefined,
            {
              ...session,
              turnCount: 2,
              messages: [...session.messages, message("hi")],
              pendingAction
            } satisfies Session
          ] as const)
        )
        expect(yield* a.get("s-1")).toMatchObject({
          id: "s-1",
          turnCount: 2,
          messages: [{ content: "hello" }, { content: "hi" }],
          pendingAction
        })
        expect(yield* turn(a, "s-1")).toBe(2)
        expect((yield* b.get("s-1"))?.turnCount).toBe(3)
        expect(yield* b.size).toBe(1)
      })
    )

    it.scopedLive("stamps the id and the time of the save, whatever the turn returned", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({})
        const before = yield* Clock.currentTimeMillis
        yield* a.withSession("real-id", (session) =>
          Effect.succeed([undefined, { ...session, id: "other", updatedAt: 0 } satisfies Session] as const)
        )
        const after = yield* Clock.currentTimeMillis
        const saved = yield* b.get("real-id")
        expect(saved?.id).toBe("real-id")
        expect(saved?.updatedAt).toBeGreaterThanOrEqual(before)
        expect(saved?.updatedAt).toBeLessThanOrEqual(after)
        expect(yield* b.get("other")).toBeUndefined()
      })
    )

    it.scopedLive("expires a session TTL seconds after its last save: it then reads as new (1 s TTL)", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({ ASSISTANT_API_SESSION_TTL_SECONDS: "1" })
        yield* turn(a, "ttl")
        yield* Effect.sleep("600 millis")
        expect(yield* turn(b, "ttl")).toBe(1) // still there; this save refreshes the TTL
        yield* Effect.sleep("600 millis")
        expect((yield* a.get("ttl"))?.turnCount).toBe(2)
        expect(yield* a.size).toBe(1)
        yield* Effect.sleep("1100 millis")
        expect(yield* b.get("ttl")).toBeUndefined()
        expect(yield* a.size).toBe(0)
        expect(yield* turn(a, "ttl")).toBe(0)
      })
    )

    it.scopedLive("keeps at most ASSISTANT_API_MAX_SESSIONS, evicting the least recently updated", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({ ASSISTANT_API_MAX_SESSIONS: "3" })
        for (const [store, id] of [
          [a, "s1"],
          [b, "s2"],
          [a, "s3"],
          [b, "s1"], // s1 is now the most recently updated, s2 the oldest
          [a, "s4"]
        ] as const) {
          yield* turn(store, id)
          yield* Effect.sleep("5 millis")
        }
        expect(yield* b.size).toBe(3)
        expect(yield* a.get("s2")).toBeUndefined()
        for (const id of ["s1", "s3", "s4"]) expect(yield* b.get(id)).toBeDefined()
        expect((yield* a.get("s1"))?.turnCount).toBe(2)
      })
    )

    it.scopedLive("keeps only the latest ASSISTANT_API_HISTORY_MESSAGES messages on save", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({ ASSISTANT_API_HISTORY_MESSAGES: "4" })
        yield* turn(a, "h", [message("1"), message("2"), message("3")])
        yield* turn(b, "h", [message("4"), message("5"), message("6")])
        expect((yield* a.get("h"))?.messages.map((m) => m.content)).toEqual(["3", "4", "5", "6"])
      })
    )

    it.scopedLive("runs concurrent turns of one session one after the other; each sees the previous save", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({})
        const log: Array<string> = []
        const slowTurn = (store: SessionStoreService, name: string) =>
          store.withSession("race", (session) =>
            Effect.gen(function* () {
              log.push(`${name} start`)
              yield* Effect.sleep("100 millis")
              log.push(`${name} end`)
              return [session.turnCount, { ...session, turnCount: session.turnCount + 1 }] as const
            })
          )
        const seen = yield* Effect.all([slowTurn(a, "a"), slowTurn(b, "b"), slowTurn(a, "a2")], {
          concurrency: "unbounded"
        })
        expect([...seen].sort()).toEqual([0, 1, 2])
        expect(log).toHaveLength(6)
        for (let i = 0; i < log.length; i += 2) {
          expect(log[i]!.replace(" start", "")).toBe(log[i + 1]!.replace(" end", ""))
        }
        expect((yield* b.get("race"))?.turnCount).toBe(3)
      })
    )

    it.scopedLive("runs turns of different sessions in parallel", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({})
        let inside = 0
        let mostInside = 0
        const slowTurn = (store: SessionStoreService, sessionId: string) =>
          store.withSession(sessionId, (session) =>
            Effect.gen(function* () {
              mostInside = Math.max(mostInside, ++inside)
              yield* Effect.sleep("150 millis")
              inside--
              return [undefined, session] as const
            })
          )
        yield* Effect.all([slowTurn(a, "p"), slowTurn(b, "q"), slowTurn(a, "r")], { concurrency: "unbounded" })
        expect(mostInside).toBe(3)
      })
    )

    it.scopedLive(
      "fails with SessionBusy after ASSISTANT_API_TURN_WAIT_SECONDS while an earlier turn holds the session",
      () =>
        Effect.gen(function* () {
          const [a, b] = yield* open({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
          const entered = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.fork(
            a.withSession("held", (session) =>
              Deferred.succeed(entered, undefined).pipe(
                Effect.zipRight(Deferred.await(release)),
                Effect.as([undefined, { ...session, turnCount: 1 }] as const)
              )
            )
          )
          yield* Deferred.await(entered)
          const [outcome, waited] = yield* elapsed(Effect.either(turn(b, "held")))
          expect(outcome._tag === "Left" && outcome.left).toMatchObject({ _tag: "SessionBusy", sessionId: "held" })
          expect(waited).toBeGreaterThanOrEqual(280)
          expect(waited).toBeLessThan(2000)
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(holder)
          expect(yield* turn(b, "held")).toBe(1)
        })
    )

    it.scopedLive("releases the session when a turn fails or dies, and saves nothing of it", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
        const failed = yield* Effect.exit(a.withSession("f", () => new TurnBroke()))
        expect(Exit.isFailure(failed) && failed.cause._tag === "Fail" && failed.cause.error._tag).toBe("TurnBroke")
        const died = yield* Effect.exit(a.withSession("f", () => Effect.die(new Error("bug"))))
        expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
        expect(yield* turn(b, "f")).toBe(0)
      })
    )

    it.scopedLive("releases the session when a turn is interrupted, or a waiting turn gives up", () =>
      Effect.gen(function* () {
        const [a, b] = yield* open({ ASSISTANT_API_TURN_WAIT_SECONDS: "0.3" })
        const entered = yield* Deferred.make<void>()
        const stuck = yield* Effect.fork(
          a.withSession("i", () => Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)))
        )
        yield* Deferred.await(entered)
        const waiting = yield* Effect.fork(turn(b, "i"))
        yield* Effect.sleep("20 millis")
        yield* Fiber.interrupt(waiting)
        yield* Fiber.interrupt(stuck)
        expect(yield* turn(b, "i")).toBe(0)
        expect(yield* turn(a, "i")).toBe(1)
      })
    )
  })
