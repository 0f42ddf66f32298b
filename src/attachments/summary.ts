// How the owner's notification names the files of each file field: one line per file, name, type and size.
// Only the notification gets these values; the auto-reply, the pipeline and webhooks never see them.
import type { AcceptedFile } from '../forms/validate.js';
import { formatBytes } from '../i18n/messages.js';

export function fileSummaries(files: readonly AcceptedFile[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const line = `${f.filename} (${f.contentType.split(';')[0]}, ${formatBytes(f.size)})`;
    out[f.field] = out[f.field] ? `${out[f.field]}\n${line}` : line;
  }
  return out;
}
