// Start-up rules for where the API may listen: never beyond loopback without a token unless
// asked to on purpose, and then loudly (a warning on every start and a gauge an alert reads).
import { isIP } from "node:net"
import { Data, Effect, Option } from "effect"
import type { AppSettings } from "../config/AppConfig.js"
import { Telemetry } from "../observability/Telemetry.js"

export class UnsafeBinding extends Data.TaggedError("UnsafeBinding")<{ readonly host: string }> {
  override get message() {
    return `Refusing to serve on ${this.host} without ASSISTANT_API_TOKEN or ASSISTANT_API_TOKENS_FILE: anyone who can reach it could change the WAF. Set a token (security-agent token <name> operator), bind 127.0.0.1, or set ASSISTANT_API_ALLOW_UNAUTHENTICATED=true on purpose.`
  }
}

/** The address the server binds: loopback names and addresses only (not what a client sends). */
export const isLoopback = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase()
  if (h === "localhost" || h === "::1") return true
  return isIP(h) === 4 && h.startsWith("127.")
}

const hasTokens = (api: AppSettings["api"]) => Option.isSome(api.tokens) || Option.isSome(api.tokensFile)

/** Fails when the API would be reachable from other hosts with no token and no explicit opt-out. */
export const checkBinding = (api: AppSettings["api"]) =>
  !isLoopback(api.host) && !hasTokens(api) && !api.allowUnauthenticated
    ? Effect.fail(new UnsafeBinding({ host: api.host }))
    : Effect.void

/** Sets the exposure gauge, and warns on every start while the API is open beyond loopback. */
export const announceExposure = (api: AppSettings["api"]) =>
  Effect.gen(function* () {
    const telemetry = yield* Telemetry
    const exposed = !isLoopback(api.host) && !hasTokens(api) && api.allowUnauthenticated
    yield* telemetry.setUnauthenticatedExposed(exposed)
    if (exposed) {
      yield* Effect.logWarning(
        `the API listens on ${api.host} WITHOUT authentication (ASSISTANT_API_ALLOW_UNAUTHENTICATED=true): anyone who can reach it and send an allowed Host can change the WAF. Set ASSISTANT_API_TOKEN or ASSISTANT_API_TOKENS_FILE.`
      )
    }
  })
