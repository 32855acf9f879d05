// Kept apart from build-run.ts so a fully cached build loads none of the container machinery: leftovers are rare,
// and removeContainer is imported only when there is one.
import { listRecords } from '../../runtime/container-store.js';
import type { ServiceContext } from '../service-context.js';

/** Label on build containers: the pid of the devenv that made them, so a later build can sweep leftovers. */
export const BUILD_LABEL = 'devenv.build.pid';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove build containers whose devenv is gone (a build killed with -9). */
export async function sweepBuildContainers(ctx: ServiceContext): Promise<number> {
  let removed = 0;
  for (const record of listRecords(ctx.root)) {
    const pid = Number(record.labels?.[BUILD_LABEL]);
    if (!pid || isAlive(pid)) continue;
    try {
      const { removeContainer } = await import('../container/remove.js');
      await removeContainer(ctx, record, { force: true });
      removed++;
    } catch (error) {
      ctx.logger.debug(`sweep build container ${record.name}: ${(error as Error).message}`);
    }
  }
  return removed;
}
