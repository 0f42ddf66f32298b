// `formwarden submit`: a reference client that posts to a running instance as the hosted page does,
// prints the answer, and exits 0 only when the submission was accepted.
import { postSubmission, prepareForm, waitMinFill } from '../client/protocol.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';

export interface SubmitOptions {
  url: string;
  form: string;
  field: string[];
  header: string[];
  json?: boolean;
}

export async function submit(opts: SubmitOptions): Promise<number> {
  const fields: Record<string, string> = {};
  for (const f of opts.field) {
    const eq = f.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`formwarden: --field "${f}" is not name=value\n`);
      return 2;
    }
    fields[f.slice(0, eq)] = f.slice(eq + 1);
  }
  const headers: Record<string, string> = {};
  for (const h of opts.header) {
    const colon = h.indexOf(':');
    if (colon <= 0) {
      process.stderr.write(`formwarden: --header "${h}" is not "Name: value"\n`);
      return 2;
    }
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  // Exactly what the hosted page does: token, honeypot, proof-of-work, the minimum fill time.
  const prepared = await prepareForm(opts.url, opts.form, { headers });
  await waitMinFill(prepared);
  const res = await postSubmission(opts.url, opts.form, { ...fields, ...prepared.fields }, { headers });
  // The answer is printed as it came, except what could drive the terminal (valid JSON stays valid).
  const text = terminalSafe(jsonTerminalSafe(await res.text()), { newlines: true });
  if (opts.json) process.stdout.write(`${text}\n`);
  else process.stdout.write(`HTTP ${res.status}\n${text}\n`);
  return res.status === 201 ? 0 : 1;
}
