import { BaseCommand } from '../cli/base-command.js';
import { type DoctorReport, type DoctorStatus, runDoctor } from '../services/doctor.js';

const MARKS: Record<DoctorStatus, string> = { ok: '✔', warn: '!', fail: '✘' };
const COLORS: Record<DoctorStatus, string> = { ok: '\u001B[32m', warn: '\u001B[33m', fail: '\u001B[31m' };

/** The text form: one line per check, each warning's and failure's fix indented below it, then a summary. */
export function formatDoctorReport(report: DoctorReport, color = false): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines: string[] = [];
  for (const check of report.checks) {
    const mark = color ? `${COLORS[check.status]}${MARKS[check.status]}\u001B[0m` : MARKS[check.status];
    lines.push(`${mark} ${check.title.padEnd(width)}  ${check.detail}`);
    if (check.fix && check.status !== 'ok') {
      const [first, ...rest] = check.fix.split('\n');
      lines.push(`    fix: ${first}`, ...rest.map((line) => `         ${line}`));
    }
  }
  const count = (status: DoctorStatus): number => report.checks.filter((c) => c.status === status).length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push('', `${plural(count('ok'), 'check')} ok, ${plural(count('warn'), 'warning')}, ${plural(count('fail'), 'failure')}`);
  return lines.join('\n');
}

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override description = 'Check that this machine and user can run devenv containers';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  async run(): Promise<void> {
    const report = await runDoctor({ storeRoot: this.storeRoot });
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    this.output(report, formatDoctorReport(report, color));
    // Not this.exit(): that throws, and the base command would render it as an error.
    if (report.outcome === 'fail') process.exitCode = 1;
  }
}
