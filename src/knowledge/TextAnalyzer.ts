// The one text analyzer of the knowledge base: lowercase, split, drop stop words, Porter-stem,
// and add a canonical token for security synonyms (sqli ↔ sql injection ...), so BM25 indexing,
// query parsing and the citation overlap checks all agree on what a "term" is.
import { stemmer } from "stemmer"
import { boundedMemo } from "../domain/BoundedMemo.js"

/** Common English function words: they carry no topic, so they neither rank nor prove support. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also am an and any are aren't as at be because been before being below
  between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
  either else etc even ever every few for from further had hadn't has hasn't have haven't having he her here hers
  herself him himself his how however i i'd i'll i'm i've if in into is isn't it it's its itself just let let's
  may me might more most much must mustn't my myself no nor not of off on once only or other ought our ours
  ourselves out over own per please same shall shan't she should shouldn't so some such than that that's the
  their theirs them themselves then there there's these they they'd they'll they're they've this those though
  through thus to too under until up upon us very via was wasn't we we'd we'll we're we've were weren't what
  what's when when's where where's whether which while who who's whom whose why why's will with within without
  won't would wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves`
    .split(/\s+/)
    .filter((w) => w !== "")
)

/**
 * Security synonyms: every phrase of a group also yields the group's canonical token, in
 * documents and queries alike, so "SQL injection" and "sqli" meet in the index. Phrases are
 * compared as stemmed word sequences (punctuation, "-" and "_" separate words).
 */
export const SECURITY_SYNONYMS: ReadonlyArray<{ readonly canonical: string; readonly phrases: ReadonlyArray<string> }> =
  [
    { canonical: "sqli", phrases: ["sqli", "sql injection", "sql injections"] },
    { canonical: "xss", phrases: ["xss", "cross-site scripting", "cross site scripting"] },
    { canonical: "csrf", phrases: ["csrf", "xsrf", "cross-site request forgery", "cross site request forgery"] },
    { canonical: "ssrf", phrases: ["ssrf", "server-side request forgery", "server side request forgery"] },
    { canonical: "ssti", phrases: ["ssti", "server-side template injection", "template injection"] },
    {
      canonical: "rce",
      phrases: ["rce", "remote code execution", "code execution", "arbitrary code", "command execution"]
    },
    { canonical: "cmdi", phrases: ["command injection", "os command", "m_cmd_injection", "shell injection"] },
    { canonical: "lfi", phrases: ["lfi", "local file inclusion", "file inclusion", "file include", "m_file_include"] },
    { canonical: "rfi", phrases: ["rfi", "remote file inclusion"] },
    { canonical: "pathtraversal", phrases: ["path traversal", "directory traversal"] },
    { canonical: "xxe", phrases: ["xxe", "xml external entity", "xml external entities"] },
    { canonical: "idor", phrases: ["idor", "insecure direct object reference"] },
    { canonical: "deserial", phrases: ["deserialization", "deserialisation", "unserialize", "serialized object"] },
    {
      canonical: "dos",
      phrases: [
        "dos",
        "ddos",
        "denial of service",
        "denial-of-service",
        "http flood",
        "cc attack",
        "application-layer flood"
      ]
    },
    { canonical: "ddos", phrases: ["ddos", "distributed denial of service"] },
    { canonical: "waf", phrases: ["waf", "web application firewall"] },
    {
      canonical: "cve",
      phrases: ["cve", "common vulnerabilities and exposures", "known vulnerability", "known vulnerabilities"]
    },
    { canonical: "cwe", phrases: ["cwe", "common weakness enumeration"] },
    { canonical: "owasp", phrases: ["owasp", "open worldwide application security project", "top 10", "top ten"] },
    {
      canonical: "blocklist",
      phrases: ["blocklist", "blacklist", "block list", "black list", "denylist", "deny list", "ban", "blacklisting"]
    },
    {
      canonical: "allowlist",
      phrases: ["allowlist", "whitelist", "allow list", "white list", "whitelisting", "allow-list"]
    },
    {
      canonical: "ratelimit",
      phrases: [
        "rate limit",
        "rate limiting",
        "rate-limit",
        "rate-limiting",
        "frequency limit",
        "frequency limiting",
        "throttle",
        "throttling"
      ]
    },
    {
      canonical: "dryrun",
      phrases: ["dry_run", "dry run", "dry-run", "detect mode", "detection mode", "observe only", "observe-only"]
    },
    { canonical: "qps", phrases: ["qps", "requests per second", "queries per second"] },
    {
      canonical: "mfa",
      phrases: ["mfa", "2fa", "multi-factor authentication", "two-factor authentication", "multi-factor"]
    },
    { canonical: "tls", phrases: ["tls", "ssl", "https certificate"] },
    { canonical: "apitoken", phrases: ["api token", "api key", "x-slce-api-token", "safeline_api_token"] },
    { canonical: "bruteforce", phrases: ["brute force", "brute-force", "password spraying"] },
    { canonical: "credstuffing", phrases: ["credential stuffing", "credential-stuffing"] },
    { canonical: "falsepositive", phrases: ["false positive", "false positives", "false-positive"] }
  ]

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu

/** The words of a text, lowercased, in order (no stemming, stop words kept). */
export const words = (text: string): Array<string> => text.toLowerCase().normalize("NFKC").match(WORD) ?? []

export const isStopWord = (word: string): boolean => STOP_WORDS.has(word)

/** The index form of one word, or undefined when it carries no meaning (stop word, lone letter). */
export const normalizeWord = (word: string): string | undefined => {
  const w = word.replace(/'s$/, "")
  return isIndexable(w) ? stemOf(w) : undefined
}

const isIndexable = (w: string) => !STOP_WORDS.has(w) && (w.length >= 2 || /\d/.test(w))

/**
 * Stems already computed. The stemmer is pure and most of the analyzer's cost, and the passages
 * of every documentation turn repeat the corpus's few thousand words. Bounded: a caller's words
 * past the bound are stemmed afresh each time.
 */
const MAX_STEMS = 20_000

const stemOf = boundedMemo(MAX_STEMS, (word: string): string => (/^\d+$/.test(word) ? word : stemmer(word)))

/**
 * Phrases are matched on stemmed word sequences, so "SQL injections", "sql-injection" and
 * "sql_injection" all match "sql injection"; they are indexed by their first stem.
 */
const PHRASES_BY_FIRST_STEM = (() => {
  const byFirst = new Map<string, Array<{ readonly group: number; readonly stems: ReadonlyArray<string> }>>()
  SECURITY_SYNONYMS.forEach((g, group) => {
    for (const phrase of g.phrases) {
      const stems = words(phrase).map(stemOf)
      if (stems.length === 0) continue
      byFirst.set(stems[0]!, [...(byFirst.get(stems[0]!) ?? []), { group, stems }])
    }
  })
  return byFirst
})()

/** Each group's canonical token in index form. */
const CANONICAL_TERMS = SECURITY_SYNONYMS.map((g) => stemOf(g.canonical))

/**
 * The canonical token of every synonym phrase occurrence in a text, in index form, except where
 * the text spells the canonical word itself (the word is already a term; counting it twice
 * would inflate its weight).
 */
export const synonymTokens = (text: string): Array<string> => {
  const cleaned = cleanWords(text)
  return synonymsOfStems(cleaned, cleaned.map(stemOf))
}

const cleanWords = (text: string) => words(text).map((w) => (w.endsWith("'s") ? w.slice(0, -2) : w))

/** A stop word never starts a phrase: "do" must not read as "DoS", whose stem it shares. */
const synonymsOfStems = (
  cleaned: ReadonlyArray<string>,
  stems: ReadonlyArray<string>,
  includeSpelled = false
): Array<string> => {
  const found: Array<string> = []
  const nextFree = new Map<number, number>()
  stems.forEach((stem, i) => {
    const phrases = PHRASES_BY_FIRST_STEM.get(stem)
    if (phrases === undefined || STOP_WORDS.has(cleaned[i]!)) return
    for (const phrase of phrases) {
      if ((nextFree.get(phrase.group) ?? 0) > i) continue
      if (!phrase.stems.every((s, k) => stems[i + k] === s)) continue
      nextFree.set(phrase.group, i + phrase.stems.length)
      const canonical = CANONICAL_TERMS[phrase.group]!
      if (includeSpelled || !(phrase.stems.length === 1 && phrase.stems[0] === canonical)) found.push(canonical)
    }
  })
  return found
}

/**
 * The terms of a text, in order, with repeats (BM25 needs term frequencies), followed by the
 * canonical synonym tokens it contains.
 */
export const analyze = (text: string): Array<string> => {
  const cleaned = cleanWords(text)
  const stems = cleaned.map(stemOf)
  const terms: Array<string> = []
  cleaned.forEach((w, i) => {
    if (isIndexable(w)) terms.push(stems[i]!)
  })
  for (const token of synonymsOfStems(cleaned, stems)) terms.push(token)
  return terms
}

/** The distinct terms of a text: what overlap checks compare. */
export const contentTerms = (text: string): Set<string> => new Set(analyze(text))

/**
 * A broader form of a query: the text plus every phrase of each synonym group it touches, so
 * a retry also finds passages that spell the concept differently.
 */
export const expandQuery = (query: string): string => {
  const terms = new Set(salientTerms(query))
  const extra = SECURITY_SYNONYMS.filter((_, i) => terms.has(CANONICAL_TERMS[i]!)).flatMap((g) => g.phrases)
  return extra.length === 0 ? query : `${query} ${extra.join(" ")}`
}

const ACRONYM = /\b[A-Z][A-Z0-9]{1,7}s?\b/g
const IDENTIFIER = /[\p{L}\p{N}]*[_\d][\p{L}\p{N}_]*/gu

/**
 * The query terms that name the topic most precisely: acronyms (IDOR, XXE, CWE), identifiers
 * with digits or underscores (attack_type, m_sqli, 17, 9443) and security synonyms. Retrieval
 * weighs them above the question's ordinary words.
 */
export const salientTerms = (query: string): Set<string> => {
  const cleaned = cleanWords(query)
  const salient = new Set<string>(synonymsOfStems(cleaned, cleaned.map(stemOf), true))
  for (const match of [...(query.match(ACRONYM) ?? []), ...(query.match(IDENTIFIER) ?? [])]) {
    for (const term of analyze(match)) salient.add(term)
  }
  return salient
}
