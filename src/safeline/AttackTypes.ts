// The `attack_type` codes SafeLine reports in detection records (SAFELINE_API.md), with the
// short names the agents print; shared by the client summaries, the simulator and the threat data.

export const ATTACK_TYPE_NAMES: Readonly<Record<number, string>> = {
  [-3]: "blacklist",
  [-2]: "whitelist",
  [-1]: "non-attack",
  0: "SQL injection",
  1: "XSS",
  2: "CSRF",
  3: "SSRF",
  4: "DoS",
  5: "backdoor",
  6: "deserialization",
  7: "code execution",
  8: "code injection",
  9: "command injection",
  10: "file upload",
  11: "file inclusion",
  12: "open redirect",
  14: "information leak",
  17: "XXE",
  20: "path traversal",
  21: "scanner",
  28: "CRLF injection",
  29: "SSTI",
  35: "HTTP protocol violation"
}

/** Every code SafeLine documents, ascending. */
export const ATTACK_TYPE_CODES: ReadonlyArray<number> = Object.keys(ATTACK_TYPE_NAMES)
  .map(Number)
  .sort((a, b) => a - b)

/** A code's short name; codes this table does not know keep their number visible. */
export const attackTypeName = (code: number): string => ATTACK_TYPE_NAMES[code] ?? `attack type ${code}`
