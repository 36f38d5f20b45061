// The mix `security-agent traffic` sends: half benign browsing, half classic attacks (SQL
// injection, XSS, path traversal, command injection, scanner user agents) that SafeLine detects,
// so the agents have real events to analyse. Textbook payloads only: they probe, never damage.

export const TRAFFIC_CLASSES = [
  "benign",
  "sql_injection",
  "xss",
  "path_traversal",
  "command_injection",
  "scanner"
] as const
export type TrafficClass = (typeof TRAFFIC_CLASSES)[number]

export interface TrafficRequest {
  readonly class: TrafficClass
  readonly method: "GET" | "POST"
  /** Path and query, appended to the target's base path as is (traversal needs the raw `../`). */
  readonly path: string
  readonly userAgent: string
  /** A form body (application/x-www-form-urlencoded) for POST. */
  readonly form?: Readonly<Record<string, string>>
}

const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
const q = (value: string) => encodeURIComponent(value)

const get = (cls: TrafficClass, path: string, userAgent = BROWSER): TrafficRequest => ({
  class: cls,
  method: "GET",
  path,
  userAgent
})
const post = (cls: TrafficClass, path: string, form: Record<string, string>): TrafficRequest => ({
  class: cls,
  method: "POST",
  path,
  userAgent: BROWSER,
  form
})

export const PAYLOADS: Readonly<Record<TrafficClass, ReadonlyArray<TrafficRequest>>> = {
  benign: [
    get("benign", "/"),
    get("benign", `/search?q=${q("dog food")}`),
    get("benign", "/products/42"),
    get("benign", "/about"),
    post("benign", "/login", { username: "alice", password: "correct horse battery staple" }),
    get("benign", `/search?q=${q("script writing tips")}`)
  ],
  sql_injection: [
    get("sql_injection", `/search?q=${q("' OR '1'='1' --")}`),
    get("sql_injection", `/search?q=${q("1 UNION SELECT username, password FROM users --")}`),
    get("sql_injection", `/products?id=${q("1; DROP TABLE products --")}`),
    post("sql_injection", "/login", { username: "admin' --", password: "x" }),
    get("sql_injection", `/search?q=${q("1' AND SLEEP(5) --")}`)
  ],
  xss: [
    get("xss", `/search?q=${q("<script>alert(document.cookie)</script>")}`),
    get("xss", `/search?q=${q('<img src=x onerror="alert(1)">')}`),
    post("xss", "/comments", { body: "<svg/onload=alert(1)>" }),
    get("xss", `/redirect?to=${q("javascript:alert(1)")}`)
  ],
  path_traversal: [
    get("path_traversal", "/static/../../../../etc/passwd"),
    get("path_traversal", `/download?file=${q("../../../../etc/shadow")}`),
    get("path_traversal", "/..%2f..%2f..%2f..%2fetc%2fpasswd"),
    get("path_traversal", `/view?page=${q("....//....//....//proc/self/environ")}`)
  ],
  command_injection: [
    get("command_injection", `/ping?host=${q("127.0.0.1; cat /etc/passwd")}`),
    get("command_injection", `/ping?host=${q("127.0.0.1 | id")}`),
    get("command_injection", `/ping?host=${q("$(whoami)")}`),
    post("command_injection", "/admin/exec", { cmd: "`uname -a`" })
  ],
  scanner: [
    get("scanner", "/", "sqlmap/1.8#stable (https://sqlmap.org)"),
    get("scanner", "/.env", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)"),
    get("scanner", "/wp-login.php", "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)"),
    get("scanner", "/.git/config", "masscan/1.3 (https://github.com/robertdavidgraham/masscan)")
  ]
}

/** One round: every class once between benign requests, so any prefix of the run is mixed. */
const ROUND: ReadonlyArray<TrafficClass> = [
  "benign",
  "sql_injection",
  "benign",
  "xss",
  "benign",
  "path_traversal",
  "benign",
  "command_injection",
  "benign",
  "scanner"
]

/** The i-th request of a run (0-based): rounds of the mix, each class cycling through its payloads. */
export const requestAt = (i: number): TrafficRequest => {
  const cls = ROUND[i % ROUND.length]!
  const seen = ROUND.slice(0, i % ROUND.length).filter((c) => c === cls).length
  const nth = Math.floor(i / ROUND.length) * ROUND.filter((c) => c === cls).length + seen
  const list = PAYLOADS[cls]
  return list[nth % list.length]!
}

/** How many requests of each class the first `count` requests hold. */
export const mixOf = (count: number): Record<TrafficClass, number> => {
  const mix = Object.fromEntries(TRAFFIC_CLASSES.map((c) => [c, 0])) as Record<TrafficClass, number>
  for (let i = 0; i < count; i++) mix[requestAt(i).class]++
  return mix
}
