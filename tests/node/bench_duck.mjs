// bench_duck.mjs — times SQL statements in DuckDB for bench/bench_parquet.sh.
// usage: node bench_duck.mjs THREADS STATEMENT...
// A statement starting with "setup:" runs untimed; every other prints its
// wall-clock seconds (one line each, in order).
import { DuckDBInstance } from '@duckdb/node-api';

const [threads, ...stmts] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET threads = ${Number(threads)}`);
for (const s of stmts) {
  if (s.startsWith('setup:')) {
    await con.run(s.slice(6));
    continue;
  }
  const t0 = performance.now();
  await con.runAndReadAll(s);
  console.log(((performance.now() - t0) / 1000).toFixed(3));
}
