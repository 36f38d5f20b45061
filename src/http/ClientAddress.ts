// The client address used for rate limits and audit: the socket's peer, unless that peer is a
// proxy listed in ASSISTANT_API_TRUSTED_PROXIES, in which case the nearest untrusted address of
// X-Forwarded-For. Nothing else a caller sends (X-Forwarded-Host, Forwarded) is believed.
import ipaddr from "ipaddr.js"
import { boundedMemo } from "../domain/BoundedMemo.js"

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

export interface TrustedProxies {
  readonly ranges: ReadonlyArray<Range>
  /** A peer's address, parsed once per peer, so a keep-alive client is not parsed per request. */
  readonly parsePeer: (peer: string) => ipaddr.IPv4 | ipaddr.IPv6 | undefined
}

/** A server sees few distinct peers; past this many, new ones are parsed each time. */
const MAX_CACHED_PEERS = 1024

export class InvalidProxyRange extends Error {}

/** Parses ASSISTANT_API_TRUSTED_PROXIES (CIDRs or single addresses); throws on a malformed entry. */
export const parseTrustedProxies = (entries: ReadonlyArray<string>): TrustedProxies => ({
  parsePeer: boundedMemo(MAX_CACHED_PEERS, parseAddress),
  ranges: entries.map((entry) => {
    try {
      if (entry.includes("/")) {
        const [address, prefix] = ipaddr.parseCIDR(entry)
        return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()
          ? ([(address as ipaddr.IPv6).toIPv4Address(), prefix - 96] as Range)
          : ([address, prefix] as Range)
      }
      const address = ipaddr.process(entry)
      return [address, address.kind() === "ipv4" ? 32 : 128] as Range
    } catch {
      throw new InvalidProxyRange(`ASSISTANT_API_TRUSTED_PROXIES: "${entry}" is not an address or CIDR`)
    }
  })
})

const parseAddress = (text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined => {
  const trimmed = text.trim().replace(/^\[|\]$/g, "")
  return ipaddr.isValid(trimmed) ? ipaddr.process(trimmed) : undefined
}

const isTrusted = (proxies: TrustedProxies, address: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
  proxies.ranges.some(([range, prefix]) => range.kind() === address.kind() && address.match([range, prefix] as never))

export const clientAddress = (
  proxies: TrustedProxies,
  peer: string | undefined,
  forwardedFor: string | undefined
): string | undefined => {
  const peerAddress = peer === undefined ? undefined : proxies.parsePeer(peer)
  if (peerAddress === undefined) return peer
  if (forwardedFor === undefined || !isTrusted(proxies, peerAddress)) return peerAddress.toString()
  // Walk from the nearest hop: the first address not itself a trusted proxy is the client.
  const hops = forwardedFor.split(",").reverse()
  let client = peerAddress
  for (const hop of hops) {
    const address = parseAddress(hop)
    if (address === undefined) break
    client = address
    if (!isTrusted(proxies, address)) break
  }
  return client.toString()
}
