// Sessions in this process (one replica): TTL, a cap that evicts the least recently updated,
// a background pruner, and turns of one session serialised by an in-process lock.
import { Clock, Duration, Effect, Layer, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { makeKeyedLock } from "./KeyedLock.js"
import { capHistory, emptySession, type Session, SessionBusy } from "./Session.js"
import { SessionStore, type SessionStoreService } from "./SessionStore.js"

/** Pruning runs every min(60 s, ttl / 2), so an expired session is gone within half a TTL. */
export const pruneInterval = (ttlSeconds: number): Duration.Duration =>
  Duration.millis(Math.min(60_000, (ttlSeconds * 1000) / 2))

export const makeMemorySessionStore: Effect.Effect<SessionStoreService, never, AppConfig | Scope.Scope> = Effect.gen(
  function* () {
    const { sessions: settings, api } = yield* AppConfig
    const ttlMillis = settings.ttlSeconds * 1000
    const turnWait = Duration.seconds(api.turnWaitSeconds)
    const locks = makeKeyedLock()
    // Re-inserted on every save, so iteration order is least recently updated first.
    const held = new Map<string, Session>()

    const isExpired = (session: Session, now: number) => now - session.updatedAt >= ttlMillis

    const read = (sessionId: string, now: number): Session | undefined => {
      const session = held.get(sessionId)
      if (session === undefined || !isExpired(session, now)) return session
      held.delete(sessionId)
      return undefined
    }

    const save = (sessionId: string, session: Session, now: number): void => {
      held.delete(sessionId)
      held.set(sessionId, {
        ...session,
        id: sessionId,
        messages: capHistory(session.messages, settings.historyMessages),
        updatedAt: now
      })
      for (const oldest of held.keys()) {
        if (held.size <= settings.maxSessions) break
        held.delete(oldest)
      }
    }

    const prune = Effect.map(Clock.currentTimeMillis, (now) => {
      for (const [sessionId, session] of held) if (isExpired(session, now)) held.delete(sessionId)
    })
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(pruneInterval(settings.ttlSeconds)), prune)))

    const withSession: SessionStoreService["withSession"] = (sessionId, use) =>
      locks.withLock(
        sessionId,
        turnWait,
        () => new SessionBusy({ sessionId })
      )(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const [result, next] = yield* use(read(sessionId, now) ?? emptySession(sessionId, now))
          save(sessionId, next, yield* Clock.currentTimeMillis)
          return result
        })
      )

    return {
      withSession,
      get: (sessionId) => Effect.map(Clock.currentTimeMillis, (now) => read(sessionId, now)),
      ping: Effect.void,
      size: Effect.sync(() => held.size)
    } satisfies SessionStoreService
  }
)

export const MemorySessionStore = {
  /** The in-process store; needs AppConfig (sessions.* and api.turnWaitSeconds). */
  layer: Layer.scoped(SessionStore, makeMemorySessionStore)
} as const
