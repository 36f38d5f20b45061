// Who is asking: every request and every turn acts for one principal with one role. Viewers
// chat with read-only tools and read their own traces; operators may also change the WAF.
export const ROLES = ["viewer", "operator"] as const
export type Role = (typeof ROLES)[number]

export interface Principal {
  /** `default` (ASSISTANT_API_TOKEN), a name from ASSISTANT_API_TOKENS_FILE, `local-cli` or `anonymous`. */
  readonly name: string
  readonly role: Role
}

/** Names in the tokens file: short, printable, safe in a Redis key and a log line. */
export const PRINCIPAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** The principal of ASSISTANT_API_TOKEN. */
export const DEFAULT_PRINCIPAL: Principal = { name: "default", role: "operator" }

/** The in-process `chat` REPL (and `eval`): whoever can run the binary already owns the process. */
export const LOCAL_CLI_PRINCIPAL: Principal = { name: "local-cli", role: "operator" }

/**
 * A server with no token configured at all (loopback, or ALLOW_UNAUTHENTICATED on purpose): the
 * caller passed the Host and Origin checks, and is treated as the single local operator.
 */
export const ANONYMOUS_PRINCIPAL: Principal = { name: "anonymous", role: "operator" }

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2 }

/** True when `role` includes everything `required` may do. */
export const roleAllows = (role: Role, required: Role): boolean => RANK[role] >= RANK[required]

export const isRole = (value: string): value is Role => (ROLES as ReadonlyArray<string>).includes(value)
