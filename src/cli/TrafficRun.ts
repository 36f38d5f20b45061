// One run of `security-agent traffic`: the payload mix, paced at a bounded rate, stopped by a
// bounded count or duration, whichever comes first, one request in flight at a time; every
// answer tallied by class and status code (403 is SafeLine blocking it). Hard caps: flags may
// lower them, never raise them.
import * as http from "node:http"
import * as https from "node:https"
import { isIP } from "node:net"
import { Clock, Data, Duration, Effect, Either } from "effect"
import { requestAt, TRAFFIC_CLASSES, type TrafficClass, type TrafficRequest } from "./TrafficPayloads.js"
import type { TrafficTarget } from "./TrafficTarget.js"

export class TrafficLimitsInvalid extends Data.TaggedError("TrafficLimitsInvalid")<{ readonly message: string }> {}

/** The hard caps (and the defaults under them). */
export const TRAFFIC_CAPS = { rate: 20, count: 500, durationSeconds: 300 } as const
export const TRAFFIC_DEFAULTS = { rate: 5, count: 100, durationSeconds: 60 } as const
/** No single request waits longer than this for its answer. */
export const REQUEST_TIMEOUT_MS = 5000

export interface TrafficLimits {
  /** Requests per second, at most. */
  readonly rate: number
  /** Requests in all, at most. */
  readonly count: number
  /** Seconds the run may last, at most. */
  readonly durationSeconds: number
}

/** The limits the flags ask for, or the one flag that is outside 1..cap. */
export const checkLimits = (asked: TrafficLimits): Either.Either<TrafficLimits, TrafficLimitsInvalid> => {
  const rules: ReadonlyArray<readonly [string, number, number, string]> = [
    ["--rate", asked.rate, TRAFFIC_CAPS.rate, "requests per second"],
    ["--count", asked.count, TRAFFIC_CAPS.count, "requests"],
    ["--duration", asked.durationSeconds, TRAFFIC_CAPS.durationSeconds, "seconds"]
  ]
  for (const [flag, value, cap, unit] of rules) {
    if (!Number.isInteger(value) || value < 1 || value > cap) {
      return Either.left(
        new TrafficLimitsInvalid({
          message: `${flag} must be an integer from 1 to ${cap} ${unit} (the hard cap), got ${value}`
        })
      )
    }
  }
  return Either.right(asked)
}

/** What came back: the status code, or why there was none. */
export type Outcome = string

/** The running tally of a run, readable when it is interrupted. */
export class TrafficTally {
  sent = 0
  readonly byClass: Record<TrafficClass, Record<Outcome, number>> = Object.fromEntries(
    TRAFFIC_CLASSES.map((c) => [c, {}])
  ) as Record<TrafficClass, Record<Outcome, number>>
  readonly byStatus: Record<Outcome, number> = {}

  record(cls: TrafficClass, outcome: Outcome) {
    this.sent++
    this.byClass[cls][outcome] = (this.byClass[cls][outcome] ?? 0) + 1
    this.byStatus[outcome] = (this.byStatus[outcome] ?? 0) + 1
  }

  /** `benign=200:5 xss=403:2,200:1 …`, classes in their fixed order, empty classes left out. */
  classLine(): string {
    return TRAFFIC_CLASSES.filter((c) => Object.keys(this.byClass[c]).length > 0)
      .map((c) => `${c}=${outcomesLine(this.byClass[c])}`)
      .join(" ")
  }

  statusLine(): string {
    return outcomesLine(this.byStatus)
  }
}

const outcomesLine = (outcomes: Record<Outcome, number>) =>
  Object.entries(outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, n]) => `${outcome}:${n}`)
    .join(",")

const errorOutcome = (error: NodeJS.ErrnoException): Outcome =>
  error.code === "ECONNREFUSED"
    ? "connection_refused"
    : error.code === "ECONNRESET"
      ? "connection_reset"
      : error.message === "timeout"
        ? "timeout"
        : /CERT|SELF_SIGNED|TLS|SSL|UNABLE_TO_VERIFY/.test(error.code ?? "")
          ? "tls_error"
          : "error"

/** Sends one request to the checked address (never a fresh DNS answer), the body discarded. */
export const sendOne = (target: TrafficTarget, request: TrafficRequest, timeoutMs: number): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume, signal) => {
    const secure = target.url.protocol === "https:"
    const body = request.form === undefined ? undefined : new URLSearchParams(request.form).toString()
    const hostname = target.url.hostname.replace(/^\[|\]$/g, "")
    const options: https.RequestOptions = {
      host: target.address,
      family: target.family,
      port: target.url.port === "" ? (secure ? 443 : 80) : Number(target.url.port),
      method: request.method,
      path: `${target.url.pathname.replace(/\/+$/, "")}${request.path}`,
      headers: {
        host: target.url.host,
        "user-agent": request.userAgent,
        accept: "*/*",
        // Says what this traffic is to whoever reads the site's logs.
        "x-traffic-generator": "security-agent traffic",
        ...(body === undefined
          ? {}
          : { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) })
      },
      agent: false,
      timeout: timeoutMs,
      signal,
      ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {})
    }
    const req = (secure ? https : http).request(options, (res) => {
      res.on("error", () => resume(Effect.succeed("error")))
      res.on("end", () => resume(Effect.succeed(String(res.statusCode ?? "error"))))
      res.resume()
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (error) => resume(Effect.succeed(errorOutcome(error))))
    req.end(body)
  }).pipe(
    // A server that trickles its answer forever does not hold the run past the timeout.
    Effect.timeoutTo({ duration: Duration.millis(timeoutMs + 250), onTimeout: () => "timeout", onSuccess: (o) => o })
  )

export type StoppedBy = "count" | "duration"

/** A value inside 1..cap whatever was passed (NaN and fractions included): the caps hold for every caller. */
const withinCap = (value: number, cap: number): number =>
  Number.isFinite(value) ? Math.min(cap, Math.max(1, Math.floor(value))) : 1

/**
 * Sends the mix until `count` requests or `durationSeconds` have passed, at most `rate` per second.
 * The hard caps apply here too, not only in the command's flag check.
 */
export const runTraffic = (
  target: TrafficTarget,
  asked: TrafficLimits,
  tally: TrafficTally
): Effect.Effect<StoppedBy> =>
  Effect.gen(function* () {
    const limits: TrafficLimits = {
      rate: withinCap(asked.rate, TRAFFIC_CAPS.rate),
      count: withinCap(asked.count, TRAFFIC_CAPS.count),
      durationSeconds: withinCap(asked.durationSeconds, TRAFFIC_CAPS.durationSeconds)
    }
    const start = yield* Clock.currentTimeMillis
    const deadline = start + limits.durationSeconds * 1000
    const interval = 1000 / limits.rate
    let lastSent = Number.NEGATIVE_INFINITY
    for (let i = 0; i < limits.count; i++) {
      // On schedule, and never closer than 1/rate to the previous request (no catching up in bursts).
      const due = Math.max(start + i * interval, lastSent + interval)
      const now = yield* Clock.currentTimeMillis
      if (Math.max(now, due) >= deadline) return "duration" as const
      if (due > now) yield* Effect.sleep(Duration.millis(due - now))
      const left = deadline - (yield* Clock.currentTimeMillis)
      if (left <= 0) return "duration" as const
      const request = requestAt(i)
      lastSent = yield* Clock.currentTimeMillis
      tally.record(request.class, yield* sendOne(target, request, Math.min(REQUEST_TIMEOUT_MS, left)))
    }
    return "count" as const
  })
