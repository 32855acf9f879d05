import { bundleDir, listRecords } from '../../runtime/container-store.js';
import { summarize } from '../container/list.js';
import { listPorts } from '../container/ports.js';
import type { ServiceContext } from '../service-context.js';
import { readProjectState } from './project-state.js';

/** One row of `devenv ps`: every dev container on the machine (this store), running or not. */
export interface EnvironmentSummary {
  name: string;
  containerId: string;
  workspaceFolder: string;
  configFile: string;
  state: string;
  status: string;
  image: string;
  remoteUser?: string;
  remoteWorkspaceFolder?: string;
  /**
   * Running with forwards: each as `HOSTIP:HOSTPORT->PORT/PROTO` (as `docker ps` prints them), automatic ones
   * included; otherwise the configured forwardPorts.
   */
  ports: (number | string)[];
  created: string;
}

export function listEnvironments(ctx: ServiceContext): EnvironmentSummary[] {
  return listRecords(ctx.root)
    .filter((r) => r.labels?.['devenv.project'] !== undefined)
    .map((record) => {
      const summary = summarize(ctx.root, record);
      const state = readProjectState(bundleDir(ctx.root, record.id));
      return {
        name: record.name,
        containerId: record.id,
        workspaceFolder: record.labels?.['devcontainer.local_folder'] ?? '',
        configFile: record.labels?.['devcontainer.config_file'] ?? '',
        state: summary.status,
        status: summary.statusText,
        image: record.image?.reference ?? record.rootfs,
        ...(state ? { remoteUser: state.remoteUser, remoteWorkspaceFolder: state.remoteWorkspaceFolder } : {}),
        ports: livePorts(ctx, record) ?? state?.forwardPorts ?? [],
        created: record.created,
      };
    });
}

function livePorts(ctx: ServiceContext, record: Parameters<typeof listPorts>[1]): string[] | undefined {
  const status = listPorts(ctx, record);
  if (!status.available) return undefined;
  return status.forwards.map((f) => `${f.hostIp.includes(':') ? `[${f.hostIp}]` : f.hostIp}:${f.hostPort}->${f.containerPort}/${f.protocol}`);
}
