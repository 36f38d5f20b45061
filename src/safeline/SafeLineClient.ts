// The typed SafeLine management API client: one method per endpoint the agent uses, each with
// its Schema, the envelope checked even on HTTP 200, timeouts, and backoff retries for reads only.
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import {
  Context,
  Duration,
  Effect,
  type Either,
  type Exit,
  FiberId,
  Layer,
  ParseResult,
  Redacted,
  Schedule,
  Schema,
  type Scope
} from "effect"
import {
  AccessStatData,
  AclLog,
  AttackEvent,
  AttackStatData,
  CreatedId,
  DataPage,
  DetectLog,
  Envelope,
  IpGroup,
  MAX_PAGE_SIZE,
  ModeData,
  NodesPage,
  Policy,
  type PolicyCondition,
  QpsData,
  Site,
  SystemInfoData
} from "./SafeLineApi.js"
import { SafeLineError } from "./SafeLineError.js"

/** Where SafeLine is and how to talk to it. */
export interface SafeLineConnection {
  readonly baseUrl: string
  readonly token: Redacted.Redacted<string> | string
  readonly timeoutSeconds: number
  /** Extra attempts for GETs on transient failures; never for PUT/POST/DELETE. */
  readonly retries: number
  readonly verifyTls?: boolean | undefined
  /** PEM of the CA that signed SafeLine's certificate (SAFELINE_CA_BUNDLE's contents). */
  readonly ca?: string | Buffer | undefined
  /** First backoff delay; doubles per attempt (default 200 ms). */
  readonly retryBaseMillis?: number | undefined
}

export interface PageQuery {
  readonly page?: number | undefined
  readonly pageSize?: number | undefined
}

export interface EventQuery extends PageQuery {
  readonly ip?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** Epoch ms, 0 = unbounded. */
  readonly start?: number | undefined
  readonly end?: number | undefined
}

export interface RecordQuery extends EventQuery {
  readonly url?: string | undefined
  readonly attackType?: number | undefined
  readonly action?: number | undefined
  readonly eventId?: string | number | undefined
}

export interface IpGroupBody {
  readonly id: number
  readonly comment: string
  readonly ips: ReadonlyArray<string>
  readonly reference: string
}

export interface NewPolicy {
  readonly name: string
  readonly is_enabled: boolean
  readonly action: number
  readonly pattern: ReadonlyArray<ReadonlyArray<PolicyCondition>>
  readonly log?: boolean | undefined
}

type Method = "GET" | "POST" | "PUT" | "DELETE"
type Query = Readonly<Record<string, string | number | undefined>>

const TOKEN_HEADER = "X-SLCE-API-TOKEN"
const TLS_ERROR = /CERT|SELF_SIGNED|TLS|SSL|HANDSHAKE/i

const snippet = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}…` : text)

const transportError = (method: Method, path: string, baseUrl: string, error: HttpClientError): SafeLineError => {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  const detail = code || (typeof cause?.message === "string" ? cause.message : error.message)
  if (error._tag === "RequestError" && error.reason === "InvalidUrl") {
    return new SafeLineError({
      reason: "unreachable",
      method,
      path,
      cause: error,
      message: `SAFELINE_URL (${baseUrl}) is not a valid URL: set it to the management address, e.g. https://waf.example:9443.`
    })
  }
  if (TLS_ERROR.test(code) || TLS_ERROR.test(String(cause?.message ?? ""))) {
    return new SafeLineError({
      reason: "tls",
      method,
      path,
      cause: error,
      message: `TLS verification of SafeLine at ${baseUrl} failed (${detail}): set SAFELINE_CA_BUNDLE to the PEM of the CA that signed its certificate, or SAFELINE_VERIFY_TLS=false for a default self-signed install on a trusted network.`
    })
  }
  return new SafeLineError({
    reason: "unreachable",
    method,
    path,
    cause: error,
    message: `Cannot reach SafeLine at ${baseUrl} (${detail}): check SAFELINE_URL and that the management port is reachable from here.`
  })
}

const decodeEnvelope = Schema.decodeUnknownEither(Envelope)
/** Each payload schema's decoder, compiled once. */
const decoders = new WeakMap<Schema.Schema.Any, (input: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const decoderOf = <A, I>(schema: Schema.Schema<A, I>) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEither(schema)
    decoders.set(schema, decode)
  }
  return decode as (input: unknown) => Either.Either<A, ParseResult.ParseError>
}

/**
 * Fails with `onTimeout()` when `self` has not finished within `millis`, interrupting it (which
 * aborts the HTTP exchange). One forked fiber and one timer: cheaper than racing a sleeping fiber
 * (Effect.timeoutFail), with the same meaning for SAFELINE_TIMEOUT.
 */
const withDeadline =
  <E2>(millis: number, onTimeout: () => E2) =>
  <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E | E2> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (fiber) =>
        restore(
          Effect.async<A, E | E2>((resume) => {
            let done = false
            const finish = (effect: Effect.Effect<A, E | E2>) => {
              if (done) return
              done = true
              clearTimeout(timer)
              resume(effect)
            }
            const timer = setTimeout(() => {
              fiber.unsafeInterruptAsFork(FiberId.none)
              finish(Effect.fail(onTimeout()))
            }, millis)
            fiber.addObserver((exit: Exit.Exit<A, E>) => finish(exit))
            return Effect.sync(() => {
              done = true
              clearTimeout(timer)
              fiber.unsafeInterruptAsFork(FiberId.none)
            })
          })
        )
      )
    )

/** Turns one HTTP exchange into the payload, or the precise reason it is not one. */
const interpret = <A, I>(
  method: Method,
  path: string,
  status: number,
  body: string,
  schema: Schema.Schema<A, I>
): Effect.Effect<A, SafeLineError> => {
  const where = `${method} ${path}`
  const fail = (reason: SafeLineError["reason"], message: string, code?: string) =>
    Effect.fail(new SafeLineError({ reason, method, path, status, code, message }))
  const rejected = (code: string) =>
    fail(
      "auth",
      `SafeLine token rejected (HTTP ${status} ${code || "login-required"}): set SAFELINE_API_TOKEN to a valid API token from the SafeLine console.`,
      code || "login-required"
    )
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    if (status === 401) return rejected("")
    return status >= 400
      ? fail("http_error", `SafeLine answered HTTP ${status} to ${where}: ${snippet(body) || "(empty body)"}.`)
      : fail(
          "invalid_response",
          `SafeLine's answer to ${where} is not JSON (${snippet(body) || "empty body"}): check that SAFELINE_URL points at the SafeLine management API (port 9443).`
        )
  }
  const envelope = decodeEnvelope(json)
  if (envelope._tag === "Left") {
    if (status === 401) return rejected("")
    return status >= 400
      ? fail("http_error", `SafeLine answered HTTP ${status} to ${where}: ${snippet(body)}.`)
      : fail(
          "invalid_response",
          `SafeLine's answer to ${where} has no {data, err, msg} envelope: check that SAFELINE_URL points at the SafeLine management API.`
        )
  }
  const { data, err, msg } = envelope.right
  const said = [err, msg].filter((s) => s !== "").join(": ")
  if (status === 401 || err === "login-required") return rejected(err)
  if (status === 404) {
    return fail("not_found", `SafeLine has no such object for ${where} (${said || "HTTP 404"}).`, err || undefined)
  }
  if (status >= 400) {
    return fail(
      "http_error",
      `SafeLine answered HTTP ${status} to ${where} (${said || "no detail"}): retry later, and check SafeLine's logs if it persists.`,
      err || undefined
    )
  }
  if (err !== "") {
    return fail(
      "envelope_error",
      `SafeLine refused ${where}: ${said}${err === "read-only" ? " (the token or node is read-only)" : ""}.`,
      err
    )
  }
  const decoded = decoderOf(schema)(data)
  if (decoded._tag === "Right") return Effect.succeed(decoded.right)
  return Effect.fail(
    new SafeLineError({
      reason: "invalid_response",
      method,
      path,
      status,
      cause: decoded.left,
      message: `SafeLine's answer to ${where} has an unexpected shape (${snippet(ParseResult.TreeFormatter.formatErrorSync(decoded.left).replace(/\s+/g, " "))}): is this SafeLine 9.x?`
    })
  )
}

const make = (connection: SafeLineConnection) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const baseUrl = connection.baseUrl.replace(/\/+$/, "")
    const token = typeof connection.token === "string" ? connection.token : Redacted.value(connection.token)
    const timeoutMillis = Math.round(connection.timeoutSeconds * 1000)
    const backoff = Schedule.exponential(Duration.millis(connection.retryBaseMillis ?? 200)).pipe(
      Schedule.intersect(Schedule.recurs(connection.retries))
    )

    const call = <A, I>(
      method: Method,
      path: string,
      schema: Schema.Schema<A, I>,
      options: { readonly query?: Query; readonly body?: unknown } = {}
    ): Effect.Effect<A, SafeLineError> => {
      const urlParams: Record<string, string> = {}
      for (const [key, value] of Object.entries(options.query ?? {})) {
        if (value !== undefined) urlParams[key] = String(value)
      }
      let request = HttpClientRequest.make(method)(`${baseUrl}${path}`, {
        urlParams,
        headers: { [TOKEN_HEADER]: token, accept: "application/json" }
      })
      if (options.body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, options.body)
      const once = http.execute(request).pipe(
        Effect.flatMap((response) => Effect.map(response.text, (body) => ({ status: response.status, body }))),
        Effect.mapError((error) => transportError(method, path, baseUrl, error)),
        Effect.flatMap(({ status, body }) => interpret(method, path, status, body, schema)),
        withDeadline(
          timeoutMillis,
          () =>
            new SafeLineError({
              reason: "timeout",
              method,
              path,
              message: `SafeLine did not answer ${method} ${path} within ${connection.timeoutSeconds} s: check that it is up and reachable, or raise SAFELINE_TIMEOUT.`
            })
        ),
        // The token header must never reach a span attribute.
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, TOKEN_HEADER.toLowerCase()])
      )
      // Only reads are retried: a PUT/POST that timed out may have been applied already.
      if (method !== "GET" || connection.retries === 0) return once
      return once.pipe(
        Effect.retry({ schedule: backoff, while: (error) => error.transient }),
        Effect.mapError((error) =>
          error.transient
            ? new SafeLineError({ ...error, message: `${error.message} (tried ${connection.retries + 1} times)` })
            : error
        )
      )
    }

    const page = (q: PageQuery) => ({ page: q.page ?? 1, page_size: Math.min(q.pageSize ?? 20, MAX_PAGE_SIZE) })
    const eventParams = (q: EventQuery): Query => ({
      ...page(q),
      ip: q.ip,
      host: q.host,
      port: q.port,
      start: q.start ?? 0,
      end: q.end ?? 0
    })
    const Null = Schema.Unknown

    return {
      baseUrl,
      system: call("GET", "/api/open/system", SystemInfoData),
      listEvents: (q: EventQuery = {}) =>
        call("GET", "/api/open/events", NodesPage(AttackEvent), { query: eventParams(q) }),
      listRecords: (q: RecordQuery = {}) =>
        call("GET", "/api/open/records", DataPage(DetectLog), {
          query: {
            ...eventParams(q),
            url: q.url,
            attack_type: q.attackType,
            action: q.action,
            event_id: q.eventId
          }
        }),
      listAclRecords: (q: PageQuery = {}) => call("GET", "/api/open/records/acl", DataPage(AclLog), { query: page(q) }),
      qps: (count: number) => call("GET", "/api/stat/qps", QpsData, { query: { count } }),
      attackStats: (beginSeconds: number, endSeconds: number) =>
        call("GET", "/api/stat/advance/attack", AttackStatData, {
          query: { begin_time: beginSeconds, end_time: endSeconds }
        }),
      accessStats: (beginSeconds: number, endSeconds: number) =>
        call("GET", "/api/stat/advance/access", AccessStatData, {
          query: { begin_time: beginSeconds, end_time: endSeconds }
        }),
      getMode: Effect.map(call("GET", "/api/open/global/mode", ModeData), (d) => d.semantics),
      putMode: (semantics: Readonly<Record<string, string>>) =>
        Effect.asVoid(call("PUT", "/api/open/global/mode", Null, { body: { semantics } })),
      listIpGroups: (top?: number) =>
        call("GET", "/api/open/ipgroup", NodesPage(IpGroup), { query: top === undefined ? {} : { top } }),
      /** Creates a new group on every call: look for an existing one first. */
      createIpGroup: (group: { readonly comment: string; readonly ips: ReadonlyArray<string> }) =>
        call("POST", "/api/open/ipgroup", CreatedId, {
          body: { comment: group.comment, ips: group.ips, reference: "" }
        }),
      appendToIpGroups: (ids: ReadonlyArray<number>, ips: ReadonlyArray<string>) =>
        Effect.asVoid(call("POST", "/api/open/ipgroup/append", Null, { body: { ip_group_ids: ids, ips } })),
      /**
       * Replaces a group's IP list (inferred from the 9.x swagger: PUT the full group; there is no
       * documented "remove one IP" endpoint).
       */
      updateIpGroup: (group: IpGroupBody) =>
        Effect.asVoid(
          call("PUT", "/api/open/ipgroup", Null, {
            body: { id: group.id, comment: group.comment, ips: group.ips, reference: group.reference }
          })
        ),
      listPolicies: (q: PageQuery = {}) =>
        call("GET", "/api/open/policy", DataPage(Policy), { query: { ...page(q), action: -1 } }),
      createPolicy: (policy: NewPolicy) => call("POST", "/api/open/policy", CreatedId, { body: policy }),
      /** `PUT /api/open/policy/switch {id, is_enabled}` (from the 9.x swagger). */
      switchPolicy: (id: number, enabled: boolean) =>
        Effect.asVoid(call("PUT", "/api/open/policy/switch", Null, { body: { id, is_enabled: enabled } })),
      listSites: call("GET", "/api/open/site", DataPage(Site), { query: { page: 1, page_size: MAX_PAGE_SIZE } })
    } as const
  })

export type SafeLineClientService = Effect.Effect.Success<ReturnType<typeof make>>

export class SafeLineClient extends Context.Tag("security-agent/SafeLineClient")<
  SafeLineClient,
  SafeLineClientService
>() {
  /** A client with its own Node agent, so its TLS settings never leak into other HTTP clients. */
  static readonly make = (connection: SafeLineConnection): Effect.Effect<SafeLineClientService, never, Scope.Scope> =>
    Effect.gen(function* () {
      const agent = yield* NodeHttpClient.makeAgent({
        rejectUnauthorized: connection.verifyTls ?? true,
        ...(connection.ca === undefined ? {} : { ca: connection.ca }),
        keepAlive: true
      })
      const http = yield* Effect.provideService(NodeHttpClient.make, NodeHttpClient.HttpAgent, agent)
      return yield* Effect.provideService(make(connection), HttpClient.HttpClient, http)
    })

  static readonly layer = (connection: SafeLineConnection): Layer.Layer<SafeLineClient> =>
    Layer.scoped(SafeLineClient, SafeLineClient.make(connection))
}
