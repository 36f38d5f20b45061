// The offline reasoner's Self-RAG draft and critic, without a model: the draft extracts the
// passages' sentences that best overlap the question, each cited `[n]`; the critic checks that
// the cited sentences are supported and that the evidence covers the question's key terms.
import { boundedMemo } from "../domain/BoundedMemo.js"
import { citedSentences, parseCitations, passageTerms, supports } from "../knowledge/Citations.js"
import { analyze, contentTerms, salientTerms, words } from "../knowledge/TextAnalyzer.js"
import type { Critique, CritiqueRequest, DraftRequest } from "./Reasoner.js"

/** Words that say a question is a question, not what it is about (stemmed forms). */
const QUESTION_WORDS: ReadonlySet<string> = new Set(
  analyze(
    `help helps helping work works working worked problem problems issue issues thing things stuff something anything
    question questions please broken wrong happen happens happened tell know need want explain info information fix
    check make get go see look thanks thank hi hello hey ok okay can could would like use using anyone somebody
    someone solve sort say mean means meaning stand stands correspond corresponds refer refers`
  )
)
/** Words every document shares: they say nothing about whether a passage answers the question. */
const CORPUS_WORDS: ReadonlySet<string> = new Set(analyze("SafeLine"))

const without = (terms: Set<string>, ...excluded: ReadonlyArray<ReadonlySet<string>>) => {
  for (const set of excluded) for (const t of set) terms.delete(t)
  return terms
}

/** The terms a question is about, for judging evidence: content terms minus question and corpus words. */
export const keyTerms = (question: string): Set<string> => without(contentTerms(question), QUESTION_WORDS, CORPUS_WORDS)

/**
 * Terms naming something specific: acronyms, identifiers, security synonyms, and capitalised
 * words inside the sentence (Slack, Kubernetes). If the passages never mention one, they are
 * about something else.
 */
const namedTerms = (question: string): Set<string> => {
  const named = salientTerms(question)
  for (const sentence of question.split(/(?<=[.!?])\s+/)) {
    const tokens = sentence.match(/[\p{L}\p{N}_'-]+/gu) ?? []
    for (const token of tokens.slice(1)) {
      if (/^\p{Lu}/u.test(token)) for (const t of analyze(token)) named.add(t)
    }
  }
  return without(named, QUESTION_WORDS)
}

const entityTerms = (question: string): Set<string> => without(namedTerms(question), CORPUS_WORDS)

/** Too vague to search for: no key term at all, or one ordinary (unnamed) word in a tiny question. */
export const isVagueQuestion = (question: string): boolean => {
  const key = without(contentTerms(question), QUESTION_WORDS)
  if (key.size === 0) return true
  return key.size === 1 && words(question).length <= 3 && namedTerms(question).size === 0
}

// ---------------------------------------------------------------------------------------------
// Draft

interface Unit {
  readonly position: number
  readonly text: string
  /** Its content terms (shared between turns: never to be changed). */
  readonly terms: ReadonlySet<string>
}

const FENCE = /^\s*(```|~~~)/

/** A passage as readable units: sentences of paragraphs, list items, table rows; code stays with the line before it. */
const unitsOf = (text: string): Array<Unit> => {
  const units: Array<string> = []
  let paragraph: Array<string> = []
  let code: Array<string> | undefined
  let lastWasTableRow = false
  const flushParagraph = () => {
    if (paragraph.length > 0) units.push(...paragraph.join(" ").split(/(?<=[.!?])\s+(?=[A-Z`"(*])/))
    paragraph = []
  }
  for (const line of text.split("\n")) {
    const afterTableRow = lastWasTableRow
    lastWasTableRow = false
    if (code !== undefined) {
      code.push(line)
      if (FENCE.test(line)) {
        const block = code.join("\n")
        // A code block belongs to the sentence introducing it ("... with:"), else it stands alone.
        if (units.length > 0 && /:\s*$/.test(units[units.length - 1]!)) units[units.length - 1] += `\n${block}`
        else units.push(block)
        code = undefined
      }
      continue
    }
    if (FENCE.test(line)) {
      flushParagraph()
      code = [line]
      continue
    }
    const trimmed = line.trim()
    if (trimmed === "") flushParagraph()
    else if (/^\|?\s*:?-{3,}/.test(trimmed)) {
      // A table's separator row: the row before it was the header, not content.
      if (afterTableRow) units.pop()
    } else if (trimmed.startsWith("|")) {
      flushParagraph()
      units.push(tableRow(trimmed))
      lastWasTableRow = true
    } else if (/^([-*+]|\d+[.)])\s+/.test(trimmed)) {
      // A list item is a paragraph of its own; its continuation lines join it below.
      flushParagraph()
      paragraph.push(trimmed.replace(/^([-*+]|\d+[.)])\s+/, ""))
    } else paragraph.push(trimmed)
  }
  flushParagraph()
  return units
    .map((u) => u.trim())
    .filter((u) => u.length >= 12)
    .map((u, position) => ({ position, text: u, terms: contentTerms(u) }))
}

/**
 * Units already split and analyzed, by passage text: passages are the corpus's chunks, so every
 * documentation turn drafts from the same few hundred texts. Bounded like the critic's passage
 * terms: past the bound a passage is split afresh.
 */
const MAX_DRAFT_PASSAGES = 1024
const unitsOfPassage = boundedMemo(MAX_DRAFT_PASSAGES, unitsOf)

const tableRow = (row: string) =>
  row
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim())
    .filter((c) => c !== "")
    .join(": ")

/** Appends the marker before the unit's final full stop (or at the end of its first line, or after a code block). */
const cite = (unit: string, n: number): string => {
  if (FENCE.test(unit)) return `${unit}\n[${n}]`
  const [first, ...rest] = unit.split("\n")
  const line = /[.!?:;]$/.test(first!) ? `${first!.slice(0, -1)} [${n}]${first!.slice(-1)}` : `${first} [${n}]`
  return [line, ...rest].join("\n")
}

const MAX_UNITS = 3

/** Best sentences of the passages by overlap with the question, each cited `[n]`. */
export const offlineDraft = (request: DraftRequest): string => {
  if (request.passages.length === 0) return "The documentation I have does not cover this."
  // Sentence choice may use the corpus words too ("What is SafeLine?" is about SafeLine).
  const key = without(contentTerms(request.question), QUESTION_WORDS)
  const salient = salientTerms(request.question)
  const scored = request.passages.flatMap((passage, i) => {
    const headingTerms = contentTerms(passage.section)
    const headingBonus = [...key].filter((t) => headingTerms.has(t)).length * 0.25
    return unitsOfPassage(passage.text).map((unit) => {
      let score = 0
      for (const t of key) if (unit.terms.has(t)) score += salient.has(t) ? 2 : 1
      // Retrieval ranked earlier passages higher; a matching heading says the whole section is on topic.
      return { unit, passage: i, score: score === 0 ? 0 : (score + headingBonus) / (1 + 0.25 * i) }
    })
  })
  const best = Math.max(0, ...scored.map((s) => s.score))
  if (best === 0) return "The passages do not answer this question directly."
  const chosen = scored
    .filter((s) => s.score >= best * 0.6)
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_UNITS)
    .sort((a, b) => a.passage - b.passage || a.unit.position - b.unit.position)
  const lines = chosen.map((s) => cite(s.unit.text, s.passage + 1))
  // Bullets for several points; a code block keeps its fence at the start of the line.
  return lines.length === 1 ? lines[0]! : lines.map((l) => (FENCE.test(l) ? l : `- ${l}`)).join("\n")
}

// ---------------------------------------------------------------------------------------------
// Critique

/** Share of the question's key terms the best cited passage must contain. */
const MIN_COVERAGE = 0.5

export const offlineCritique = (request: CritiqueRequest): Critique => {
  if (isVagueQuestion(request.question)) return { decision: "CLARIFY", reason: "ambiguous_question" }
  if (request.passages.length === 0) return { decision: "ESCALATE", reason: "no_evidence" }
  const cited = parseCitations(request.draft).filter((n) => n >= 1 && n <= request.passages.length)
  if (cited.length === 0) return { decision: "RETRY", reason: "insufficient_evidence" }
  const termsOf = request.passages.map(passageTerms)
  for (const sentence of citedSentences(request.draft)) {
    if (sentence.citations.length === 0) continue
    const terms = contentTerms(sentence.text)
    if (sentence.citations.some((n) => termsOf[n - 1] === undefined || !supports(terms, termsOf[n - 1]!))) {
      return { decision: "RETRY", reason: "unsupported_citation" }
    }
  }
  // Something the question names that no passage mentions: the evidence is about something else.
  const anywhere = new Set(termsOf.flatMap((t) => [...t]))
  if ([...entityTerms(request.question)].some((t) => !anywhere.has(t))) {
    return { decision: "RETRY", reason: "insufficient_evidence" }
  }
  // One cited passage must address the question by itself: scattered word matches across
  // passages ("license" here, "cost" there) are not an answer.
  const key = [...keyTerms(request.question)]
  const coverage = (terms: ReadonlySet<string>) =>
    key.length === 0 ? 1 : key.filter((t) => terms.has(t)).length / key.length
  const best = Math.max(...cited.map((n) => coverage(termsOf[n - 1]!)))
  return best >= MIN_COVERAGE
    ? { decision: "FINAL", reason: "grounded" }
    : { decision: "RETRY", reason: "insufficient_evidence" }
}
