// `security-agent chat`: an interactive REPL on the same Turn code path as the API. Shows the
// route, a spinner while thinking, the trace id, and `/trace` prints the last turn's tree.
import { createInterface } from "node:readline"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option } from "effect"
import { Turn } from "../agent/Turn.js"
import { AppLive } from "../app/AppLayer.js"
import type { TurnResult } from "../domain/Chat.js"
import { LOCAL_CLI_PRINCIPAL } from "../domain/Principal.js"
import { TraceSink } from "../observability/TraceSink.js"
import { renderTurnTree } from "../observability/TraceView.js"

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

const HELP = `Commands: /trace (last turn's trace tree), /new (new session), /help, /exit. Anything else is a message.`

/** Shows a spinner on stderr while `effect` runs, when stderr is a terminal. */
const withSpinner = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  process.stderr.isTTY
    ? Effect.acquireUseRelease(
        Effect.sync(() => {
          let frame = 0
          return setInterval(() => process.stderr.write(`\r${SPINNER[frame++ % SPINNER.length]} thinking…`), 80)
        }),
        () => effect,
        (timer) =>
          Effect.sync(() => {
            clearInterval(timer)
            process.stderr.write("\r\u001b[2K")
          })
      )
    : effect

const printResult = (result: TurnResult) =>
  Console.log(
    [
      `[${result.route}] ${result.reply}`,
      ...(result.sources.length > 0
        ? [`sources: ${result.sources.map((s) => `${s.source} > ${s.section}`).join("; ")}`]
        : []),
      `(session ${result.session_id} · turn ${result.turn_id} · trace ${result.trace_id})`
    ].join("\n")
  )

export const chatLoop = (sessionOption: Option.Option<string>) =>
  Effect.gen(function* () {
    const turn = yield* Turn
    const sink = yield* TraceSink
    const lines = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: process.stdin.isTTY === true
    })
    const iterator = lines[Symbol.asyncIterator]()
    let sessionId = Option.getOrUndefined(sessionOption)
    let last: TurnResult | undefined
    yield* Console.log(`security-agent chat — ${HELP}`)
    const prompt = () => (process.stdin.isTTY ? Effect.sync(() => process.stdout.write("> ")) : Effect.void)
    yield* prompt()
    while (true) {
      const next = yield* Effect.promise(() => iterator.next())
      if (next.done === true) break
      const line = String(next.value).trim()
      if (line === "") {
        yield* prompt()
        continue
      }
      if (line === "/exit" || line === "/quit") break
      if (line === "/help") yield* Console.log(HELP)
      else if (line === "/new") {
        sessionId = undefined
        last = undefined
        yield* Console.log("Started a new session.")
      } else if (line === "/trace") {
        if (last === undefined) yield* Console.log("No turn yet.")
        else {
          yield* sink.flush
          const events = yield* sink.eventsOfTurn(LOCAL_CLI_PRINCIPAL, last.session_id, last.turn_id)
          yield* Console.log(
            events.length === 0 ? "No trace events (is AGENT_OBSERVABILITY_ENABLED=false?)." : renderTurnTree(events)
          )
        }
      } else {
        const outcome = yield* Effect.either(
          withSpinner(turn.run({ message: line, sessionId, principal: LOCAL_CLI_PRINCIPAL }))
        )
        if (outcome._tag === "Right") {
          last = outcome.right
          sessionId = outcome.right.session_id
          yield* printResult(outcome.right)
        } else {
          const error = outcome.left
          yield* Console.error(
            error._tag === "TurnFailed"
              ? `The turn failed (trace ${error.traceId}); see the logs.`
              : error._tag === "SessionBusy"
                ? "Another turn of this session is still running."
                : `Sessions are unavailable: ${error.message}`
          )
        }
      }
      yield* prompt()
    }
    lines.close()
  })

export const chatCommand = Command.make(
  "chat",
  { session: Options.text("session").pipe(Options.withDescription("Continue this session id"), Options.optional) },
  ({ session }) => chatLoop(session).pipe(Effect.provide(Layer.fresh(AppLive)))
).pipe(Command.withDescription("Chat with the agents in the terminal (same turn code as the API)"))
