// pre_tool_validation for blacklist targets: a strict parse to one canonical form (the exact
// text shown in the confirmation prompt and written to SafeLine), then the ranges no one should
// ever block (everything, loopback, link-local, unspecified, multicast, the WAF itself).

import { isIP } from "node:net"
import ipaddr from "ipaddr.js"

export type TargetCheck =
  | { readonly ok: true; readonly target: string; readonly family: 4 | 6; readonly prefix: number }
  | { readonly ok: false; readonly reason: "invalid_ip" | "forbidden_target"; readonly detail: string }

export interface TargetPolicy {
  readonly minPrefixV4: number
  readonly minPrefixV6: number
  /** Literal addresses of the SafeLine host, never blockable. */
  readonly protectedAddresses: ReadonlyArray<string>
}

type Address = ipaddr.IPv4 | ipaddr.IPv6

/** Longer than any address or range can be written (the longest is 49 characters). */
const MAX_TARGET_LENGTH = 64
/** Decimal, no sign, no leading zero: "/033" could be read as octal, "/-1" as anything. */
const PREFIX_LENGTH = /^(?:0|[1-9]\d{0,2})$/
/** Hex groups, colons and an optional dotted tail; no zone id ("%eth0"), no brackets. */
const IPV6_TEXT = /^[0-9a-f:.]+$/i

/** Dotted decimal, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
const canonical = (address: Address): string =>
  address.kind() === "ipv4" ? address.toString() : (address as ipaddr.IPv6).toRFC5952String()

/**
 * Ranges no blacklist may touch, in the order their names are reported. Mapped addresses are
 * turned into IPv4 before this check, so `::ffff:0:0/96` only catches IPv6 ranges that swallow
 * the whole mapped space; `::/96` (deprecated IPv4-compatible) is refused because resolvers
 * disagree on what `::a.b.c.d` means (ipaddr.js itself reads it as a mapped address).
 */
const FORBIDDEN: ReadonlyArray<readonly [Address, number, string]> = [
  [ipaddr.IPv4.parse("0.0.0.0"), 8, "the unspecified range 0.0.0.0/8"],
  [ipaddr.IPv4.parse("127.0.0.0"), 8, "the loopback range 127.0.0.0/8"],
  [ipaddr.IPv4.parse("169.254.0.0"), 16, "the link-local range 169.254.0.0/16"],
  [ipaddr.IPv4.parse("224.0.0.0"), 4, "the multicast range 224.0.0.0/4"],
  [ipaddr.IPv4.parse("255.255.255.255"), 32, "the broadcast address 255.255.255.255"],
  [ipaddr.IPv6.parse("::"), 128, "the unspecified address ::"],
  [ipaddr.IPv6.parse("::1"), 128, "the loopback address ::1"],
  [ipaddr.IPv6.parse("::"), 96, "the deprecated IPv4-compatible range ::/96 (write the IPv4 address)"],
  [ipaddr.IPv6.parse("::ffff:0:0"), 96, "the whole IPv4-mapped range ::ffff:0:0/96"],
  [ipaddr.IPv6.parse("fe80::"), 10, "the link-local range fe80::/10"],
  [ipaddr.IPv6.parse("ff00::"), 8, "the multicast range ff00::/8"]
]

/** Same family and one range inside the other: CIDR ranges never partly overlap. */
const overlaps = (a: Address, aPrefix: number, b: Address, bPrefix: number): boolean =>
  a.kind() === b.kind() && a.match(b, Math.min(aPrefix, bPrefix))

const networkOf = (address: Address, prefix: number): Address =>
  ipaddr.fromByteArray(
    address.toByteArray().map((byte, i) => byte & (0xff << Math.max(0, Math.min(8, 8 * (i + 1) - prefix))) & 0xff)
  )

/**
 * ipaddr.js accepts "127.1", "0x7f.1" and "010.0.0.1" (inet_aton forms) and reads "::a.b.c.d"
 * as a mapped address: so IPv4 is four plain decimal parts, and a dotted IPv6 tail is rewritten
 * to its two hex groups before ipaddr.js parses it.
 */
const parseStrict = (text: string): Address | undefined => {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (!text.includes(":") || !IPV6_TEXT.test(text)) return undefined
  let hex = text
  if (text.includes(".")) {
    const cut = text.lastIndexOf(":") + 1
    const tail = text.slice(cut)
    if (!ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined
    const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets
    hex = `${text.slice(0, cut)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  // Node's parser as a second opinion: both must agree this is one IPv6 address.
  return ipaddr.IPv6.isValid(hex) && isIP(hex) === 6 ? ipaddr.IPv6.parse(hex) : undefined
}

const invalid = (detail: string): TargetCheck => ({ ok: false, reason: "invalid_ip", detail })
const forbidden = (detail: string): TargetCheck => ({ ok: false, reason: "forbidden_target", detail })

export const validateTarget = (raw: string, policy: TargetPolicy): TargetCheck => {
  const text = raw.trim()
  const shown = JSON.stringify(text.slice(0, MAX_TARGET_LENGTH))
  if (text.length > MAX_TARGET_LENGTH) {
    return invalid(`${shown}… is longer than any IP address or CIDR range`)
  }
  const slash = text.indexOf("/")
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1)
  const parsed = parseStrict(addressText)
  if (parsed === undefined) {
    return invalid(
      `${shown} is not an IPv4/IPv6 address or CIDR range (write IPv4 as four decimal numbers like 203.0.113.7, IPv6 without a zone id)`
    )
  }
  if (prefixText !== undefined && !PREFIX_LENGTH.test(prefixText)) {
    return invalid(`${shown} has no valid prefix length after "/" (expected one decimal number, like /24)`)
  }
  const writtenPrefix = prefixText === undefined ? undefined : Number(prefixText)
  const writtenMax = parsed.kind() === "ipv4" ? 32 : 128
  if (writtenPrefix !== undefined && writtenPrefix > writtenMax) {
    return invalid(
      `${shown}: /${writtenPrefix} is longer than an ${parsed.kind() === "ipv4" ? "IPv4" : "IPv6"} address`
    )
  }

  // A mapped address is the IPv4 address it carries: policy and forbidden ranges judge that.
  let address: Address = parsed
  let prefix = writtenPrefix ?? writtenMax
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    address = (parsed as ipaddr.IPv6).toIPv4Address()
    prefix -= 96
  }
  const family = address.kind() === "ipv4" ? 4 : 6
  const target = writtenPrefix === undefined ? canonical(address) : `${canonical(address)}/${prefix}`
  const named = target === text ? shown : `${shown} (${target})`

  // Host bits set are refused, not masked: "1.2.3.4/16" could mean the host or its network,
  // and quietly widening one address to 65,536 is the rewrite this check exists to prevent.
  const network = networkOf(address, prefix)
  if (canonical(network) !== canonical(address)) {
    return invalid(
      `${named} has host bits set after /${prefix}; write the network ${canonical(network)}/${prefix} or the single address ${canonical(address)}`
    )
  }
  const minPrefix = family === 4 ? policy.minPrefixV4 : policy.minPrefixV6
  if (prefix < minPrefix) {
    return forbidden(
      `${named} would block too much; the broadest range allowed is /${minPrefix} (BLACKLIST_MIN_PREFIX_V${family})`
    )
  }
  const hit = FORBIDDEN.find(([f, p]) => overlaps(address, prefix, f, p))
  if (hit !== undefined) return forbidden(`${named} is in or contains ${hit[2]}`)
  const protectedHit = policy.protectedAddresses.some((literal) => {
    // Lenient on purpose: whatever form the host is configured in, it stays protected.
    if (!ipaddr.isValid(literal)) return false
    const host = ipaddr.process(literal)
    return overlaps(address, prefix, host, host.kind() === "ipv4" ? 32 : 128)
  })
  if (protectedHit) return forbidden(`${named} is or contains the SafeLine host itself`)
  return { ok: true, target, family, prefix }
}
