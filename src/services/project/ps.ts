import { bundleDir, listRecords } from '../../runtime/container-store.js';
import { summarize } from '../container/list.js';
import { listPorts } from '../container/ports.js';
import { toProjectPort, type ProjectPort } from './project-ports.js';
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
  /** forwardPorts as configured (numbers, `"host:port"`), what editors show. */
  ports: (number | string)[];
  /** While it runs: the forwards in place (automatic ones included), as `devenv ports --json` lists them. */
  forwardedPorts?: ProjectPort[];
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
        ports: state?.forwardPorts ?? [],
        ...livePorts(ctx, record),
        created: record.created,
      };
    });
}

function livePorts(ctx: ServiceContext, record: Parameters<typeof listPorts>[1]): { forwardedPorts?: ProjectPort[] } {
  const status = listPorts(ctx, record);
  return status.available ? { forwardedPorts: status.forwards.map(toProjectPort) } : {};
}
