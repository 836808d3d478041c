import { plural } from '../../src/lib/plural.js';
import type { EvalReport, EvalRow } from './run.js';

/** The report as a plain-text table: one row per run, the BM25 reference first. */
export function formatReport(report: EvalReport): string {
  const reference = report.rows[0]?.scores;
  const lines = [
    `Collection ${report.collection}: ${plural(report.documents, 'document')}, ${plural(report.queries, 'query', 'queries')}` +
      (reference
        ? ` (${reference.evaluated} evaluated, ${reference.skipped} skipped: no relevant judgment)`
        : ''),
    `Rankings cut at ${report.k} documents; nDCG@10 with linear gain, MAP and MRR binary.`,
  ];
  if (report.ingestion !== null) {
    const { stored, failed, seconds } = report.ingestion;
    lines.push(
      `Ingestion: ${plural(stored, 'document')} stored, ${failed} refused, ${seconds.toFixed(1)} s`,
    );
    for (const { id, reason } of report.ingestion.refused.slice(0, 3)) {
      lines.push(`  refused ${id}: ${reason}`);
    }
  }
  const header = ['run', 'nDCG@10', 'MAP', 'R@100', 'MRR', 'vs BM25', 'ms/query'];
  const table = [header, ...report.rows.map(cells)];
  const widths = header.map((_, column) => Math.max(...table.map((r) => r[column]!.length)));
  lines.push('');
  for (const r of table) {
    lines.push(
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  '),
    );
  }
  const notes = report.rows.filter((r) => r.error !== null || r.failedQueries > 0);
  if (notes.length > 0) lines.push('');
  for (const r of notes) {
    const failed = r.failedQueries > 0 ? `${r.failedQueries} queries failed; ` : '';
    lines.push(`${r.label}: ${failed}${r.error ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function cells(row: EvalRow): string[] {
  const figure = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(4));
  const s = row.scores ?? undefined;
  return [
    row.label,
    figure(s?.ndcg10),
    figure(s?.map),
    figure(s?.recall100),
    figure(s?.mrr),
    row.ratioToBm25 === null ? 'n/a' : `${row.ratioToBm25.toFixed(2)}×`,
    row.meanTookMs === null ? '-' : row.meanTookMs.toFixed(1),
  ];
}
