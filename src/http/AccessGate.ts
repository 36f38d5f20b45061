// The one decision every request goes through before a handler runs, in this order: the request
// target must be canonical (RequestTarget), it must name a route of the table — the endpoints of
// the HttpApi contract plus the documentation routes (404/405) — its path parameters must keep
// the id rules, and the route's own access rule decides who may call it (public, or a role;
// an endpoint that declares none is never served). The verdict rides to the handlers in a FiberRef.
import { HttpApi, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Context, Effect, FiberRef, Option } from "effect"
import { globalValue } from "effect/GlobalValue"
import { AppConfig } from "../config/AppConfig.js"
import { SESSION_ID_PATTERN, SESSION_ID_RULE, TURN_ID_PATTERN, TURN_ID_RULE } from "../domain/Chat.js"
import { ANONYMOUS_PRINCIPAL, type Principal, roleAllows } from "../domain/Principal.js"
import type { AccessDeniedReason } from "../observability/Labels.js"
import { Telemetry } from "../observability/Telemetry.js"
import { type Caller, EndpointAccess, SecurityAgentApi } from "./Api.js"
import { ApiTokens } from "./ApiTokens.js"
import { checkBrowserHeaders, makeBrowserPolicy } from "./BrowserGuard.js"
import { clientAddress, parseTrustedProxies } from "./ClientAddress.js"
import { problem } from "./Problem.js"
import { parseRequestTarget } from "./RequestTarget.js"
import { matchRoute, type RouteSpec } from "./RouteTable.js"

/** The caller the gate admitted, for the handlers of this request (none outside one). */
export const gateCaller: FiberRef.FiberRef<Option.Option<Caller>> = globalValue(
  Symbol.for("security-agent/AccessGate/gateCaller"),
  () => FiberRef.unsafeMake<Option.Option<Caller>>(Option.none())
)

/** Served beside the contract's endpoints: the document itself and its UI. */
export const DOCUMENTATION_ROUTES: ReadonlyArray<RouteSpec> = [
  { name: "openapi", method: "GET", template: "/openapi.json", access: "public" },
  { name: "docs", method: "GET", template: "/docs", access: "public" }
]

/** Every endpoint of the contract with its declared access; one without a declaration is a bug. */
export const routesOfApi = (): ReadonlyArray<RouteSpec> => {
  const routes: Array<RouteSpec> = []
  HttpApi.reflect(SecurityAgentApi, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint, mergedAnnotations }) => {
      const access = Context.getOption(mergedAnnotations, EndpointAccess)
      if (Option.isNone(access)) throw new Error(`endpoint ${endpoint.name} declares no EndpointAccess`)
      if (endpoint.method !== "GET" && endpoint.method !== "POST") {
        throw new Error(`endpoint ${endpoint.name} uses ${endpoint.method}, which the gate does not route`)
      }
      routes.push({ name: endpoint.name, method: endpoint.method, template: endpoint.path, access: access.value })
    }
  })
  return [...routes, ...DOCUMENTATION_ROUTES]
}

/** The id rules of the path parameters, checked here so every refusal is the same problem+json. */
const PARAMETER_RULES: Readonly<Record<string, readonly [RegExp, string]>> = {
  session_id: [SESSION_ID_PATTERN, SESSION_ID_RULE],
  turn_id: [TURN_ID_PATTERN, TURN_ID_RULE]
}

const bearerToken = (header: string | undefined): string | undefined =>
  header?.match(/^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i)?.[1]

export type GateVerdict =
  | { readonly _tag: "Refused"; readonly response: HttpServerResponse.HttpServerResponse }
  | { readonly _tag: "Admitted"; readonly caller: Caller }

/** Builds the gate once (route table, policies); the returned effect judges one request. */
export const makeAccessGate = Effect.gen(function* () {
  const config = yield* AppConfig
  const telemetry = yield* Telemetry
  const tokens = yield* ApiTokens
  const routes = routesOfApi()
  const browserPolicy = makeBrowserPolicy(config.api.allowedHosts, config.api.allowedOrigins)
  const proxies = parseTrustedProxies(config.api.trustedProxies)

  const refuse = (
    response: HttpServerResponse.HttpServerResponse,
    reason?: AccessDeniedReason,
    chat?: "unauthorized" | "forbidden"
  ): Effect.Effect<GateVerdict> =>
    Effect.gen(function* () {
      if (reason !== undefined) yield* telemetry.recordAccessDenied(reason)
      if (chat !== undefined) {
        yield* telemetry.recordChatRequest
        yield* telemetry.recordChatRejected(chat)
      }
      return { _tag: "Refused", response } as const
    })

  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const target = parseRequestTarget(request.url)
    if (!target.ok) {
      return yield* refuse(
        problem(400, "invalid_request_target", `${target.detail}; see /openapi.json for the routes`),
        "non_canonical_target"
      )
    }
    const match = matchRoute(routes, request.method, target.segments)
    if (match._tag === "NotFound")
      return yield* refuse(problem(404, "not_found", "no such endpoint; see /openapi.json"))
    if (match._tag === "MethodNotAllowed") {
      const allow = match.allow.join(", ")
      return yield* refuse(problem(405, "method_not_allowed", `this endpoint answers ${allow}`, { headers: { allow } }))
    }
    const route = match.route
    /** A refused chat request is also counted as a rejected chat, under this reason. */
    const chatReason = <R extends "unauthorized" | "forbidden">(reason: R) =>
      route.name === "chat" ? reason : undefined
    const address = clientAddress(
      proxies,
      Option.getOrUndefined(request.remoteAddress),
      request.headers["x-forwarded-for"]
    )
    if (route.access === "public") {
      return { _tag: "Admitted", caller: { principal: ANONYMOUS_PRINCIPAL, clientAddress: address } } as const
    }

    let principal: Principal
    if (tokens.required) {
      const token = bearerToken(request.headers.authorization)
      const found = token === undefined ? Option.none() : yield* tokens.authenticate(token)
      if (Option.isNone(found)) {
        return yield* refuse(
          problem(
            401,
            "unauthorized",
            "send Authorization: Bearer <token> (ASSISTANT_API_TOKEN or a tokens-file token)",
            { headers: { "www-authenticate": 'Bearer realm="security-agent"' } }
          ),
          "unauthorized",
          chatReason("unauthorized")
        )
      }
      principal = found.value
    } else {
      // No token configured: only a local, same-origin caller is the anonymous operator.
      const browser = checkBrowserHeaders(browserPolicy, {
        host: request.headers.host,
        origin: request.headers.origin,
        secFetchSite: request.headers["sec-fetch-site"]
      })
      if (!browser.ok) {
        return yield* refuse(problem(403, browser.reason, browser.detail), browser.reason, chatReason("forbidden"))
      }
      principal = ANONYMOUS_PRINCIPAL
    }
    if (!roleAllows(principal.role, route.access)) {
      return yield* refuse(
        problem(403, "forbidden_role", `this endpoint needs the ${route.access} role`),
        "forbidden_role",
        chatReason("forbidden")
      )
    }
    for (const [name, value] of Object.entries(match.params)) {
      const rule = PARAMETER_RULES[name]
      if (rule !== undefined && !rule[0].test(value)) return yield* refuse(problem(400, "invalid_path", rule[1]))
    }
    yield* Effect.annotateCurrentSpan({
      "user.id": principal.name,
      "user.roles": [principal.role],
      ...(address === undefined ? {} : { "client.address": address })
    })
    return { _tag: "Admitted", caller: { principal, clientAddress: address } } as const
  })
})
