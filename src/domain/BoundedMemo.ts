// A pure function's answers kept by argument, up to a bound: past it, new arguments are computed
// afresh each time (never evicted, never grown), so an unusual caller cannot make it use more memory.

/** `compute` memoised for its first `max` distinct arguments (undefined answers included). */
export const boundedMemo = <K, V>(max: number, compute: (key: K) => V): ((key: K) => V) => {
  const known = new Map<K, V>()
  return (key) => {
    const hit = known.get(key)
    if (hit !== undefined || known.has(key)) return hit as V
    const value = compute(key)
    if (known.size < max) known.set(key, value)
    return value
  }
}
