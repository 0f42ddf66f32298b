// Generated bounce mailboxes for tests and demos: realistic DSNs of the three origins, complaints,
// out-of-office replies and ordinary mail, spread over several days and many recipient domains.

export interface SampleOptions {
  ownerDomain?: string;
  /** first day, YYYY-MM-DD (default 2025-03-03) */
  start?: string;
  days?: number;
  /** the last `surgeDays` days get a burst of auto-replies bouncing at .ru addresses (relay abuse) */
  surgeDays?: number;
}

export interface SampleMessage { raw: string; expect: { kind: 'ours' | 'spoofing' | 'account' | 'vacation' | 'complaint' | 'other'; recipient?: string; day: string; autoReply?: boolean } }

const DOW = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function rfcDate(day: string, hour: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  return `${DOW[d.getUTCDay()]}, ${d.getUTCDate()} ${MON[d.getUTCMonth()]} ${d.getUTCFullYear()} ${String(hour).padStart(2, '0')}:${String((hour * 7) % 60).padStart(2, '0')}:00 +0900`;
}

function id22(n: number): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  let x = n * 2654435761 + 12345;
  for (let i = 0; i < 22; i++) { s += a[x % 36]; x = Math.floor(x / 7) + i * 31 + n; }
  return s;
}

function postfixDsn(o: { owner: string; date: string; rcpt: string; status: string; diag: string; original: string; n: number }): string {
  const b = `B${o.n}.${o.owner}`;
  return `From: MAILER-DAEMON@smtp.${o.owner} (Mail Delivery System)
To: info@${o.owner}
Subject: Undelivered Mail Returned to Sender
Date: ${o.date}
Message-Id: <dsn${o.n}@smtp.${o.owner}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"

--${b}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host smtp.${o.owner}.

<${o.rcpt}>: ${o.diag}

--${b}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp.${o.owner}

Final-Recipient: rfc822; ${o.rcpt}
Action: failed
Status: ${o.status}
Diagnostic-Code: smtp; ${o.diag}

--${b}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

${o.original}
--${b}--
`;
}

/** The messages of a sample mailbox, each with what the analysis should find. */
export function sampleMessages(opts: SampleOptions = {}): SampleMessage[] {
  const owner = opts.ownerDomain ?? 'sakura-dental.example';
  const days = opts.days ?? 10;
  const surge = opts.surgeDays ?? 3;
  const start = Date.parse(`${opts.start ?? '2025-03-03'}T00:00:00Z`);
  const out: SampleMessage[] = [];
  let n = 0;
  const domains = ['gmail.example', 'yahoo.example.jp', 'docomo.example.ne.jp', 'outlook.example', 'icloud.example'];
  for (let d = 0; d < days; d++) {
    const day = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
    const surgeDay = d >= days - surge;
    // Auto-replies that bounced: a few typos every day; a burst to .ru during the surge.
    const autoReplies = surgeDay ? 12 : 2;
    for (let i = 0; i < autoReplies; i++) {
      n++;
      const rcpt = surgeDay ? `u${n}@mail${i % 4}.example.ru` : `visitor${n}@${domains[n % domains.length]}`;
      const userUnknown = i % 3 !== 2;
      out.push({
        raw: postfixDsn({
          owner, date: rfcDate(day, 9 + (i % 10)), rcpt, n,
          status: userUnknown ? '5.1.1' : '5.2.2',
          diag: userUnknown ? `550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown` : `552 5.2.2 <${rcpt}>: Mailbox full`,
          original: `Return-Path: <info@${owner}>
Received: from forms.${owner} (forms.${owner} [198.51.100.10])
	(Authenticated sender: info@${owner})
	by smtp.${owner} (Postfix) with ESMTPSA id Q${n}
	for <${rcpt}>; ${rfcDate(day, 9)}
From: Sakura Dental <info@${owner}>
To: ${rcpt}
Subject: =?UTF-8?B?44GK5ZWP44GE5ZCI44KP44Gb?=
Auto-Submitted: auto-replied
X-Formwarden-Kind: autoreply
Message-ID: <m_${id22(n)}@${owner}>
Date: ${rfcDate(day, 9)}
`,
        }),
        expect: { kind: 'ours', recipient: rcpt, day, autoReply: true },
      });
    }
    // Backscatter of forged spam, every other day, from botnet IPs.
    if (d % 2 === 0) {
      for (let i = 0; i < 3; i++) {
        n++;
        const rcpt = `k${n}@receiver${i}.example.de`;
        const ip = `203.0.113.${70 + (n % 5)}`;
        out.push({
          raw: postfixDsn({
            owner, date: rfcDate(day, 3 + i), rcpt, n, status: '5.1.1', diag: `550 5.1.1 <${rcpt}>: unknown user`,
            original: `Return-Path: <info@${owner}>
Received-SPF: Fail (mailfrom) identity=mailfrom; client-ip=${ip}; envelope-from=info@${owner}
Authentication-Results: mx.receiver${i}.example.de; dkim=none; spf=fail smtp.mailfrom=info@${owner}; dmarc=fail header.from=${owner}
Received: from dsl-${ip.replace(/\./g, '-')}.dyn.isp.example (unknown [${ip}])
	by mx.receiver${i}.example.de (Postfix) with ESMTP id S${n}
	for <${rcpt}>; ${rfcDate(day, 3)}
Message-ID: <${id22(n)}${n}@dsl-${ip.replace(/\./g, '-')}.dyn.isp.example>
From: "Sakura Dental" <info@${owner}>
To: <${rcpt}>
Subject: Your invoice is overdue
Date: ${rfcDate(day, 3)}
`,
          }),
          expect: { kind: 'spoofing', recipient: rcpt, day },
        });
      }
    }
    // Account abuse on the last two days: spam through the owner's provider, authenticated.
    if (d >= days - 2) {
      n++;
      const rcpt = `orders${n}@shop.example.net`;
      out.push({
        raw: postfixDsn({
          owner, date: rfcDate(day, 22), rcpt, n, status: '5.7.1', diag: `550 5.7.1 <${rcpt}>: Message rejected as spam`,
          original: `Return-Path: <info@${owner}>
Authentication-Results: mx.shop.example.net; dkim=pass header.d=${owner}; spf=pass smtp.mailfrom=info@${owner}
DKIM-Signature: v=1; a=rsa-sha256; d=${owner}; s=mail; h=From:To:Subject; bh=x; b=y
Received: from [198.51.100.203] (unknown [198.51.100.203])
	(Authenticated sender: info@${owner})
	by smtp.${owner} (Postfix) with ESMTPSA id A${n}
	for <${rcpt}>; ${rfcDate(day, 22)}
Message-ID: <${n}.A${n}@smtp.${owner}>
From: Sakura Dental <info@${owner}>
To: ${rcpt}
Subject: Payment details changed
X-Mailer: Microsoft Outlook 16.0
Date: ${rfcDate(day, 22)}
`,
        }),
        expect: { kind: 'account', recipient: rcpt, day },
      });
    }
    // An out-of-office reply every third day, a complaint on day 1, ordinary mail every day.
    if (d % 3 === 0) {
      n++;
      out.push({
        raw: `From: Yamada Taro <yamada@partner.example>
To: info@${owner}
Subject: =?UTF-8?B?6Ieq5YuV6L+U5L+hOiDkuI3lnKjjga7jgYrnn6XjgonjgZs=?=
Date: ${rfcDate(day, 12)}
Auto-Submitted: auto-replied
Message-ID: <vac${n}@partner.example>

I am out of the office until Monday.
`,
        expect: { kind: 'vacation', day },
      });
    }
    if (d === 1) {
      n++;
      out.push({
        raw: `From: complaints@fbl.example
To: info@${owner}
Subject: Abuse report
Date: ${rfcDate(day, 15)}
Message-ID: <arf${n}@fbl.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain

This is an email abuse report.
--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Rcpt-To: someone@fbl-user.example

--arf
Content-Type: text/rfc822-headers

From: Sakura Dental <info@${owner}>
To: someone@fbl-user.example
Subject: Thank you
Message-ID: <m_${id22(n)}@${owner}>
X-Formwarden-Kind: autoreply
--arf--
`,
        expect: { kind: 'complaint', day },
      });
    }
    n++;
    out.push({
      raw: `From: Customer <customer${n}@gmail.example>
To: info@${owner}
Subject: Appointment next week
Date: ${rfcDate(day, 11)}
Message-ID: <c${n}@gmail.example>

Hello, can I book an appointment for Tuesday?
`,
      expect: { kind: 'other', day },
    });
  }
  return out;
}

/** The sample as one mbox file (each message preceded by its "From " line, bodies ">From "-quoted). */
export function sampleMbox(opts: SampleOptions = {}): string {
  return sampleMessages(opts).map((m) => {
    const day = m.expect.day;
    const d = new Date(`${day}T03:00:00Z`);
    const from = `From MAILER-DAEMON ${DOW[d.getUTCDay()]} ${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} 03:00:00 ${d.getUTCFullYear()}`;
    return `${from}\n${m.raw.replace(/^(>*From )/gm, '>$1')}\n`;
  }).join('');
}
