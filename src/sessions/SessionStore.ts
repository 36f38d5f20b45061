// Sessions behind one interface: in memory (one replica) or Redis (shared by replicas).
// `withSession` is the only way a turn touches a session, so turns of one session never interleave.
import { Context, type Effect } from "effect"
import type { Session, SessionBusy, SessionStoreUnavailable } from "./Session.js"

export interface SessionStoreService {
  /**
   * Locks the session (waiting at most ASSISTANT_API_TURN_WAIT_SECONDS for an earlier turn),
   * loads it (a new one if unknown or expired), runs `use`, saves the session it returns
   * (history capped to ASSISTANT_API_HISTORY_MESSAGES) and unlocks, whatever happened.
   */
  readonly withSession: <A, E, R>(
    sessionId: string,
    use: (session: Session) => Effect.Effect<readonly [A, Session], E, R>
  ) => Effect.Effect<A, E | SessionBusy | SessionStoreUnavailable, R>
  /** Reads a session without locking it. */
  readonly get: (sessionId: string) => Effect.Effect<Session | undefined, SessionStoreUnavailable>
  /** Fails when the store cannot be reached (readiness, dependency_up{dependency="redis"}). */
  readonly ping: Effect.Effect<void, SessionStoreUnavailable>
  /** Sessions currently held. */
  readonly size: Effect.Effect<number, SessionStoreUnavailable>
}

export class SessionStore extends Context.Tag("security-agent/SessionStore")<SessionStore, SessionStoreService>() {}
