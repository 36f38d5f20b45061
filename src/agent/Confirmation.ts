// Confirmation codes for configuration changes: 6 digits from a CSPRNG, bound to the session,
// stored only as a hash, single use, expiring, and cancelled after too many wrong tries.
import { createHash, randomInt, timingSafeEqual } from "node:crypto"
import type { PendingAction, PendingActionKind } from "../sessions/Session.js"

const hashCode = (sessionId: string, code: string): string =>
  createHash("sha256").update(`${sessionId}\u0000${code}`).digest("hex")

export const issueConfirmation = (input: {
  readonly sessionId: string
  readonly action: PendingActionKind
  readonly params: Readonly<Record<string, string>>
  readonly summary: string
  readonly now: number
  readonly ttlSeconds: number
}): { readonly code: string; readonly pending: PendingAction } => {
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0")
  return {
    code,
    pending: {
      action: input.action,
      params: input.params,
      summary: input.summary,
      nonceHash: hashCode(input.sessionId, code),
      expiresAt: input.now + input.ttlSeconds * 1000,
      failedAttempts: 0
    }
  }
}

export type ConfirmationCheck =
  | { readonly result: "nonce_match" }
  | { readonly result: "expired" }
  | { readonly result: "nonce_mismatch"; readonly pending: PendingAction }
  | { readonly result: "too_many_attempts" }

export const checkConfirmation = (input: {
  readonly sessionId: string
  readonly pending: PendingAction
  readonly code: string
  readonly now: number
  readonly maxAttempts: number
}): ConfirmationCheck => {
  if (input.now > input.pending.expiresAt) return { result: "expired" }
  const expected = Buffer.from(input.pending.nonceHash, "hex")
  const given = Buffer.from(hashCode(input.sessionId, input.code), "hex")
  if (expected.length === given.length && timingSafeEqual(expected, given)) return { result: "nonce_match" }
  const failedAttempts = input.pending.failedAttempts + 1
  if (failedAttempts >= input.maxAttempts) return { result: "too_many_attempts" }
  return { result: "nonce_mismatch", pending: { ...input.pending, failedAttempts } }
}
