import type { Qrels } from './collection-types.js';

/**
 * Parses relevance judgments, one per line, in any of the usual layouts:
 * - TREC `qid 0 docid rel` (the second column is `0` or `Q0`): rel ≤ 0 is not relevant, rel > 0
 *   is the graded gain;
 * - `qid docid rel`: the same with no iteration column;
 * - SMART style `qid docid 0 0.0` (CISI, CACM) and `qid docid`: every listed pair is relevant
 *   with gain 1.
 * The layout is decided once per file. `normalize` maps both query and document ids.
 */
export function parseQrels(text: string, normalize: (id: string) => string = (id) => id): Qrels {
  const rows = text
    .split(/\r?\n/)
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length >= 2 && parts[0] !== '');
  const wide = rows.filter((parts) => parts.length >= 4);
  const trec = wide.length > 0 && wide.every((parts) => parts[1] === '0' || parts[1] === 'Q0');
  const qrels: Qrels = new Map();
  for (const parts of rows) {
    const [qid, docid, gain] = trec
      ? [parts[0]!, parts[2] ?? '', Number(parts[3])]
      : parts.length === 3
        ? [parts[0]!, parts[1]!, Number(parts[2])]
        : [parts[0]!, parts[1]!, 1];
    if (docid === '' || !Number.isFinite(gain) || gain <= 0) continue;
    addJudgment(qrels, normalize(qid), normalize(docid), gain);
  }
  return qrels;
}

/** Records one relevant judgment; a pair judged twice keeps its higher gain. */
export function addJudgment(qrels: Qrels, qid: string, docid: string, gain: number): void {
  let judged = qrels.get(qid);
  if (judged === undefined) {
    judged = new Map();
    qrels.set(qid, judged);
  }
  judged.set(docid, Math.max(gain, judged.get(docid) ?? 0));
}
