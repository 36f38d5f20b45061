// One way to open a Redis client for the features that share state across replicas (sessions,
// rate limits, code throttling, the change history): the same URL checks, timeouts and background
// reconnects, for one Redis (`redis://`) or a Redis Cluster (`redis+cluster://host:port,host:port`).
import { ConfigError, Effect, type Option, Redacted, type Scope } from "effect"
import { Cluster, Redis } from "ioredis"

/** Connect and command timeouts: a request never waits longer than this on a dead Redis. */
export const REDIS_TIMEOUT_MS = 2000

/** A single Redis or a cluster: both take the same commands and the same defined scripts. */
export type RedisClient = Redis | Cluster

/** `host:port` of a Redis URL, for messages (never the password). */
export const describeRedisTarget = (url: URL) => `${url.hostname}:${url.port === "" ? "6379" : url.port}`

const URL_FORMS =
  "Expected redis://[user:password@]host[:port][/db], rediss://…, or redis+cluster://[user:password@]host:port[,host:port…] for a Redis Cluster"

export interface ClusterTarget {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean
}

export type RedisTarget =
  | { readonly kind: "single"; readonly value: string; readonly url: URL }
  | ({ readonly kind: "cluster" } & ClusterTarget)

/** `redis+cluster://user:pw@a:7000,b:7001`: seed nodes (the client discovers the rest); no db, clusters have one. */
const parseClusterUrl = (value: string): ClusterTarget | undefined => {
  const match = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/.exec(value)
  if (match === null) return undefined
  const [, scheme, credentials, hosts] = match
  const nodes: Array<{ host: string; port: number }> = []
  for (const node of hosts!.split(",")) {
    const parsed = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(node.trim())
    const port = Number(parsed?.[2])
    if (parsed === null || port < 1 || port > 65535) return undefined
    nodes.push({ host: parsed[1]!.replace(/^\[|\]$/g, ""), port })
  }
  if (nodes.length === 0 || nodes.length > 64) return undefined
  const [user, ...rest] = credentials === undefined ? [] : credentials.split(":")
  const decode = (text: string | undefined) =>
    text === undefined || text === "" ? undefined : decodeURIComponent(text)
  try {
    return {
      nodes,
      username: decode(rest.length === 0 ? undefined : user),
      password: decode(rest.length === 0 ? user : rest.join(":")),
      tls: scheme === "rediss"
    }
  } catch {
    return undefined
  }
}

export const parseRedisUrl = (redisUrl: Option.Option<Redacted.Redacted>) =>
  redisUrl._tag === "None"
    ? Effect.fail(
        ConfigError.MissingData(["REDIS_URL"], "SESSION_STORE=redis needs REDIS_URL, e.g. redis://redis:6379/0")
      )
    : Effect.suspend((): Effect.Effect<RedisTarget, ConfigError.ConfigError> => {
        const value = Redacted.value(redisUrl.value)
        if (/^rediss?\+cluster:/.test(value)) {
          const cluster = parseClusterUrl(value)
          return cluster === undefined
            ? Effect.fail(ConfigError.InvalidData(["REDIS_URL"], URL_FORMS))
            : Effect.succeed({ kind: "cluster", ...cluster })
        }
        const url = URL.canParse(value) ? new URL(value) : undefined
        return url !== undefined && (url.protocol === "redis:" || url.protocol === "rediss:")
          ? Effect.succeed({ kind: "single", value, url })
          : Effect.fail(ConfigError.InvalidData(["REDIS_URL"], URL_FORMS))
      })

const describeTarget = (target: RedisTarget) =>
  target.kind === "single"
    ? describeRedisTarget(target.url)
    : `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`

/** Keep reconnecting in the background, quickly enough to recover within a second or so. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 1000)

const makeClient = (target: RedisTarget): RedisClient =>
  target.kind === "single"
    ? new Redis(target.value, {
        lazyConnect: true,
        enableOfflineQueue: false,
        connectTimeout: REDIS_TIMEOUT_MS,
        commandTimeout: REDIS_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        retryStrategy
      })
    : new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: retryStrategy,
          slotsRefreshTimeout: REDIS_TIMEOUT_MS,
          // A MOVED/ASK answer during a resharding is followed a few times, then fails like any call.
          maxRedirections: 4,
          redisOptions: {
            connectTimeout: REDIS_TIMEOUT_MS,
            commandTimeout: REDIS_TIMEOUT_MS,
            maxRetriesPerRequest: 1,
            ...(target.username === undefined ? {} : { username: target.username }),
            ...(target.password === undefined ? {} : { password: target.password }),
            ...(target.tls ? { tls: {} } : {})
          }
        }
      )

/** A client that fails fast while Redis is down and reconnects in the background; closed with the scope. */
export const openRedis = (
  redisUrl: Option.Option<Redacted.Redacted>
): Effect.Effect<{ readonly client: RedisClient; readonly target: string }, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const target = yield* parseRedisUrl(redisUrl)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => makeClient(target)),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    return { client, target: describeTarget(target) }
  })

/** Connects, waiting at most the connect timeout, and never fails: a replica starts (not ready) while Redis is down. */
export const connectInBackground = (client: RedisClient) =>
  Effect.promise(() =>
    client.connect().then(
      () => undefined,
      () => undefined
    )
  )

/**
 * A Lua script loaded once per server (ioredis `defineCommand`: EVALSHA, and EVAL only when a
 * server does not know it yet) instead of sent with every call. Its keys are declared, so a
 * cluster routes it; keys one script touches must share a hash slot (a `{tag}`).
 */
export const defineScript = (client: RedisClient, name: string, numberOfKeys: number, lua: string) => {
  client.defineCommand(name, { numberOfKeys, lua })
  const command = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name]!
  return (keys: ReadonlyArray<string>, args: ReadonlyArray<string | number> = []): Promise<unknown> =>
    command.call(client, ...keys, ...args)
}
