// What a session remembers between turns: capped history, the turn counter and at most one
// pending configuration change awaiting its confirmation code.
import { Data } from "effect"

export interface SessionMessage {
  readonly role: "user" | "assistant"
  readonly content: string
  /** The agent that answered (assistant messages). */
  readonly route?: string
  readonly ts: string
}

export const PENDING_ACTION_KINDS = ["set_mode", "restore_mode", "blacklist_ip", "unblock_ip"] as const
export type PendingActionKind = (typeof PENDING_ACTION_KINDS)[number]

export interface PendingAction {
  readonly action: PendingActionKind
  /** What the tool will be called with once confirmed (mode, target, comment...). */
  readonly params: Readonly<Record<string, string>>
  /** A human summary, shown to the user and in the API's `pending_action`. */
  readonly summary: string
  /** HMAC of the 6-digit code under the deployment's code key (ConfirmationGuard): the code itself is never stored. */
  readonly nonceHash: string
  /** Epoch milliseconds. */
  readonly expiresAt: number
  readonly failedAttempts: number
}

export interface Session {
  readonly id: string
  /** Turns run so far; the next turn's id is `turnCount + 1`. */
  readonly turnCount: number
  readonly messages: ReadonlyArray<SessionMessage>
  readonly pendingAction: PendingAction | null
  /** Epoch milliseconds of the last change, for TTL pruning. */
  readonly updatedAt: number
}

export const emptySession = (id: string, now: number): Session => ({
  id,
  turnCount: 0,
  messages: [],
  pendingAction: null,
  updatedAt: now
})

/** Keeps only the latest `max` messages (ASSISTANT_API_HISTORY_MESSAGES), as every store does on save. */
export const capHistory = (messages: ReadonlyArray<SessionMessage>, max: number): ReadonlyArray<SessionMessage> =>
  messages.length <= max ? messages : messages.slice(messages.length - max)

/** Another turn of the same session kept the lock past the bounded wait (HTTP 409). */
export class SessionBusy extends Data.TaggedError("SessionBusy")<{ readonly sessionId: string }> {}

/** The session store cannot be reached (HTTP 503; readiness reports it). */
export class SessionStoreUnavailable extends Data.TaggedError("SessionStoreUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}
