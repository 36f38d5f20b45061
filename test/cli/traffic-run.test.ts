// `security-agent traffic` against a local HTTP server started here, standing in for a site
// behind SafeLine (403 for attacks, 200 otherwise): the payload mix per class, the hard caps on
// rate, count and duration, the logged start and summary, and servers that hang or are down.
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { type Console, Effect, Exit } from "effect"
import { afterEach } from "vitest"
import { trafficCommand } from "../../src/cli/TrafficCommand.js"
import { mixOf, PAYLOADS, requestAt, TRAFFIC_CLASSES } from "../../src/cli/TrafficPayloads.js"
import { runTraffic as runTrafficDirectly, TRAFFIC_CAPS, TrafficTally } from "../../src/cli/TrafficRun.js"
import { checkTarget } from "../../src/cli/TrafficTarget.js"
import { TOOLS } from "../../src/domain/Tools.js"
import { freePort } from "../support/processes.js"
import { selfSignedCertificate } from "../support/selfSignedCertificate.js"

interface Seen {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

const ATTACKS = TRAFFIC_CLASSES.filter((c) => c !== "benign").flatMap((c) => PAYLOADS[c])

/** A site behind a pretend WAF: 403 for any request of the attack payloads, 200 for the rest. */
const startSite = (behaviour: "waf" | "hang" = "waf") =>
  new Promise<{ server: Server; url: string; seen: Array<Seen> }>((resolve) => {
    const seen: Array<Seen> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += chunk))
      req.on("end", () => {
        seen.push({ at: Date.now(), method: req.method!, url: req.url!, headers: req.headers, body })
        if (behaviour === "hang") return
        const path = req.url!.replace(/^\/shop/, "")
        const attack = ATTACKS.some(
          (p) =>
            p.path === path &&
            p.userAgent === req.headers["user-agent"] &&
            (p.form === undefined || new URLSearchParams(p.form).toString() === body)
        )
        res.writeHead(attack ? 403 : 200, { "content-type": "text/plain" }).end(attack ? "blocked" : "ok")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({ server, url: `http://127.0.0.1:${port}`, seen })
    })
  })

const servers: Array<Server> = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

/** Runs `traffic` in-process as the CLI parses it; returns stdout, stderr and the exit. */
const runTraffic = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const base = yield* Effect.console
    const capture: Console.Console = {
      ...base,
      log: (...parts) => Effect.sync(() => void stdout.push(parts.join(" "))),
      error: (...parts) => Effect.sync(() => void stderr.push(parts.join(" "))),
      // Loggers write through `unsafe`.
      unsafe: {
        ...base.unsafe,
        log: (...parts: Array<unknown>) => void stdout.push(parts.join(" ")),
        error: (...parts: Array<unknown>) => void stderr.push(parts.join(" "))
      }
    }
    const cli = Command.run(trafficCommand, { name: "security-agent traffic", version: "test" })
    const exit = yield* Effect.exit(
      cli(["node", "traffic", ...args]).pipe(Effect.withConsole(capture), Effect.provide(NodeContext.layer))
    )
    return { stdout: stdout.join("\n"), stderr: stderr.join("\n"), exit }
  })

const failure = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected the command to fail")
  return String((exit.cause as { error?: { message?: string } }).error?.message ?? exit.cause)
}

describe("security-agent traffic", () => {
  it.live("sends the mix, each class with its payloads, and logs the start and a summary per class and status", () =>
    Effect.gen(function* () {
      const site = yield* Effect.promise(() => startSite())
      servers.push(site.server)
      const run = yield* runTraffic(["--target", `${site.url}/shop/`, "--count", "30", "--rate", "20"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(site.seen).toHaveLength(30)
      // Exactly the planned sequence, under the target's base path, each request marked.
      site.seen.forEach((seen, i) => {
        const planned = requestAt(i)
        expect(seen.method).toBe(planned.method)
        expect(seen.url).toBe(`/shop${planned.path}`)
        expect(seen.headers["user-agent"]).toBe(planned.userAgent)
        expect(seen.headers["x-traffic-generator"]).toBe("security-agent traffic")
        expect(seen.headers.host).toBe(new URL(site.url).host)
        if (planned.form !== undefined) expect(seen.body).toBe(new URLSearchParams(planned.form).toString())
      })
      expect(mixOf(30)).toEqual({
        benign: 15,
        sql_injection: 3,
        xss: 3,
        path_traversal: 3,
        command_injection: 3,
        scanner: 3
      })
      // The classic payloads really are in what was sent.
      const sent = site.seen.map((s) => decodeURIComponent(`${s.url} ${s.headers["user-agent"]} ${s.body}`)).join("\n")
      for (const marker of [
        "' OR '1'='1",
        "UNION SELECT",
        "<script>",
        "../../../../etc/passwd",
        "; cat /etc/passwd",
        "sqlmap"
      ]) {
        expect(sent).toContain(marker)
      }
      // Log lines on stderr: the start with the target, the summary per class and per status.
      expect(run.stderr).toMatch(/level=INFO .*message="traffic run starting".*target=http:\/\/127\.0\.0\.1:\d+\/shop/)
      expect(run.stderr).toContain("range=loopback")
      const finished = run.stderr.split("\n").find((l) => l.includes('message="traffic run finished"'))!
      expect(finished).toContain("sent=30")
      expect(finished).toContain("stopped_by=count")
      expect(finished).toContain("by_status=200:15,403:15")
      expect(finished).toContain(
        'by_class="benign=200:15 sql_injection=403:3 xss=403:3 path_traversal=403:3 command_injection=403:3 scanner=403:3"'
      )
      // The table on stdout.
      expect(run.stdout).toMatch(/Sent 30 requests to http:\/\/127\.0\.0\.1:\d+\/shop in [\d.]+ s \(stopped by count\)/)
      expect(run.stdout).toMatch(/ {2}sql_injection +403 ×3/)
      expect(run.stdout).toMatch(/ {2}benign +200 ×15/)
    })
  )

  it.live("never exceeds the rate: requests are spaced by 1/rate seconds", () =>
    Effect.gen(function* () {
      const site = yield* Effect.promise(() => startSite())
      servers.push(site.server)
      const run = yield* runTraffic(["--target", site.url, "--count", "6", "--rate", "5"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(site.seen).toHaveLength(6)
      const gaps = site.seen.slice(1).map((s, i) => s.at - site.seen[i]!.at)
      // 200 ms apart when sent; arrival may jitter a little on a busy machine.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150)
      expect(site.seen.at(-1)!.at - site.seen[0]!.at).toBeGreaterThanOrEqual(950)
    })
  )

  it.live("the caps hold for any caller of the run, not only through the flags", () =>
    Effect.gen(function* () {
      const site = yield* Effect.promise(() => startSite())
      servers.push(site.server)
      const target = yield* checkTarget(site.url, { iOwnThisTarget: false })
      const tally = new TrafficTally()
      const stopped = yield* runTrafficDirectly(target, { rate: 10_000, count: 1e9, durationSeconds: 1 }, tally)
      expect(stopped).toBe("duration")
      // One second at the 20/s cap: never the 10,000 asked for.
      expect(site.seen.length).toBeLessThanOrEqual(TRAFFIC_CAPS.rate)
      expect(tally.sent).toBe(site.seen.length)
      const nonsense = new TrafficTally()
      yield* runTrafficDirectly(target, { rate: Number.NaN, count: 2.7, durationSeconds: -5 }, nonsense)
      expect(nonsense.sent).toBeLessThanOrEqual(1)
    })
  )

  it.live("stops at the duration even when the count is not reached", () =>
    Effect.gen(function* () {
      const site = yield* Effect.promise(() => startSite())
      servers.push(site.server)
      const started = Date.now()
      const run = yield* runTraffic(["--target", site.url, "--duration", "1", "--rate", "4", "--count", "500"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(Date.now() - started).toBeLessThan(2500)
      expect(site.seen).toHaveLength(4)
      expect(run.stderr).toContain("stopped_by=duration")
    })
  )

  it.live("a server that never answers cannot hold the run past its duration", () =>
    Effect.gen(function* () {
      const site = yield* Effect.promise(() => startSite("hang"))
      servers.push(site.server)
      const started = Date.now()
      const run = yield* runTraffic(["--target", site.url, "--duration", "1", "--count", "10"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(run.stderr).toMatch(/by_status=timeout:1\b/)
    })
  )

  it.live("a target that is down is tallied, not fatal", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const run = yield* runTraffic(["--target", `http://127.0.0.1:${port}`, "--count", "3", "--rate", "20"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stderr).toContain("by_status=connection_refused:3")
    })
  )

  it.live("https: the certificate is verified (a self-signed one is a tls_error, not a silent pass)", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "traffic-tls-"))
      const certificate = selfSignedCertificate(dir)
      let hits = 0
      const server = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (_req, res) => {
        hits++
        res.end("ok")
      })
      yield* Effect.promise(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", r)))
      servers.push(server as unknown as Server)
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const run = yield* runTraffic(["--target", `https://127.0.0.1:${port}`, "--count", "2", "--rate", "20"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stderr).toContain("by_status=tls_error:2")
      expect(hits).toBe(0)
    })
  )

  it.live("rate, count and duration beyond their hard caps (or below 1) are CLI errors; nothing is sent", () =>
    Effect.gen(function* () {
      // The caps the walkthrough documents.
      expect(TRAFFIC_CAPS).toEqual({ rate: 20, count: 500, durationSeconds: 300 })
      const site = yield* Effect.promise(() => startSite())
      servers.push(site.server)
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--rate", String(TRAFFIC_CAPS.rate + 1)], `--rate must be an integer from 1 to ${TRAFFIC_CAPS.rate}`],
        [["--rate", "0"], "--rate must be an integer from 1 to"],
        [["--count", String(TRAFFIC_CAPS.count + 1)], `--count must be an integer from 1 to ${TRAFFIC_CAPS.count}`],
        [["--count", "-5"], "--count must be an integer from 1 to"],
        [["--duration", "301"], `--duration must be an integer from 1 to ${TRAFFIC_CAPS.durationSeconds}`],
        [["--duration", "99999999999"], "--duration must be an integer from 1 to"]
      ]
      for (const [flags, message] of cases) {
        const run = yield* runTraffic(["--target", site.url, ...flags])
        expect(failure(run.exit), flags.join(" ")).toContain(message)
        expect(failure(run.exit)).toContain("hard cap")
      }
      const fractional = yield* runTraffic(["--target", site.url, "--rate", "2.5"])
      expect(Exit.isFailure(fractional.exit)).toBe(true)
      expect(site.seen).toHaveLength(0)
    })
  )

  it.live("a public target is refused before anything is sent, and the refusal is logged with the target", () =>
    Effect.gen(function* () {
      const run = yield* runTraffic(["--target", "http://134744072/", "--count", "1"])
      expect(failure(run.exit)).toContain("--i-own-this-target")
      // Logged as the URL parser reads it: the decimal spelling shows the address it means.
      expect(run.stderr).toMatch(/level=ERROR .*message="traffic run refused" .*target=http:\/\/8\.8\.8\.8\//)
      expect(run.stdout).toBe("")
    })
  )
})

describe("traffic is a command line tool only", () => {
  const filesUnder = (dir: string): Array<string> =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry)
      return statSync(path).isDirectory() ? filesUnder(path) : [path]
    })

  it("no agent tool, HTTP route or other module reaches the generator", () => {
    const src = join(import.meta.dirname, "..", "..", "src")
    const users = filesUnder(src)
      .filter((f) => f.endsWith(".ts") && !/[/\\]cli[/\\]Traffic[A-Za-z]*\.ts$/.test(f))
      .filter((f) => /Traffic(Command|Run|Payloads|Target)\.js/.test(readFileSync(f, "utf8")))
      .map((f) => f.slice(src.length + 1))
    expect(users).toEqual(["main.ts"])
    // The only tool about traffic reads SafeLine's statistics; no route mentions traffic.
    expect(TOOLS.filter((tool) => /traffic/i.test(tool))).toEqual(["tool_get_traffic_stats"])
    expect(readFileSync(join(src, "http", "Api.ts"), "utf8")).not.toMatch(/traffic/i)
  })
})
