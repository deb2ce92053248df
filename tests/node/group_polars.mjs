// group_polars.mjs — Polars (nodejs-polars) reads quern group's Parquet
// LIST files and agrees with DuckDB on every row of the named columns.
// usage: node tests/node/group_polars.mjs COLS FILE.parquet...
import pl from 'nodejs-polars';
import { DuckDBInstance } from '@duckdb/node-api';

const [cols, ...files] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
// one text form for both: numbers as numbers, timestamps as epoch numbers
const norm = (v) => JSON.stringify(v, (k, x) => {
  if (typeof x === 'bigint') return Number(x);
  if (x instanceof Date) return x.getTime();
  if (typeof x === 'number' && Number.isNaN(x)) return 'NaN';
  return x;
});
for (const f of files) {
  const p = pl.readParquet(f);
  const sel = cols.split(',').map((c) => `to_json(${c})::VARCHAR AS ${c}`).join(', ');
  const d = (await con.runAndReadAll(`SELECT ${sel} FROM read_parquet('${f}')`)).getRowObjectsJson();
  if (p.height !== d.length) throw new Error(`${f}: Polars reads ${p.height} rows, DuckDB ${d.length}`);
  const recs = p.toRecords();
  for (let i = 0; i < recs.length; i++) {
    for (const c of cols.split(',')) {
      const a = norm(recs[i][c]);
      const b = norm(JSON.parse(d[i][c].replace(/\bNaN\b/g, '"NaN"'))); // DuckDB writes bare NaN
      if (a !== b) throw new Error(`${f} row ${i} column ${c}: Polars ${a.slice(0, 80)} DuckDB ${b.slice(0, 80)}`);
    }
  }
  console.log(`${f}: ${p.height} rows agree`);
}
