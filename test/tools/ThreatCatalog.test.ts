// The bundled threat data: every SafeLine attack_type covered, OWASP Top 10 2021 categories and
// CWE/CVE ids well-formed and cross-referenced, and lookups by every kind of query.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ATTACK_TYPE_CODES } from "../../src/safeline/AttackTypes.js"
import { makeThreatCatalog, THREAT_DATA_PATH, ThreatCatalog, ThreatData } from "../../src/tools/ThreatCatalog.js"

const data = Schema.decodeUnknownSync(ThreatData)(JSON.parse(readFileSync(THREAT_DATA_PATH, "utf8")))
const catalog = makeThreatCatalog(data)

const OWASP_2021 = [
  "A01:2021-Broken Access Control",
  "A02:2021-Cryptographic Failures",
  "A03:2021-Injection",
  "A04:2021-Insecure Design",
  "A05:2021-Security Misconfiguration",
  "A06:2021-Vulnerable and Outdated Components",
  "A07:2021-Identification and Authentication Failures",
  "A08:2021-Software and Data Integrity Failures",
  "A09:2021-Security Logging and Monitoring Failures",
  "A10:2021-Server-Side Request Forgery (SSRF)",
  "N/A"
]

describe("the threat data", () => {
  it("describes every attack_type SafeLine reports, once", () => {
    expect(data.attackTypes.map((e) => e.attackType)).toEqual(ATTACK_TYPE_CODES)
  })

  it("uses OWASP Top 10 2021 categories, with the right ones for the classic classes", () => {
    for (const entry of data.attackTypes) expect(OWASP_2021).toContain(entry.owasp)
    const owasp = (code: number) => catalog.byAttackType(code)!.owasp
    expect(owasp(0)).toBe("A03:2021-Injection")
    expect(owasp(1)).toBe("A03:2021-Injection")
    expect(owasp(9)).toBe("A03:2021-Injection")
    expect(owasp(2)).toBe("A01:2021-Broken Access Control")
    expect(owasp(20)).toBe("A01:2021-Broken Access Control")
    expect(owasp(3)).toBe("A10:2021-Server-Side Request Forgery (SSRF)")
    expect(owasp(6)).toBe("A08:2021-Software and Data Integrity Failures")
    expect(owasp(17)).toBe("A05:2021-Security Misconfiguration")
    expect(owasp(10)).toBe("A04:2021-Insecure Design")
  })

  it("names every CWE and CVE it cites, with well-formed ids", () => {
    for (const entry of data.attackTypes) {
      for (const cwe of entry.cwe) {
        expect(cwe).toMatch(/^CWE-\d+$/)
        expect(data.cwes[cwe]).toBeTruthy()
      }
      for (const cve of entry.exampleCves) {
        expect(cve).toMatch(/^CVE-\d{4}-\d{4,}$/)
        expect(data.cves[cve]).toBeTruthy()
      }
      if (entry.attackType >= 0) expect(entry.remediation.length).toBeGreaterThanOrEqual(2)
    }
    const cited = new Set(data.attackTypes.flatMap((e) => e.exampleCves))
    expect(Object.keys(data.cves).filter((id) => !cited.has(id))).toEqual([])
    expect(catalog.byAttackType(7)!.exampleCves).toContain("CVE-2021-44228")
    expect(catalog.byAttackType(9)!.exampleCves).toContain("CVE-2014-6271")
    expect(catalog.byAttackType(0)!.cwe).toEqual(["CWE-89"])
    expect(catalog.byAttackType(1)!.cwe).toEqual(["CWE-79"])
    expect(catalog.byAttackType(3)!.cwe).toEqual(["CWE-918"])
    expect(catalog.byAttackType(20)!.cwe).toEqual(["CWE-22"])
  })
})

describe("lookups", () => {
  const names = (query: string) => catalog.lookup(query).map((t) => t.name)

  it.each([
    ["CWE-89", "SQL injection"],
    ["cwe 79", "Cross-site scripting (XSS)"],
    ["0", "SQL injection"],
    ["-3", "Blacklisted source"],
    ["20", "Path traversal"],
    ["CVE-2021-44228", "Remote code execution"],
    ["what is cve-2014-6271?", "OS command injection"],
    ["sql injection", "SQL injection"],
    ["SQLi", "SQL injection"],
    ["xss", "Cross-site scripting (XSS)"],
    ["log4shell", "Remote code execution"],
    ["shellshock", "OS command injection"],
    ["ssrf", "Server-side request forgery (SSRF)"],
    ["deserializ", "Insecure deserialization"],
    ["template injection", "Server-side template injection (SSTI)"],
    ["file inclu", "File inclusion"],
    ["directory traversal", "Path traversal"],
    ["dos", "Denial of service"],
    ["rce", "Remote code execution"],
    ["code execution", "Remote code execution"],
    ["code injection", "Code injection"],
    ["upload", "Malicious file upload"],
    ["xxe", "XML external entity (XXE)"],
    ["crlf", "CRLF injection"],
    ["open redirect", "Open redirect"],
    ["scanner", "Scanner / reconnaissance"],
    ["backdoor", "Backdoor / web shell"],
    ["Heartbleed", "Information leak"]
  ])("%s finds %s first", (query, name) => {
    expect(names(query)[0]).toBe(name)
  })

  it("answers 'cross-site' with both XSS and CSRF", () => {
    expect(names("cross-site").slice(0, 2).sort()).toEqual([
      "Cross-site request forgery (CSRF)",
      "Cross-site scripting (XSS)"
    ])
  })

  it("returns nothing for what it does not know, rather than a guess", () => {
    expect(catalog.lookup("CVE-1999-0001")).toEqual([])
    expect(catalog.lookup("CWE-1")).toEqual([])
    expect(catalog.lookup("13")).toEqual([])
    expect(catalog.lookup("   ")).toEqual([])
    expect(catalog.lookup("the weather in Paris")).toEqual([])
  })

  it("carries CWE names and CVE titles with the ids", () => {
    const [sqli] = catalog.lookup("CWE-89")
    expect(sqli!.cweDetails[0]!.name).toContain("SQL Injection")
    expect(sqli!.cveDetails.find((c) => c.id === "CVE-2023-34362")!.title).toContain("MOVEit")
  })

  it.effect("the layer loads the bundled file", () =>
    Effect.gen(function* () {
      const loaded = yield* ThreatCatalog
      expect(loaded.all).toHaveLength(ATTACK_TYPE_CODES.length)
    }).pipe(Effect.provide(ThreatCatalog.layer))
  )

  it.effect("answers a CVE from the bundled CISA KEV catalog, and says when one is not in it", () =>
    Effect.gen(function* () {
      const loaded = yield* ThreatCatalog
      expect(loaded.kevCatalogVersion).toBe("2025.08.25")
      const log4shell = loaded.kev("cve-2021-44228")
      expect(log4shell.entry).toMatchObject({
        cveId: "CVE-2021-44228",
        vendor: "Apache",
        product: "Log4j2",
        dateAdded: "2021-12-10",
        knownRansomwareUse: "Known",
        cwes: ["CWE-20", "CWE-400", "CWE-502"]
      })
      expect(log4shell.entry!.requiredAction).toContain("Apply updates")
      // Its CWEs and our indicators map to what SafeLine classifies: RCE, deserialization, DoS, HTTP violations.
      expect([...log4shell.signature.attackTypes].sort((a, b) => a - b)).toEqual([4, 6, 7, 35])
      expect(log4shell.signature.patterns).toContain("${jndi:")
      const unknown = loaded.kev("CVE-2099-0001")
      expect(unknown.entry).toBeUndefined()
      expect(unknown).toMatchObject({ catalogVersion: "2025.08.25", dateReleased: "2025-08-25" })
      // A KEV CVE with no indicators of ours still maps through its CWE (CWE-78: OS command injection).
      expect(loaded.kev("CVE-2014-6271").classes.map((c) => c.attackType)).toContain(9)
    }).pipe(Effect.provide(ThreatCatalog.layer))
  )
})
