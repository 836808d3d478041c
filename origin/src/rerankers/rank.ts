/**
 * Candidate indices from the highest score to the lowest; equal scores keep their input order
 * (the first-stage rank), so the result is the same on every run.
 */
export function rankByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b);
}
