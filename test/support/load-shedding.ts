// Tests that serve a configuration file's text as it ships.
/**
 * A configuration file's text (the demo, `init`'s) with load shedding turned off, for tests that serve it:
 * on a loaded machine the server's event-loop lag can shed a page or a post with 503 (stress runs did);
 * shedding has its own test (src/http/shedding.db.test.ts). Throws if the text has no `server:` block.
 */
export function withoutLoadShedding(yaml: string): string {
  const edited = yaml.replace(/^server:\n/m, 'server:\n  loadShedding: { enabled: false }\n');
  if (edited === yaml) throw new Error('withoutLoadShedding: no "server:" block in the configuration');
  return edited;
}
