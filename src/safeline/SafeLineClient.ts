// The typed SafeLine management API client: one method per endpoint the agent uses, each with
// its Schema, the envelope checked even on HTTP 200, timeouts, and backoff retries for reads only.
import * as Http from "node:http"
import * as Https from "node:https"
import { Readable } from "node:stream"
import {
  Cookies,
  Headers,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  HttpIncomingMessage,
  UrlParams
} from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import {
  Context,
  Duration,
  Effect,
  type Either,
  Exit,
  FiberId,
  FiberRef,
  Inspectable,
  Layer,
  Option,
  ParseResult,
  Redacted,
  Schedule,
  Schema,
  type Scope,
  type Stream
} from "effect"
import {
  AccessStatData,
  AclLog,
  AttackEvent,
  AttackStatData,
  CreatedId,
  DataPage,
  DetectLog,
  type Envelope,
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

const transportError = (
  method: Method,
  path: string,
  baseUrl: string,
  error: HttpClientError.HttpClientError
): SafeLineError => {
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

/** A SafeLine answer: the Node response, its body read once, when first asked for. */
class NodeAnswer extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private body: Exit.Exit<string, HttpClientError.ResponseError> | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly source: Http.IncomingMessage
  ) {
    super()
  }

  private readonly onError = (cause: unknown): HttpClientError.ResponseError =>
    new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })

  get status() {
    return this.source.statusCode ?? 0
  }
  get headers() {
    return Headers.fromInput(this.source.headers)
  }
  get cookies() {
    const header = this.source.headers["set-cookie"]
    return Array.isArray(header) ? Cookies.fromSetCookie(header) : Cookies.empty
  }
  get remoteAddress() {
    return Option.fromNullable(this.source.socket.remoteAddress)
  }
  /** The body as UTF-8, read from the socket on the first call (an interrupted read drops it). */
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    if (this.body !== undefined) return this.body
    return Effect.async<string, HttpClientError.ResponseError>((resume) => {
      const source = this.source
      let text = ""
      const onData = (chunk: string) => {
        text += chunk
      }
      const settle = (exit: Exit.Exit<string, HttpClientError.ResponseError>) => {
        source.off("data", onData).off("end", onEnd).off("error", onFailure)
        this.body = exit
        resume(exit)
      }
      const onEnd = () => settle(Exit.succeed(text))
      const onFailure = (cause: Error) => settle(Exit.fail(this.onError(cause)))
      source.setEncoding("utf8")
      source.on("data", onData).on("end", onEnd).on("error", onFailure)
      return Effect.sync(() => {
        source.off("data", onData).off("end", onEnd).off("error", onFailure)
        if (!source.closed) source.destroy()
      })
    })
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.tryMap(this.text, { try: (text) => (text === "" ? null : JSON.parse(text)), catch: this.onError })
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: this.onError })
    )
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(
      NodeStream.toUint8Array(() => this.source, { onFailure: this.onError }),
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return NodeStream.fromReadable<HttpClientError.ResponseError>(() => this.source, this.onError)
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () =>
        new Response(Readable.toWeb(this.source) as ReadableStream, {
          headers: Object.entries(this.source.headers).flatMap(([name, value]) =>
            value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v): [string, string] => [name, v])
          ),
          status: this.status
        }).formData(),
      catch: this.onError
    })
  }
  toJSON() {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/**
 * The SafeLine client's HttpClient: @effect/platform's own client (the `http.client` span and its
 * attributes, trace headers, aborting on interruption) over one plain Node request. The
 * platform-node transport sends the body and awaits the answer in two fibers and reads it
 * through a stream adapter: ~250 µs of CPU per call more than this, on every SafeLine read.
 */
const nodeHttpClient = (agent: NodeHttpClient.HttpAgent): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) => {
    const body = request.body
    if (body._tag !== "Empty" && body._tag !== "Uint8Array" && body._tag !== "Raw") {
      return Effect.dieMessage(`the SafeLine client sends no ${body._tag} bodies`)
    }
    return Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
      const https = url.protocol === "https:"
      const options = {
        agent: https ? agent.https : agent.http,
        method: request.method,
        headers: request.headers,
        signal
      }
      const nodeRequest = https ? Https.request(url, options) : Http.request(url, options)
      const stop = () => {
        nodeRequest.off("error", onError).off("response", onResponse).off("upgrade", onResponse)
      }
      const onError = (cause: Error) => {
        stop()
        resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
      }
      const onResponse = (response: Http.IncomingMessage) => {
        stop()
        resume(Effect.succeed(new NodeAnswer(request, response)))
      }
      nodeRequest.on("error", onError).on("response", onResponse).on("upgrade", onResponse)
      if (body._tag === "Empty") nodeRequest.end()
      else nodeRequest.end(body.body)
      // Interrupted: the client aborts the request through `signal`.
      return Effect.sync(stop)
    })
  })

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The `{data, err, msg}` envelope exactly as the Envelope schema decodes it (each field may be
 * absent or null: data null, err and msg ""), or undefined when the body is not one. Checked by
 * hand: it is three fields on every response, and the Schema walk cost more than the exchange.
 * Exported for the test that holds it equal to the Schema.
 */
export const envelopeOf = (json: unknown): Envelope | undefined => {
  if (!isRecord(json)) return undefined
  const { data, err, msg } = json
  if ((err != null && typeof err !== "string") || (msg != null && typeof msg !== "string")) return undefined
  return { data: data ?? null, err: err ?? "", msg: msg ?? "" }
}

/**
 * QpsData exactly as its Schema decodes it (a copy of each bucket's fields), or undefined to let
 * the Schema decode it and say what is wrong. The Schema's Record walk costs ~5 µs per bucket,
 * 35 buckets per read. Exported for the test that holds it equal to the Schema.
 */
export const qpsDataOf = (data: unknown): QpsData | undefined => {
  if (!isRecord(data)) return undefined
  const nodes = data.nodes
  if (nodes === undefined || nodes === null) return { nodes: [] }
  if (!Array.isArray(nodes)) return undefined
  const buckets: Array<Record<string, string | number | null>> = []
  for (const node of nodes as ReadonlyArray<unknown>) {
    if (!isRecord(node)) return undefined
    const bucket: Record<string, string | number | null> = {}
    for (const key of Object.keys(node)) {
      const value = node[key]
      if (value !== null && typeof value !== "number" && typeof value !== "string") return undefined
      bucket[key] = value
    }
    buckets.push(bucket)
  }
  return { nodes: buckets }
}

/** Payloads decoded by hand first (same value as the Schema's), the Schema only when that fails. */
const FAST_DECODERS: ReadonlyMap<Schema.Schema.Any, (data: unknown) => unknown> = new Map([[QpsData, qpsDataOf]])

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

const isTransient = (error: SafeLineError) => error.transient

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
  const envelope = envelopeOf(json)
  if (envelope === undefined) {
    if (status === 401) return rejected("")
    return status >= 400
      ? fail("http_error", `SafeLine answered HTTP ${status} to ${where}: ${snippet(body)}.`)
      : fail(
          "invalid_response",
          `SafeLine's answer to ${where} has no {data, err, msg} envelope: check that SAFELINE_URL points at the SafeLine management API.`
        )
  }
  const { data, err, msg } = envelope
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
  const fast = FAST_DECODERS.get(schema)?.(data)
  if (fast !== undefined) return Effect.succeed(fast as A)
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
    // Backoff base, 2 × base, 4 × base ... for `retries` extra attempts. The first delay is slept
    // before the retry loop, so a call that succeeds at once builds no schedule.
    const firstDelay = Duration.millis(connection.retryBaseMillis ?? 200)
    const laterBackoff = Schedule.exponential(Duration.times(firstDelay, 2)).pipe(
      Schedule.intersect(Schedule.recurs(Math.max(0, connection.retries - 1)))
    )
    /** Adds the token header to the names the HTTP client redacts (the list built once per base list). */
    let redactedBase: ReadonlyArray<string | RegExp> | undefined
    let redactedWithToken: ReadonlyArray<string | RegExp> = []
    const redactTokenHeader = FiberRef.update(Headers.currentRedactedNames, (names) => {
      if (names !== redactedBase) {
        redactedBase = names
        redactedWithToken = [...names, TOKEN_HEADER.toLowerCase()]
      }
      return redactedWithToken
    })
    const retried = <A>(once: Effect.Effect<A, SafeLineError>) =>
      Effect.zipRight(Effect.sleep(firstDelay), Effect.retry(once, { schedule: laterBackoff, while: isTransient }))

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
      // The token header must never reach a span attribute. Set in the exchange's own fiber:
      // withDeadline forks it and never merges its FiberRefs back, so nothing needs restoring.
      const once = Effect.zipRight(redactTokenHeader, http.execute(request)).pipe(
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
        )
      )
      // Only reads are retried: a PUT/POST that timed out may have been applied already.
      if (method !== "GET" || connection.retries === 0) return once
      return once.pipe(
        Effect.catchIf(isTransient, () => retried(once)),
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
      return yield* Effect.provideService(make(connection), HttpClient.HttpClient, nodeHttpClient(agent))
    })

  static readonly layer = (connection: SafeLineConnection): Layer.Layer<SafeLineClient> =>
    Layer.scoped(SafeLineClient, SafeLineClient.make(connection))
}
