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
  .action((_opts, cmd: Command) => run(async () => (await import('./serve.js')).serve(configPath(cmd))));

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
  .description('list submissions: id, form, created, outcome, score, reasons')
  .option('--form <id>', 'only this form')
  .option('--limit <n>', 'how many (newest first)', '50')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./data.js')).submissionsList(configPath(cmd), opts)));

const mail = program.command('mail').description('outgoing mail (captured or sent) and its state');
mail
  .command('list')
  .description('list mail, newest first')
  .addOption(new Option('--state <state>', 'only this state').choices(['pending', 'sent', 'dead', 'cancelled']))
  .addOption(new Option('--kind <kind>', 'only this kind').choices(['notify', 'autoreply', 'alert', 'digest']))
  .option('--limit <n>', 'how many', '100')
  .option('--json', 'JSON output')
  .action((opts, cmd: Command) => run(async () => (await import('./data.js')).mailList(configPath(cmd), opts)));
mail
  .command('show')
  .description('show one mail with its full message')
  .argument('<id>')
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
  .action((paths: string[], opts: { json?: boolean }) =>
    run(async () => (await import('../bounces/cli-parse.js')).runBouncesParse(paths, { json: !!opts.json }, process.stdout)),
  );

await program.parseAsync(process.argv);
