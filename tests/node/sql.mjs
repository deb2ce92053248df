// sql.mjs — run SQL statements in an in-memory DuckDB and print the rows of
// the last one as JSON (BigInt as numbers when safe, else strings).
// usage: node tests/node/sql.mjs "SQL" ["SQL" ...]
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
let rows = [];
for (const sql of process.argv.slice(2)) {
  const r = await con.runAndReadAll(sql);
  rows = r.getRowObjectsJson();
}
console.log(JSON.stringify(rows));
