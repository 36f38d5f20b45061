// Small statistics for benchmark samples: medians and percentiles, rounding for the report.

export const percentile = (values, p) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export const median = (values) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const round = (value, digits = 3) => {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** Runs the garbage collector when node was started with --expose-gc, so samples start even. */
export const collectGarbage = () => {
  if (typeof globalThis.gc === "function") globalThis.gc()
}
