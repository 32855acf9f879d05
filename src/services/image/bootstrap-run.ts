import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { DevenvError } from '../../errors.js';
import { writeLayerBlob, type LayerBlob } from './bootstrap-layout.js';
import { BOOTSTRAP_SCRIPT, bootstrapScriptArgv, classifyScriptLine, isNewProgressStep, namespaceArgv, type BootstrapScriptArgs, type BootstrapStage } from './bootstrap-script.js';
import type { BootstrapTools } from './bootstrap-preflight.js';

/** A progress line of a bootstrap (written to stderr by the command). */
export interface BootstrapProgress {
  stage: 'check' | BootstrapStage | 'import';
  message: string;
}

export interface RunBootstrapInput {
  tools: BootstrapTools;
  rootless: boolean;
  script: BootstrapScriptArgs;
  /** Where the layer blob goes (an OCI layout being built). */
  layoutDir: string;
  env: NodeJS.ProcessEnv;
  /** What is being built, for messages (`debian:bookworm`). */
  what: string;
  onProgress: (event: BootstrapProgress) => void;
  /** Every line of debootstrap's output (for --log-level debug). */
  onLine: (line: string) => void;
}

const TAIL_LINES = 30;

/** debootstrap warnings that are expected in namespaces and harm nothing (debug level only). */
const HARMLESS_WARNINGS = [/^Could not create \/dev\/ptmx/, /mount -t sysfs sysfs \/sys$/, /^See .*debootstrap\.log for details$/];

function failure(input: RunBootstrapInput, stage: BootstrapStage | undefined, code: number | null, signal: NodeJS.Signals | null, tail: string[]): DevenvError {
  const how = signal ? `was killed by ${signal}` : `failed (exit ${code ?? '?'})`;
  const lastError = [...tail].reverse().find((l) => /^E: /.test(l)) ?? tail.at(-1) ?? '';
  const detail = lastError ? `: ${lastError.replace(/^E: /, '')}` : '';
  const details = tail.length > 0 ? `\nLast lines of its output:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
  switch (stage) {
    case 'download':
      return new DevenvError('RUNTIME_SETUP', `image bootstrap \`${input.what}\`: downloading the packages from ${input.script.mirror} ${how}${detail}`, {
        kind: 'external',
        hint: `Check that the mirror is reachable from here (--mirror URL picks another; http_proxy and apt's Acquire::http::Proxy are honoured).${details}`,
      });
    case 'layer':
      return new DevenvError('RUNTIME_SETUP', `image bootstrap \`${input.what}\`: writing the layer tar ${how}${detail}`, {
        kind: 'external',
        hint: `Check the free space in the cache directory (${input.script.work}) and in the store.${details}`,
      });
    default:
      return new DevenvError('RUNTIME_SETUP', `image bootstrap \`${input.what}\`: debootstrap ${how} while installing${detail}`, {
        kind: 'external',
        hint: `Run again with --log-level debug to see every line; --no-cache downloads the packages again.${details}`,
      });
  }
}

/**
 * Run the bootstrap script (debootstrap in namespaces) and turn its stdout, the root file system as a tar, into
 * the layer blob of `layoutDir`. Progress comes from its stderr. Rejects with a DevenvError naming the stage
 * that failed, debootstrap's last error line, and (in the hint) the last lines of its output.
 */
export async function runBootstrapScript(input: RunBootstrapInput): Promise<LayerBlob> {
  const shell = [input.tools.bash, '-c', BOOTSTRAP_SCRIPT, 'devenv-bootstrap', ...bootstrapScriptArgv(input.script)];
  const argv = input.tools.unshare ? [...namespaceArgv({ rootless: input.rootless, unshare: input.tools.unshare }), ...shell] : shell;
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: input.env });

  let stage: BootstrapStage | undefined;
  let previousInfo: string | undefined;
  const tail: string[] = [];
  const lines = createInterface({ input: child.stderr });
  lines.on('line', (line) => {
    input.onLine(line);
    const c = classifyScriptLine(line);
    if (c.kind === 'stage') {
      stage = c.stage;
      previousInfo = undefined;
      const messages: Record<BootstrapStage, string> = {
        download: `downloading ${input.script.suite} packages from ${input.script.mirror} (cached in ${input.script.tarball})`,
        install: `installing the base system with debootstrap${input.rootless ? ' (in a user namespace)' : ''}`,
        slim: 'removing apt lists, package files and logs',
        layer: 'writing the layer (tar, gzip)',
      };
      input.onProgress({ stage: c.stage, message: messages[c.stage] });
      return;
    }
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (c.kind === 'info' && stage !== undefined && (stage === 'download' || stage === 'install') && isNewProgressStep(previousInfo, c.text)) {
      input.onProgress({ stage, message: `debootstrap: ${c.text}` });
    }
    if (c.kind === 'info') previousInfo = c.text;
    if (c.kind === 'warning' && stage !== undefined && !HARMLESS_WARNINGS.some((re) => re.test(c.text))) input.onProgress({ stage, message: `debootstrap warning: ${c.text}` });
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let layer: LayerBlob;
  try {
    layer = await writeLayerBlob(child.stdout, input.layoutDir);
  } catch (error) {
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw error;
  }
  const { code, signal } = await exited;
  if (code !== 0) throw failure(input, stage, code, signal, tail);
  return layer;
}
