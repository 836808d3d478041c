import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics, METRIC_NAMES } from './metrics.js';

const DASHBOARD = new URL(
  '../../../deploy/monitoring/grafana/dashboards/ragedge.json',
  import.meta.url,
);

/** Series Prometheus makes itself for every target; no client registers them. */
const PROMETHEUS_SERIES = new Set(['up']);

/** PromQL words that look like identifiers but are not metric names. */
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

function expressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

/**
 * The metric names an expression reads: identifiers that are not function calls, keywords,
 * label names inside `{…}` or `by (…)`, quoted strings, numbers, durations or Grafana variables.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, '');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(match.index + match[0].length).trimStart();
    if (after.startsWith('(')) continue;
    if (PROMQL_WORDS.has(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every series name the registry can expose, histograms with their `_bucket/_sum/_count`. */
async function exposedNames(): Promise<Set<string>> {
  const metrics = createMetrics({});
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('reads only metrics that the origin registers', async () => {
    const exposed = await exposedNames();
    const used = new Set(expressions().flatMap(metricNamesIn));
    expect(used.size).toBeGreaterThan(15);
    const unknown = [...used].filter((name) => !exposed.has(name) && !PROMETHEUS_SERIES.has(name));
    expect(unknown).toEqual([]);
  });

  it('shows every metric of the origin and the process RSS and event-loop lag', () => {
    const used = new Set(
      expressions()
        .flatMap(metricNamesIn)
        .map((name) => name.replace(/_(bucket|sum|count)$/, '')),
    );
    const missing = [
      ...METRIC_NAMES,
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ].filter((name) => !used.has(name));
    expect(missing).toEqual([]);
  });

  it('extracts metric names, not functions, labels or durations', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, route) (rate(ragedge_http_request_duration_seconds_bucket{status=~"5..", route!="x"}[$__rate_interval])))',
      ),
    ).toEqual(['ragedge_http_request_duration_seconds_bucket']);
    expect(
      metricNamesIn('sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9)'),
    ).toEqual(['a_total', 'b_total']);
  });
});
