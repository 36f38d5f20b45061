// Specialists build a complete, factual draft from tool data; the Reasoner may rephrase it.
// If the language model is down, the user still gets the draft, said to be the built-in one.
import { Effect, Option } from "effect"
import type { SpecialistName } from "../domain/Agents.js"
import { Reasoner } from "../reasoning/Reasoner.js"

export const composeReply = (
  agent: SpecialistName,
  question: string,
  facts: Readonly<Record<string, unknown>>,
  draft: string
): Effect.Effect<string, never, Reasoner> =>
  Effect.flatMap(Reasoner, (reasoner) =>
    reasoner.offline
      ? Effect.succeed(draft)
      : reasoner
          .compose({ agent, question, facts, draft })
          .pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`compose failed for ${agent}: ${error.message}`).pipe(
                Effect.as(`${draft}\n\n(The language model is unavailable right now, so this is the built-in summary.)`)
              )
            )
          )
  )

/** One formatter per precision, built once: `toLocaleString` builds a new one on every call. */
const formatters = new Map<number, Intl.NumberFormat>()
const formatterFor = (digits: number): Intl.NumberFormat => {
  let formatter = formatters.get(digits)
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat("en-US", { maximumFractionDigits: digits })
    formatters.set(digits, formatter)
  }
  return formatter
}

const INTEGERS = new Intl.NumberFormat("en-US")

/** A safe integer grouped by thousands as INTEGERS.format writes it: Intl costs µs per number. */
const groupThousands = (n: number): string => {
  const digits = String(Math.abs(n))
  let grouped = digits.length > 3 ? digits.slice(-3) : digits
  for (let end = digits.length - 3; end > 0; end -= 3) grouped = `${digits.slice(Math.max(0, end - 3), end)},${grouped}`
  return n < 0 ? `-${grouped}` : grouped
}

export const formatNumber = (n: number, digits = 1): string =>
  Number.isSafeInteger(n) && !Object.is(n, -0)
    ? groupThousands(n)
    : Number.isInteger(n)
      ? INTEGERS.format(n)
      : formatterFor(digits).format(n)

export const formatTime = (epochMs: number): string =>
  new Date(epochMs).toISOString().replace("T", " ").slice(0, 19) + "Z"

/**
 * Runs a specialist's tool calls side by side and lets every one finish, then fails with the
 * first failure: a call is never cancelled because its sibling failed, so each one is recorded
 * as what it really was (a healthy tool is not counted as failed).
 */
export const allToolCalls = <const Calls extends ReadonlyArray<Effect.Effect<any, any, any>>>(calls: Calls) =>
  (
    Effect.all(calls, { concurrency: "unbounded", mode: "validate" }) as Effect.Effect<
      unknown,
      ReadonlyArray<Option.Option<unknown>>,
      unknown
    >
  ).pipe(Effect.mapError((errors) => errors.find(Option.isSome)!.value)) as Effect.Effect<
    { -readonly [K in keyof Calls]: Effect.Effect.Success<Calls[K]> },
    Effect.Effect.Error<Calls[number]>,
    Effect.Effect.Context<Calls[number]>
  >
