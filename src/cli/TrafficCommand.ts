// `security-agent traffic --target <url>`: a bounded mix of benign requests and classic attack
// payloads at a site behind SafeLine, so the agents have real events to analyse. A command line
// tool only, never an agent tool or an HTTP route: a person starts it, against a site they run.
// Loopback and private targets only unless --i-own-this-target; hard caps on rate, count and
// duration; the start (with the target) and a summary (per class, per status) are always logged.
import { Command, Options } from "@effect/cli"
import { Console, Effect, Either, Logger, LogLevel } from "effect"
import { mixOf, TRAFFIC_CLASSES } from "./TrafficPayloads.js"
import {
  checkLimits,
  runTraffic,
  type StoppedBy,
  TRAFFIC_CAPS,
  TRAFFIC_DEFAULTS,
  type TrafficLimits,
  TrafficTally
} from "./TrafficRun.js"
import { checkTarget, type TrafficTarget } from "./TrafficTarget.js"

const target = Options.text("target").pipe(
  Options.withDescription(
    "Base URL of a site behind SafeLine that you run, e.g. http://127.0.0.1:8888 (loopback and private addresses only, unless --i-own-this-target)"
  )
)
const iOwnThisTarget = Options.boolean("i-own-this-target").pipe(
  Options.withDescription("Allow a target outside loopback and private ranges: only for a site you own or may test")
)
const rate = Options.integer("rate").pipe(
  Options.withDefault(TRAFFIC_DEFAULTS.rate),
  Options.withDescription(`Requests per second, 1-${TRAFFIC_CAPS.rate}`)
)
const count = Options.integer("count").pipe(
  Options.withDefault(TRAFFIC_DEFAULTS.count),
  Options.withDescription(`Requests in all, 1-${TRAFFIC_CAPS.count}`)
)
const duration = Options.integer("duration").pipe(
  Options.withDefault(TRAFFIC_DEFAULTS.durationSeconds),
  Options.withDescription(`Seconds at most, 1-${TRAFFIC_CAPS.durationSeconds}`)
)

/** Run logs go to stderr as logfmt, like the server's; stdout keeps the summary table. */
const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

const logSummary = (run: TrafficTarget, tally: TrafficTally, stoppedBy: StoppedBy | "interrupted", startedAt: number) =>
  Effect.gen(function* () {
    const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1)
    yield* Effect.logInfo("traffic run finished").pipe(
      Effect.annotateLogs({
        target: run.url.href,
        sent: tally.sent,
        stopped_by: stoppedBy,
        elapsed_seconds: elapsed,
        by_status: tally.statusLine(),
        by_class: tally.classLine()
      })
    )
    yield* Console.log(`Sent ${tally.sent} requests to ${run.url.href} in ${elapsed} s (stopped by ${stoppedBy}).`)
    for (const cls of TRAFFIC_CLASSES) {
      const outcomes = Object.entries(tally.byClass[cls])
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([outcome, n]) => `${outcome} ×${n}`)
        .join(", ")
      yield* Console.log(`  ${cls.padEnd(18)} ${outcomes === "" ? "-" : outcomes}`)
    }
    yield* Console.log(`  ${"by status".padEnd(18)} ${tally.statusLine() || "-"}  (403: blocked by SafeLine)`)
  })

/**
 * The target as a log may show it: a refused target can carry a password in its user info or a
 * token in its query, and neither may reach a log.
 */
export const loggableTarget = (raw: string): string => {
  try {
    const url = new URL(raw)
    return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 200)
  } catch {
    return raw
      .replace(/\/\/[^/@]*@/, "//")
      .replace(/[?#].*$/, "")
      .slice(0, 200)
  }
}

export const trafficCommand = Command.make("traffic", { target, iOwnThisTarget, rate, count, duration }, (options) =>
  Effect.gen(function* () {
    const limits: TrafficLimits = yield* Either.match(
      checkLimits({ rate: options.rate, count: options.count, durationSeconds: options.duration }),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
    const run = yield* checkTarget(options.target, { iOwnThisTarget: options.iOwnThisTarget }).pipe(
      Effect.tapError((refused) =>
        Effect.logError("traffic run refused").pipe(
          Effect.annotateLogs({ target: loggableTarget(options.target), reason: refused.message })
        )
      )
    )
    const planned = mixOf(Math.min(limits.count, limits.rate * limits.durationSeconds))
    yield* Effect.logInfo("traffic run starting").pipe(
      Effect.annotateLogs({
        target: run.url.href,
        address: run.address,
        range: run.range,
        owned_target: run.owned,
        rate: limits.rate,
        count: limits.count,
        duration_seconds: limits.durationSeconds,
        planned: TRAFFIC_CLASSES.map((c) => `${c}:${planned[c]}`).join(",")
      })
    )
    if (run.owned) {
      yield* Effect.logWarning(
        "the target is outside loopback and private ranges: sending attack payloads because --i-own-this-target was given"
      ).pipe(Effect.annotateLogs({ target: run.url.href, address: run.address }))
    }
    const tally = new TrafficTally()
    const startedAt = Date.now()
    const stoppedBy = yield* runTraffic(run, limits, tally).pipe(
      Effect.onInterrupt(() => logSummary(run, tally, "interrupted", startedAt))
    )
    yield* logSummary(run, tally, stoppedBy, startedAt)
  }).pipe(Effect.provide(StderrLogger), Logger.withMinimumLogLevel(LogLevel.Info))
).pipe(
  Command.withDescription(
    "Send a bounded mix of benign requests and classic attacks (SQLi, XSS, traversal, command injection, scanners) at a site behind SafeLine you run"
  )
)
