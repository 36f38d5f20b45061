// A small deterministic random source: the same seed and key always give the same sequence, so
// the simulator can derive any time slice's traffic on demand instead of storing a timeline.

/** FNV-1a over the text, as a 32-bit seed. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export interface SeededRandom {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [min, max]. */
  readonly int: (min: number, max: number) => number
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly chance: (probability: number) => boolean
  /** A Poisson-distributed count with the given mean (Knuth; fine for small means). */
  readonly poisson: (mean: number) => number
}

/** mulberry32 seeded from `seed` and `key`. */
export const seededRandom = (seed: number, key: string): SeededRandom => {
  let state = hash(`${seed}:${key}`)
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (probability) => next() < probability,
    poisson: (mean) => {
      const limit = Math.exp(-mean)
      let k = 0
      let p = next()
      while (p > limit && k < 50) {
        k++
        p *= next()
      }
      return k
    }
  }
}
