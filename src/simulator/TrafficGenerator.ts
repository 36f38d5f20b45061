// Derives one 5-second slice of traffic from the seed alone: normal request counts per listener,
// a sample of active clients, and the attack requests of whichever attackers are active. Pure.
import { seededRandom } from "./SeededRandom.js"
import {
  ATTACKERS,
  ATTACKS,
  type AttackTemplate,
  CLIENT_POOL,
  FALSE_POSITIVE,
  LISTENERS,
  SITES,
  type SimSite
} from "./TrafficProfile.js"

export const SLICE_MS = 5000

export interface AttackAttempt {
  readonly ip: string
  readonly country: string
  readonly province: string
  readonly city: string
  readonly site: SimSite
  readonly template: AttackTemplate
  /** Milliseconds after the slice start. */
  readonly offsetMs: number
}

export interface SliceTraffic {
  /** Requests per QPS listener in this slice, attacks included. */
  readonly requests: Readonly<Record<string, number>>
  /** A sample of the ordinary clients active in this slice (indices into the client pool). */
  readonly clients: ReadonlyArray<number>
  readonly attacks: ReadonlyArray<AttackAttempt>
}

/** Traffic follows the day: quiet at night (UTC), busiest in the afternoon. */
const dailyFactor = (startMs: number) => {
  const hour = (startMs / 3_600_000) % 24
  return 0.65 + 0.35 * Math.sin((2 * Math.PI * (hour - 9)) / 24)
}

/**
 * @param key what makes this slice distinct (its bucket number, or a tick counter)
 * @param window which 5-minute activity window the slice belongs to: attackers are on or off per window
 */
export const generateSlice = (seed: number, key: string, window: string, startMs: number): SliceTraffic => {
  const rng = seededRandom(seed, `slice:${key}`)
  const factor = dailyFactor(startMs)
  const requests: Record<string, number> = Object.fromEntries(LISTENERS.map((l) => [l, 0]))
  for (const site of SITES) {
    const mean = site.baseRps * 5 * factor * (0.85 + rng.next() * 0.3)
    requests[String(site.port)]! += Math.max(0, Math.round(mean))
  }
  const total = Object.values(requests).reduce((a, b) => a + b, 0)
  const clients = Array.from({ length: Math.min(40, Math.ceil(total / 12)) }, () => rng.int(0, CLIENT_POOL - 1))

  const attacks: Array<AttackAttempt> = []
  for (const attacker of ATTACKERS) {
    const windowRng = seededRandom(seed, `window:${window}:${attacker.ip}`)
    if (!windowRng.chance(attacker.activity)) continue
    // An attacker works on one site per window, so its requests group into one event.
    const site = windowRng.pick(SITES)
    const count = rng.poisson(attacker.intensity)
    for (let i = 0; i < count; i++) {
      const family = rng.pick(attacker.families)
      attacks.push({
        ip: attacker.ip,
        country: attacker.country,
        province: attacker.province,
        city: attacker.city,
        site,
        template: rng.pick(ATTACKS[family]),
        offsetMs: rng.int(0, SLICE_MS - 1)
      })
    }
  }
  const falsePositives = rng.poisson(FALSE_POSITIVE.rate)
  const fpSite = SITES.find((s) => s.host === FALSE_POSITIVE.host)!
  for (let i = 0; i < falsePositives; i++) {
    attacks.push({
      ip: rng.pick(FALSE_POSITIVE.clients),
      country: FALSE_POSITIVE.country,
      province: "",
      city: "",
      site: fpSite,
      template: FALSE_POSITIVE.template,
      offsetMs: rng.int(0, SLICE_MS - 1)
    })
  }
  for (const attack of attacks) requests[String(attack.site.port)]! += 1
  attacks.sort((a, b) => a.offsetMs - b.offsetMs)
  return { requests, clients, attacks }
}
