#!/usr/bin/env node
// The `formwarden` command. Each command imports what it needs when it runs, so `--help` starts fast.
import { Command, Option } from 'commander';

const program = new Command();
program
  .name('formwarden')
  .description('A contact-form backend that delivers every genuine inquiry and can never be turned into a spam cannon.')
  .version('0.1.0')
  .option('-c, --config <path>', 'configuration file (default: $FORMWARDEN_CONFIG, then ./formwarden.yaml, then the built-in demo)')
  .showHelpAfterError();

const configPath = (cmd: Command): string | undefined => cmd.optsWithGlobals().config as string | undefined;

async function run(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (e) {
    const { ConfigError } = await import('../config/load.js');
    const { StartupError } = await import('../main.js');
    if (e instanceof ConfigError || e instanceof StartupError) {
      process.stderr.write(`formwarden: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`formwarden: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

program
  .command('init')
  .description('write a commented formwarden.yaml with generated secrets')
  .option('--force', 'overwrite an existing file')
  .action((opts: { force?: boolean }, cmd: Command) => run(async () => (await import('./init.js')).init(configPath(cmd) ?? 'formwarden.yaml', !!opts.force)));

program
  .command('serve')
  .description('start the HTTP server and the outbox worker')
  .option('--host <address>', 'listen on this address (server.host; 0.0.0.0: every interface, for other machines on your network)')
  .option('--port <port>', 'listen on this port (server.port)')
  .action((opts: { host?: string; port?: string }, cmd: Command) =>
    run(async () => {
      // Before the server's modules load and its young generation grows (src/util/heap.ts).
      (await import('../util/heap.js')).leanHeap();
      return (await import('./serve.js')).serve(configPath(cmd), opts);
    }),
  );

program
  .command('check-config')
  .description('validate the configuration and print what protects every mail')
  .action((_opts, cmd: Command) => run(async () => (await import('./check-config.js')).checkConfig(configPath(cmd))));

const collect = (value: string, prev: string[]) => [...prev, value];
program
  .command('submit')
  .description('post a submission to a running instance exactly as the hosted page does (smoke test)')
  .requiredOption('--url <url>', 'base URL of the instance, e.g. http://127.0.0.1:8787')
  .requiredOption('--form <id>', 'form id')
  .option('--field <name=value>', 'a field (repeatable)', collect, [])
  .option('--header <"Name: value">', 'an extra request header (repeatable)', collect, [])
  .option('--json', 'print the raw JSON answer')
  .action((opts, _cmd: Command) => run(async () => (await import('./submit.js')).submit(opts)));

const submissions = program.command('submissions').description('stored submissions');
submissions
  .command('list')
  .description('list submissions: id, form, created, outcome, score, reasons, auto-reply, bounces')
  .option('--form <id>', 'only this form')
  .option('--limit <n>', 'how many (newest first)', '50')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./data.js')).submissionsList(configPath(cmd), opts)));
submissions
  .command('delete')
  .description('erase a submission, or every row of one email address (APPI/GDPR request); a dry run unless --yes')
  .argument('[id]', 'a submission id or receipt number')
  .option('--email <address>', "every submission with this address as a field's whole value (case-insensitive), mails to it, its bounces")
  .option('--yes', 'delete (without it: show what would be deleted)')
  .option('--include-suppression', 'also remove the address from the suppression list (kept by default: it keeps the address from ever being mailed again)')
  .option('--lang <lang>', 'ja or en (default: from LANG)')
  .option('--json', 'JSON output')
  .action((id: string | undefined, opts, cmd: Command) => run(async () => (await import('./delete.js')).submissionsDelete(configPath(cmd), id, opts)));
submissions
  .command('show')
  .description('one submission: its fields by label, the verdict explained, its mails, files and bounces')
  .argument('<id>', 'the submission id or its receipt number (K7QD-3M9X)')
  .addOption(new Option('--lang <lang>', 'language of labels and explanations (default: from LANG)').choices(['ja', 'en']))
  .option('--json', 'JSON output')
  .action((id: string, opts, cmd: Command) => run(async () => (await import('./inbox.js')).submissionsShow(configPath(cmd), id, opts)));
submissions
  .command('export')
  .description("a form's submissions, newest first, with field labels as column names (CSV is UTF-8 with a BOM for Excel)")
  .option('--form <id>', 'the form (needed when there are several)')
  .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
  .option('--since <date>', 'from this date or time (inclusive)')
  .option('--until <date>', 'before this date or time')
  .option('--action <action...>', 'only these outcomes: accept, accept_no_autoreply, quarantine, reject')
  .addOption(new Option('--lang <lang>', 'language of column names and labels (default: from LANG)').choices(['ja', 'en']))
  .option('--out <file>', 'write to this file instead of standard output')
  .action((opts, cmd: Command) => run(async () => (await import('./inbox.js')).submissionsExport(configPath(cmd), opts)));

const users = program.command('users').description("accounts of the owner's console at /admin/ (docs/admin.md)");
users
  .command('add')
  .description('add an account; the password is read from standard input')
  .argument('<email>')
  .addOption(new Option('--role <role>', 'owner sees every form; member only --forms').choices(['owner', 'member']).default('owner'))
  .option('--forms <ids>', "a member's forms, comma-separated")
  .option('--password-stdin', 'read the password from standard input (required)')
  .action((email: string, opts, cmd: Command) => run(async () => (await import('./users.js')).usersAdd(configPath(cmd), email, opts)));
users
  .command('list')
  .description('list accounts')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./users.js')).usersList(configPath(cmd), opts)));
users
  .command('remove')
  .description('remove an account and end its sessions')
  .argument('<email>')
  .action((email: string, _opts, cmd: Command) => run(async () => (await import('./users.js')).usersRemove(configPath(cmd), email)));
users
  .command('passwd')
  .description("change an account's password (from standard input); ends its sessions")
  .argument('<email>')
  .option('--password-stdin', 'read the password from standard input (required)')
  .action((email: string, opts, cmd: Command) => run(async () => (await import('./users.js')).usersPasswd(configPath(cmd), email, opts)));
users
  .command('totp')
  .description('turn the second factor (TOTP, an authenticator app) on for an account, or off with --disable')
  .argument('<email>')
  .option('--disable', 'turn it off')
  .action((email: string, opts, cmd: Command) => run(async () => (await import('./users.js')).usersTotp(configPath(cmd), email, opts)));

const mail = program.command('mail').description('outgoing mail (captured or sent) and its state');
mail
  .command('list')
  .description('list mail, newest first')
  .addOption(new Option('--state <state>', 'only this state').choices(['pending', 'sent', 'dead', 'cancelled']))
  .addOption(new Option('--kind <kind>', 'only this kind').choices(['notify', 'autoreply', 'alert', 'digest', 'webhook']))
  .option('--limit <n>', 'how many', '100')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./data.js')).mailList(configPath(cmd), opts)));
mail
  .command('show')
  .description('show one mail: headers and text decoded (--raw for the source as it left)')
  .argument('<id>')
  .option('--raw', 'print the message source (MIME, encoded) instead of the decoded text')
  .option('--json', 'JSON output')
  .action((id: string, opts, cmd: Command) => run(async () => (await import('./data.js')).mailShow(configPath(cmd), id, opts)));

program
  .command('outbox')
  .description('outbox maintenance')
  .command('retry')
  .description('queue a dead mail again, due now')
  .argument('<id>')
  .action((id: string, _opts, cmd: Command) => run(async () => (await import('./data.js')).outboxRetry(configPath(cmd), id)));

program
  .command('bounces')
  .description('bounce mail tools')
  .command('parse')
  .description('parse bounce messages (.eml, mbox, Maildir): one JSON object per message')
  .argument('<paths...>')
  .option('--json', 'JSON output')
  .option('--workers <n>', 'parse in this many worker threads (default 0: in this process; see docs/benchmarks.md)', '0')
  .action((paths: string[], opts: { json?: boolean; workers: string }) =>
    run(async () => (await import('../bounces/cli-parse.js')).runBouncesParse(paths, { json: !!opts.json, workers: Math.max(0, Math.min(16, Math.floor(Number(opts.workers)) || 0)) }, process.stdout)),
  );

const dmarc = program.command('dmarc').description('DMARC aggregate reports (RFC 7489) sent to your rua address (docs/dmarc.md)');
dmarc
  .command('parse')
  .description('read reports (.xml, .xml.gz, .zip, .eml, mbox, Maildir, imap://): one JSON line or table per report')
  .argument('<paths...>')
  .option('--json', 'JSON output')
  .action((paths: string[], opts: { json?: boolean }) =>
    run(async () => (await import('../dmarc/cli.js')).runDmarcParse(paths, { json: !!opts.json }, { out: process.stdout, err: process.stderr })),
  );
dmarc
  .command('import')
  .description('store reports in the database (a report already stored is not stored again)')
  .argument('<paths...>', 'files, mbox, Maildir or imaps://user:password@host/MAILBOX')
  .action((paths: string[], _opts, cmd: Command) =>
    run(async () => (await import('../dmarc/cli.js')).runDmarcImport(configPath(cmd), paths, { out: process.stdout, err: process.stderr })),
  );

program
  .command('import')
  .description('bring forms over from another tool')
  .command('cf7')
  .description('Contact Form 7: a WordPress export (WXR), REST JSON or form template -> a Formwarden configuration, embed HTML and a report')
  .argument('<file>')
  .option('--out <file>', 'write the configuration there (default: stdout)')
  .option('--embed <file>', 'write the embed HTML there (default: stderr, after the report)')
  .option('--notify-to <address>', "the owner's address for notifications (repeatable; default: the CF7 recipient)", collect, [])
  .option('--public-url <url>', 'where Formwarden will be reachable (server.publicUrl, the embed)')
  .option('--site-url <url>', 'your site, for cors.origins (default: from the export)')
  .option('--site-name <name>', 'siteName (default: the export\'s site title)')
  .option('--force', 'overwrite --out and --embed')
  .action((file: string, opts: { out?: string; embed?: string; notifyTo: string[]; publicUrl?: string; siteUrl?: string; siteName?: string; force?: boolean }) =>
    run(async () => (await import('../import/cf7/index.js')).runImportCf7(file, opts, { stdout: process.stdout, stderr: process.stderr })),
  );

const block = program.command('block').description('the block and allow lists (IPs and CIDRs, v4 and v6)');
block
  .command('add')
  .description('block an address or network (a running server applies it within 5 seconds)')
  .argument('<cidr>')
  .option('--allow', 'add to the allow list instead')
  .option('--expires <when>', 'a duration (7d, 12h) or a date')
  .option('--note <text>', 'why')
  .action((cidr: string, opts, cmd: Command) => run(async () => (await import('./admin.js')).blockAdd(configPath(cmd), cidr, opts)));
block
  .command('remove')
  .argument('<cidr>')
  .description('remove an entry')
  .action((cidr: string, _opts, cmd: Command) => run(async () => (await import('./admin.js')).blockRemove(configPath(cmd), cidr)));
block
  .command('list')
  .description('list the entries added here (the configuration has its own)')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./admin.js')).blockList(configPath(cmd), opts)));

block
  .command('bans')
  .description('temporary bans set after repeated rejected submissions')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./admin.js')).bansList(configPath(cmd), opts)));
block
  .command('unban')
  .argument('<address>', 'the banned address (or network, as listed)')
  .description('lift a temporary ban')
  .action((address: string, _opts, cmd: Command) => run(async () => (await import('./admin.js')).bansLift(configPath(cmd), address)));

const suppressCmd = program.command('suppress').description('addresses that never get an auto-reply');
suppressCmd
  .command('add')
  .argument('<address>')
  .option('--note <text>', 'why')
  .description('suppress an address')
  .action((address: string, opts, cmd: Command) => run(async () => (await import('./admin.js')).suppressAdd(configPath(cmd), address, opts)));
suppressCmd
  .command('remove')
  .argument('<address>')
  .description('lift a suppression')
  .action((address: string, _opts, cmd: Command) => run(async () => (await import('./admin.js')).suppressRemove(configPath(cmd), address)));
suppressCmd
  .command('list')
  .option('--json', 'JSON output')
  .description('list suppressed addresses')
  .action((opts, cmd: Command) => run(async () => (await import('./admin.js')).suppressList(configPath(cmd), opts)));

program
  .command('status')
  .description('circuit breakers, outbox, suppressions and recent alerts')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./admin.js')).status(configPath(cmd), opts)));

program
  .command('breaker')
  .description('the circuit breaker')
  .command('reset')
  .argument('<form>', 'a form id, or "instance"')
  .description('close a form\'s breaker now')
  .action((form: string, _opts, cmd: Command) => run(async () => (await import('./admin.js')).breakerReset(configPath(cmd), form)));

program
  .command('analyze')
  .description('the weekly bounce report: mbox, Maildir, .eml files or an imap:// URL')
  .argument('<paths...>')
  .option('--json', 'JSON output')
  .option('--html <file>', 'also write a self-contained HTML report with charts')
  .option('--lang <lang>', 'ja or en')
  .option('--owner-domain <domain>', 'a domain you send from (repeatable; default: the domain of mail.from)', collect, [])
  .option('--progress', 'progress on stderr')
  .option('--dmarc-days <days>', 'with --config: the stored DMARC reports of this many days (default 30)')
  .addHelpText('after', '\nWith --config, the outbox of that configuration\'s database decides which bounces Formwarden sent, and the DMARC\nreports stored by `dmarc import` (and the server) join those found among the messages (docs/dmarc.md).')
  .action((paths: string[], opts: { json?: boolean; html?: string; lang?: string; ownerDomain: string[]; progress?: boolean; dmarcDays?: string }, cmd: Command) =>
    run(async () => {
      let ownerDomains = opts.ownerDomain;
      if (ownerDomains.length === 0) {
        const { loadConfig } = await import('../config/load.js');
        const { parseFrom } = await import('../mail/message.js');
        const from = parseFrom(loadConfig(configPath(cmd)).config.mail.from);
        ownerDomains = from ? [from.address.split('@')[1]!] : [];
      }
      const { runAnalyze } = await import('../bounces/analyze/index.js');
      const { geoSourceLookup } = await import('../dmarc/analyze/geo.js');
      type Extra = Pick<Parameters<typeof runAnalyze>[1], 'lookup' | 'bounceDomain' | 'bouncePrefix' | 'dmarcRecords' | 'dmarcSenders' | 'dmarcLookup'>;
      const analyzeWith = (extra: Extra = {}) =>
        runAnalyze(paths, { json: opts.json, html: opts.html, lang: opts.lang === 'en' ? 'en' : opts.lang === 'ja' ? 'ja' : undefined, ownerDomains, progress: opts.progress, dmarcLookup: geoSourceLookup(), ...extra }, process.stdout, process.stderr);
      // With an explicit --config, the outbox in its database decides which bounces are Formwarden's.
      const explicit = configPath(cmd);
      if (!explicit) return analyzeWith();
      const { withDb } = await import('./data.js');
      const { loadConfig } = await import('../config/load.js');
      const { outboxLookup, storedVerp } = await import('../bounces/analyze/outbox-lookup.js');
      const { config } = loadConfig(explicit);
      return withDb(explicit, async (db) => {
        const verp = await storedVerp(db.kysely, config);
        const v = config.bounces.verp;
        // DMARC (docs/dmarc.md): the stored records of the last --dmarc-days days, the configured senders.
        const { loadDmarcRecords } = await import('../dmarc/store.js');
        const { resolveAuthorised } = await import('../dmarc/analyze/section.js');
        const { dnsAddresses } = await import('../dmarc/alerts.js');
        const days = Math.max(1, Number(opts.dmarcDays) || 30);
        const dmarcRecords = await loadDmarcRecords(db.kysely, { since: new Date(Date.now() - days * 86_400_000) });
        const dmarcSenders = await resolveAuthorised(config.dmarc.senders, dnsAddresses, (entry, e) => process.stderr.write(`formwarden analyze: dmarc.senders: ${entry}: ${e.message}\n`));
        return analyzeWith({ lookup: outboxLookup(db.kysely, verp), ...(v ? { bounceDomain: v.domain, bouncePrefix: v.prefix } : {}), dmarcRecords, dmarcSenders, dmarcLookup: geoSourceLookup(config.defenses.geo) });
      });
    }),
  );

program
  .command('backup')
  .description('write a consistent backup of the database while the server runs (SQLite: a copy; PostgreSQL: pg_dump --format=custom)')
  .argument('<file>')
  .addOption(new Option('--lang <lang>', 'language of the report (default: from LANG)').choices(['ja', 'en']))
  .action((file: string, opts: { lang?: string }, cmd: Command) =>
    run(async () => (await import('./backup.js')).runBackup(configPath(cmd), file, opts, { stdout: process.stdout, stderr: process.stderr })),
  );
program
  .command('restore')
  .description('restore a backup into the configured database, then migrate it forward (stop the server first)')
  .argument('<file>')
  .option('--force', 'replace a database that already holds data')
  .addOption(new Option('--lang <lang>', 'language of the report (default: from LANG)').choices(['ja', 'en']))
  .action((file: string, opts: { force?: boolean; lang?: string }, cmd: Command) =>
    run(async () => (await import('./backup.js')).runRestore(configPath(cmd), file, opts, { stdout: process.stdout, stderr: process.stderr })),
  );

program
  .command('selftest')
  .description('audit your configuration: a simulated day of stranger-list attack, no mail leaves the machine')
  .option('--posts <n>', 'attack posts per form', '2000')
  .option('--json', 'JSON output')
  .action((opts: { posts: string; json?: boolean }, cmd: Command) =>
    run(async () => (await import('../selftest/index.js')).runSelftest(configPath(cmd), { json: opts.json, posts: Number(opts.posts) || 2000 })),
  );

await program.parseAsync(process.argv);
