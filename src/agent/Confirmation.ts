// Confirmation codes for configuration changes: 6 digits from a CSPRNG, stored only as an HMAC
// under the deployment's code key (bound to principal and session), single use, expiring, and
// cancelled after too many wrong tries.
import { createHmac, randomInt, timingSafeEqual } from "node:crypto"
import type { PendingAction, PendingActionKind } from "../sessions/Session.js"

/** Whose code it is: the same code sent by another principal or from another session never matches. */
export interface CodeBinding {
  readonly principal: string
  readonly sessionId: string
}

/**
 * HMAC-SHA256 of the code under the per-deployment key: a dump of the session store alone cannot
 * be brute-forced offline (a million codes are nothing against a plain hash). The fields are
 * JSON-encoded so no choice of session id can make two bindings collide.
 */
export const hashCode = (key: Uint8Array, binding: CodeBinding, code: string): string =>
  createHmac("sha256", key)
    .update(JSON.stringify([binding.principal, binding.sessionId, code]))
    .digest("hex")

export const issueConfirmation = (input: {
  readonly key: Uint8Array
  readonly binding: CodeBinding
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
      nonceHash: hashCode(input.key, input.binding, code),
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
  readonly key: Uint8Array
  readonly binding: CodeBinding
  readonly pending: PendingAction
  readonly code: string
  readonly now: number
  readonly maxAttempts: number
}): ConfirmationCheck => {
  if (input.now > input.pending.expiresAt) return { result: "expired" }
  const expected = Buffer.from(input.pending.nonceHash, "hex")
  const given = Buffer.from(hashCode(input.key, input.binding, input.code), "hex")
  if (expected.length === given.length && timingSafeEqual(expected, given)) return { result: "nonce_match" }
  const failedAttempts = input.pending.failedAttempts + 1
  if (failedAttempts >= input.maxAttempts) return { result: "too_many_attempts" }
  return { result: "nonce_mismatch", pending: { ...input.pending, failedAttempts } }
}
