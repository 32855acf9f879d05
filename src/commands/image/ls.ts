import { Flags } from '@oclif/core';

import { BaseCommand } from '../../cli/base-command.js';
import { shortDigest } from '../../image/store/store-paths.js';
import { listImages, type ImageSummary } from '../../services/image/list.js';
import { formatBytes } from '../../ui/pull-progress.js';
import { renderTable } from '../../ui/table.js';

/** "2 days ago", as `docker images` shows CREATED. */
export function timeAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return 'N/A';
  const seconds = Math.floor((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return 'N/A';
  const steps: Array<[number, string]> = [[31_536_000, 'year'], [2_592_000, 'month'], [604_800, 'week'], [86_400, 'day'], [3_600, 'hour'], [60, 'minute']];
  for (const [size, unit] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n > 1 ? 's' : ''} ago`;
  }
  return 'Less than a minute ago';
}

export default class ImageLs extends BaseCommand<typeof ImageLs> {
  static override description = 'List the images in the store';
  static override aliases = ['image:list', 'images'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only print image ids' }),
    digests: Flags.boolean({ description: 'show the digest column' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten image ids' }),
  };

  async run(): Promise<void> {
    const rows = listImages({ root: this.storeRoot, logger: this.logger });
    if (this.flags.json) return this.output(rows);
    const id = (r: ImageSummary): string => (this.flags['no-trunc'] ? r.id : shortDigest(r.id));
    if (this.flags.quiet) return this.output(null, [...new Set(rows.map(id))].join('\n'));
    const headers = ['REPOSITORY', 'TAG', ...(this.flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    this.output(
      null,
      renderTable(
        headers,
        rows.map((r) => [
          r.repository,
          r.tag ?? '<none>',
          ...(this.flags.digests ? [r.digest ?? r.indexDigest ?? r.manifestDigest] : []),
          id(r),
          timeAgo(r.created),
          formatBytes(r.size),
        ]),
      ),
    );
  }
}
