// What the agent remembers about WAF changes, deployment-wide: the last protection-mode change
// (the map before and after it, for "restore the previous mode"), a bounded journal of applied
// changes (a report's "actions taken"), and the scheduled reverts of timed changes. In Redis when
// sessions are (every replica sees the same), else in this process (reverts in a durable file).
import { randomUUID } from "node:crypto"
import { mkdir, open, readFile, rename } from "node:fs/promises"
import { dirname } from "node:path"
import {
  Clock,
  type ConfigError,
  Context,
  Data,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  type Redacted,
  Ref,
  Schema,
  type Scope
} from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { connectInBackground, defineScript, openRedis, REDIS_TIMEOUT_MS } from "./RedisConnection.js"

export type ModuleMap = Readonly<Record<string, string>>

/** One WAF change applied through the tools. */
export interface AppliedChange {
  readonly at: number
  readonly principal: string
  readonly sessionId: string
  readonly action: "set_mode" | "blacklist_add" | "blacklist_remove"
  /** Mode changes: the user-facing modes before and after. */
  readonly modeBefore?: string | undefined
  readonly modeAfter?: string | undefined
  /** Blacklist changes: the address or range. */
  readonly target?: string | undefined
  /** False when SafeLine already was in the requested state. */
  readonly changed: boolean
  /** The change audit's id, when the change went through config_manager or the scheduler. */
  readonly changeId?: string | undefined
  /** A scheduled revert: the change it undoes. */
  readonly revertOf?: string | undefined
  /** A timed change: when its revert is due (epoch ms). */
  readonly revertAt?: number | undefined
}

/** The last mode change: `current` is the map it left, `previous` the map a restore puts back. */
export interface ModeRecord {
  /** Grows with every recorded change: the compare-and-swap token. */
  readonly version: number
  readonly previous: ModuleMap
  readonly current: ModuleMap
  readonly at: number
}

/** The revert of a timed change, stored with the change and run once when due. */
export interface ScheduledRevert {
  /** The change audit id of the change it undoes. */
  readonly changeId: string
  readonly action: "set_mode" | "blacklist_add"
  /** Epoch ms. */
  readonly dueAt: number
  readonly createdAt: number
  /** Who asked for the timed change, in which session. */
  readonly principal: string
  readonly sessionId: string
  /** set_mode: the map to put back, and the map that must still be in force (else the revert is skipped). */
  readonly before?: ModuleMap | undefined
  readonly after?: ModuleMap | undefined
  /** blacklist_add: the one entry to remove. */
  readonly target?: string | undefined
  /** Failed attempts so far (SafeLine or the audit unavailable). */
  readonly attempts: number
}

/** A due revert this replica holds the lock of until it completes or releases it. */
export interface ClaimedRevert {
  readonly revert: ScheduledRevert
  readonly token: string
}

export class ChangeHistoryUnavailable extends Data.TaggedError("ChangeHistoryUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** The latest this many applied changes are kept. */
export const JOURNAL_MAX_ENTRIES = 500
/** How long a claimed revert stays locked: longer than any revert takes, short enough to retry after a crash. */
export const REVERT_LEASE = Duration.minutes(5)

export interface ChangeHistoryService {
  readonly lastModeChange: Effect.Effect<Option.Option<ModeRecord>, ChangeHistoryUnavailable>
  /** Records a mode change unconditionally (a newer change supersedes the record). */
  readonly recordModeChange: (
    previous: ModuleMap,
    current: ModuleMap
  ) => Effect.Effect<ModeRecord, ChangeHistoryUnavailable>
  /** Records it only if the record is still at `version`: None when another change got there first. */
  readonly replaceModeChange: (
    version: number,
    previous: ModuleMap,
    current: ModuleMap
  ) => Effect.Effect<Option.Option<ModeRecord>, ChangeHistoryUnavailable>
  readonly appendJournal: (entry: AppliedChange) => Effect.Effect<void, ChangeHistoryUnavailable>
  /** Oldest first, at most JOURNAL_MAX_ENTRIES. */
  readonly journal: Effect.Effect<ReadonlyArray<AppliedChange>, ChangeHistoryUnavailable>
  /** Stores a revert durably; fails (the change then has no end) when it cannot. */
  readonly scheduleRevert: (revert: ScheduledRevert) => Effect.Effect<void, ChangeHistoryUnavailable>
  /** Locks one revert due at `now` for REVERT_LEASE; None when none is due (or all are locked). */
  readonly claimDueRevert: (now: number) => Effect.Effect<Option.Option<ClaimedRevert>, ChangeHistoryUnavailable>
  /** The revert ran (or was skipped): it is gone for good. No-op when the lock was lost. */
  readonly completeRevert: (claim: ClaimedRevert) => Effect.Effect<void, ChangeHistoryUnavailable>
  /** The revert failed: unlock it and try again at `retryAt`, with one more attempt counted. */
  readonly retryRevert: (claim: ClaimedRevert, retryAt: number) => Effect.Effect<void, ChangeHistoryUnavailable>
  readonly pendingReverts: Effect.Effect<number, ChangeHistoryUnavailable>
}

const ModuleMapSchema = Schema.Record({ key: Schema.String, value: Schema.String })

const AppliedChangeSchema = Schema.Struct({
  at: Schema.Number,
  principal: Schema.String,
  sessionId: Schema.String,
  action: Schema.Literal("set_mode", "blacklist_add", "blacklist_remove"),
  modeBefore: Schema.optional(Schema.String),
  modeAfter: Schema.optional(Schema.String),
  target: Schema.optional(Schema.String),
  changed: Schema.Boolean,
  changeId: Schema.optional(Schema.String),
  revertOf: Schema.optional(Schema.String),
  revertAt: Schema.optional(Schema.Number)
})

const ScheduledRevertSchema = Schema.Struct({
  changeId: Schema.String,
  action: Schema.Literal("set_mode", "blacklist_add"),
  dueAt: Schema.Number,
  createdAt: Schema.Number,
  principal: Schema.String,
  sessionId: Schema.String,
  before: Schema.optional(ModuleMapSchema),
  after: Schema.optional(ModuleMapSchema),
  target: Schema.optional(Schema.String),
  attempts: Schema.Number
})

const decodeChange = Schema.decodeUnknownEither(Schema.parseJson(AppliedChangeSchema))
const decodeRevert = Schema.decodeUnknownEither(Schema.parseJson(ScheduledRevertSchema))
const decodeRevertFile = Schema.decodeUnknownEither(
  Schema.parseJson(Schema.Struct({ version: Schema.Literal(1), reverts: Schema.Array(ScheduledRevertSchema) }))
)
const decodeMap = Schema.decodeUnknownEither(Schema.parseJson(ModuleMapSchema))

const message = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

// ---------------------------------------------------------------------------------------------
// In this process

/** Writes to a temporary file, flushes it, renames it over the old one and flushes the directory. */
const writeDurably = async (path: string, text: string): Promise<void> => {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${randomUUID()}.tmp`
  const handle = await open(temporary, "w", 0o600)
  try {
    await handle.writeFile(text)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
  const directory = await open(dirname(path), "r").catch(() => undefined)
  await directory?.sync().catch(() => undefined)
  await directory?.close().catch(() => undefined)
}

/** Reads the reverts a previous run left; a file it cannot read is kept aside, never overwritten. */
const loadRevertFile = (path: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise(() => readFile(path, "utf8")).pipe(
      Effect.catchAll((error) =>
        // Absent (or under a path that cannot exist): nothing was scheduled there.
        ["ENOENT", "ENOTDIR"].includes(String((error.error as NodeJS.ErrnoException | undefined)?.code))
          ? Effect.succeed(undefined)
          : Effect.fail(
              new ChangeHistoryUnavailable({
                message: `cannot read the scheduled reverts in ${path}: ${message(error.error)}`,
                cause: error
              })
            )
      )
    )
    if (text === undefined) return []
    const decoded = decodeRevertFile(text)
    if (Either.isRight(decoded)) return decoded.right.reverts
    const aside = `${path}.unreadable-${Date.now()}`
    yield* Effect.tryPromise(() => rename(path, aside)).pipe(Effect.ignore)
    yield* Effect.logError(
      `change history: ${path} is unreadable, so its scheduled reverts will not run: kept as ${aside} for an operator to read and redo by hand`
    )
    return []
  })

/**
 * The history of one process. Reverts are written durably to `revertsPath` (so they survive a
 * restart); without a path they cannot be scheduled at all, and the change says it has no end.
 */
export const makeMemoryChangeHistory = (
  revertsPath: string | undefined
): Effect.Effect<ChangeHistoryService, ChangeHistoryUnavailable> =>
  Effect.gen(function* () {
    const mode = yield* Ref.make(Option.none<ModeRecord>())
    const journal = yield* Ref.make<ReadonlyArray<AppliedChange>>([])
    const reverts = new Map<string, ScheduledRevert>()
    /** Locked revert ids and their lease ends (a crash loses them with the process). */
    const claims = new Map<string, { token: string; until: number }>()
    for (const revert of revertsPath === undefined ? [] : yield* loadRevertFile(revertsPath)) {
      reverts.set(revert.changeId, revert)
    }
    const writes = yield* Effect.makeSemaphore(1)

    /** Applies `update` to the reverts and persists them; on a failed write nothing changes. */
    const persist = (update: (all: Map<string, ScheduledRevert>) => void) =>
      writes.withPermits(1)(
        Effect.gen(function* () {
          if (revertsPath === undefined) {
            return yield* new ChangeHistoryUnavailable({
              message: "no durable store for scheduled reverts in this process"
            })
          }
          const next = new Map(reverts)
          update(next)
          const text = `${JSON.stringify({ version: 1, reverts: [...next.values()] }, null, 2)}\n`
          yield* Effect.tryPromise({
            try: () => writeDurably(revertsPath, text),
            catch: (cause) =>
              new ChangeHistoryUnavailable({
                message: `cannot write the scheduled reverts to ${revertsPath}: ${message(cause)}`,
                cause
              })
          })
          reverts.clear()
          for (const [id, revert] of next) reverts.set(id, revert)
        }).pipe(Effect.uninterruptible)
      )

    const record = (previous: ModuleMap, current: ModuleMap, version: number) =>
      Effect.map(
        Clock.currentTimeMillis,
        (at): ModeRecord => ({ version, previous: { ...previous }, current: { ...current }, at })
      )

    const service: ChangeHistoryService = {
      lastModeChange: Ref.get(mode),
      recordModeChange: (previous, current) =>
        Effect.flatMap(Ref.get(mode), (last) =>
          Effect.tap(
            record(previous, current, Option.match(last, { onNone: () => 1, onSome: (r) => r.version + 1 })),
            (r) => Ref.set(mode, Option.some(r))
          )
        ),
      replaceModeChange: (version, previous, current) =>
        Effect.flatMap(Ref.get(mode), (last) =>
          Option.isSome(last) && last.value.version === version
            ? Effect.map(
                Effect.tap(record(previous, current, version + 1), (r) => Ref.set(mode, Option.some(r))),
                Option.some
              )
            : Effect.succeed(Option.none())
        ),
      appendJournal: (entry) => Ref.update(journal, (all) => [...all.slice(-(JOURNAL_MAX_ENTRIES - 1)), entry]),
      journal: Ref.get(journal),
      scheduleRevert: (revert) => persist((all) => all.set(revert.changeId, revert)),
      claimDueRevert: (now) =>
        Effect.sync(() => {
          const due = [...reverts.values()]
            .filter((r) => r.dueAt <= now && (claims.get(r.changeId)?.until ?? 0) <= now)
            .sort((a, b) => a.dueAt - b.dueAt)[0]
          if (due === undefined) return Option.none()
          const token = randomUUID()
          claims.set(due.changeId, { token, until: now + Duration.toMillis(REVERT_LEASE) })
          return Option.some({ revert: due, token })
        }),
      completeRevert: (claim) =>
        claims.get(claim.revert.changeId)?.token === claim.token
          ? Effect.zipRight(
              persist((all) => all.delete(claim.revert.changeId)),
              Effect.sync(() => claims.delete(claim.revert.changeId))
            )
          : Effect.void,
      retryRevert: (claim, retryAt) =>
        claims.get(claim.revert.changeId)?.token === claim.token
          ? Effect.zipRight(
              persist((all) =>
                all.set(claim.revert.changeId, {
                  ...claim.revert,
                  dueAt: retryAt,
                  attempts: claim.revert.attempts + 1
                })
              ),
              Effect.sync(() => claims.delete(claim.revert.changeId))
            )
          : Effect.void,
      pendingReverts: Effect.sync(() => reverts.size)
    }
    return service
  })

// ---------------------------------------------------------------------------------------------
// In Redis: every key under one hash tag, so each script's keys share a slot in a cluster.

export const CHANGE_KEY_PREFIX = "sa:{changes}:"
export const MODE_RECORD_KEY = `${CHANGE_KEY_PREFIX}mode`
export const JOURNAL_KEY = `${CHANGE_KEY_PREFIX}journal`
/** Hash: change id → the revert (JSON). */
export const REVERTS_KEY = `${CHANGE_KEY_PREFIX}reverts`
/** Sorted set: change id scored by when its revert is due. */
export const REVERTS_DUE_KEY = `${CHANGE_KEY_PREFIX}reverts:due`
export const revertLockKey = (changeId: string) => `${CHANGE_KEY_PREFIX}revert-lock:${changeId}`

/** KEYS[1] mode hash. ARGV: previous, current, at. Returns the new version. */
const RECORD_MODE_SCRIPT = `
local version = redis.call("HINCRBY", KEYS[1], "version", 1)
redis.call("HSET", KEYS[1], "previous", ARGV[1], "current", ARGV[2], "at", ARGV[3])
return version
`

/** Compare-and-swap on the version. ARGV: expected version, previous, current, at. Returns the new version or 0. */
const REPLACE_MODE_SCRIPT = `
if redis.call("HGET", KEYS[1], "version") ~= ARGV[1] then return 0 end
local version = redis.call("HINCRBY", KEYS[1], "version", 1)
redis.call("HSET", KEYS[1], "previous", ARGV[2], "current", ARGV[3], "at", ARGV[4])
return version
`

/** KEYS[1] journal list. ARGV: entry, max entries. */
const APPEND_JOURNAL_SCRIPT = `
redis.call("RPUSH", KEYS[1], ARGV[1])
redis.call("LTRIM", KEYS[1], -tonumber(ARGV[2]), -1)
return 1
`

/** KEYS: reverts hash, due set. ARGV: id, revert JSON, due at. */
const SCHEDULE_SCRIPT = `
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[1])
return 1
`

/**
 * KEYS: the revert's lock, due set, reverts hash. ARGV: id, token, lease ms. Takes the lock only
 * if the revert is still scheduled (a replica that finished it removed it with its lock).
 */
const CLAIM_SCRIPT = `
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then return false end
if not redis.call("SET", KEYS[1], ARGV[2], "NX", "PX", ARGV[3]) then return false end
local revert = redis.call("HGET", KEYS[3], ARGV[1])
if not revert then
  redis.call("ZREM", KEYS[2], ARGV[1])
  redis.call("DEL", KEYS[1])
  return false
end
return revert
`

/** KEYS: lock, due set, reverts hash. ARGV: id, token. Only the lock's holder completes. */
const COMPLETE_SCRIPT = `
if redis.call("GET", KEYS[1]) ~= ARGV[2] then return 0 end
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("HDEL", KEYS[3], ARGV[1])
redis.call("DEL", KEYS[1])
return 1
`

/** KEYS: lock, due set, reverts hash. ARGV: id, token, revert JSON, retry at. */
const RETRY_SCRIPT = `
if redis.call("GET", KEYS[1]) ~= ARGV[2] then return 0 end
redis.call("HSET", KEYS[3], ARGV[1], ARGV[3])
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[1])
redis.call("DEL", KEYS[1])
return 1
`

const CALL_TIMEOUT = Duration.millis(REDIS_TIMEOUT_MS + 500)
/** Due reverts looked at per claim: a few locked by other replicas do not hide the rest. */
const CLAIM_CANDIDATES = 10

export const makeRedisChangeHistory = (
  redisUrl: Option.Option<Redacted.Redacted>
): Effect.Effect<ChangeHistoryService, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const { client, target } = yield* openRedis(redisUrl)
    // The session store reports an outage; each call here fails with a message naming Redis.
    client.on("error", () => undefined)
    const scripts = {
      recordMode: defineScript(client, "saRecordModeChange", 1, RECORD_MODE_SCRIPT),
      replaceMode: defineScript(client, "saReplaceModeChange", 1, REPLACE_MODE_SCRIPT),
      appendJournal: defineScript(client, "saAppendJournal", 1, APPEND_JOURNAL_SCRIPT),
      schedule: defineScript(client, "saScheduleRevert", 2, SCHEDULE_SCRIPT),
      claim: defineScript(client, "saClaimRevert", 3, CLAIM_SCRIPT),
      complete: defineScript(client, "saCompleteRevert", 3, COMPLETE_SCRIPT),
      retry: defineScript(client, "saRetryRevert", 3, RETRY_SCRIPT)
    }
    yield* connectInBackground(client)

    const call = <A>(operation: string, run: () => Promise<A>) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) =>
          new ChangeHistoryUnavailable({
            message: `the change history (Redis at ${target}) did not answer ${operation}: ${message(cause)}`,
            cause
          })
      }).pipe(
        Effect.timeoutFail({
          duration: CALL_TIMEOUT,
          onTimeout: () =>
            new ChangeHistoryUnavailable({
              message: `the change history (Redis at ${target}) did not answer ${operation} in time`
            })
        })
      )

    const lastModeChange = Effect.flatMap(
      call("the mode record read", () => client.hgetall(MODE_RECORD_KEY)),
      (fields): Effect.Effect<Option.Option<ModeRecord>> => {
        const previous = decodeMap(fields.previous ?? "")
        const current = decodeMap(fields.current ?? "")
        if (fields.version === undefined || Either.isLeft(previous) || Either.isLeft(current)) {
          return fields.version === undefined
            ? Effect.succeed(Option.none())
            : Effect.as(Effect.logWarning("change history: the mode record in Redis is unreadable"), Option.none())
        }
        return Effect.succeed(
          Option.some({
            version: Number(fields.version),
            previous: previous.right,
            current: current.right,
            at: Number(fields.at ?? 0)
          })
        )
      }
    )

    const service: ChangeHistoryService = {
      lastModeChange,
      recordModeChange: (previous, current) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.map(
            call("the mode record", () =>
              scripts.recordMode([MODE_RECORD_KEY], [JSON.stringify(previous), JSON.stringify(current), at])
            ),
            (version): ModeRecord => ({ version: Number(version), previous, current, at })
          )
        ),
      replaceModeChange: (version, previous, current) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.map(
            call("the mode record swap", () =>
              scripts.replaceMode(
                [MODE_RECORD_KEY],
                [String(version), JSON.stringify(previous), JSON.stringify(current), at]
              )
            ),
            (next) =>
              Number(next) === 0
                ? Option.none()
                : Option.some<ModeRecord>({ version: Number(next), previous, current, at })
          )
        ),
      appendJournal: (entry) =>
        Effect.asVoid(
          call("the journal append", () =>
            scripts.appendJournal([JOURNAL_KEY], [JSON.stringify(entry), JOURNAL_MAX_ENTRIES])
          )
        ),
      journal: Effect.flatMap(
        call("the journal read", () => client.lrange(JOURNAL_KEY, 0, -1)),
        (lines) =>
          Effect.gen(function* () {
            const entries: Array<AppliedChange> = []
            let unreadable = 0
            for (const line of lines) {
              const decoded = decodeChange(line)
              if (Either.isRight(decoded)) entries.push(decoded.right)
              else unreadable++
            }
            if (unreadable > 0)
              yield* Effect.logWarning(`change history: ${unreadable} journal entries in Redis are unreadable`)
            return entries
          })
      ),
      scheduleRevert: (revert) =>
        Effect.asVoid(
          call("the revert schedule", () =>
            scripts.schedule([REVERTS_KEY, REVERTS_DUE_KEY], [revert.changeId, JSON.stringify(revert), revert.dueAt])
          )
        ),
      claimDueRevert: (now) =>
        Effect.gen(function* () {
          const ids = yield* call("the due reverts", () =>
            client.zrangebyscore(REVERTS_DUE_KEY, "-inf", now, "LIMIT", 0, CLAIM_CANDIDATES)
          )
          for (const id of ids) {
            const token = randomUUID()
            const json = yield* call("the revert claim", () =>
              scripts.claim(
                [revertLockKey(id), REVERTS_DUE_KEY, REVERTS_KEY],
                [id, token, Duration.toMillis(REVERT_LEASE)]
              )
            )
            if (typeof json !== "string") continue
            const decoded = decodeRevert(json)
            if (Either.isRight(decoded)) return Option.some({ revert: decoded.right, token })
            yield* Effect.logError(
              `change history: the scheduled revert of change ${id} in Redis is unreadable; dropped`
            )
            yield* call("the revert drop", () =>
              scripts.complete([revertLockKey(id), REVERTS_DUE_KEY, REVERTS_KEY], [id, token])
            )
          }
          return Option.none()
        }),
      completeRevert: (claim) =>
        Effect.asVoid(
          call("the revert completion", () =>
            scripts.complete(
              [revertLockKey(claim.revert.changeId), REVERTS_DUE_KEY, REVERTS_KEY],
              [claim.revert.changeId, claim.token]
            )
          )
        ),
      retryRevert: (claim, retryAt) =>
        Effect.asVoid(
          call("the revert retry", () =>
            scripts.retry(
              [revertLockKey(claim.revert.changeId), REVERTS_DUE_KEY, REVERTS_KEY],
              [
                claim.revert.changeId,
                claim.token,
                JSON.stringify({ ...claim.revert, dueAt: retryAt, attempts: claim.revert.attempts + 1 }),
                retryAt
              ]
            )
          )
        ),
      pendingReverts: call("the pending reverts", () => client.zcard(REVERTS_DUE_KEY))
    }
    return service
  })

/** Beside the change audit: the directory that must survive restarts already. */
export const revertsPathFor = (auditChangesPath: string) => `${dirname(auditChangesPath)}/waf-scheduled-reverts.json`

export class ChangeHistory extends Context.Tag("security-agent/ChangeHistory")<ChangeHistory, ChangeHistoryService>() {
  /** Redis when SESSION_STORE=redis, else this process with reverts beside GUARDRAIL_AUDIT_CHANGES_PATH. */
  static readonly layer = Layer.scoped(
    ChangeHistory,
    Effect.flatMap(
      AppConfig,
      (config): Effect.Effect<ChangeHistoryService, ConfigError.ConfigError, Scope.Scope> =>
        config.sessions.store === "redis"
          ? makeRedisChangeHistory(config.sessions.redisUrl)
          : makeMemoryChangeHistory(revertsPathFor(config.observability.auditChangesPath)).pipe(
              Effect.catchAll((error) =>
                Effect.zipRight(
                  Effect.logError(
                    `change history: ${error.message}; timed changes cannot be scheduled until it is fixed`
                  ),
                  // Without a path nothing is read, so this cannot fail.
                  Effect.orDie(makeMemoryChangeHistory(undefined))
                )
              )
            )
    )
  )
  /** One process, no durable reverts (timed changes say they have no end): tests and standalone tools. */
  static readonly memory = Layer.effect(ChangeHistory, Effect.orDie(makeMemoryChangeHistory(undefined)))
  /** One process, reverts in the given file. */
  static readonly memoryAt = (revertsPath: string) => Layer.effect(ChangeHistory, makeMemoryChangeHistory(revertsPath))
}
