/**
 * Per-scenario charts of a bench run: one small SVG per scenario (throughput or value, and p99,
 * gateway beside raw grpc-js) plus an index.html that shows them with the table, so the effect of
 * a change is seen at a glance. Hand-written SVG on purpose: a chart library would pull a
 * browser or canvas stack into a dev tool that must run on CI machines with nothing installed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultRow, ScenarioResult } from './result';

const BAR_HEIGHT = 14;
const ROW_GAP = 10;
const LABEL_WIDTH = 260;
const PLOT_WIDTH = 320;
const VALUE_WIDTH = 110;
const GATEWAY_COLOUR = '#2563eb';
const RAW_COLOUR = '#9ca3af';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

interface Bar {
  label: string;
  gateway: number;
  raw?: number;
  unit: string;
}

/** The bars one row contributes: its headline value, and its p99 when it measured latency. */
function barsOf(row: ResultRow): Bar[] {
  const bars: Bar[] = [{ label: row.metric, gateway: row.gateway.value, raw: row.baseline?.value, unit: row.unit }];
  if (row.gateway.latency && row.unit !== 'ms') {
    bars.push({ label: `${row.metric} — p99`, gateway: row.gateway.latency.p99Ms, raw: row.baseline?.latency?.p99Ms, unit: 'ms' });
  }
  return bars;
}

/** One SVG for a scenario: a pair of horizontal bars (gateway, raw) per figure, each scaled to its own pair. */
export function scenarioSvg(scenario: ScenarioResult): string {
  const bars = scenario.rows.flatMap(barsOf);
  const pairHeight = BAR_HEIGHT * 2 + ROW_GAP;
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const height = 40 + Math.max(1, bars.length) * pairHeight + 24;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(`${scenario.id}: ${scenario.title}`)}</title>`,
    `<text x="0" y="16" font-size="13" font-weight="bold">${escapeXml(scenario.id)}</text>`,
    `<rect x="${LABEL_WIDTH}" y="24" width="10" height="10" fill="${GATEWAY_COLOUR}"/><text x="${LABEL_WIDTH + 14}" y="33">gateway</text>`,
    `<rect x="${LABEL_WIDTH + 80}" y="24" width="10" height="10" fill="${RAW_COLOUR}"/><text x="${LABEL_WIDTH + 94}" y="33">raw grpc-js</text>`,
  ];
  if (scenario.error) {
    parts.push(`<text x="0" y="60" fill="#b91c1c">${escapeXml(`failed: ${scenario.error.split('\n')[0]}`)}</text>`);
  }
  bars.forEach((bar, index) => {
    const top = 44 + index * pairHeight;
    const scale = Math.max(bar.gateway, bar.raw ?? 0) || 1;
    const lengthOf = (value: number) => Math.max(1, (value / scale) * PLOT_WIDTH);
    parts.push(`<text x="0" y="${top + BAR_HEIGHT + 4}">${escapeXml(truncate(bar.label, 44))}</text>`);
    parts.push(
      `<rect x="${LABEL_WIDTH}" y="${top}" width="${lengthOf(bar.gateway).toFixed(1)}" height="${BAR_HEIGHT}" fill="${GATEWAY_COLOUR}"/>`,
    );
    parts.push(`<text x="${LABEL_WIDTH + PLOT_WIDTH + 6}" y="${top + 11}">${escapeXml(`${format(bar.gateway)} ${bar.unit}`)}</text>`);
    if (bar.raw !== undefined) {
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${top + BAR_HEIGHT}" width="${lengthOf(bar.raw).toFixed(1)}" height="${BAR_HEIGHT}" fill="${RAW_COLOUR}"/>`,
      );
      parts.push(
        `<text x="${LABEL_WIDTH + PLOT_WIDTH + 6}" y="${top + BAR_HEIGHT + 11}">${escapeXml(`${format(bar.raw)} ${bar.unit}`)}</text>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Writes `<dir>/<scenario>.svg` for every scenario and `<dir>/index.html` showing them with the
 * table. Returns the index path.
 */
export function writeCharts(dir: string, results: readonly ScenarioResult[], tableHtml: string, heading: string): string {
  mkdirSync(dir, { recursive: true });
  const figures: string[] = [];
  for (const scenario of results) {
    const file = `${scenario.id.replace(/[^a-z0-9-]/gi, '_')}.svg`;
    writeFileSync(path.join(dir, file), `${scenarioSvg(scenario)}\n`);
    figures.push(
      `<figure><img src="${file}" alt="${escapeXml(scenario.id)}"><figcaption>${escapeXml(scenario.title)}</figcaption></figure>`,
    );
  }
  const index = path.join(dir, 'index.html');
  writeFileSync(
    index,
    [
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>openclaw bench</title>',
      '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px}figure{margin:1.5em 0}</style>',
      `</head><body><h1>openclaw bench</h1><p>${escapeXml(heading)}</p>`,
      tableHtml,
      ...figures,
      '</body></html>',
    ].join('\n'),
  );
  return index;
}

/** The table of a run as HTML, from the same rows as the text and markdown tables. */
export function htmlTable(header: readonly string[], rows: readonly string[][]): string {
  const cells = (row: readonly string[], tag: 'td' | 'th') => row.map((cell) => `<${tag}>${escapeXml(cell)}</${tag}>`).join('');
  return `<table><thead><tr>${cells(header, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('')}</tbody></table>`;
}
