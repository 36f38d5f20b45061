// Appends JSON lines to a file: callers hand over a line (or the range of one already encoded in
// LineSlabs) and never wait for the disk. Lines collect in a bounded queue and go out as one
// gathered write per batch (coalesced over a few milliseconds) on one long-lived file descriptor;
// a full queue drops (and reports) instead of blocking, the file rotates by size, and a failing
// disk is logged once while the service keeps running.
import { close, mkdir, open, rename, rm, stat, writev } from "node:fs"
import { dirname } from "node:path"
import { Effect, Runtime, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { AgentMetrics, withLabels } from "./AgentMetrics.js"
import type { TraceSinkName } from "./Labels.js"
import { LineSlabs } from "./LineSlabs.js"
import { rotatedFile } from "./TraceFiles.js"

export interface JsonlWriterOptions {
  readonly path: string
  /** How many lines may wait for the disk; beyond it, lines are dropped. */
  readonly queueSize: number
  readonly maxFileBytes: number
  readonly maxFiles: number
  /** Called with the number of records lost (queue full or write failure). */
  readonly onDrop: (count: number) => void
}

export interface JsonlWriter {
  /** Serialises and enqueues one record; false when the queue was full and the record was dropped. */
  readonly write: (record: unknown) => boolean
  /** Enqueues one line already serialised (JSON, without its newline); false when dropped. */
  readonly writeLine: (line: string) => boolean
  /**
   * Enqueues one line already encoded, newline included, at `slab[start, end)` (LineSlabs); the
   * bytes must stay as they are until written. False when dropped.
   */
  readonly writeRange: (slab: Buffer, start: number, end: number) => boolean
  /** Resolves once everything enqueued before the call is on disk (or dropped). */
  readonly flush: Effect.Effect<void>
}

const RETRY_AFTER_FAILURE_MS = 2000
/**
 * How long lines wait for company before they are written: at most 40 writes a second under load
 * (a write per turn cost the loop ~35 µs), and readers still see them well within 100 ms.
 */
const COALESCE_MS = 25

const call = <A>(start: (done: (error: NodeJS.ErrnoException | null, value?: A) => void) => void) =>
  new Promise<A>((resolve, reject) => start((error, value) => (error === null ? resolve(value as A) : reject(error))))

export const makeJsonlWriter = (options: JsonlWriterOptions): Effect.Effect<JsonlWriter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)

    /**
     * Lines waiting for the next batch (the bounded queue), as ranges of slabs: consecutive lines
     * of one slab extend one range, so a batch is a handful of ranges, whatever its line count.
     */
    let queuedSlabs: Array<Buffer> = []
    let queuedStarts: Array<number> = []
    let queuedEnds: Array<number> = []
    let queuedLines = 0
    /** Sequence numbers: lines accepted so far, and lines written or dropped so far. */
    let accepted = 0
    let settled = 0
    /** Flushes waiting for `settled` to reach their mark, in mark order. */
    const waiters: Array<{ readonly mark: number; readonly resume: () => void }> = []
    let fd: number | undefined
    let size = 0
    let failingSince: number | undefined
    let scheduled = false
    let writing = false
    let closed = false

    const settle = (count: number) => {
      settled += count
      while (waiters.length > 0 && waiters[0]!.mark <= settled) waiters.shift()!.resume()
    }

    const openFile = async () => {
      await call<string | undefined>((done) => mkdir(dirname(options.path), { recursive: true }, done))
      fd = await call<number>((done) => open(options.path, "a", done))
      size = (await call<{ size: number }>((done) => stat(options.path, done))).size
    }

    const closeFile = async () => {
      const closing = fd
      fd = undefined
      if (closing !== undefined) await call<void>((done) => close(closing, done)).catch(() => undefined)
    }

    const rotate = async () => {
      await closeFile()
      const name = (n: number) => rotatedFile(options.path, n)
      if (options.maxFiles > 1) await call<void>((done) => rm(name(options.maxFiles - 1), { force: true }, done))
      for (let i = options.maxFiles - 2; i >= 1; i--) {
        await call<void>((done) => rename(name(i), name(i + 1), done)).catch(() => undefined)
      }
      if (options.maxFiles > 1) await call<void>((done) => rename(options.path, name(1), done))
      else await call<void>((done) => rm(options.path, { force: true }, done))
      await openFile()
    }

    /** One gathered write of every range, again for what a partial write left. */
    const writeAll = async (ranges: Array<Buffer>) => {
      let left = ranges
      while (left.length > 0) {
        let written = await call<number>((done) => writev(fd!, left, null, done))
        let done = 0
        while (done < left.length && written >= left[done]!.length) written -= left[done++]!.length
        left = left.slice(done)
        if (written > 0) left[0] = left[0]!.subarray(written)
      }
    }

    const append = async (ranges: Array<Buffer>, bytes: number) => {
      if (fd === undefined) await openFile()
      if (size > 0 && size + bytes > options.maxFileBytes) await rotate()
      await writeAll(ranges)
      size += bytes
    }

    /**
     * Writes what is queued as one batch. What queued meanwhile waits for its own coalescing delay
     * (every write costs the loop a hand-over to the thread pool), unless a flush waits for it, the
     * writer is closing, or the write was slow enough for an eighth of the queue to fill behind it.
     */
    const drain = async () => {
      if (writing) return
      writing = true
      scheduled = false
      while (queuedLines > 0) {
        const lines = queuedLines
        const ranges = queuedSlabs.map((slab, i) => slab.subarray(queuedStarts[i], queuedEnds[i]))
        let bytes = 0
        for (const range of ranges) bytes += range.length
        queuedSlabs = []
        queuedStarts = []
        queuedEnds = []
        queuedLines = 0
        if (failingSince !== undefined && Date.now() - failingSince < RETRY_AFTER_FAILURE_MS) {
          options.onDrop(lines)
        } else {
          try {
            await append(ranges, bytes)
            if (failingSince !== undefined) {
              failingSince = undefined
              log(Effect.logInfo(`writing ${options.path} again`))
            }
          } catch (error) {
            const firstFailure = failingSince === undefined
            failingSince = Date.now()
            await closeFile()
            options.onDrop(lines)
            if (firstFailure) {
              log(
                Effect.logError(
                  `cannot write ${options.path} (${String((error as Error)?.message ?? error)}); records are dropped and counted until it is writable again`
                )
              )
            }
          }
        }
        settle(lines)
        if (waiters.length === 0 && !closed && queuedLines < options.queueSize / 8) break
      }
      writing = false
      if (queuedLines > 0) schedule()
    }

    // Lines coalesce for a few milliseconds into one write; a flush does not wait for that.
    let timer: ReturnType<typeof setTimeout> | undefined
    const drainNow = () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      void drain()
    }
    const schedule = () => {
      if (scheduled || writing) return
      scheduled = true
      timer = setTimeout(drainNow, COALESCE_MS)
    }

    /** Whether one more line may be queued; a full queue counts it as dropped. */
    const hasRoom = (): boolean => {
      if (closed) return false
      if (queuedLines < options.queueSize) return true
      options.onDrop(1)
      return false
    }

    /** Queues `slab[start, end)`, extending the last range when the line continues it. */
    const enqueue = (slab: Buffer, start: number, end: number): true => {
      const last = queuedSlabs.length - 1
      if (last >= 0 && queuedSlabs[last] === slab && queuedEnds[last] === start) queuedEnds[last] = end
      else {
        queuedSlabs.push(slab)
        queuedStarts.push(start)
        queuedEnds.push(end)
      }
      queuedLines++
      accepted++
      schedule()
      return true
    }

    const writeRange = (slab: Buffer, start: number, end: number): boolean => hasRoom() && enqueue(slab, start, end)

    // Checked before encoding, so a dropped line costs no slab space.
    const slabs = new LineSlabs()
    const writeLine = (line: string): boolean => {
      if (!hasRoom()) return false
      slabs.append(line)
      return enqueue(slabs.slab, slabs.start, slabs.end)
    }

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closed = true
        // A batch may be on its way: wait for it, then write what is left.
        while (writing) await new Promise((resolve) => setImmediate(resolve))
        if (timer !== undefined) clearTimeout(timer)
        await drain()
        await closeFile()
      })
    )

    const flush = Effect.suspend(() => {
      const mark = accepted
      if (settled >= mark) return Effect.void
      return Effect.async<void>((resume) => {
        waiters.push({ mark, resume: () => resume(Effect.void) })
        if (scheduled) drainNow()
      })
    })

    return {
      write: (record) => writeLine(JSON.stringify(record)),
      writeLine,
      writeRange,
      flush
    } as const
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
