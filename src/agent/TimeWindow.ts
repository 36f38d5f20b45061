// Reads the time window a question asks about ("last hour", "since 9:00", "past 3 days", "today",
// "yesterday") as a range in epoch ms, in UTC, so the events API is asked for that range and the
// reply can state it; a window it cannot read or serve is said so, never swapped for another.

export type TimeWindow =
  | { readonly kind: "none" }
  | { readonly kind: "range"; readonly startMs: number; readonly endMs: number; readonly label: string }
  | { readonly kind: "unservable"; readonly phrase: string; readonly reason: string }

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Windows longer than this are refused: SafeLine keeps events for a limited time, and paging all of them would not end. */
export const MAX_WINDOW_DAYS = 90

const UNITS: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^(?:m|mins?|minutes?)$/, MINUTE, "minute"],
  [/^(?:h|hrs?|hours?)$/, HOUR, "hour"],
  [/^(?:d|days?)$/, DAY, "day"],
  [/^(?:w|wks?|weeks?)$/, 7 * DAY, "week"],
  [/^(?:months?)$/, 30 * DAY, "month"],
  [/^(?:yrs?|years?)$/, 365 * DAY, "year"]
]

const WORD_NUMBERS: Readonly<Record<string, number>> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  twelve: 12,
  few: 3,
  couple: 2
}

const startOfUtcDay = (ms: number): number => Math.floor(ms / DAY) * DAY

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16)

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** "2026-11-30 05:40 – 06:40 UTC", or with both dates when the range spans days. */
export const formatRange = (startMs: number, endMs: number): string =>
  day(startMs) === day(endMs)
    ? `${day(startMs)} ${clock(startMs)} – ${clock(endMs)} UTC`
    : `${day(startMs)} ${clock(startMs)} – ${day(endMs)} ${clock(endMs)} UTC`

const range = (startMs: number, endMs: number, label: string): TimeWindow => ({
  kind: "range",
  startMs,
  endMs,
  label
})

/** "last hour", "past 3 days", "last 24h", "in the previous 30 minutes", "last couple of hours". */
const RELATIVE =
  /\b(?:last|past|previous|recent)\s+(?:(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|few|couple)\s*(?:of\s+)?)?(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|months?|yrs?|years?)\b/
const SINCE_CLOCK = /\bsince\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|h|utc|z)?\b/
const SINCE_DATE = /\bsince\s+(\d{4}-\d{2}-\d{2})\b/
/** "since" or "last/past" followed by something the patterns above do not read. */
const UNREAD_SINCE = /\bsince\s+([a-z0-9:.-]+(?:\s+[a-z0-9:.-]+)?)/
const UNREAD_LAST =
  /\b(?:last|past)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|fortnight|quarter|night|weekend)\b/

export const parseTimeWindow = (message: string, nowMs: number): TimeWindow => {
  const text = message.toLowerCase()
  const today = startOfUtcDay(nowMs)

  const relative = text.match(RELATIVE)
  if (relative !== null) {
    const rawCount = relative[1]
    const count = rawCount === undefined ? 1 : /^\d+$/.test(rawCount) ? Number(rawCount) : WORD_NUMBERS[rawCount]!
    const unit = UNITS.find(([pattern]) => pattern.test(relative[2]!))!
    const span = count * unit[1]
    const phrase = relative[0]
    if (count <= 0) return { kind: "unservable", phrase, reason: "it is an empty range" }
    if (span > MAX_WINDOW_DAYS * DAY) {
      return { kind: "unservable", phrase, reason: `it is longer than the ${MAX_WINDOW_DAYS} days this agent queries` }
    }
    const label = count === 1 ? `the last ${unit[2]}` : `the last ${count} ${unit[2]}s`
    return range(nowMs - span, nowMs, label)
  }

  if (/\bsince\s+yesterday\b/.test(text)) return range(today - DAY, nowMs, "since yesterday 00:00 UTC")
  if (/\byesterday\b/.test(text)) return range(today - DAY, today - 1, "yesterday (UTC)")
  if (/\b(?:today|this\s+morning|so\s+far\s+today)\b/.test(text)) return range(today, nowMs, "today (since 00:00 UTC)")
  if (/\blast\s+night\b/.test(text)) return range(today - 6 * HOUR, today + 6 * HOUR, "last night (18:00 – 06:00 UTC)")

  const date = text.match(SINCE_DATE)
  if (date !== null) {
    const start = Date.parse(`${date[1]}T00:00:00Z`)
    if (Number.isNaN(start)) return { kind: "unservable", phrase: date[0], reason: "it is not a calendar date" }
    if (start > nowMs) return { kind: "unservable", phrase: date[0], reason: "that date is still ahead" }
    if (nowMs - start > MAX_WINDOW_DAYS * DAY) {
      return {
        kind: "unservable",
        phrase: date[0],
        reason: `it is longer than the ${MAX_WINDOW_DAYS} days this agent queries`
      }
    }
    return range(start, nowMs, `since ${date[1]} 00:00 UTC`)
  }

  const since = text.match(SINCE_CLOCK)
  if (since !== null && (since[2] !== undefined || since[3] !== undefined)) {
    let hours = Number(since[1])
    const minutes = since[2] === undefined ? 0 : Number(since[2])
    if (since[3] === "pm" && hours < 12) hours += 12
    if (since[3] === "am" && hours === 12) hours = 0
    if (hours > 23 || minutes > 59) return { kind: "unservable", phrase: since[0], reason: "it is not a time of day" }
    const start = today + hours * HOUR + minutes * MINUTE
    const hhmm = `${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`
    if (start > nowMs) {
      return {
        kind: "unservable",
        phrase: since[0],
        reason: `${hhmm} UTC today is still ahead (it is ${clock(nowMs)} UTC now); for a time yesterday, ask for "the last N hours"`
      }
    }
    return range(start, nowMs, `since ${hhmm} UTC today`)
  }

  const unreadSince = text.match(UNREAD_SINCE)
  if (unreadSince !== null)
    return { kind: "unservable", phrase: unreadSince[0], reason: "I cannot read that as a time range" }
  const unreadLast = text.match(UNREAD_LAST)
  if (unreadLast !== null)
    return { kind: "unservable", phrase: unreadLast[0], reason: "I cannot read that as a time range" }
  return { kind: "none" }
}

/** What a reply says when a window cannot be served: the phrase, why, and what works. */
export const unservableReply = (window: Extract<TimeWindow, { kind: "unservable" }>): string =>
  `I can't answer for "${window.phrase}": ${window.reason}. I did not answer for another period instead. Time windows I read (UTC): "last hour", "last 24 hours", "past 3 days", "since 9:00", "today", "yesterday", "since 2026-01-31".`
