// Citations in a drafted answer: which passages `[n]` a draft cites, sentence by sentence, and
// whether each cited passage really shares content with the sentence citing it (term overlap
// after stop-word removal and stemming). Shared by the Self-RAG guardrail and the offline critic.
import { boundedMemo } from "../domain/BoundedMemo.js"
import type { Passage } from "./Passage.js"
import { contentTerms } from "./TextAnalyzer.js"

const MARKER = /\[(\d+(?:\s*,\s*\d+)*)\]/g
const ONLY_MARKERS = /^(?:\s*\[\d+(?:\s*,\s*\d+)*\]\s*[.,;:]?)+\s*$/

export interface CitedSentence {
  /** The sentence without its markers. */
  readonly text: string
  readonly citations: ReadonlyArray<number>
}

const FENCE = /^\s*(```|~~~)/

/** The draft's lines, a fenced code block counting as one line. */
const linesWithCodeBlocks = (draft: string): Array<string> => {
  const lines: Array<string> = []
  let block: Array<string> | undefined
  for (const line of draft.split("\n")) {
    if (block !== undefined) {
      block.push(line)
      if (FENCE.test(line)) {
        lines.push(block.join(" "))
        block = undefined
      }
    } else if (FENCE.test(line)) block = [line]
    else lines.push(line)
  }
  if (block !== undefined) lines.push(block.join(" "))
  return lines
}

/** Citation numbers in prose: brackets inside code (`[7]`, a JSON array) are not citations. */
const numbersIn = (text: string): Array<number> =>
  FENCE.test(text)
    ? []
    : [...text.replace(/`[^`]*`/g, "").matchAll(MARKER)].flatMap((m) => m[1]!.split(",").map((n) => Number(n.trim())))

/** Every passage number the draft cites, once each, in order of first citation. */
export const parseCitations = (draft: string): Array<number> => [
  ...new Set(citedSentences(draft).flatMap((s) => s.citations))
]

/**
 * The draft split into sentences (and list items, and lines), each with the numbers it cites; a
 * marker standing after the full stop ("... policy. [2]") belongs to the sentence before it.
 */
export const citedSentences = (draft: string): Array<CitedSentence> => {
  const pieces = linesWithCodeBlocks(draft)
    .flatMap((line) => (FENCE.test(line) ? [line] : line.split(/(?<=[.!?])\s+(?=\S)/)))
    .map((p) => p.trim())
    .filter((p) => p !== "")
  const sentences: Array<{ text: string; citations: Array<number> }> = []
  for (const piece of pieces) {
    const last = sentences[sentences.length - 1]
    if (ONLY_MARKERS.test(piece) && last !== undefined) last.citations.push(...numbersIn(piece))
    else {
      const text = FENCE.test(piece)
        ? piece
        : piece
            .replace(MARKER, "")
            .replace(/\s+([.,;:!?])/g, "$1")
            .trim()
      sentences.push({ text, citations: numbersIn(piece) })
    }
  }
  return sentences.map((s) => ({ text: s.text, citations: [...new Set(s.citations)] }))
}

/**
 * Passage terms already computed, by the analyzed text: passages are the corpus's chunks, so the
 * critic and the guardrail of every documentation turn analyze the same few hundred texts.
 * Bounded for passages from elsewhere (tests, tools): past the bound they are analyzed afresh.
 */
const MAX_PASSAGE_TERMS = 1024
const termsOfText = boundedMemo(MAX_PASSAGE_TERMS, (text: string): ReadonlySet<string> => contentTerms(text))

/** The terms a passage can support: its text and its heading path (shared: never to be changed). */
export const passageTerms = (passage: Passage): ReadonlySet<string> =>
  termsOfText(`${passage.section}\n${passage.text}`)

/**
 * A cited passage supports a sentence when they share at least two terms (one for a sentence of
 * one or two terms) and at least a fifth of the sentence's terms.
 */
export const supports = (sentenceTerms: ReadonlySet<string>, passage: ReadonlySet<string>): boolean => {
  if (sentenceTerms.size === 0) return false
  let shared = 0
  for (const term of sentenceTerms) if (passage.has(term)) shared++
  return shared >= Math.min(2, sentenceTerms.size) && shared / sentenceTerms.size >= 0.2
}

export type CitationVerdict = "grounded" | "missing_citations" | "citation_out_of_range" | "unsupported_citation"

export interface CitationCheck {
  readonly ok: boolean
  readonly verdict: CitationVerdict
  /** Distinct passage numbers cited, in order. */
  readonly citations: ReadonlyArray<number>
  /** Citations outside 1..passages.length. */
  readonly outOfRange: ReadonlyArray<number>
  /** (sentence, citation) pairs whose passage does not share enough content with the sentence. */
  readonly unsupported: ReadonlyArray<{ readonly sentence: string; readonly citation: number }>
}

/**
 * The citation guardrail: at least `minCitations` distinct citations, every one in range, and
 * every cited passage sharing content with the sentence that cites it.
 */
export const checkCitations = (
  draft: string,
  passages: ReadonlyArray<Passage>,
  minCitations: number
): CitationCheck => {
  // The draft is split once: parseCitations would split it again.
  const sentences = citedSentences(draft)
  const citations = [...new Set(sentences.flatMap((s) => s.citations))]
  const outOfRange = citations.filter((n) => !Number.isInteger(n) || n < 1 || n > passages.length)
  const termsOf = new Map<number, ReadonlySet<string>>()
  const unsupported: Array<{ sentence: string; citation: number }> = []
  for (const sentence of sentences) {
    if (sentence.citations.length === 0) continue
    const terms = contentTerms(sentence.text)
    for (const n of sentence.citations) {
      const passage = passages[n - 1]
      if (passage === undefined) continue
      let known = termsOf.get(n)
      if (known === undefined) {
        known = passageTerms(passage)
        termsOf.set(n, known)
      }
      if (!supports(terms, known)) unsupported.push({ sentence: sentence.text.slice(0, 200), citation: n })
    }
  }
  const verdict: CitationVerdict =
    citations.length < minCitations
      ? "missing_citations"
      : outOfRange.length > 0
        ? "citation_out_of_range"
        : unsupported.length > 0
          ? "unsupported_citation"
          : "grounded"
  return { ok: verdict === "grounded", verdict, citations, outOfRange, unsupported }
}
