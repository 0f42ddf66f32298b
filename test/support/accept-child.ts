// A Formwarden in a process of its own on the SQLite file named by argv[2], for the test that kills it
// mid-burst (src/submissions/write.db.test.ts). Prints `LISTENING <url>` once it serves.
import { parseConfigText } from '../../src/config/load.js';
import { createInstance } from '../../src/main.js';
import { PLAIN_POST_DEFENSES, testConfigYaml } from './instance.js';

const file = process.argv[2];
if (!file) throw new Error('usage: accept-child.ts <sqlite file>');
const config = parseConfigText(testConfigYaml({ dbUrl: `sqlite:${file}`, defenses: PLAIN_POST_DEFENSES }), 'test');
const instance = await createInstance({ config, file: null, baseDir: process.cwd() }, { logger: false, startWorker: false });
process.stdout.write(`LISTENING ${await instance.listen()}\n`);
