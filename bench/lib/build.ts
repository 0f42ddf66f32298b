// Compiling the server entry scripts (and the src/ they import) to plain JavaScript with tsc, so the
// servers run as in production (`npm start` runs tsc output) and their RSS holds no tsx loader: under
// `node --import tsx` the loader thread and the transformed sources add ~25 MB to a hello-world and
// ~50 MB to Formwarden. The output goes to bench/.bench-tmp/ (git-ignored) and is rebuilt every run.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchDir, projectRoot } from './paths.js';

export const tmpDir = path.join(benchDir, '.bench-tmp');
export const buildDir = path.join(tmpDir, 'build');

export async function buildServers(log: (m: string) => void): Promise<void> {
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const tsconfig = path.join(tmpDir, 'tsconfig.servers.json');
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        extends: '../../tsconfig.json',
        compilerOptions: { rootDir: '../..', outDir: './build', noEmit: false, sourceMap: false, declaration: false, incremental: false },
        include: ['../servers/*.ts'],
        exclude: [],
      },
      null,
      2,
    ),
  );
  const tsc = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const t0 = Date.now();
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [tsc, '-p', tsconfig], { cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
  const entry = path.join(buildDir, 'bench', 'servers', 'formwarden.js');
  if (!existsSync(entry)) throw new Error(`tsc produced no ${path.relative(projectRoot, entry)} (exit ${code}):\n${output.slice(0, 2000)}`);
  // tsc still emits on type errors (src/ may be mid-edit by someone else): go on, but say so.
  if (code !== 0) log(`  tsc reported errors (output still emitted):\n${output.split('\n').slice(0, 8).map((l) => `    ${l}`).join('\n')}`);
  // src/http/app.ts serves ../../web relative to itself.
  const web = path.join(buildDir, 'web');
  if (!existsSync(web)) symlinkSync(path.join(projectRoot, 'web'), web, 'dir');
  log(`  compiled bench/servers + src with tsc in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.relative(projectRoot, buildDir)}`);
}
