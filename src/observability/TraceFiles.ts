// JSONL trace files on disk: the rotation naming JsonlWriter writes by, reading a file and its
// rotations (streaming, malformed lines skipped and counted), and following a live file across
// rotation and truncation.
import { type FileHandle, open, stat } from "node:fs/promises"
import { createInterface } from "node:readline"
import { StringDecoder } from "node:string_decoder"
import { Data, Effect, Schedule } from "effect"
import type { TraceEvent } from "./TraceEvent.js"
import { type TurnSummary, turnKey } from "./TraceView.js"

/** A trace file exists but cannot be read. */
export class TraceFileError extends Data.TaggedError("TraceFileError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `Cannot read ${this.path}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** One JSONL line as a trace event, or undefined when it is not one (blank, cut off, not JSON). */
export const parseTraceLine = (line: string): TraceEvent | undefined => {
  const text = line.trim()
  if (text === "" || !text.startsWith("{")) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null) return undefined
  const record = value as Record<string, unknown>
  const { ts, event, trace_id, span_id, session_id, turn_id, metadata } = record
  if (typeof ts !== "string" || typeof event !== "string" || typeof trace_id !== "string") return undefined
  return {
    ts,
    event,
    trace_id,
    span_id: typeof span_id === "string" ? span_id : "",
    session_id: typeof session_id === "string" ? session_id : "",
    turn_id: typeof turn_id === "string" || typeof turn_id === "number" ? String(turn_id) : "",
    metadata: typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {}
  }
}

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

/** The name of a JSONL file's `n`th rotation (`n` = 0: the live file itself); 1 is the newest rotated one. */
export const rotatedFile = (path: string, n: number): string => (n === 0 ? path : `${path}.${n}`)

/** The trace file and its rotations, oldest first: `path.(maxFiles-1)` … `path.1`, `path`. */
export const traceFilesOf = (path: string, maxFiles: number): ReadonlyArray<string> =>
  Array.from({ length: Math.max(1, maxFiles) }, (_, i) => rotatedFile(path, Math.max(1, maxFiles) - 1 - i))

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
