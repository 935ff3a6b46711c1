import { type ColumnDef, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';

/**
 * A list as a table (TanStack Table: the columns are data, the markup is ours). On a narrow screen each row
 * becomes a card: every cell carries its column's name in `data-label`, which the stylesheet shows.
 */
export function DataTable<T>({
  data,
  columns,
  caption,
  empty,
  rowKey,
}: {
  data: T[];
  // biome-ignore lint/suspicious/noExplicitAny: TanStack's column values are typed per column.
  columns: ColumnDef<T, any>[];
  caption: string;
  empty: string;
  rowKey: (row: T) => string | number;
}) {
  const table = useReactTable({
    data,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => String(rowKey(r)),
  });
  return (
    <div className="table-wrap">
      <table className="data">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((g) => (
            <tr key={g.id}>
              {g.headers.map((h) => (
                <th key={h.id} scope="col">
                  {h.isPlaceholder ? null : flexRender(h.column.columnDef.header, h.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          ) : (
            table.getRowModel().rows.map((row) => (
              <tr key={row.id}>
                {row.getVisibleCells().map((cell) => (
                  <td
                    key={cell.id}
                    data-label={
                      typeof cell.column.columnDef.header === 'string' ? cell.column.columnDef.header : ''
                    }
                  >
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
