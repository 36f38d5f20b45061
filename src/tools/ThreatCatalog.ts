// The bundled threat data: every SafeLine attack_type with its CWEs, OWASP Top 10 2021 category,
// severity, remediation and example CVEs (data/threat/attack-types.json), looked up by CWE, CVE,
// attack-type number or name, or free text; and the CISA Known Exploited Vulnerabilities catalog
// (data/threat/cisa-kev/, CC0) with our request indicators for a few of its CVEs.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Context, Effect, Layer, Schema } from "effect"
import { packageRoot } from "../config/DataPaths.js"

const Severity = Schema.Literal("critical", "high", "medium", "low", "info")

const AttackTypeEntry = Schema.Struct({
  attackType: Schema.Number,
  name: Schema.String,
  aliases: Schema.Array(Schema.String),
  modules: Schema.Array(Schema.String),
  cwe: Schema.Array(Schema.String),
  owasp: Schema.String,
  severity: Severity,
  description: Schema.String,
  remediation: Schema.Array(Schema.String),
  exampleCves: Schema.Array(Schema.String)
})
type AttackTypeEntry = typeof AttackTypeEntry.Type

export const ThreatData = Schema.Struct({
  owaspEdition: Schema.Literal("2021"),
  attackTypes: Schema.Array(AttackTypeEntry),
  cwes: Schema.Record({ key: Schema.String, value: Schema.String }),
  cves: Schema.Record({ key: Schema.String, value: Schema.String })
})
export type ThreatData = typeof ThreatData.Type

export interface ThreatInfo {
  /** The SafeLine attack_type this describes; null for an entry not tied to one. */
  readonly attackType: number | null
  readonly name: string
  readonly cwe: ReadonlyArray<string>
  /** e.g. "A03:2021-Injection"; "N/A" when no Top 10 2021 category applies. */
  readonly owasp: string
  readonly severity: "critical" | "high" | "medium" | "low" | "info"
  readonly description: string
  readonly remediation: ReadonlyArray<string>
  readonly exampleCves: ReadonlyArray<string>
  /** The CWE ids with their official names. */
  readonly cweDetails: ReadonlyArray<{ readonly id: string; readonly name: string }>
  /** The example CVEs with what they are. */
  readonly cveDetails: ReadonlyArray<{ readonly id: string; readonly title: string }>
}

export const THREAT_DATA_PATH = join(packageRoot, "data", "threat", "attack-types.json")
export const KEV_CATALOG_PATH = join(packageRoot, "data", "threat", "cisa-kev", "known_exploited_vulnerabilities.json")
export const KEV_INDICATORS_PATH = join(packageRoot, "data", "threat", "kev-indicators.json")

const KevVulnerability = Schema.Struct({
  cveID: Schema.String,
  vendorProject: Schema.String,
  product: Schema.String,
  vulnerabilityName: Schema.String,
  dateAdded: Schema.String,
  shortDescription: Schema.String,
  requiredAction: Schema.String,
  dueDate: Schema.String,
  knownRansomwareCampaignUse: Schema.String,
  notes: Schema.String,
  cwes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})

/** The CISA KEV catalog file, as published (the fields we use). */
export const KevCatalogData = Schema.Struct({
  catalogVersion: Schema.String,
  dateReleased: Schema.String,
  count: Schema.Number,
  vulnerabilities: Schema.Array(KevVulnerability)
})
export type KevCatalogData = typeof KevCatalogData.Type

export const KevIndicatorData = Schema.Struct({
  cves: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ attackTypes: Schema.Array(Schema.Number), patterns: Schema.Array(Schema.String) })
  })
})
export type KevIndicatorData = typeof KevIndicatorData.Type

/** One KEV entry as the tools give it. */
export interface KevEntry {
  readonly cveId: string
  readonly name: string
  readonly vendor: string
  readonly product: string
  readonly dateAdded: string
  readonly description: string
  readonly requiredAction: string
  readonly dueDate: string
  /** "Known" or "Unknown", as CISA says. */
  readonly knownRansomwareUse: string
  readonly cwes: ReadonlyArray<string>
  readonly notes: string
}

/** What "are we seeing it?" looks for in SafeLine's records: attack classes and request substrings. */
export interface KevEvidenceSignature {
  /** SafeLine attack_type codes the CVE's CWEs (and our indicators) map to. */
  readonly attackTypes: ReadonlyArray<number>
  /** Case-insensitive substrings of a record's payload or path (from kev-indicators.json). */
  readonly patterns: ReadonlyArray<string>
}

export interface KevLookup {
  readonly catalogVersion: string
  readonly dateReleased: string
  readonly entry: KevEntry | undefined
  readonly signature: KevEvidenceSignature
  /** The attack classes of `signature.attackTypes`, with their CWE, OWASP and remediation. */
  readonly classes: ReadonlyArray<ThreatInfo>
}

/**
 * CWEs the KEV catalog uses that no attack_type lists itself but whose requests SafeLine
 * classifies: input validation (HTTP violations), injection families, traversal variants.
 */
const EXTRA_CWE_CLASSES: Readonly<Record<string, ReadonlyArray<number>>> = {
  "CWE-20": [35],
  "CWE-74": [0, 8, 9],
  "CWE-77": [9],
  "CWE-23": [20],
  "CWE-36": [20],
  "CWE-73": [20, 11],
  "CWE-917": [7],
  "CWE-1321": [8]
}

const EMPTY_KEV: KevCatalogData = { catalogVersion: "none", dateReleased: "", count: 0, vulnerabilities: [] }

const STOPWORDS = new Set([
  "the",
  "and",
  "for",
  "what",
  "how",
  "about",
  "with",
  "this",
  "that",
  "are",
  "is",
  "tell",
  "attack",
  "attacks",
  "vulnerability",
  "explain",
  "does",
  "mean",
  "from",
  "cve",
  "cwe"
])
const MAX_RESULTS = 5

const normalize = (text: string) => text.toLowerCase().replace(/\s+/g, " ").trim()
const tokens = (text: string) =>
  normalize(text)
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length >= 3 && !STOPWORDS.has(t))

/** The lookups over one data set; pure, so tests can build it from any data. */
export const makeThreatCatalog = (
  data: ThreatData,
  kevData: KevCatalogData = EMPTY_KEV,
  indicators: KevIndicatorData = { cves: {} }
) => {
  const toInfo = (entry: AttackTypeEntry): ThreatInfo => ({
    attackType: entry.attackType,
    name: entry.name,
    cwe: entry.cwe,
    owasp: entry.owasp,
    severity: entry.severity,
    description: entry.description,
    remediation: entry.remediation,
    exampleCves: entry.exampleCves,
    cweDetails: entry.cwe.map((id) => ({ id, name: data.cwes[id] ?? "" })),
    cveDetails: entry.exampleCves.map((id) => ({ id, title: data.cves[id] ?? "" }))
  })
  const entries = data.attackTypes
  const searchable = entries.map((entry) => ({
    entry,
    phrases: [entry.name, ...entry.aliases].map(normalize),
    cveTitles: entry.exampleCves.map((id) => normalize(data.cves[id] ?? "")),
    words: new Set(
      tokens(
        [
          entry.name,
          ...entry.aliases,
          entry.description,
          ...entry.cwe.map((id) => data.cwes[id] ?? ""),
          ...entry.exampleCves.map((id) => data.cves[id] ?? "")
        ].join(" ")
      )
    )
  }))

  const byAttackType = (code: number): ThreatInfo | undefined => {
    const entry = entries.find((e) => e.attackType === code)
    return entry === undefined ? undefined : toInfo(entry)
  }

  const freeText = (query: string): Array<ThreatInfo> => {
    const q = normalize(query)
    const queryTokens = tokens(q)
    const scored = searchable.map(({ entry, phrases, cveTitles, words }) => {
      let score = 0
      if (phrases.includes(q)) score += 100
      else if (q.length >= 3 && phrases.some((p) => p.includes(q))) score += 60
      else if (
        phrases.some((p) => p.length >= 3 && new RegExp(`(^|[^a-z0-9])${escapeRegExp(p)}($|[^a-z0-9])`).test(q))
      ) {
        score += 50
      }
      if (q.length >= 4 && cveTitles.some((t) => t.includes(q))) score += 40
      for (const t of queryTokens) if (words.has(t)) score += 5
      // Policy outcomes (blacklist, whitelist, non-attack) answer only when named.
      if (entry.attackType < 0 && score < 50) score = 0
      return { entry, score }
    })
    return scored
      .filter((s) => s.score >= 10)
      .sort((a, b) => b.score - a.score || a.entry.attackType - b.entry.attackType)
      .slice(0, MAX_RESULTS)
      .map((s) => toInfo(s.entry))
  }

  const lookup = (query: string): ReadonlyArray<ThreatInfo> => {
    const q = query.trim()
    if (q === "") return []
    if (/^-?\d+$/.test(q)) {
      const found = byAttackType(Number(q))
      return found === undefined ? [] : [found]
    }
    const cves = [...q.matchAll(/\bcve-\d{4}-\d{4,}\b/gi)].map((m) => m[0].toUpperCase())
    const cwes = [...q.matchAll(/\bcwe[-\s]?(\d+)\b/gi)].map((m) => `CWE-${m[1]}`)
    if (cves.length > 0 || cwes.length > 0) {
      return entries
        .filter((e) => e.exampleCves.some((id) => cves.includes(id)) || e.cwe.some((id) => cwes.includes(id)))
        .map(toInfo)
    }
    return freeText(q)
  }

  const kevById = new Map(kevData.vulnerabilities.map((v) => [v.cveID.toUpperCase(), v]))
  /** The attack classes a set of CWEs maps to, through attack-types.json and EXTRA_CWE_CLASSES. */
  const classesOfCwes = (cwes: ReadonlyArray<string>): Array<number> => {
    const codes = new Set<number>()
    for (const cwe of cwes) {
      for (const e of entries) if (e.attackType >= 0 && e.cwe.includes(cwe)) codes.add(e.attackType)
      for (const code of EXTRA_CWE_CLASSES[cwe] ?? []) codes.add(code)
    }
    return [...codes].sort((a, b) => a - b)
  }
  const kev = (cveId: string): KevLookup => {
    const id = cveId.trim().toUpperCase()
    const v = kevById.get(id)
    const extra = indicators.cves[id]
    const attackTypes = [...new Set([...(extra?.attackTypes ?? []), ...classesOfCwes(v?.cwes ?? [])])]
    const entry: KevEntry | undefined =
      v === undefined
        ? undefined
        : {
            cveId: v.cveID,
            name: v.vulnerabilityName,
            vendor: v.vendorProject,
            product: v.product,
            dateAdded: v.dateAdded,
            description: v.shortDescription,
            requiredAction: v.requiredAction,
            dueDate: v.dueDate,
            knownRansomwareUse: v.knownRansomwareCampaignUse,
            cwes: v.cwes,
            notes: v.notes
          }
    return {
      catalogVersion: kevData.catalogVersion,
      dateReleased: kevData.dateReleased.slice(0, 10),
      entry,
      signature: { attackTypes, patterns: extra?.patterns ?? [] },
      classes: attackTypes.flatMap((code) => {
        const info = byAttackType(code)
        return info === undefined ? [] : [info]
      })
    }
  }

  return {
    lookup,
    kev,
    kevCatalogVersion: kevData.catalogVersion,
    byAttackType,
    all: entries.map(toInfo),
    owaspEdition: data.owaspEdition
  } as const
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

export type ThreatCatalogService = ReturnType<typeof makeThreatCatalog>

/** One bundled JSON file, checked against its schema; a broken bundle is a bug, so a defect. */
const readBundled = <A, I>(path: string, schema: Schema.Schema<A, I>) =>
  Effect.try(() => JSON.parse(readFileSync(path, "utf8")) as unknown).pipe(
    Effect.flatMap(Schema.decodeUnknown(schema)),
    Effect.orDieWith((error) => new Error(`The bundled threat data ${path} is unreadable: ${String(error)}`))
  )

export class ThreatCatalog extends Context.Tag("security-agent/ThreatCatalog")<ThreatCatalog, ThreatCatalogService>() {
  /** Reads and checks the bundled data once; a broken bundle is a bug, so it fails the layer as a defect. */
  static readonly layer = Layer.effect(
    ThreatCatalog,
    Effect.all([
      readBundled(THREAT_DATA_PATH, ThreatData),
      readBundled(KEV_CATALOG_PATH, KevCatalogData),
      readBundled(KEV_INDICATORS_PATH, KevIndicatorData)
    ]).pipe(Effect.map(([data, kev, indicators]) => makeThreatCatalog(data, kev, indicators)))
  )
}
