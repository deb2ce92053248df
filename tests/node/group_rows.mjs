// group_rows.mjs — the rows of quern group's Parquet files as DuckDB reads
// them, one JSON array per row, for comparing with other formats:
// [key, n, {column: [values]}] with every number as text that keeps it
// exact ("nan", "inf", "-0", integers of any size) and timestamps and
// dates as the integers of their unit (epoch_ms/us/ns, days).
// usage: node group_rows.mjs FILE.parquet KEY COL:KIND...
//   KIND: num (integers, floats, booleans as 0/1), str, ts_ms, ts_us, ts_ns, date
import { DuckDBInstance } from '@duckdb/node-api';

const [file, key, ...specs] = process.argv.slice(2);
const conv = { ts_ms: 'epoch_ms(x)', ts_us: 'epoch_us(x)', ts_ns: 'epoch_ns(x)', date: '(x - DATE \'1970-01-01\')' };
const cols = specs.map((s) => {
  const [name, kind] = s.split(':');
  const e = conv[kind] ? `list_transform("${name}", x -> ${conv[kind]})` : `"${name}"`;
  return `${e} AS "${name}"`;
});
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const r = await con.runAndReadAll(
  `SELECT "${key}" AS k, n, ${cols.join(', ')} FROM read_parquet('${file}') ORDER BY file_row_number`.replace(
    `FROM read_parquet('${file}')`, `FROM read_parquet('${file}', file_row_number=true)`));
const text = (v) => {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v); // the shortest text that reads back to the same double
};
for (const row of r.getRowObjects()) {
  const lists = {};
  for (const s of specs) {
    const name = s.split(':')[0];
    lists[name] = row[name].items.map(text);
  }
  console.log(JSON.stringify([text(row.k), text(row.n), lists]));
}
