// Where `security-agent traffic` may send attack payloads: an http(s) URL without credentials
// whose host name resolves only to loopback or private addresses (RFC 1918, ULA fc00::/7), unless
// the operator says they own it (--i-own-this-target). Every resolved address is checked, and the
// run connects to the checked address itself, so a second DNS answer cannot move it elsewhere.
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import { Data, Effect } from "effect"
import ipaddr from "ipaddr.js"

export class TrafficTargetRefused extends Data.TaggedError("TrafficTargetRefused")<{ readonly message: string }> {}

/** How an address is treated: local (allowed), owned (only with the flag), never (not a host). */
export type AddressClass = "local" | "owned" | "never"

/**
 * Loopback (127.0.0.0/8, ::1), RFC 1918 (10/8, 172.16/12, 192.168/16) and ULA (fc00::/7) are local.
 * Link-local (169.254/16, fe80::/10: the cloud metadata service lives there), CGNAT 100.64/10 and
 * every public or special range need --i-own-this-target, and so does fd00:ec2::/32 (AWS's IPv6
 * metadata service and DNS, inside the ULA range). Unspecified, broadcast and multicast
 * addresses are never a target. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address.
 */
/** AWS's IPv6 instance metadata service and DNS (fd00:ec2::254, ::253) sit inside the ULA range. */
const CLOUD_METADATA_V6 = ipaddr.parseCIDR("fd00:ec2::/32")

export const classifyAddress = (address: string): { readonly range: string; readonly class: AddressClass } => {
  const parsed = ipaddr.process(address.replace(/^\[|\]$/g, ""))
  if (parsed.kind() === "ipv6" && parsed.match(CLOUD_METADATA_V6)) return { range: "cloudMetadata", class: "owned" }
  const range = parsed.range()
  if (range === "loopback" || range === "private" || range === "uniqueLocal") return { range, class: "local" }
  if (range === "unspecified" || range === "broadcast" || range === "multicast") return { range, class: "never" }
  return { range, class: "owned" }
}

export interface TrafficTarget {
  /** The target as given, normalised: origin and base path, no query or fragment. */
  readonly url: URL
  /** The address the run connects to (the first IPv4 one resolved, else the first; every one was checked). */
  readonly address: string
  readonly family: 4 | 6
  /** Range of the connected address: loopback, private, uniqueLocal, unicast, linkLocal, … */
  readonly range: string
  /** True when the target is outside loopback and private ranges (--i-own-this-target given). */
  readonly owned: boolean
}

export type Resolve = (host: string) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true })

const refuse = (message: string) => Effect.fail(new TrafficTargetRefused({ message }))

/** A bounded, single-line rendering of what the user typed, for messages. */
const shown = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)

/** Checks the target and resolves it to the one address the run will connect to. */
export const checkTarget = (
  text: string,
  options: { readonly iOwnThisTarget: boolean; readonly resolve?: Resolve }
): Effect.Effect<TrafficTarget, TrafficTargetRefused> =>
  Effect.gen(function* () {
    if (text.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(text)) {
      return yield* refuse(
        `--target ${shown(text)} is not a URL: no spaces or control characters, at most 2048 characters`
      )
    }
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return yield* refuse(`--target ${shown(text)} is not a URL: give one like http://127.0.0.1:8080`)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* refuse(`--target must be an http:// or https:// URL, not ${url.protocol}`)
    }
    if (url.username !== "" || url.password !== "") {
      return yield* refuse(
        "--target must not hold credentials (user:password@): they would be sent with every attack payload and logged"
      )
    }
    // The WHATWG parser has already turned 2130706433, 0x7f.1 and 127.1 into 127.0.0.1.
    const host = url.hostname.replace(/^\[|\]$/g, "")
    if (host === "") return yield* refuse("--target has no host")
    const resolve = options.resolve ?? systemResolve
    const addresses = isIP(host)
      ? [{ address: host, family: isIP(host) }]
      : yield* Effect.tryPromise({
          try: () => resolve(host),
          catch: () => new TrafficTargetRefused({ message: `--target host ${shown(host)} does not resolve` })
        })
    if (addresses.length === 0) return yield* refuse(`--target host ${shown(host)} does not resolve`)

    let owned = false
    for (const { address } of addresses) {
      if (!ipaddr.isValid(address)) return yield* refuse(`--target host ${shown(host)} resolved to ${shown(address)}`)
      const judged = classifyAddress(address)
      // IPv4-mapped IPv6 is named as the IPv4 address it is.
      const plain = ipaddr.process(address).toString()
      const is = plain === host ? `--target ${host}` : `--target ${host} is ${plain}`
      if (judged.class === "never") {
        return yield* refuse(`${is} (${judged.range}), which is not a host to send traffic to`)
      }
      if (judged.class === "owned") {
        if (!options.iOwnThisTarget) {
          return yield* refuse(
            `${is} (${judged.range}), outside loopback and private ranges: traffic goes only to sites you run (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7); if you own this one, add --i-own-this-target`
          )
        }
        owned = true
      }
    }
    // IPv4 first when a name has both (localhost: a server on 127.0.0.1 only is the common case).
    const first = addresses.find((a) => a.family === 4) ?? addresses[0]!
    const pinned = ipaddr.process(first.address)
    const base = new URL(`${url.origin}${url.pathname.replace(/\/+$/, "")}`)
    return {
      url: base,
      address: pinned.toString(),
      family: pinned.kind() === "ipv4" ? 4 : 6,
      range: pinned.range(),
      owned
    } satisfies TrafficTarget
  })
