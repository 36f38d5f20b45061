// What guards confirmation codes beyond a single change: the deployment's code key that codes are
// hashed under (never stored next to them), and the throttle on one principal's wrong codes.
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import { type ConfigError, Context, Data, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { AppConfig, type AppSettings } from "../config/AppConfig.js"
import {
  type CodeFailureCounter,
  type FailureWindow,
  makeMemoryCodeFailureCounter,
  makeRedisCodeFailureCounter
} from "./CodeFailureCounter.js"
import { type ConfirmationCheck, checkConfirmation, issueConfirmation } from "./Confirmation.js"

/** Shorter keys are refused: the key is all that stands between a Redis dump and the codes. */
export const MIN_CODE_KEY_CHARS = 32

/** The code key is missing (where one is required), too short or unreadable: the app does not start. */
export class ConfirmationKeyUnavailable extends Data.TaggedError("ConfirmationKeyUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** A principal that sent too many wrong codes: confirmations are refused until the window ends. */
export interface CodeThrottle {
  readonly failures: number
  readonly retryAfterSeconds: number
}

export interface ConfirmationGuardService {
  /** A new code for a change, hashed under the deployment's key. */
  readonly issue: (
    input: Omit<Parameters<typeof issueConfirmation>[0], "key">
  ) => Effect.Effect<ReturnType<typeof issueConfirmation>>
  /** The code a principal sent, checked against the pending change (constant time). */
  readonly check: (input: Omit<Parameters<typeof checkConfirmation>[0], "key">) => Effect.Effect<ConfirmationCheck>
  /** Some while the principal is over CONFIRMATION_MAX_FAILURES_PER_PRINCIPAL in the window. */
  readonly throttle: (principal: string) => Effect.Effect<Option.Option<CodeThrottle>>
  /** Counts one wrong code; Some when the principal is now over the limit. */
  readonly recordWrongCode: (principal: string) => Effect.Effect<Option.Option<CodeThrottle>>
}

const REDIS_NEEDS_KEY =
  "SESSION_STORE=redis needs ASSISTANT_CODE_KEY or ASSISTANT_CODE_KEY_FILE: a per-deployment secret of at least " +
  `${MIN_CODE_KEY_CHARS} characters, shared by every replica and never stored in Redis, that confirmation codes ` +
  "are hashed under (so a dump of Redis cannot be brute-forced). Generate one with `openssl rand -hex 32` and " +
  "mount it from a Secret (ASSISTANT_CODE_KEY_FILE) or set it in the environment."

const checkLength = (key: string, source: string) =>
  key.length >= MIN_CODE_KEY_CHARS
    ? Effect.succeed(Buffer.from(key, "utf8"))
    : Effect.fail(
        new ConfirmationKeyUnavailable({
          message: `${source} is ${key.length} characters long; the confirmation code key needs at least ${MIN_CODE_KEY_CHARS} (generate one with \`openssl rand -hex 32\`)`
        })
      )

/** The key from ASSISTANT_CODE_KEY or ASSISTANT_CODE_KEY_FILE (read once, trimmed), else per process. */
const resolveKey = (settings: AppSettings): Effect.Effect<Uint8Array, ConfirmationKeyUnavailable> => {
  const { codeKey, codeKeyFile } = settings.guardrails
  if (Option.isSome(codeKey) && Option.isSome(codeKeyFile)) {
    return Effect.fail(
      new ConfirmationKeyUnavailable({
        message: "Both ASSISTANT_CODE_KEY and ASSISTANT_CODE_KEY_FILE are set; set only one of them"
      })
    )
  }
  if (Option.isSome(codeKey)) return checkLength(Redacted.value(codeKey.value), "ASSISTANT_CODE_KEY")
  if (Option.isSome(codeKeyFile)) {
    const path = codeKeyFile.value
    return Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (cause) =>
        new ConfirmationKeyUnavailable({
          message: `Cannot read ASSISTANT_CODE_KEY_FILE ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
    }).pipe(Effect.flatMap((text) => checkLength(text.trim(), `The key in ASSISTANT_CODE_KEY_FILE (${path})`)))
  }
  // In memory, sessions (and so their pending codes) die with the process: a key of its own is enough.
  return settings.sessions.store === "redis"
    ? Effect.fail(new ConfirmationKeyUnavailable({ message: REDIS_NEEDS_KEY }))
    : Effect.sync(() => randomBytes(32))
}

const make: Effect.Effect<
  ConfirmationGuardService,
  ConfirmationKeyUnavailable | ConfigError.ConfigError,
  AppConfig | Scope.Scope
> = Effect.gen(function* () {
  const settings = yield* AppConfig
  const key = yield* resolveKey(settings)
  const { codeFailureLimit: limit, codeFailureWindowSeconds } = settings.guardrails
  const windowMillis = codeFailureWindowSeconds * 1000
  const local = makeMemoryCodeFailureCounter(windowMillis)
  const shared: CodeFailureCounter | undefined =
    settings.sessions.store === "redis"
      ? yield* makeRedisCodeFailureCounter(settings.sessions.redisUrl, windowMillis)
      : undefined

  // One warning per Redis outage and one line when it ends; meanwhile this replica counts alone.
  let degraded = false
  const degrade = (error: { readonly message: string }) =>
    Effect.suspend(() => {
      if (degraded) return Effect.void
      degraded = true
      return Effect.logWarning(
        `confirmation throttle: ${error.message}; counting wrong codes in this replica's memory until Redis answers again`
      )
    })
  const recovered = Effect.suspend(() => {
    if (!degraded) return Effect.void
    degraded = false
    return Effect.logInfo("confirmation throttle: Redis answers again; wrong codes are counted there")
  })

  const overLimit = (windows: ReadonlyArray<FailureWindow>): Option.Option<CodeThrottle> => {
    const over = windows.filter((w) => w.failures >= limit)
    if (over.length === 0) return Option.none()
    return Option.some({
      failures: Math.max(...over.map((w) => w.failures)),
      retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...over.map((w) => w.remainingMillis)) / 1000))
    })
  }

  return {
    issue: (input) => Effect.sync(() => issueConfirmation({ key, ...input })),
    check: (input) => Effect.sync(() => checkConfirmation({ key, ...input })),
    // Wrong codes counted here while Redis was away still count once it is back.
    throttle: (principal) =>
      Effect.gen(function* () {
        const windows = [yield* local.current(principal)]
        if (shared !== undefined) {
          const window = yield* shared.current(principal).pipe(
            Effect.tap(() => recovered),
            Effect.map(Option.some),
            Effect.catchAll((error) => Effect.as(degrade(error), Option.none<FailureWindow>()))
          )
          if (Option.isSome(window)) windows.push(window.value)
        }
        return overLimit(windows)
      }),
    recordWrongCode: (principal) =>
      (shared === undefined
        ? local.increment(principal)
        : shared.increment(principal).pipe(
            Effect.tap(() => recovered),
            Effect.catchAll((error) => Effect.zipRight(degrade(error), local.increment(principal)))
          )
      ).pipe(Effect.map((window) => overLimit([window])))
  } satisfies ConfirmationGuardService
})

export class ConfirmationGuard extends Context.Tag("security-agent/ConfirmationGuard")<
  ConfirmationGuard,
  ConfirmationGuardService
>() {
  /**
   * The key from ASSISTANT_CODE_KEY / ASSISTANT_CODE_KEY_FILE (a random one per process with
   * SESSION_STORE=memory and neither set; with redis, neither set fails start-up), and the
   * wrong-code counter in memory or, with SESSION_STORE=redis, in Redis with memory as fallback.
   */
  static readonly layer = Layer.scoped(ConfirmationGuard, make)
}
