// Scrubs what must never reach a trace, a span or the audit log: confirmation codes, fields
// named like secrets, and credentials or e-mail addresses found anywhere inside free text.

/** Fields whose whole value is a secret, whatever it looks like ("client_secret", "x-api-key"). */
const SECRET_KEY = /^(?:nonce|code|[\w.-]*(?:authorization|passw(?:or)?d|pwd|secret|token|api[_-]?key))$/i

interface TextRule {
  /** Global, so `replace` finds every occurrence; DETECT joins all of them for the first look. */
  readonly pattern: RegExp
  readonly replace: (match: string, ...groups: Array<string | undefined>) => string
}

const marker = (kind: string): string => `[redacted:${kind}]`

/** Keeps the quotes around a quoted value, so JSON-ish text stays readable. */
const maskValue = (value: string, kind: string): string => {
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : ""
  const closed = quote !== "" && value.length > 1 && value.endsWith(quote)
  return `${quote}${marker(kind)}${closed ? quote : ""}`
}

const kindOfKey = (key: string): string => {
  const k = key.toLowerCase()
  if (k.startsWith("pass") || k === "pwd") return "password"
  if (k === "token") return "token"
  if (k.startsWith("api")) return "api_key"
  return "secret"
}

/**
 * A value after `key=` / `key: ` / `"key": `: a quoted string (escapes allowed, an unclosed one
 * runs to the end of the line rather than leaking), or a bare run up to a delimiter. Each piece
 * consumes what it matches, so no input makes these expressions backtrack more than linearly.
 */
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\.)*"?|'(?:[^'\\\r\n]|\\.)*'?`
const BARE = String.raw`[^\s"',;&<>{}\[\]]+`
const VALUE = `(?:${QUOTED}|${BARE})`
const SEPARATOR = String.raw`["']?[ \t]*[:=][ \t]*`

/** Order matters: a header or a bearer token goes first, so `token: Bearer x` loses the token too. */
const RULES: ReadonlyArray<TextRule> = [
  {
    // "Authorization: Basic dXNlcg==", '"Authorization": "..."', "authorization=abc123": a bare
    // value is a scheme (a word of letters) and its credentials, or the credentials alone.
    pattern: new RegExp(
      String.raw`(\bauthorization${SEPARATOR})(${QUOTED}|(?:(?:AWS4-HMAC-SHA256|[A-Za-z][A-Za-z-]*)[ \t]+)?${BARE})`,
      "gi"
    ),
    replace: (_, head = "", value = "") => `${head}${maskValue(value, "authorization")}`
  },
  {
    // A short word after "bearer" is prose ("the bearer of bad news"); tokens are long or have digits.
    pattern: /\b(bearer[ \t]+)([A-Za-z0-9._~+/-]+=*)/gi,
    replace: (match, head = "", token = "") =>
      token.length >= 16 || /\d/.test(token) ? `${head}${marker("bearer_token")}` : match
  },
  {
    // password=, passwd:, pwd=, secret=, client_secret=, token=, access_token=, api_key=, x-api-key:
    pattern: new RegExp(
      `(passw(?:or)?d|pwd|(?:secret[_-]?(?:access[_-]?)?|access[_-]?|private[_-]?|api[_-]?)key|secret|token)(${SEPARATOR})(${VALUE})`,
      "gi"
    ),
    replace: (_, key = "", separator = "", value = "") => `${key}${separator}${maskValue(value, kindOfKey(key))}`
  },
  {
    // https://user:password@host: the password, not the user or the host.
    pattern: /(\/\/[^\s/?#@:]+:)[^\s/?#@]+(?=@)/g,
    replace: (_, head = "") => `${head}${marker("password")}`
  },
  {
    // OpenAI-style keys: sk-..., sk-proj-..., sk-svcacct-...
    pattern: /\bsk-[A-Za-z0-9_-]{20,}/g,
    replace: () => marker("api_key")
  },
  {
    // AWS access key ids: long-term (AKIA) and temporary (ASIA).
    pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
    replace: () => marker("aws_key")
  },
  {
    // The lookbehind starts a local part only at its first character: no quadratic rescans.
    pattern: /(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
    replace: () => marker("email")
  },
  {
    // The confirm phrase only: other 6-digit numbers are data (ConfirmationCodeMask handles
    // them while a change is pending).
    pattern: /\b(confirm(?:ation)?(?:\s+code)?[\s:]+)\d{6}\b/gi,
    replace: (_, head = "") => `${head}[redacted]`
  }
]

/**
 * One pass to decide whether a string needs any rule, since nearly every string needs none.
 * Case-insensitive for all rules at once: a false alarm (say "akia..." in lowercase) costs a
 * copy that changes nothing, never a missed secret.
 */
const DETECT = new RegExp(RULES.map((rule) => `(?:${rule.pattern.source})`).join("|"), "i")

/**
 * Something every rule above needs (a separator, an "@", or its literal prefix), looked for
 * before DETECT: it rules out most log text at a third of the cost. A new rule adds its anchor.
 */
const ANCHOR = /[@:=]|sk-|AKIA|ASIA|bearer|confirm/i

const redactText = (text: string): string => RULES.reduce((acc, rule) => acc.replace(rule.pattern, rule.replace), text)

/** True when a value holds something to redact, so the common case costs a walk, not a copy. */
const needsRedaction = (value: unknown, depth: number): boolean => {
  if (typeof value === "string") return ANCHOR.test(value) && DETECT.test(value)
  if (depth > 8 || value === null || typeof value !== "object") return false
  if (Array.isArray(value)) return value.some((v) => needsRedaction(v, depth + 1))
  for (const key in value) {
    if (SECRET_KEY.test(key) || needsRedaction((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

const redactCopy = (value: unknown, depth: number): unknown => {
  if (typeof value === "string") return redactText(value)
  if (depth > 8 || value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map((v) => redactCopy(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redactCopy(v, depth + 1)
  return out
}

/** Removes secrets from anything headed for a log; returns the same value when there are none. */
export const redactSecrets = (value: unknown): unknown => (needsRedaction(value, 0) ? redactCopy(value, 0) : value)
