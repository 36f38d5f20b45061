// The audit of WAF changes: an "intent" record before a change is applied and an "outcome"
// record after it, each appended and fsynced before the caller goes on, in a file never rotated.
import { mkdir, open } from "node:fs/promises"
import { dirname } from "node:path"
import { Data, Effect, FiberRef } from "effect"
import type { ChangeAuditPhase } from "../domain/Outcomes.js"
import { currentTurn } from "./Correlation.js"
import { redactSecrets } from "./TraceEvent.js"

/** What config_manager reports about one change: never the confirmation code. */
export interface WafChangeEntry {
  /** Ties an outcome to its intent. */
  readonly changeId: string
  readonly phase: ChangeAuditPhase
  readonly action: string
  /** What the tool is called with (mode, target, comment). */
  readonly params: Readonly<Record<string, string>>
  /** Outcome only. */
  readonly status?: "ok" | "error"
  /** Outcome only: the reply or the error, shortened. */
  readonly result?: string
}

/** One line of GUARDRAIL_AUDIT_CHANGES_PATH. */
export interface WafChangeRecord {
  readonly ts: string
  readonly event: "waf.change"
  readonly phase: ChangeAuditPhase
  readonly change_id: string
  readonly action: string
  readonly params: Readonly<Record<string, unknown>>
  readonly principal: string
  readonly role: string
  readonly session_id: string
  readonly turn_id: string
  readonly trace_id: string
  readonly status?: "ok" | "error"
  readonly result?: string
}

/** The change record could not be made durable (or the audit is off): the caller must not go on as if it were. */
export class ChangeAuditUnavailable extends Data.TaggedError("ChangeAuditUnavailable")<{
  readonly reason: "disabled" | "write_failed"
  readonly message: string
  readonly cause?: unknown
}> {}

const RESULT_MAX_CHARS = 500

/** The entry with the time and the current turn's principal and correlation ids. */
export const stampChange = (entry: WafChangeEntry): Effect.Effect<WafChangeRecord> =>
  Effect.map(FiberRef.get(currentTurn), (turn) => ({
    ts: new Date().toISOString(),
    event: "waf.change",
    phase: entry.phase,
    change_id: entry.changeId,
    action: entry.action,
    params: redactSecrets(entry.params) as Record<string, unknown>,
    principal: turn._tag === "Some" ? turn.value.principal.name : "",
    role: turn._tag === "Some" ? turn.value.principal.role : "",
    session_id: turn._tag === "Some" ? turn.value.sessionId : "",
    turn_id: turn._tag === "Some" ? turn.value.turnId : "",
    trace_id: turn._tag === "Some" ? turn.value.traceId : "",
    ...(entry.status === undefined ? {} : { status: entry.status }),
    ...(entry.result === undefined ? {} : { result: redactSecrets(entry.result.slice(0, RESULT_MAX_CHARS)) as string })
  }))

export interface ChangeAuditFile {
  /** Resolves once the record is on disk (written and fdatasync'ed); fails if it is not. */
  readonly append: (record: WafChangeRecord) => Effect.Effect<void, ChangeAuditUnavailable>
}

/** Opens for appending; creates the missing directories only when the path does not exist yet. */
const openForAppend = async (path: string) => {
  try {
    return await open(path, "a+")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
    await mkdir(dirname(path), { recursive: true })
    return await open(path, "a+")
  }
}

/** Appends one line and flushes it; starts a fresh line if an earlier failed write left half of one. */
const appendDurably = async (path: string, line: string): Promise<void> => {
  const handle = await openForAppend(path)
  let created = false
  try {
    const { size } = await handle.stat()
    created = size === 0
    let data = line
    if (size > 0) {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) data = `\n${line}`
    }
    await handle.appendFile(data)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  if (created) {
    // A new file's directory entry must survive a crash too. Best effort: some filesystems refuse
    // fsync on a directory, and the record itself is already flushed.
    const directory = await open(dirname(path), "r").catch(() => undefined)
    await directory?.sync().catch(() => undefined)
    await directory?.close().catch(() => undefined)
  }
}

/**
 * The change audit file. Deliberately synchronous and flushed, one record at a time: a change is
 * applied only once its intent is durable, so this path must never be batched, queued or made
 * lossy like the guardrail JSONL (keep it so when batching other writers). Each record opens the
 * file, appends, fdatasyncs and closes it: changes are rare, and a moved or replaced file is
 * never written through a stale handle.
 */
export const makeChangeAuditFile = (path: string): Effect.Effect<ChangeAuditFile> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => ({
    append: (record) =>
      Effect.tryPromise({
        try: () => appendDurably(path, `${JSON.stringify(record)}\n`),
        catch: (cause) =>
          new ChangeAuditUnavailable({
            reason: "write_failed",
            message: `cannot write the WAF change audit ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause
          })
      }).pipe(
        // Once started, a record is finished (or fails) before the next one begins.
        Effect.uninterruptible,
        lock.withPermits(1)
      )
  }))
