// Reads what configuration change a message asks for: a protection mode, restoring the
// previous mode, or blacklisting / unblocking an address, and for how long ("for an hour":
// a timed change is reverted when the time is up). Validation comes after, separately.

export type UserMode = "block" | "strict" | "detect" | "off"

export type ConfigIntent =
  | { readonly kind: "confirm"; readonly code: string }
  | { readonly kind: "cancel" }
  | { readonly kind: "assent" }
  | { readonly kind: "set_mode"; readonly mode: UserMode; readonly durationMillis?: number | undefined }
  | { readonly kind: "invalid_mode"; readonly requested: string }
  | { readonly kind: "restore_mode" }
  | {
      readonly kind: "blacklist_ip"
      readonly target: string
      readonly comment: string
      readonly durationMillis?: number | undefined
    }
  | { readonly kind: "invalid_duration"; readonly requested: string; readonly detail: string }
  | { readonly kind: "unblock_ip"; readonly target: string }
  | { readonly kind: "none" }

const CONFIRM = /^\s*confirm\s+(\d{6})\s*[.!]?\s*$/i
const CANCEL = /^\s*(cancel|abort|never\s?mind|stop)\s*[.!]?\s*$/i

/**
 * Assent without a valid code: "confirm" with anything but exactly six digits, or a short message
 * made only of words of agreement ("yes, do it", "ok", "go ahead please"). While a change is
 * pending these get a reminder of the change and the code format, never small talk.
 */
const CONFIRM_WITHOUT_CODE = /^\s*(?:please\s+|pls\s+)?confirm(?:ed|ing)?\b/i
const ASSENT_CORE = new Set([
  "yes",
  "yeah",
  "yep",
  "yup",
  "y",
  "ok",
  "okay",
  "k",
  "kk",
  "sure",
  "go",
  "do",
  "proceed",
  "approve",
  "approved",
  "affirmative",
  "apply",
  "lgtm",
  "execute",
  "alright",
  "fine",
  "agreed",
  "correct"
])
const ASSENT_FILLER = new Set([
  "ahead",
  "it",
  "that",
  "this",
  "please",
  "pls",
  "now",
  "the",
  "change",
  "just",
  "then",
  "sounds",
  "good",
  "right",
  "away",
  "make",
  "so",
  "thanks",
  "thank",
  "you",
  "i",
  "am",
  "sure",
  "let's",
  "lets"
])
const looksLikeAssent = (message: string): boolean => {
  if (CONFIRM_WITHOUT_CODE.test(message)) return true
  const words = message.toLowerCase().match(/[a-z']+/g) ?? []
  if (words.length === 0 || words.length > 8 || /\d/.test(message)) return false
  return words.some((w) => ASSENT_CORE.has(w)) && words.every((w) => ASSENT_CORE.has(w) || ASSENT_FILLER.has(w))
}

/**
 * Everything between whitespace and sentence punctuation. The address is the WHOLE run, never a
 * valid-looking piece of it: "1.2.3.4/16/8" or "fe80::1%eth0" reach validation as written and are
 * refused there, instead of quietly becoming "1.2.3.4/16" or "fe80::1".
 */
const WORD_RUN = /[^\s,;!?()<>"'`[\]{}]+/g

const count = (text: string, char: string): number => text.split(char).length - 1

/**
 * Runs that look like an attempt at an address: IPv6-ish (two colons and a hex digit), or dotted
 * with digits and either four parts, a "/prefix" or a hex part ("0x7f.1"). "2.5" alone is not
 * one, so "block mode for 2.5 hours" stays a mode change.
 */
const looksLikeAddress = (run: string): boolean =>
  (count(run, ":") >= 2 && /[0-9a-f]/i.test(run)) ||
  (/\d/.test(run) &&
    run.includes(".") &&
    (count(run, ".") >= 3 || (/^\d/.test(run) && run.includes("/")) || /0x[0-9a-f]*\./i.test(run)))

/** The first address-like token, valid or not (validation decides), minus sentence-ending dots. */
export const addressToken = (message: string): string | undefined => {
  for (const [run] of message.matchAll(WORD_RUN)) {
    if (!looksLikeAddress(run)) continue
    const token = run.replace(/\.+$/, "")
    // "ban 203.0.113.7: it scans us": a colon ending an IPv4 token is punctuation; "2001:db8::" keeps its own.
    return token.endsWith(":") && token.indexOf(":") === token.length - 1 ? token.slice(0, -1) : token
  }
  return undefined
}

const UNBLOCK =
  /\b(unblock|un-block|unban|un-ban|unblacklist|lift\s+the\s+(?:block|ban)|allow\s+.*\s+again|remove\s+.*\s+from\s+(?:the\s+)?(?:black|block|ban)\s?list|whitelist|delist)\b/i
/** With the typos operators make in a hurry ("blok", "blcok", "bann", "blaklist"). */
const BLACKLIST =
  /\b(block|blok|blcok|bloc|ban|bann|blacklist|blaklist|blacklst|blaclist|black\s+list|blocklist|deny|blackhole|drop\s+traffic\s+from|add\s+.*\s+to\s+(?:the\s+)?(?:black|block)\s?list)\b/i

const RESTORE =
  /\b(restore|revert|roll\s?back|undo|go\s+back\s+to|put\s+back)\b.*\b(mode|protection|setting|previous|before|change)\b|\bprevious\s+mode\b/i

const MODE_WORDS: ReadonlyArray<readonly [RegExp, UserMode]> = [
  [/\b(strict|paranoid|high[\s-]?strength|maximum|max)\b/i, "strict"],
  [
    /\b(detect(?:ion)?[\s-]?only|detect|dry[\s_-]?run|monitor(?:ing)?[\s-]?only|observe|observation|log[\s-]?only|learning|passive|audit[\s-]?only)\b/i,
    "detect"
  ],
  [/\b(off|disable|disabled|turn\s+off|switch\s+off|bypass|deactivate)\b/i, "off"],
  [/\b(block(?:ing)?|protect(?:ion)?[\s-]on|enforce|enforcing|prevent(?:ion)?|defend|balanced|default|on)\b/i, "block"]
]

const MODE_CONTEXT =
  /\b(mode|protection|waf|firewall|modules?|safeline|switch|set|change|put|turn|enable|go\s+to|move\s+to)\b/i
/** Ways to name a mode, most specific first: "mode to X", "to X mode", "X mode". */
const EXPLICIT_MODE = [
  /\b(?:mode|protection)\s+(?:to|=|:)\s*["'`]?([a-z_-]+)/i,
  /\b(?:to|into)\s+["'`]?([a-z_-]+)["'`]?\s+mode\b/i,
  /\b([a-z_-]+)\s+mode\b/i
]

const stripComment = (text: string): string =>
  text
    .replace(/[^\p{L}\p{N} .,:;_/()-]/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 120)

const commentOf = (message: string): string => {
  const because = message.match(/\b(?:because|reason:?|for)\s+(.+)$/i)
  return because?.[1] !== undefined ? stripComment(because[1]) : ""
}

/** The shortest and longest timed change: shorter is a slip, longer is a permanent change in disguise. */
export const MIN_CHANGE_DURATION_MS = 60_000
export const MAX_CHANGE_DURATION_MS = 30 * 24 * 3600_000

const UNIT_MS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(?:s|secs?|seconds?)$/i, 1000],
  [/^(?:m|mins?|minutes?)$/i, 60_000],
  [/^(?:h|hrs?|hours?)$/i, 3600_000],
  [/^(?:d|days?)$/i, 24 * 3600_000],
  [/^(?:w|wks?|weeks?)$/i, 7 * 24 * 3600_000]
]

/** "for an hour", "for 30 minutes", "for 24 h", "for 2.5 hours", "for half an hour", "for the next 2 days". */
const DURATION =
  /\bfor\s+(?:the\s+next\s+)?(half\s+an?|an?|one|-?\d+(?:[.,]\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)\b/i
/** An end time instead of a duration: refused rather than ignored. */
const END_TIME = /\b(?:until|till|til)\b/i

/** "1 hour", "30 minutes", "1 day 12 hours": how long a timed change lasts, in words. */
export const describeDuration = (millis: number): string => {
  const parts: Array<string> = []
  let rest = Math.round(millis / 60_000)
  for (const [size, name] of [
    [24 * 60, "day"],
    [60, "hour"],
    [1, "minute"]
  ] as const) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`)
  }
  return parts.length === 0 ? "less than a minute" : parts.slice(0, 2).join(" ")
}

type DurationRead =
  | { readonly kind: "none" }
  | { readonly kind: "ok"; readonly millis: number; readonly rest: string }
  | { readonly kind: "invalid"; readonly requested: string; readonly detail: string }

const BOUNDS = `between ${describeDuration(MIN_CHANGE_DURATION_MS)} and ${describeDuration(MAX_CHANGE_DURATION_MS)}`

const readDuration = (message: string): DurationRead => {
  const found = DURATION.exec(message)
  if (found === null) {
    const end = END_TIME.exec(message)
    return end === null
      ? { kind: "none" }
      : {
          kind: "invalid",
          requested: message.slice(end.index, end.index + 40),
          detail: `I can time a change by its length ("for 2 hours", "for 30 minutes"), not by an end time; say how long it should last, ${BOUNDS}`
        }
  }
  const [phrase, amountText = "", unitText = ""] = found
  const amount = /^half/i.test(amountText)
    ? 0.5
    : /^(?:an?|one)$/i.test(amountText)
      ? 1
      : Number(amountText.replace(",", "."))
  const unit = UNIT_MS.find(([pattern]) => pattern.test(unitText))?.[1] ?? Number.NaN
  const millis = amount * unit
  const requested = phrase.slice(0, 60)
  if (amountText.includes(",")) {
    return {
      kind: "invalid",
      requested,
      detail: 'write the number with a decimal point ("1.5 hours") or in whole units'
    }
  }
  if (!Number.isFinite(millis) || millis < MIN_CHANGE_DURATION_MS || millis > MAX_CHANGE_DURATION_MS) {
    return { kind: "invalid", requested, detail: `a timed change must last ${BOUNDS}` }
  }
  return {
    kind: "ok",
    // Whole seconds: the duration is stored as text in the pending change.
    millis: Math.round(millis / 1000) * 1000,
    rest: `${message.slice(0, found.index)} ${message.slice(found.index + phrase.length)}`
  }
}

export const parseConfigIntent = (message: string): ConfigIntent => {
  const confirm = message.match(CONFIRM)
  if (confirm?.[1] !== undefined) return { kind: "confirm", code: confirm[1] }
  if (CANCEL.test(message)) return { kind: "cancel" }
  if (looksLikeAssent(message)) return { kind: "assent" }

  const duration = readDuration(message)
  const intent = parseChange(duration.kind === "ok" ? duration.rest : message)
  if (duration.kind === "none") return intent
  const timed = intent.kind === "set_mode" || intent.kind === "blacklist_ip"
  if (duration.kind === "invalid") {
    return timed || intent.kind === "restore_mode" || intent.kind === "unblock_ip"
      ? { kind: "invalid_duration", requested: duration.requested, detail: duration.detail }
      : intent
  }
  if (timed) return { ...intent, durationMillis: duration.millis }
  return intent.kind === "restore_mode" || intent.kind === "unblock_ip"
    ? {
        kind: "invalid_duration",
        requested: describeDuration(duration.millis),
        detail:
          'only a mode change or a ban can be timed ("detect mode for 30 minutes", "ban 203.0.113.7 for 24 h"); ask for this change without a duration'
      }
    : intent
}

/**
 * "never turn protection off", "don't ban 10.0.0.9, it's our office": a change verb under a
 * negation is not a request for that change (and a chatty clause must never become one).
 */
const NEGATED_CHANGE =
  /\b(?:never|don['’]?t|do\s+not|doesn['’]?t|does\s+not|shouldn['’]?t|should\s+not|won['’]?t|will\s+not|must\s+not|mustn['’]?t|stop\s+me\s+from)\s+(?:[\w'’-]+\s+){0,3}?(?:turn|switch|set|change|put|ban|block|blacklist|disable|enable|unblock|unban|restore|revert|go)\b/i

/** The change a message asks for, durations already taken out. */
const parseChange = (message: string): ConfigIntent => {
  if (NEGATED_CHANGE.test(message)) return { kind: "none" }
  const address = addressToken(message)
  if (address !== undefined) {
    // "unblock" mentions "block": test it first, so an unblock is never a blacklist.
    if (UNBLOCK.test(message)) return { kind: "unblock_ip", target: address }
    if (BLACKLIST.test(message)) return { kind: "blacklist_ip", target: address, comment: commentOf(message) }
  }

  if (RESTORE.test(message)) return { kind: "restore_mode" }

  if (MODE_CONTEXT.test(message)) {
    for (const [pattern, mode] of MODE_WORDS) if (pattern.test(message)) return { kind: "set_mode", mode }
    const requested = EXPLICIT_MODE.map((pattern) => message.match(pattern)?.[1]).find((m) => m !== undefined)
    if (
      requested !== undefined &&
      !["the", "a", "current", "protection", "which", "what", "set", "change", "switch", "to", "this", "that"].includes(
        requested.toLowerCase()
      )
    ) {
      return { kind: "invalid_mode", requested: requested.slice(0, 40) }
    }
  }
  return { kind: "none" }
}
