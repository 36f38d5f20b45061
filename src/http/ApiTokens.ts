// Who a bearer token belongs to. Tokens come from ASSISTANT_API_TOKEN (principal `default`,
// operator) and from ASSISTANT_API_TOKENS_FILE (`name:role:sha256hex` lines, so the file holds
// no token in clear), re-read when the file changes; a bad reload keeps the last good set.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { Context, Data, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { DEFAULT_PRINCIPAL, isRole, PRINCIPAL_NAME_PATTERN, type Principal } from "../domain/Principal.js"
import { Telemetry } from "../observability/Telemetry.js"

/** API tokens shorter than this are refused: they could be guessed or brute-forced online. */
export const MIN_TOKEN_LENGTH = 32
const RELOAD_INTERVAL = "2 seconds"

export class TokensRefused extends Data.TaggedError("TokensRefused")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

interface Credential {
  readonly digest: Buffer
  readonly principal: Principal
}

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** A new random token (256 bits, URL-safe) and the tokens-file line that admits it. */
export const newTokenLine = (name: string, role: string): { readonly token: string; readonly line: string } => {
  const token = `sat_${randomBytes(32).toString("base64url")}`
  return { token, line: `${name}:${role}:${sha256(token).toString("hex")}` }
}

/** Parses the tokens file; the first bad line makes the whole file invalid (never half a set). */
export const parseTokensFile = (text: string): ReadonlyArray<Credential> | TokensRefused => {
  const credentials: Array<Credential> = []
  const roles = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "" || line.startsWith("#")) continue
    const fields = line.split(":")
    const where = `line ${i + 1}`
    if (fields.length !== 3) {
      return new TokensRefused({ reason: `${where}: expected name:role:sha256-of-token` })
    }
    const [name = "", role = "", hash = ""] = fields
    if (!PRINCIPAL_NAME_PATTERN.test(name)) {
      return new TokensRefused({ reason: `${where}: the name must be 1-64 characters of [A-Za-z0-9._-]` })
    }
    if (!isRole(role)) return new TokensRefused({ reason: `${where}: the role must be viewer or operator` })
    if (!/^[0-9a-fA-F]{64}$/.test(hash)) {
      return new TokensRefused({
        reason: `${where}: the third field must be the token's sha256 in hex (64 characters), never the token itself`
      })
    }
    // One name may have several lines (rotation), but always the same role.
    const known = roles.get(name)
    if (known !== undefined && known !== role) {
      return new TokensRefused({ reason: `${where}: ${name} already has the role ${known}` })
    }
    if (name === DEFAULT_PRINCIPAL.name || name === "local-cli" || name === "anonymous") {
      return new TokensRefused({ reason: `${where}: "${name}" is a reserved principal name` })
    }
    roles.set(name, role)
    credentials.push({ digest: Buffer.from(hash, "hex"), principal: { name, role } })
  }
  return credentials
}

const envCredentials = (secret: Option.Option<Redacted.Redacted>): ReadonlyArray<Credential> | TokensRefused => {
  if (Option.isNone(secret)) return []
  const tokens = Redacted.value(secret.value)
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
  const short = tokens.findIndex((t) => t.length < MIN_TOKEN_LENGTH)
  if (short !== -1) {
    return new TokensRefused({
      reason: `ASSISTANT_API_TOKEN: token ${short + 1} is shorter than ${MIN_TOKEN_LENGTH} characters; use \`security-agent token <name> <role>\` or \`openssl rand -base64 32\``
    })
  }
  return tokens.map((token) => ({ digest: sha256(token), principal: DEFAULT_PRINCIPAL }))
}

export interface ApiTokensService {
  /** True when the API requires a token (a token or a tokens file is configured). */
  readonly required: boolean
  /** The principal a bearer token belongs to: every credential is compared, in constant time. */
  readonly authenticate: (token: string) => Effect.Effect<Option.Option<Principal>>
}

export class ApiTokens extends Context.Tag("security-agent/ApiTokens")<ApiTokens, ApiTokensService>() {
  static readonly layer = Layer.scoped(
    ApiTokens,
    Effect.gen(function* () {
      const config = (yield* AppConfig).api
      const telemetry = yield* Telemetry
      const fromEnv = envCredentials(config.tokens)
      if (fromEnv instanceof TokensRefused) return yield* fromEnv
      let fromFile: ReadonlyArray<Credential> = []

      if (Option.isSome(config.tokensFile)) {
        const path = config.tokensFile.value
        const read = Effect.tryPromise({
          try: () => readFile(path, "utf8"),
          catch: (error) =>
            new TokensRefused({
              reason: `ASSISTANT_API_TOKENS_FILE ${path} cannot be read (${(error as Error).message})`
            })
        })
        const load = (text: string) => {
          const parsed = parseTokensFile(text)
          return parsed instanceof TokensRefused
            ? Effect.fail(new TokensRefused({ reason: `ASSISTANT_API_TOKENS_FILE ${path}: ${parsed.reason}` }))
            : Effect.succeed(parsed)
        }
        let lastText = yield* read
        fromFile = yield* load(lastText)
        yield* telemetry.recordTokensFileReload("ok")
        // Kubernetes swaps a Secret's files through a symlink: compare contents, not mtimes.
        const reload = Effect.gen(function* () {
          const text = yield* read
          if (text === lastText) return
          lastText = text
          fromFile = yield* load(text)
          yield* telemetry.recordTokensFileReload("ok")
          yield* Effect.logInfo(`reloaded ${path}: ${fromFile.length} token(s)`)
        }).pipe(
          Effect.catchAll((error) =>
            telemetry
              .recordTokensFileReload("error")
              .pipe(Effect.zipRight(Effect.logError(`${error.reason}; keeping the last good tokens`)))
          )
        )
        yield* Effect.forkScoped(Effect.repeat(reload, Schedule.spaced(RELOAD_INTERVAL)))
      }

      const required = fromEnv.length > 0 || Option.isSome(config.tokensFile)
      const authenticate = (token: string) =>
        Effect.sync(() => {
          const given = sha256(token)
          let found: Principal | undefined
          // No early exit: the time taken never says which credential, if any, matched.
          for (const credentials of [fromEnv, fromFile]) {
            for (const credential of credentials) {
              if (timingSafeEqual(given, credential.digest) && found === undefined) found = credential.principal
            }
          }
          return Option.fromNullable(found)
        })
      return { required, authenticate }
    })
  )
}
