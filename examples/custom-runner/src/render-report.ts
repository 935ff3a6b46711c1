import { defineHandler } from '@hourglass/runner';
import { z } from 'zod';

const Row = z.object({ label: z.string().min(1).max(200), amount: z.number().finite() });

export const ReportPayload = z.object({
  title: z.string().min(1).max(200),
  currency: z.enum(['EUR', 'USD', 'GBP']).default('EUR'),
  format: z.enum(['markdown', 'csv']).default('markdown'),
  rows: z.array(Row).min(1).max(10_000),
});

/**
 * Renders a table of amounts as Markdown or CSV, with a total. Pure computation: it cannot fail but on bad input,
 * which the schema refuses before a job is even created.
 */
export const renderReport = defineHandler({
  type: 'report.render',
  payload: ReportPayload,
  timeoutMs: 30_000,
  handle: async (report, ctx) => {
    const money = new Intl.NumberFormat('en', { style: 'currency', currency: report.currency });
    const lines: string[] =
      report.format === 'markdown'
        ? [`# ${report.title}`, '', '| item | amount |', '| --- | ---: |']
        : ['item,amount'];
    let total = 0;
    for (const [i, row] of report.rows.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      total += row.amount;
      lines.push(
        report.format === 'markdown'
          ? `| ${row.label.replaceAll('|', '\\|')} | ${money.format(row.amount)} |`
          : `${csv(row.label)},${row.amount}`,
      );
      if ((i + 1) % 1_000 === 0) ctx.progress(Math.round(((i + 1) / report.rows.length) * 100));
    }
    lines.push(
      report.format === 'markdown' ? `| **total** | **${money.format(total)}** |` : `total,${total}`,
    );
    ctx.logger.info({ rows: report.rows.length, total }, 'report rendered');
    return { format: report.format, total, rows: report.rows.length, content: lines.join('\n') };
  },
});

function csv(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
