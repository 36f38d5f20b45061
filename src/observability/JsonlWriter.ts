// Appends JSON lines to a file from a bounded in-memory queue drained by one background fiber:
// callers never wait for the disk, a full queue drops (and reports) instead of blocking, the
// file rotates by size, and a failing disk is logged once while the service keeps running.
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises"
import { dirname } from "node:path"
import { Deferred, Effect, Fiber, Queue, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { AgentMetrics, withLabels } from "./AgentMetrics.js"
import type { TraceSinkName } from "./Labels.js"
import { rotatedFile } from "./TraceFiles.js"

export interface JsonlWriterOptions {
  readonly path: string
  readonly queueSize: number
  readonly maxFileBytes: number
  readonly maxFiles: number
  /** Called with the number of records lost (queue full or write failure). */
  readonly onDrop: (count: number) => void
}

export interface JsonlWriter {
  /** Enqueues one record; false when the queue was full and the record was dropped. */
  readonly write: (record: unknown) => boolean
  /** Resolves once everything enqueued before the call is on disk (or dropped). */
  readonly flush: Effect.Effect<void>
}

type Item = string | Deferred.Deferred<void>

const MAX_BATCH = 4096
const RETRY_AFTER_FAILURE_MS = 2000

export const makeJsonlWriter = (options: JsonlWriterOptions): Effect.Effect<JsonlWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Queue.dropping<Item>(options.queueSize)
    let handle: FileHandle | undefined
    let size = 0
    let failingSince: number | undefined

    const openFile = async () => {
      await mkdir(dirname(options.path), { recursive: true })
      handle = await open(options.path, "a")
      size = (await stat(options.path)).size
    }

    const rotate = async () => {
      await handle?.close()
      handle = undefined
      const name = (n: number) => rotatedFile(options.path, n)
      if (options.maxFiles > 1) await rm(name(options.maxFiles - 1), { force: true })
      for (let i = options.maxFiles - 2; i >= 1; i--) await rename(name(i), name(i + 1)).catch(() => undefined)
      if (options.maxFiles > 1) await rename(options.path, name(1))
      else await rm(options.path, { force: true })
      await openFile()
    }

    const append = async (data: string) => {
      if (handle === undefined) await openFile()
      const bytes = Buffer.byteLength(data)
      if (size > 0 && size + bytes > options.maxFileBytes) await rotate()
      await handle!.appendFile(data)
      size += bytes
    }

    const writeLines = (lines: ReadonlyArray<string>): Effect.Effect<void> => {
      if (lines.length === 0) return Effect.void
      if (failingSince !== undefined && Date.now() - failingSince < RETRY_AFTER_FAILURE_MS) {
        return Effect.sync(() => options.onDrop(lines.length))
      }
      return Effect.tryPromise(() => append(lines.join(""))).pipe(
        Effect.tap(() =>
          failingSince === undefined
            ? Effect.void
            : Effect.sync(() => {
                failingSince = undefined
              }).pipe(Effect.zipRight(Effect.logInfo(`writing ${options.path} again`)))
        ),
        Effect.catchAll((error) => {
          const firstFailure = failingSince === undefined
          failingSince = Date.now()
          const closing = handle
          handle = undefined
          return Effect.promise(async () => closing?.close().catch(() => undefined)).pipe(
            Effect.zipRight(Effect.sync(() => options.onDrop(lines.length))),
            Effect.zipRight(
              firstFailure
                ? Effect.logError(
                    `cannot write ${options.path} (${String((error.cause as Error)?.message ?? error)}); records are dropped and counted until it is writable again`
                  )
                : Effect.void
            )
          )
        })
      )
    }

    const writeBatch = (batch: Iterable<Item>) =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const barriers: Array<Deferred.Deferred<void>> = []
        for (const item of batch) {
          if (typeof item === "string") lines.push(item)
          else barriers.push(item)
        }
        yield* writeLines(lines)
        for (const barrier of barriers) yield* Deferred.succeed(barrier, undefined)
      }).pipe(Effect.uninterruptible)

    const drainLoop = Queue.takeBetween(queue, 1, MAX_BATCH).pipe(Effect.flatMap(writeBatch), Effect.forever)
    const fiber = yield* Effect.forkDaemon(drainLoop)
    let closed = false

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        yield* Fiber.interrupt(fiber)
        yield* writeBatch(yield* Queue.takeAll(queue))
        yield* Queue.shutdown(queue)
        const closing = handle
        handle = undefined
        yield* Effect.promise(async () => closing?.close().catch(() => undefined))
      })
    )

    const write = (record: unknown): boolean => {
      if (closed) return false
      const accepted = queue.unsafeOffer(`${JSON.stringify(record)}\n`)
      if (!accepted) options.onDrop(1)
      return accepted
    }

    const flush = Effect.gen(function* () {
      if (closed) return
      const barrier = yield* Deferred.make<void>()
      while (!(yield* Queue.offer(queue, barrier))) yield* Effect.sleep("1 millis")
      yield* Deferred.await(barrier)
    })

    return { write, flush } as const
  })

/**
 * The writer of one sink's JSONL file at `path`, with the configured queue size and rotation; the
 * records it loses are counted in `agent_trace_events_dropped_total{sink}`.
 */
export const makeSinkWriter = (
  sink: TraceSinkName,
  path: string
): Effect.Effect<JsonlWriter, never, Scope.Scope | AppConfig | AgentMetrics> =>
  Effect.gen(function* () {
    const { observability } = yield* AppConfig
    const { metrics } = yield* AgentMetrics
    const dropped = withLabels(metrics.traceEventsDroppedTotal, { sink })
    return yield* makeJsonlWriter({
      path,
      queueSize: observability.traceQueueSize,
      maxFileBytes: observability.traceMaxFileBytes,
      maxFiles: observability.traceMaxFiles,
      onDrop: (count) => dropped.unsafeUpdate(count, [])
    })
  })
