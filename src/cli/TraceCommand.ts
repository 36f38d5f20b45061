// `security-agent trace [trace_id|file] [--file PATH] [--follow]`: reads JSONL trace files (the
// configured one with its rotated siblings, or any file), prints turns as trees, or tails live.
import { existsSync, statSync } from "node:fs"
import { type FileHandle, open, stat } from "node:fs/promises"
import { createInterface } from "node:readline"
import { StringDecoder } from "node:string_decoder"
import { Args, Command, Options } from "@effect/cli"
import { Console, Data, Effect, Option, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { TraceEvent } from "../observability/TraceEvent.js"
import {
  groupTurns,
  parseTraceLine,
  renderTurnList,
  renderTurns,
  renderTurnTree,
  type TurnSummary,
  turnKey
} from "./TraceView.js"

/** A trace file exists but cannot be read. */
export class TraceFileError extends Data.TaggedError("TraceFileError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `Cannot read ${this.path}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** The command line asks for something that cannot be shown (unknown id, wrong argument...). */
export class TraceLookupFailed extends Data.TaggedError("TraceLookupFailed")<{ readonly message: string }> {}

export interface TraceLog {
  /** The events kept, in file order (oldest file first). */
  readonly events: ReadonlyArray<TraceEvent>
  /** Lines that were not trace events (cut off by a crash, not JSON...): skipped. */
  readonly malformed: number
  /** The files that existed and were read. */
  readonly files: ReadonlyArray<string>
  /** The latest turns seen in all events read (kept or not), latest last. */
  readonly latest: ReadonlyArray<TurnSummary>
}

const LATEST_KEPT = 10

/** The trace file and its rotations, oldest first: `path.(maxFiles-1)` … `path.1`, `path`. */
export const traceFilesOf = (path: string, maxFiles: number): ReadonlyArray<string> => [
  ...Array.from({ length: Math.max(0, maxFiles - 1) }, (_, i) => `${path}.${maxFiles - 1 - i}`),
  path
]

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"

/** Streams one file's lines to `onLine`; succeeds with false when the file does not exist. */
const readLines = (path: string, onLine: (line: string) => void): Effect.Effect<boolean, TraceFileError> =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => open(path, "r").catch((error) => (isMissing(error) ? undefined : Promise.reject(error))),
      catch: (cause) => new TraceFileError({ path, cause })
    }),
    (handle) =>
      handle === undefined
        ? Effect.succeed(false)
        : Effect.async<boolean, TraceFileError>((resume) => {
            // The stream closes the handle when it ends, fails or is destroyed.
            const stream = handle.createReadStream({ encoding: "utf8" })
            const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
            let failed = false
            lines.on("error", (cause) => {
              failed = true
              resume(Effect.fail(new TraceFileError({ path, cause })))
            })
            lines.on("line", onLine)
            lines.once("close", () => {
              if (!failed) resume(Effect.succeed(true))
            })
            return Effect.sync(() => {
              lines.close()
              stream.destroy()
            })
          })
  )

/**
 * Reads trace events from `paths` in order (missing files are skipped), keeping those `keep`
 * accepts: a whole rotation set streams through without holding every event in memory.
 */
export const loadTraceEvents = (
  paths: ReadonlyArray<string>,
  keep: (event: TraceEvent) => boolean = () => true
): Effect.Effect<TraceLog, TraceFileError> =>
  Effect.gen(function* () {
    const events: Array<TraceEvent> = []
    const files: Array<string> = []
    const latest = new Map<string, TurnSummary>()
    let malformed = 0
    const onLine = (line: string) => {
      if (line.trim() === "") return
      const event = parseTraceLine(line)
      if (event === undefined) {
        malformed++
        return
      }
      const key = turnKey(event)
      latest.delete(key)
      latest.set(key, { traceId: event.trace_id, sessionId: event.session_id, turnId: event.turn_id, ts: event.ts })
      if (latest.size > LATEST_KEPT) latest.delete(latest.keys().next().value!)
      if (keep(event)) events.push(event)
    }
    for (const path of paths) {
      if (yield* readLines(path, onLine)) files.push(path)
    }
    return { events, malformed, files, latest: [...latest.values()] }
  })

const POLL_INTERVAL = "200 millis"
const READ_CHUNK_BYTES = 1 << 20
/** How far back `--follow` reads at start, to catch the beginning of turns already running. */
const FOLLOW_LOOKBACK_BYTES = 1 << 20
/** Turns started but not completed that `--follow` remembers (a crashed turn never completes). */
const FOLLOW_MAX_OPEN_TURNS = 1000

/**
 * Tails a JSONL trace file, calling `onTurn` with each turn's events when its `turn.completed`
 * arrives. Follows rotation (the file renamed away and recreated) and truncation; runs until
 * interrupted.
 */
export const followTraceFile = (
  path: string,
  onTurn: (events: ReadonlyArray<TraceEvent>) => Effect.Effect<void>,
  onMalformed: (count: number) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<never, TraceFileError> =>
  Effect.suspend(() => {
    let handle: FileHandle | undefined
    let inode = 0
    let position = 0
    let decoder = new StringDecoder("utf8")
    let partial = ""
    let dropFragment = false
    let firstOpen = true
    const buffer = Buffer.alloc(READ_CHUNK_BYTES)
    const open_ = new Map<string, Array<TraceEvent>>()

    const feed = (text: string, completed: Array<ReadonlyArray<TraceEvent>>, counts: { malformed: number }) => {
      const lines = (partial + text).split("\n")
      partial = lines.pop()!
      if (dropFragment && lines.length > 0) {
        dropFragment = false
        lines.shift()
      }
      for (const line of lines) {
        if (line.trim() === "") continue
        const event = parseTraceLine(line)
        if (event === undefined) {
          counts.malformed++
          continue
        }
        const key = turnKey(event)
        const events = open_.get(key) ?? []
        events.push(event)
        open_.set(key, events)
        if (event.event === "turn.completed") {
          open_.delete(key)
          completed.push(events)
        } else if (open_.size > FOLLOW_MAX_OPEN_TURNS) open_.delete(open_.keys().next().value!)
      }
    }

    /** Reads on from byte `at`; from the middle of the file, the first line read is a fragment. */
    const restart = (at: number) => {
      position = at
      partial = ""
      dropFragment = at > 0
      decoder = new StringDecoder("utf8")
    }

    const drain = async (completed: Array<ReadonlyArray<TraceEvent>>, counts: { malformed: number }) => {
      const size = (await handle!.stat()).size
      if (size < position) restart(0) // truncated in place
      while (position < size) {
        const { bytesRead } = await handle!.read(buffer, 0, Math.min(READ_CHUNK_BYTES, size - position), position)
        if (bytesRead === 0) break
        position += bytesRead
        feed(decoder.write(buffer.subarray(0, bytesRead)), completed, counts)
      }
    }

    const poll = async () => {
      const completed: Array<ReadonlyArray<TraceEvent>> = []
      const counts = { malformed: 0 }
      // At most: (open,) drain the old file after a rotation, then open and drain the new one.
      for (let step = 0; step < 4; step++) {
        if (handle === undefined) {
          try {
            handle = await open(path, "r")
          } catch (error) {
            if (isMissing(error)) break
            throw error
          }
          const info = await handle.stat()
          inode = info.ino
          if (firstOpen && info.size > 0) {
            // Start near the end: earlier turns are history, but a turn running now is shown whole.
            restart(Math.max(0, info.size - FOLLOW_LOOKBACK_BYTES))
            if (position > 0) {
              const { bytesRead } = await handle.read(buffer, 0, 1, position - 1)
              dropFragment = bytesRead === 1 && buffer[0] !== 0x0a
            }
            await drain([], { malformed: 0 })
          } else restart(0)
          firstOpen = false
          continue
        }
        await drain(completed, counts)
        const current = await stat(path).catch((error) => (isMissing(error) ? undefined : Promise.reject(error)))
        if (current !== undefined && current.ino === inode) break
        await handle.close()
        handle = undefined
        if (current === undefined) break
      }
      return { completed, malformed: counts.malformed }
    }

    const pollOnce = Effect.tryPromise({ try: poll, catch: (cause) => new TraceFileError({ path, cause }) }).pipe(
      Effect.flatMap(({ completed, malformed }) =>
        Effect.zipRight(
          Effect.forEach(completed, onTurn, { discard: true }),
          malformed > 0 ? onMalformed(malformed) : Effect.void
        )
      )
    )

    return Effect.repeat(pollOnce, Schedule.spaced(POLL_INTERVAL)).pipe(
      Effect.zipRight(Effect.never),
      Effect.ensuring(Effect.promise(async () => handle?.close().catch(() => undefined)))
    )
  })

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
