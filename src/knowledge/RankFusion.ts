// Reciprocal-rank fusion of several ranked lists (Cormack et al., 2009): a document scores
// Σ 1 / (k + rank) over the lists it appears in. It needs no score calibration between BM25
// and cosine similarity, which is why it is the usual way to fuse sparse and dense retrieval.

export const RRF_K = 60

/** Ids ordered by fused score (ties keep the order of first appearance). */
export const reciprocalRankFusion = (
  rankings: ReadonlyArray<ReadonlyArray<string>>,
  k: number = RRF_K
): Array<{ readonly id: string; readonly score: number }> => {
  const scores = new Map<string, number>()
  for (const ranking of rankings) {
    for (const [index, id] of ranking.entries()) scores.set(id, (scores.get(id) ?? 0) + 1 / (k + index + 1))
  }
  return [...scores.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score)
}
