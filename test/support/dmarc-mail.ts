// Report mails as receivers send them to the rua address: a short text part and the report attached
// (base64), or the report as the whole body. For tests of src/dmarc/.
export interface MailPart { type: string; name?: string; data: Buffer; nameStar?: boolean }

export function reportMail(parts: MailPart[], o: { subject?: string; crlf?: boolean; single?: boolean } = {}): Buffer {
  const b64 = (d: Buffer) => d.toString('base64').replace(/.{76}/g, '$&\n');
  const disp = (p: MailPart) =>
    p.name === undefined ? '' : p.nameStar ? `Content-Disposition: attachment; filename*=UTF-8''${encodeURIComponent(p.name)}\n` : `Content-Disposition: attachment; filename="${p.name}"\n`;
  const head = `From: noreply-dmarc@reporter.example\nTo: dmarc@example.jp\nSubject: ${o.subject ?? 'Report Domain: example.jp Submitter: reporter.example Report-ID: <1>'}\nMIME-Version: 1.0\nMessage-ID: <r1@reporter.example>\n`;
  let text: string;
  if (o.single) {
    const p = parts[0]!;
    text = `${head}Content-Type: ${p.type}${p.name ? `; name="${p.name}"` : ''}\n${disp(p)}Content-Transfer-Encoding: base64\n\n${b64(p.data)}\n`;
  } else {
    const body = parts
      .map((p) => `--BOUNDARY-42\nContent-Type: ${p.type}${p.name ? `; name="${p.name}"` : ''}\n${disp(p)}Content-Transfer-Encoding: base64\n\n${b64(p.data)}\n`)
      .join('');
    text = `${head}Content-Type: multipart/mixed; boundary="BOUNDARY-42"\n\n--BOUNDARY-42\nContent-Type: text/plain; charset=utf-8\n\nThis is an aggregate report.\n${body}--BOUNDARY-42--\n`;
  }
  return Buffer.from(o.crlf ? text.replace(/\n/g, '\r\n') : text, 'latin1');
}
