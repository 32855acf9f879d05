import { Worker } from 'node:worker_threads';

import { listenPathFor, prepareAgentDir, removeOnExit, restrictSocket, type AgentRelay } from './agent-relay.js';
import type { RelaySocketPlan } from './agent-socket.js';

/**
 * The relay's code, run in a worker thread: `devenv exec`/`shell`/`ssh` block their main thread on the runtime
 * until the command ends (runtime-process.ts), so the relay needs an event loop of its own. Plain CommonJS in a
 * string, so the fast bundle (dist/fast/exec.cjs) needs no separate worker file.
 */
const RELAY_THREAD_CODE = `
const { parentPort, workerData: d } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  const u = net.connect({ path: d.upstream, allowHalfOpen: true });
  c.pipe(u);
  u.pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.on('close', () => u.destroy());
  u.on('close', () => c.destroy());
});
server.on('error', (e) => parentPort.postMessage({ error: e.message }));
parentPort.once('message', (m) => server.listen(m.listenPath, () => parentPort.postMessage({ ready: true })));
`;

/**
 * A relay thread whose connections go to the host's agent (`upstream`, the client's $SSH_AUTH_SOCK). It starts
 * booting at once (a worker costs ~30 ms of start-up, spent while the caller looks its project up) and listens
 * once listen() says where.
 */
export interface RelayThread {
  /** Listen at the plan's socket; resolves once it is restricted to its container user. */
  listen(plan: RelaySocketPlan): Promise<AgentRelay>;
  /** Stop the thread without listening (no agent for this session after all). */
  stop(): void;
}

export function startRelayThread(upstream: string): RelayThread {
  const worker = new Worker(RELAY_THREAD_CODE, { eval: true, workerData: { upstream }, stdout: true, stderr: true });
  worker.unref();
  const settled = new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`agent relay: ${m.error ?? 'failed'}`))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`agent relay: the thread exited (${code})`)));
  });
  settled.catch(() => undefined);
  return {
    async listen(plan) {
      prepareAgentDir(plan);
      const listen = listenPathFor(plan.hostPath);
      const remove = removeOnExit(plan.hostPath);
      try {
        worker.postMessage({ listenPath: listen.path });
        await settled;
        restrictSocket(plan);
      } catch (error) {
        remove();
        void worker.terminate();
        throw error;
      } finally {
        listen.done();
      }
      return {
        containerPath: plan.containerPath,
        hostPath: plan.hostPath,
        close() {
          remove();
          void worker.terminate();
        },
      };
    },
    stop() {
      void worker.terminate();
    },
  };
}
