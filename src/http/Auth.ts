// Bearer-token auth for /v1/* (constant-time, several tokens for rotation), and the start-up
// refusal to serve a non-loopback address without one.
import { createHash, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"
import { HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect, Option, Redacted } from "effect"
import type { AppSettings } from "../config/AppConfig.js"
import { Telemetry } from "../observability/Telemetry.js"

export class UnsafeBinding extends Data.TaggedError("UnsafeBinding")<{ readonly host: string }> {
  override get message() {
    return `Refusing to serve on ${this.host} without ASSISTANT_API_TOKEN: anyone who can reach it could change the WAF. Set ASSISTANT_API_TOKEN, bind 127.0.0.1, or set ASSISTANT_API_ALLOW_UNAUTHENTICATED=true on purpose.`
  }
}

export const isLoopback = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase()
  if (h === "localhost" || h === "::1") return true
  return isIP(h) === 4 && h.startsWith("127.")
}

export const configuredTokens = (api: AppSettings["api"]): ReadonlyArray<string> =>
  Option.match(api.tokens, {
    onNone: () => [],
    onSome: (secret) =>
      Redacted.value(secret)
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== "")
  })

/** Fails when the API would be reachable from other hosts with no token and no explicit opt-out. */
export const checkBinding = (api: AppSettings["api"]) =>
  !isLoopback(api.host) && configuredTokens(api).length === 0 && !api.allowUnauthenticated
    ? Effect.fail(new UnsafeBinding({ host: api.host }))
    : Effect.void

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Compares digests so neither the length nor the content of a token leaks through timing. */
const matchesAny = (given: string, tokens: ReadonlyArray<string>) => {
  const g = digest(given)
  let ok = false
  for (const token of tokens) ok = timingSafeEqual(g, digest(token)) || ok
  return ok
}

export const authMiddleware = (tokens: ReadonlyArray<string>) =>
  HttpMiddleware.make((app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (tokens.length === 0 || !request.url.startsWith("/v1/")) return yield* app
      const header = request.headers.authorization ?? ""
      const given = header.match(/^Bearer\s+(.+)$/i)?.[1]?.trim()
      if (given !== undefined && matchesAny(given, tokens)) return yield* app
      if (request.method === "POST" && request.url.split("?")[0] === "/v1/chat") {
        const telemetry = yield* Telemetry
        yield* telemetry.recordChatRequest
        yield* telemetry.recordChatRejected("unauthorized")
      }
      return HttpServerResponse.unsafeJson(
        { error: "unauthorized", detail: "send Authorization: Bearer <ASSISTANT_API_TOKEN>" },
        { status: 401, headers: { "www-authenticate": 'Bearer realm="security-agent"' } }
      )
    })
  )
