// `security-agent trace [trace_id|file] [--file PATH] [--follow]`: shows a turn of the JSONL trace
// files (the configured one with its rotated siblings, or any file) as a tree, or tails new turns
// live; the reading and following are observability/TraceFiles.ts.
import { existsSync, statSync } from "node:fs"
import { Args, Command, Options } from "@effect/cli"
import { Console, Data, Effect, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { followTraceFile, loadTraceEvents, type TraceLog, traceFilesOf } from "../observability/TraceFiles.js"
import { groupTurns, renderTurnList, renderTurns, renderTurnTree } from "../observability/TraceView.js"

/** The command line asks for something that cannot be shown (unknown id, wrong argument...). */
export class TraceLookupFailed extends Data.TaggedError("TraceLookupFailed")<{ readonly message: string }> {}

const TRACE_ID_QUERY = /^[0-9a-f]{4,32}$/i

const malformedNote = (log: TraceLog) =>
  log.malformed === 0 ? Effect.void : Console.error(`(skipped ${log.malformed} malformed line(s))`)

const listLatest = (log: TraceLog, intro: string, searched: ReadonlyArray<string>) =>
  log.files.length === 0
    ? `${intro} There is no trace file at ${searched.at(-1)}${searched.length > 1 ? " (nor rotated ones)" : ""}: set AGENT_TRACE_JSONL_PATH or pass --file.`
    : log.latest.length === 0
      ? `${intro} There are no trace events in ${log.files.join(", ")}.`
      : `${intro} Latest traces (latest last):\n${renderTurnList(log.latest)}`

const showTrace = (query: string, files: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const prefix = query.toLowerCase()
    const log = yield* loadTraceEvents(files, (event) => event.trace_id.startsWith(prefix))
    yield* malformedNote(log)
    const turns = groupTurns(log.events)
    if (turns.length === 0) {
      return yield* new TraceLookupFailed({
        message: listLatest(
          log,
          `No trace ${query}${log.files.length === 0 ? "." : ` in ${log.files.join(", ")}.`}`,
          files
        )
      })
    }
    if (turns.length > 1) {
      return yield* new TraceLookupFailed({
        message: `${query} matches ${turns.length} traces; give more of the id:\n${renderTurnList(
          turns.map((t) => ({ ...t, ts: t.events[t.events.length - 1]!.ts }))
        )}`
      })
    }
    yield* Console.log(renderTurnTree(turns[0]!.events))
  })

const showFile = (path: string) =>
  Effect.gen(function* () {
    const log = yield* loadTraceEvents([path])
    if (log.files.length === 0) return yield* new TraceLookupFailed({ message: `No such file: ${path}` })
    yield* malformedNote(log)
    yield* Console.log(log.events.length === 0 ? `No trace events in ${path}.` : renderTurns(log.events))
  })

const follow = (path: string) =>
  Console.error(`Following ${path}: each turn is printed when it completes (Ctrl-C to stop).`).pipe(
    Effect.zipRight(
      followTraceFile(
        path,
        (events) => Console.log(`${renderTurnTree(events)}\n`),
        (count) => Console.error(`(skipped ${count} malformed line(s))`)
      )
    )
  )

/** The configured trace file with its rotations, oldest first. */
const configuredFiles = Effect.map(AppConfig, ({ observability }) =>
  traceFilesOf(observability.traceJsonlPath, observability.traceMaxFiles)
).pipe(Effect.provide(AppConfig.layer))

const isFile = (path: string) => existsSync(path) && statSync(path).isFile()

const run = (target: Option.Option<string>, file: Option.Option<string>, following: boolean) =>
  Effect.gen(function* () {
    const argument = Option.getOrUndefined(target)
    const explicitFile = Option.getOrUndefined(file)
    if (argument !== undefined && !isFile(argument) && !TRACE_ID_QUERY.test(argument)) {
      return yield* new TraceLookupFailed({
        message: `${argument} is neither a file nor a trace id (up to 32 hex characters, as in a chat reply's trace_id)`
      })
    }
    const traceId = argument !== undefined && !isFile(argument) ? argument : undefined
    const path = traceId === undefined ? (argument ?? explicitFile) : explicitFile
    if (following) {
      if (traceId !== undefined) {
        return yield* new TraceLookupFailed({
          message: "--follow prints every new turn as it completes: give a file (or none), not a trace id"
        })
      }
      return yield* follow(path ?? (yield* configuredFiles).at(-1)!)
    }
    if (traceId !== undefined) return yield* showTrace(traceId, path === undefined ? yield* configuredFiles : [path])
    if (path !== undefined) return yield* showFile(path)
    const files = yield* configuredFiles
    const log = yield* loadTraceEvents(files, () => false)
    yield* Console.log(listLatest(log, "Give a trace id (or a file) to see a turn.", files))
  })

/** Says what went wrong on stderr and exits 1 (not a stack trace: these are expected). */
const failWith = (error: { readonly message: string }) =>
  Console.error(error.message).pipe(
    Effect.zipRight(
      Effect.sync(() => {
        process.exitCode = 1
      })
    )
  )

export const traceCommand = Command.make(
  "trace",
  {
    target: Args.text({ name: "trace_id|file" }).pipe(
      Args.withDescription("A turn's trace id (or its first characters), or a JSONL file to show every turn of"),
      Args.optional
    ),
    file: Options.file("file").pipe(
      Options.withDescription("Read this JSONL file instead of AGENT_TRACE_JSONL_PATH and its rotations"),
      Options.optional
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep reading the file and print each new turn when it completes")
    )
  },
  ({ target, file, follow: following }) =>
    run(target, file, following).pipe(Effect.catchTags({ TraceLookupFailed: failWith, TraceFileError: failWith }))
).pipe(Command.withDescription("Show a turn's trace events as a tree, every turn of a file, or new turns live"))
