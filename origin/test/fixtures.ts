/**
 * Builds a small, valid PDF with one page per entry of `pages`, each line set in Helvetica, and
 * an optional document title. Offsets in the xref table are computed, so real parsers accept it.
 */
export function makePdf(pages: string[][], title?: string): Uint8Array {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pages.forEach((lines, i) => {
    const escapePdf = (text: string) => text.replace(/[\\()]/g, (ch) => `\\${ch}`);
    const body = lines
      .map((line, n) => `${n === 0 ? '72 720 Td' : '0 -16 Td'} (${escapePdf(line)}) Tj`)
      .join('\n');
    const stream = `BT /F1 12 Tf\n${body}\nET`;
    objects[pageIds[i]!] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageIds[i]! + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`;
    objects[pageIds[i]! + 1] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  });
  const infoId = objects.length;
  if (title !== undefined) objects[infoId] = `<< /Title (${title}) >>`;

  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id += 1) {
    offsets[id] = out.length;
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id += 1)
    out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R${title === undefined ? '' : ` /Info ${infoId} 0 R`} >>\n`;
  out += `startxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

/** A multipart body with the given files (and optional text fields). */
export function formWith(
  files: Array<{ name: string; content: string | Uint8Array }>,
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData();
  for (const file of files) form.append('file', new Blob([file.content]), file.name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}

export const GUIDE_MD = `# Installation guide

Install the server with the package manager. The server needs PostgreSQL with pgvector.

## Configuration

Set DATABASE_URL to point at the database. Without it the embedded database is used.

### Tokens

The admin token protects ingestion. Keep it out of git.

## Upgrading

Stop the server, pull the new image and start it again. Migrations run at boot.
`;
