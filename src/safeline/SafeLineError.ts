// Why a SafeLine call failed, in a bounded set of reasons, with the request it was and a
// message that tells an operator what to do about it.
import { Data } from "effect"

export const SAFELINE_FAILURES = [
  "auth",
  "timeout",
  "unreachable",
  "tls",
  "http_error",
  "envelope_error",
  "invalid_response",
  "not_found"
] as const
export type SafeLineFailure = (typeof SAFELINE_FAILURES)[number]

export class SafeLineError extends Data.TaggedError("SafeLineError")<{
  readonly reason: SafeLineFailure
  /** What happened and what to do, for a person. */
  readonly message: string
  readonly method: string
  readonly path: string
  readonly status?: number | undefined
  /** The envelope's `err` code (`login-required`, `read-only`, ...), when SafeLine sent one. */
  readonly code?: string | undefined
  readonly cause?: unknown
}> {
  /** Worth another attempt for a read: the server may answer next time. */
  get transient(): boolean {
    return (
      this.reason === "timeout" ||
      this.reason === "unreachable" ||
      (this.reason === "http_error" && (this.status === undefined || this.status >= 500 || this.status === 429))
    )
  }
}
