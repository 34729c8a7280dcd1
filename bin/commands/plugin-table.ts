export interface PluginRow {
  name: string;
  kind: string;
  version: string;
  source: string;
}

/** A plain aligned table: readable in a terminal and easy to grep in CI logs. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function printPluginTable(plugins: readonly PluginRow[]): void {
  console.log(
    formatTable(
      ['NAME', 'KIND', 'VERSION', 'SOURCE'],
      plugins.map((p) => [p.name, p.kind, p.version, p.source]),
    ),
  );
}
