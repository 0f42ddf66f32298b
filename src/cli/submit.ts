// `formwarden submit`: a reference client that posts to a running instance as the hosted page does,
// prints the answer, and exits 0 only when the submission was accepted.
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
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  for (const h of opts.header) {
    const colon = h.indexOf(':');
    if (colon <= 0) {
      process.stderr.write(`formwarden: --header "${h}" is not "Name: value"\n`);
      return 2;
    }
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const base = opts.url.replace(/\/+$/, '');
  const res = await fetch(`${base}/api/forms/${encodeURIComponent(opts.form)}/submissions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(fields),
  });
  const text = await res.text();
  if (opts.json) process.stdout.write(`${text}\n`);
  else process.stdout.write(`HTTP ${res.status}\n${text}\n`);
  return res.status === 201 ? 0 : 1;
}
